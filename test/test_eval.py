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
"""Evaluation: parity with cityscapesscripts' own evaluation, CLI, plots."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from baff_ros.cli import main
from baff_ros.data.cityscapes import list_samples, read_train_ids
from baff_ros.data.labels import IGNORE_ID, train_id_to_id_lut
from baff_ros.data.synth import write_dataset
from baff_ros.evaluate import (confusion_matrix, evaluate_predictions, Evaluator,
                               iou_from_confusion)


@pytest.fixture(scope='module')
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('synth')
    write_dataset(root, 2, 3, (128, 256), n_val=4)
    return root


def _perturb(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausible wrong prediction: shifted, with random blocks of wrong classes and 255s."""
    pred = np.roll(gt, (rng.integers(-3, 4), rng.integers(-5, 6)), axis=(0, 1)).copy()
    h, w = pred.shape
    for _ in range(30):
        y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
        pred[y:y + rng.integers(2, 20), x:x + rng.integers(2, 30)] = rng.choice(
            list(range(19)) + [IGNORE_ID])
    pred[pred == IGNORE_ID] = rng.choice([0, 10, IGNORE_ID])
    return pred


def _write_predictions(root: Path, out: Path, seed: int = 0):
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    to_id = train_id_to_id_lut()
    pred_files, gt_files = [], []
    for s in list_samples(root, 'val'):
        pred = _perturb(read_train_ids(s), rng)
        cv2.imwrite(str(out / f'{s.stem}_labels.png'), pred)
        # cityscapesscripts evaluates label IDs: convert as a submission would.
        idfile = out / f'{s.stem}_labelIds.png'
        cv2.imwrite(str(idfile), to_id[pred])
        pred_files.append(str(idfile))
        gt_files.append(str(s.label_ids))
    return pred_files, gt_files


def _official(pred_files, gt_files):
    # Compatibility shim for the external library only: cityscapesscripts calls np.in1d,
    # which numpy 2.4 removed; np.isin is its documented replacement.
    if not hasattr(np, 'in1d'):
        np.in1d = np.isin
    from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs

    args = cs.args
    args.evalInstLevelScore = True
    args.evalPixelAccuracy = False
    args.JSONOutput = False
    args.quiet = True
    return cs.evaluateImgLists(pred_files, gt_files, args), cs


def test_parity_with_cityscapesscripts(synth_root, tmp_path):
    pred_files, gt_files = _write_predictions(synth_root, tmp_path / 'pred')
    official, cs = _official(pred_files, gt_files)
    ours = evaluate_predictions(synth_root, tmp_path / 'pred', 'val', progress=False)
    diffs = {}
    for name, v in ours.class_iou.items():
        ref = official['classScores'][name]
        assert np.isnan(v) == np.isnan(ref), name
        if not np.isnan(v):
            diffs[name] = abs(v - ref)
    for name, v in ours.class_iiou.items():
        ref = official['classInstScores'][name]
        assert np.isnan(v) == np.isnan(ref), name
        if not np.isnan(v):
            diffs[f'iiou:{name}'] = abs(v - ref)
    for name, v in ours.category_iou.items():
        ref = official['categoryScores'][name]
        assert np.isnan(v) == np.isnan(ref), name
        if not np.isnan(v):
            diffs[f'cat:{name}'] = abs(v - ref)
    for name, v in ours.category_iiou.items():
        ref = official['categoryInstScores'][name]
        assert np.isnan(v) == np.isnan(ref), name
        if not np.isnan(v):
            diffs[f'catinst:{name}'] = abs(v - ref)
    diffs['miou'] = abs(ours.miou - official['averageScoreClasses'])
    diffs['iiou'] = abs(ours.iiou - official['averageScoreInstClasses'])
    diffs['cat'] = abs(ours.mean_category_iou - official['averageScoreCategories'])
    diffs['catinst'] = abs(ours.mean_category_iiou - official['averageScoreInstCategories'])
    print('max |difference| vs cityscapesscripts:', max(diffs.values()))
    assert len(diffs) > 19 + 5
    assert max(diffs.values()) < 1e-9, {k: v for k, v in diffs.items() if v >= 1e-9}
    # the scores are informative: the perturbation cost something, but not everything
    assert 0.1 < ours.miou < 0.99 and 0.05 < ours.iiou < 0.99, (ours.miou, ours.iiou)


