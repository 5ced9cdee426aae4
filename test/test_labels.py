# Copyright 2026 The baff_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""The vendored Cityscapes label table equals cityscapesScripts' own (the ``eval`` extra).

cityscapesscripts is a test requirement (setup.py ``dev``, installed by the Makefile), so this
runs in the suite; the package itself never imports it.
"""

import ast
from pathlib import Path

from cityscapesscripts.helpers import labels as upstream
import numpy as np

from baff_ros.data import labels

ROOT = Path(__file__).resolve().parents[1]


def test_label_table_equals_cityscapesscripts():
    assert labels.Label._fields == upstream.Label._fields
    assert [tuple(lab) for lab in labels.labels] == [tuple(lab) for lab in upstream.labels]
    assert {k: tuple(v) for k, v in labels.id2label.items()} == \
        {k: tuple(v) for k, v in upstream.id2label.items()}
    assert {c: [tuple(lab) for lab in labs] for c, labs in labels.category2labels.items()} == \
        {c: [tuple(lab) for lab in labs] for c, labs in upstream.category2labels.items()}


def test_train_classes_and_lookup_tables():
    assert labels.NUM_CLASSES == 19
    assert labels.CLASS_NAMES[0] == 'road' and labels.CLASS_NAMES[-1] == 'bicycle'
    lut = labels.id_to_train_id_lut()
    for lab in upstream.labels:
        if 0 <= lab.id:
            expected = lab.trainId if 0 <= lab.trainId < 255 else 255
            assert lut[lab.id] == expected, lab.name
    to_id = labels.train_id_to_id_lut()
    assert [upstream.id2label[int(i)].trainId for i in to_id[:19]] == list(range(19))
    palette = labels.palette_array()
    assert palette[:19].tolist() == [list(upstream.trainId2label[t].color) for t in range(19)]
    assert not palette[19:].any()
    assert palette.dtype == np.uint8


def test_package_does_not_import_cityscapesscripts():
    """Only the tests use cityscapesscripts: no module under baff_ros/ imports it."""
    importers = []
    for path in sorted((ROOT / 'baff_ros').rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ''] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split('.')[0] == 'cityscapesscripts' for n in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []
