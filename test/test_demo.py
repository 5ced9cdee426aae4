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
"""The main job: ``baff-ros demo`` on the bundled bag with the bundled model."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from baff_ros.cli import main
from baff_ros.commands.demo import find_sample_bag
from baff_ros.engine.models import DEFAULT_MODEL, find_model, load_model

pytest.importorskip('rosbags')


def test_bundled_model_is_trained_and_documented():
    path = find_model(DEFAULT_MODEL)
    model, meta, what = load_model()
    assert str(path) in what and 'UNTRAINED' not in what
    assert meta.provenance.get('trained') is True
    assert 'synthetic' in meta.provenance.get('data', '')
    assert 0.0 < meta.metrics['val_miou'] <= 1.0
    card = path.with_suffix('.md')
    assert card.is_file(), 'a shipped model needs its model card'
    text = card.read_text()
    assert 'not a model for real roads' in text.lower()
    assert f"{100 * meta.metrics['val_miou']:.1f}" in text


def test_sample_bag_is_small_and_complete():
    bag = find_sample_bag()
    size = sum(p.stat().st_size for p in Path(bag).iterdir())
    assert size < 8e6
    from baff_ros.bag import BagInput
    with BagInput(bag) as inp:
        assert inp.streams[0].topic == '/camera/image_raw/compressed'
        assert inp.streams[0].camera_info == '/camera/camera_info'
        assert inp.frame_count == 30


def test_demo_writes_bag_video_and_stills(tmp_path, capsys):
    out = tmp_path / 'demo'
    assert main(['demo', '--out', str(out), '--stills', '2']) == 0
    printed = capsys.readouterr()
    assert 'ros2 bag play' in printed.out and 'frames/s' in printed.err
    assert (out / 'street_drive_segmented' / 'metadata.yaml').is_file()
    montage = cv2.imread(str(out / 'frame0000_montage.png'))
    overlay = cv2.imread(str(out / 'frame0029_overlay.png'))
    assert overlay.shape == (512, 1024, 3)
    assert montage.shape[0] > overlay.shape[0] and montage.shape[1] == 1024
    # The ground clouds from above, next to the overlay: the road ahead is free space (road
    # colour) in the view's lower middle, where the camera looks.
    bev = cv2.cvtColor(cv2.imread(str(out / 'frame0029_bev.png')), cv2.COLOR_BGR2RGB)
    assert bev.shape == (512, 1024 + 512, 3)
    assert np.array_equal(bev[:, :1024], cv2.cvtColor(overlay, cv2.COLOR_BGR2RGB))
    ahead = bev[300:480, 1024 + 236:1024 + 276].reshape(-1, 3).astype(int)
    road = np.round(np.array([128, 64, 128]) * 0.7)
    assert (np.abs(ahead - road).max(axis=1) <= 1).mean() > 0.5
    cap = cv2.VideoCapture(str(out / 'montage.mp4'))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
    cap.release()
