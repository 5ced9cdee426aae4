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
"""Scale benchmark: the scale layout of the generator, IoU per object-size bucket, w statistics."""

import json

import numpy as np
import pytest

from baff_ros.cli import main
from baff_ros.data import synth
from baff_ros.evaluate import (Evaluator, LARGE_MIN_AREA, segment_areas, size_bucket_map,
                               SMALL_MAX_AREA, WeightMapStats)

#: Train IDs of the small, rare classes the scale layout is for.
SMALL_CLASSES = {'pole': 5, 'traffic light': 6, 'traffic sign': 7, 'person': 11, 'rider': 12,
                 'motorcycle': 17, 'bicycle': 18}


def scene(seed, layout='scale', size=(256, 512)):
    _, label_ids, inst = synth.render_scene(size, seed, layout)
    return synth.train_ids(label_ids), inst.astype(np.int64)


def test_segment_areas_from_instances_and_connected_regions():
    gt = np.full((10, 20), 0, np.uint8)  # road
    gt[:, 15:] = 255  # ignored
    gt[2:4, 2:4] = 5  # a pole region of 4 px
    gt[6:9, 2:6] = 11  # two persons side by side: one region, two instances
    inst = np.zeros_like(gt, np.int64)
    inst[6:9, 2:4] = 24000
    inst[6:9, 4:6] = 24001
    area = segment_areas(gt, inst) * gt.size
    assert area[2, 2] == 4 and area[7, 2] == 6 and area[7, 5] == 6
    assert area[0, 0] == 10 * 15 - 4 - 12  # the road: one connected region around them
    assert np.isnan(area[0, 16])
    # Without instance IDs the two persons are one region.
    assert (segment_areas(gt) * gt.size)[7, 2] == 12
    buckets = size_bucket_map(np.array([SMALL_MAX_AREA / 2, SMALL_MAX_AREA, LARGE_MIN_AREA,
                                        np.nan]))
    assert buckets.tolist() == [0, 1, 2, -1]


def test_large_only_model_looks_bad_in_the_small_bucket():
    """Right on every large segment, wrong on every small one: the small bucket shows it."""
    ev = Evaluator()
    for seed in range(4):
        gt, inst = scene(seed)
        areas = segment_areas(gt, inst)
        buckets = size_bucket_map(areas)
        pred = gt.copy()
        small = buckets == 0
        pred[small] = 0  # small things called road
        pred[small & (gt == 0)] = 1
        ev.add(pred, gt, inst)
    res = ev.result()
    sizes = res.size_scores()
    assert sizes['large']['miou'] == 1.0
    assert sizes['small']['miou'] == 0.0 and sizes['small']['pixels'] > 0
    # The standard mIoU hides most of it: small segments are few pixels.
    assert res.miou > 0.6
    small_iou = sizes['small']['class_iou']
    assert all(small_iou[n] == 0.0 for n in ('person', 'pole', 'traffic sign'))
    data = res.to_dict()['size_buckets']
    assert data['small']['miou'] == 0.0 and data['thresholds']['large_min_area'] == LARGE_MIN_AREA
    # A perfect prediction is perfect in every bucket.
    perfect = Evaluator()
    gt, inst = scene(0)
    perfect.add(gt, gt, inst)
    assert {b: v['miou'] for b, v in perfect.result().size_scores().items()} == {
        'small': 1.0, 'medium': 1.0, 'large': 1.0}


def test_scale_layout_puts_small_classes_near_and_far():
    seen = {n: set() for n in SMALL_CLASSES}
    areas_of = {n: [] for n in SMALL_CLASSES}
    images_with = {n: 0 for n in SMALL_CLASSES}
    street_pixels, scale_pixels = 0, 0
    ids = list(SMALL_CLASSES.values())
    for seed in range(6):
        gt, inst = scene(seed)
        areas = segment_areas(gt, inst)
        buckets = size_bucket_map(areas)
        for name, tid in SMALL_CLASSES.items():
            sel = gt == tid
            seen[name] |= set(np.unique(buckets[sel]).tolist())
            areas_of[name] += np.unique(areas[sel]).tolist()
            images_with[name] += bool(sel.any())
        scale_pixels += int(np.isin(gt, ids).sum())
        street_pixels += int(np.isin(scene(seed, 'street')[0], ids).sum())
    for name in SMALL_CLASSES:
        assert images_with[name] == 6, name  # in every image
        assert max(areas_of[name]) > 10 * min(areas_of[name]), name  # near and far
        assert 0 in seen[name], name
    # Lights and bicycles are thin: at 256x512 even near ones mostly stay small.
    for name in ('pole', 'traffic sign', 'person', 'rider', 'motorcycle'):
        assert seen[name] & {1, 2}, (name, seen[name])
    assert scale_pixels > 1.5 * street_pixels


