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
"""Cityscapes labels: the full label table, the 19 train classes, their train IDs and palette.

The table is vendored (copied, values unchanged) from cityscapesScripts
(https://github.com/mcordts/cityscapesScripts, ``cityscapesscripts/helpers/labels.py``,
release 2.3.0), so that the package needs no cityscapesscripts at run time. cityscapesScripts
is under the MIT License; its terms ask that the notice below go with every copy:

    MIT License

    Copyright (c) [2022] [The Cityscapes Authors]

    Permission is hereby granted, free of charge, to any person obtaining a copy
    of this software and associated documentation files (the "Software"), to deal
    in the Software without restriction, including without limitation the rights
    to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
    copies of the Software, and to permit persons to whom the Software is
    furnished to do so, subject to the following conditions:

    The above copyright notice and this permission notice shall be included in all
    copies or substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
    IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
    FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
    AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
    LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
    OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
    SOFTWARE.

``labels``, ``id2label`` and ``category2labels`` keep cityscapesScripts' names and meaning; a
test checks the table equal to the installed cityscapesscripts' (the ``eval`` extra).
The Cityscapes *dataset* has terms of its own (cityscapes-dataset.com); none of it ships here.
"""

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np


class Label(NamedTuple):
    """One Cityscapes label (the fields of cityscapesScripts' ``Label``)."""

    name: str
    #: Label ID in ground-truth ``_labelIds.png`` images; -1: not in them (license plate).
    id: int
    #: Train ID, 0..18 for the evaluated classes, 255 (or -1) for ignored labels.
    trainId: int  # noqa: N815 - cityscapesScripts' field name
    category: str
    categoryId: int  # noqa: N815
    hasInstances: bool  # noqa: N815
    ignoreInEval: bool  # noqa: N815
    color: Tuple[int, int, int]


IGNORE_ID = 255

labels: Tuple[Label, ...] = (
    #     name                    id  trainId  category        catId  hasInst ignoreInEval color
    Label('unlabeled',             0, 255, 'void',         0, False, True,  (0, 0, 0)),
    Label('ego vehicle',           1, 255, 'void',         0, False, True,  (0, 0, 0)),
    Label('rectification border',  2, 255, 'void',         0, False, True,  (0, 0, 0)),
    Label('out of roi',            3, 255, 'void',         0, False, True,  (0, 0, 0)),
    Label('static',                4, 255, 'void',         0, False, True,  (0, 0, 0)),
    Label('dynamic',               5, 255, 'void',         0, False, True,  (111, 74, 0)),
    Label('ground',                6, 255, 'void',         0, False, True,  (81, 0, 81)),
    Label('road',                  7,   0, 'flat',         1, False, False, (128, 64, 128)),
    Label('sidewalk',              8,   1, 'flat',         1, False, False, (244, 35, 232)),
    Label('parking',               9, 255, 'flat',         1, False, True,  (250, 170, 160)),
    Label('rail track',           10, 255, 'flat',         1, False, True,  (230, 150, 140)),
    Label('building',             11,   2, 'construction', 2, False, False, (70, 70, 70)),
    Label('wall',                 12,   3, 'construction', 2, False, False, (102, 102, 156)),
    Label('fence',                13,   4, 'construction', 2, False, False, (190, 153, 153)),
    Label('guard rail',           14, 255, 'construction', 2, False, True,  (180, 165, 180)),
    Label('bridge',               15, 255, 'construction', 2, False, True,  (150, 100, 100)),
    Label('tunnel',               16, 255, 'construction', 2, False, True,  (150, 120, 90)),
    Label('pole',                 17,   5, 'object',       3, False, False, (153, 153, 153)),
    Label('polegroup',            18, 255, 'object',       3, False, True,  (153, 153, 153)),
    Label('traffic light',        19,   6, 'object',       3, False, False, (250, 170, 30)),
    Label('traffic sign',         20,   7, 'object',       3, False, False, (220, 220, 0)),
    Label('vegetation',           21,   8, 'nature',       4, False, False, (107, 142, 35)),
    Label('terrain',              22,   9, 'nature',       4, False, False, (152, 251, 152)),
    Label('sky',                  23,  10, 'sky',          5, False, False, (70, 130, 180)),
    Label('person',               24,  11, 'human',        6, True,  False, (220, 20, 60)),
    Label('rider',                25,  12, 'human',        6, True,  False, (255, 0, 0)),
    Label('car',                  26,  13, 'vehicle',      7, True,  False, (0, 0, 142)),
    Label('truck',                27,  14, 'vehicle',      7, True,  False, (0, 0, 70)),
    Label('bus',                  28,  15, 'vehicle',      7, True,  False, (0, 60, 100)),
    Label('caravan',              29, 255, 'vehicle',      7, True,  True,  (0, 0, 90)),
    Label('trailer',              30, 255, 'vehicle',      7, True,  True,  (0, 0, 110)),
    Label('train',                31,  16, 'vehicle',      7, True,  False, (0, 80, 100)),
    Label('motorcycle',           32,  17, 'vehicle',      7, True,  False, (0, 0, 230)),
    Label('bicycle',              33,  18, 'vehicle',      7, True,  False, (119, 11, 32)),
    Label('license plate',        -1,  -1, 'vehicle',      7, False, True,  (0, 0, 142)),
)

#: Label ID -> label.
id2label: Dict[int, Label] = {lab.id: lab for lab in labels}
#: Category name -> its labels, in table order.
category2labels: Dict[str, List[Label]] = {}
for _lab in labels:
    category2labels.setdefault(_lab.category, []).append(_lab)
del _lab

#: The 19 evaluated classes, in train-ID order (road=0 ... bicycle=18).
TRAIN_CLASSES: Tuple[Label, ...] = tuple(sorted(
    (lab for lab in labels if 0 <= lab.trainId < IGNORE_ID), key=lambda lab: lab.trainId))

CLASS_NAMES: Tuple[str, ...] = tuple(lab.name for lab in TRAIN_CLASSES)
NUM_CLASSES = len(TRAIN_CLASSES)


def palette_array(palette: Optional[Sequence[Sequence[int]]] = None) -> np.ndarray:
    """Build a (256, 3) uint8 lookup table: train ID -> RGB, ignore (and unused IDs) -> black."""
    lut = np.zeros((256, 3), np.uint8)
    colors = palette if palette is not None else [lab.color for lab in TRAIN_CLASSES]
    lut[:len(colors)] = np.asarray(colors, np.uint8)
    return lut


def id_to_train_id_lut() -> np.ndarray:
    """Build a (256,) uint8 lookup table: Cityscapes label ID -> train ID (255 for ignored)."""
    lut = np.full(256, IGNORE_ID, np.uint8)
    for lab in labels:
        if 0 <= lab.id < 256:
            lut[lab.id] = lab.trainId if 0 <= lab.trainId < IGNORE_ID else IGNORE_ID
    return lut


def train_id_to_id_lut() -> np.ndarray:
    """Build a (256,) uint8 lookup table: train ID -> Cityscapes label ID (255 -> 0, unlabeled)."""
    lut = np.zeros(256, np.uint8)
    for lab in TRAIN_CLASSES:
        lut[lab.trainId] = lab.id
    return lut
