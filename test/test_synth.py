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
"""Synthetic street scenes: determinism, class coverage, perspective, layout, sequences."""

import hashlib

import cv2
import numpy as np
import pytest

from baff_ros.cli import main
from baff_ros.data import synth
from baff_ros.data.labels import id_to_train_id_lut, NUM_CLASSES

EVAL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)


def _digest(root) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob('*')):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_same_seed_gives_byte_identical_trees(tmp_path):
    for name in ('a', 'b'):
        assert main(['synth', '--out', str(tmp_path / name), '--n', '4', '--seed', '5',
                     '--size', '96x192', '--split-val', '1']) == 0
    da, db = _digest(tmp_path / 'a'), _digest(tmp_path / 'b')
    assert da == db
    assert main(['synth', '--out', str(tmp_path / 'c'), '--n', '4', '--seed', '6',
                 '--size', '96x192', '--split-val', '1']) == 0
    assert _digest(tmp_path / 'c') != da


def test_all_19_classes_appear_in_a_small_set():
    seen = np.zeros(256, bool)
    for seed in range(8):
        _, lab, _ = synth.render_scene((256, 512), seed)
        seen[np.unique(lab)] = True
    missing = [i for i in EVAL_IDS if not seen[i]]
    assert not missing, f'label IDs never drawn: {missing}'
    assert (id_to_train_id_lut()[np.nonzero(seen)[0]] < NUM_CLASSES).sum() == NUM_CLASSES


def test_labels_and_instances_are_consistent():
    _, lab, inst = synth.render_scene((128, 256), 3)
    assert lab.dtype == np.uint8 and inst.shape == lab.shape
    big = inst >= 1000
    # instance pixels carry their class: id * 1000 + k
    assert big.any() and np.array_equal(inst[big] // 1000, lab[big])
    assert np.isin(lab[big], synth.INSTANCE_CLASSES).all()
    assert np.array_equal(inst[~big], lab[~big])


def test_object_scale_follows_depth():
    """Cars near the bottom of the image (close) are larger than cars near the horizon."""
    rows, sizes = [], []
    for seed in range(12):
        _, _, inst = synth.render_scene((256, 512), seed)
        for k in np.unique(inst[(inst // 1000) == 26]):
            ys, _ = np.nonzero(inst == k)
            rows.append(ys.max())
            sizes.append(len(ys))
    assert len(rows) >= 8
    corr = np.corrcoef(rows, np.log(sizes))[0, 1]
    assert corr > 0.5, corr
    assert max(sizes) > 30 * min(sizes)  # near/large and far/tiny in the same set


def test_layout_and_png_formats(tmp_path):
    counts = synth.write_dataset(tmp_path, 2, 0, (64, 128), n_val=1)
    assert counts == {'train': 2, 'val': 1}
    imgs = sorted(tmp_path.glob('leftImg8bit/*/synth/*_leftImg8bit.png'))
    assert len(imgs) == 3
    for img in imgs:
        split = img.parent.parent.name
        base = img.name[:-len('_leftImg8bit.png')]
        gt = tmp_path / 'gtFine' / split / 'synth'
        lab = cv2.imread(str(gt / f'{base}_gtFine_labelIds.png'), cv2.IMREAD_UNCHANGED)
        tid = cv2.imread(str(gt / f'{base}_gtFine_labelTrainIds.png'), cv2.IMREAD_UNCHANGED)
        inst = cv2.imread(str(gt / f'{base}_gtFine_instanceIds.png'), cv2.IMREAD_UNCHANGED)
        assert cv2.imread(str(img)).shape == (64, 128, 3)
        assert lab.dtype == np.uint8 and inst.dtype == np.uint16
        assert np.array_equal(tid, id_to_train_id_lut()[lab])


def test_sequence_is_consistent_and_moves_forward():
    images, labels = synth.render_sequence(6, (128, 256), seed=2)
    assert len(images) == len(labels) == 6
    again, _ = synth.render_sequence(6, (128, 256), seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(images, again))
    diffs = [np.mean(labels[i] != labels[i + 1]) for i in range(5)]
    # consecutive frames differ a little (motion), not completely (same street)
    assert all(0 < d < 0.5 for d in diffs), diffs


def test_generation_speed():
    import time

    t0 = time.perf_counter()
    for seed in range(5):
        synth.render_scene((256, 512), seed)
    assert (time.perf_counter() - t0) / 5 < 0.2


@pytest.mark.parametrize('argv, message', [
    (['--n', '0'], '--n'), (['--n', '3', '--split-val', '3'], '--split-val'),
    (['--size', '8x8'], '--size'), (['--seed', '-1'], '--seed')])
def test_bad_arguments(tmp_path, capsys, argv, message):
    assert main(['synth', '--out', str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err