def test_street_layout_is_unchanged_by_the_scale_option():
    street = synth.make_world(np.random.default_rng(5))
    scale = synth.make_world(np.random.default_rng(5), layout='scale')
    n = len(street.things)
    assert [t.z for t in scale.things[:n]] == [t.z for t in street.things]
    assert len(scale.things) >= n + 3 * 12
    assert {t.layer for t in street.things} == {synth.STANDING}
    assert {t.layer for t in scale.things} == {synth.GROUND, synth.FACADE, synth.KERB_WALL,
                                               synth.STANDING}
    a = synth.render_scene((64, 128), 3)
    b = synth.render_scene((64, 128), 3, 'street')
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    with pytest.raises(ValueError, match='street, scale'):
        synth.render_scene((64, 128), 3, 'dense')


def test_synth_cli_layout(tmp_path, capsys):
    assert main(['synth', '--out', str(tmp_path / 'd'), '--n', '2', '--size', '64x128',
                 '--layout', 'scale']) == 0
    info = json.loads((tmp_path / 'd' / 'synth_info.json').read_text())
    assert info['layout'] == 'scale'
    with pytest.raises(SystemExit) as exc:
        main(['synth', '--out', str(tmp_path / 'e'), '--layout', 'dense'])
    assert exc.value.code == 2 and 'invalid choice' in capsys.readouterr().err


def test_weight_map_stats_see_size_and_row():
    stats = WeightMapStats()
    gt, inst = scene(1, size=(128, 256))
    areas = segment_areas(gt, inst)
    # A map that trusts detail on small segments: w falls with log area; flat one has no std.
    h, w = 16, 32
    ys = ((np.arange(h) + 0.5) * 128 / h).astype(int)
    xs = ((np.arange(w) + 0.5) * 256 / w).astype(int)
    cell = areas[np.ix_(ys, xs)]
    wmap = np.where(np.isnan(cell), 0.5, 0.5 - 0.1 * np.log10(np.nan_to_num(cell, nan=1.0)))
    rows = np.repeat(np.linspace(0.2, 0.8, h)[:, None], w, 1)
    stats.add({'8': wmap.astype(np.float32), '16': rows.astype(np.float32)}, areas)
    res = stats.result()
    assert res['8']['corr_log_area'] == pytest.approx(-1.0)
    assert res['16']['corr_row'] == pytest.approx(1.0)
    assert res['16']['mean_spatial_std'] == pytest.approx(rows.std(), rel=1e-5)
    flat = WeightMapStats()
    flat.add({'8': np.full((h, w), 0.47, np.float32)}, areas)
    assert flat.result()['8']['mean_spatial_std'] < 1e-6
    assert flat.result()['8']['corr_row'] is None  # undefined for a constant map


def test_eval_cli_reports_buckets_and_weight_maps(tmp_path, checkpoint, capsys):
    root = tmp_path / 'data'
    synth.write_dataset(root, 0, 1, (64, 96), n_val=2, layout='scale')
    out = tmp_path / 'eval.json'
    assert main(['eval', '--root', str(root), '--model', str(checkpoint), '--json',
                 str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data['size_buckets']) == {'thresholds', 'small', 'medium', 'large'}
    assert set(data['weight_maps']) == {'16', '8'}
    assert data['weight_maps']['8']['images'] == 2
    assert 0 < data['weight_maps']['8']['mean_spatial_std'] < 0.5
    err = capsys.readouterr().err
    assert 'small segments: mIoU' in err and 'BAFF w 1/8: mean' in err