def test_confusion_matrix_and_iou_by_hand():
    gt = np.array([[0, 0, 1, 255], [1, 1, 2, 2]], np.uint8)
    pred = np.array([[0, 1, 1, 5], [1, 255, 2, 0]], np.uint8)
    cm = confusion_matrix(pred, gt, num_classes=3)
    # rows gt 0..2, columns pred 0..2 + "other"
    assert cm.tolist() == [[1, 1, 0, 0], [0, 2, 0, 1], [1, 0, 1, 0]]
    iou = iou_from_confusion(cm)
    np.testing.assert_allclose(iou, [1 / 3, 2 / 4, 1 / 2])
    ev = Evaluator(num_classes=3)
    ev.add(pred, gt)
    assert ev.result().miou == pytest.approx((1 / 3 + 0.5 + 0.5) / 3)
    with pytest.raises(ValueError, match='ground truth'):
        ev.add(pred[:, :2], gt)


def test_eval_cli_json_and_plots(synth_root, tmp_path, capsys):
    _write_predictions(synth_root, tmp_path / 'pred', seed=1)
    out = tmp_path / 'res.json'
    rc = main(['eval', '--root', str(synth_root), '--split', 'val', '--pred',
               str(tmp_path / 'pred'), '--json', str(out), '--plots', str(tmp_path / 'plots')])
    assert rc == 0
    data = json.loads(out.read_text())
    assert 0 < data['miou'] < 1 and data['num_images'] == 4
    assert len(data['class_iou']) == 19 and len(data['confusion_matrix']) == 19
    for name in ('confusion_matrix.png', 'class_iou.png'):
        img = cv2.imread(str(tmp_path / 'plots' / name))
        assert img is not None and img.shape[0] > 100
    # perfect predictions score 1.0
    perfect = tmp_path / 'perfect'
    perfect.mkdir()
    for s in list_samples(synth_root, 'val'):
        cv2.imwrite(str(perfect / f'{s.stem}_labels.png'), read_train_ids(s))
    rc = main(['eval', '--root', str(synth_root), '--pred', str(perfect), '--json',
               str(out)])
    assert rc == 0 and json.loads(out.read_text())['miou'] == 1.0


def test_eval_cli_bad_input(synth_root, tmp_path, capsys):
    empty = tmp_path / 'empty'
    empty.mkdir()
    rc = main(['eval', '--root', str(synth_root), '--pred', str(empty), '--json',
               str(tmp_path / 'x.json')])
    err = capsys.readouterr().err
    assert rc == 2 and 'predictions missing' in err and err.count('\n') == 1
    rc = main(['eval', '--root', str(tmp_path), '--pred', str(empty), '--json',
               str(tmp_path / 'x.json')])
    assert rc == 2 and 'no such directory' in capsys.readouterr().err
    rc = main(['eval', '--root', str(synth_root), '--pred', str(empty), '--config',
               'width_mult=0.35', '--json', str(tmp_path / 'x.json')])
    assert rc == 2 and 'not both' in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --json is required
        main(['eval', '--root', str(synth_root), '--pred', str(empty)])


def test_eval_cli_with_model(synth_root, tmp_path):
    out = tmp_path / 'm.json'
    rc = main(['eval', '--root', str(synth_root), '--config', 'width_mult=0.35',
               '--size', '128x256', '--json', str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert data['num_images'] == 4 and 0 <= data['miou'] < 0.5
