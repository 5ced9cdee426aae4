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
"""Outputs are written to a temporary sibling and renamed into place; failures lose nothing."""

import os
import stat

import numpy as np
import pytest

from baff_ros.atomic import PendingFile, replacing, write_image, write_text
from baff_ros.bag.video import MontageVideo


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / 'result.json'
    target.write_text('old')
    with pytest.raises(RuntimeError):
        with replacing(target) as tmp:
            tmp.write_text('half')
            assert target.read_text() == 'old'  # nothing visible until the rename
            raise RuntimeError('disk full')
    assert target.read_text() == 'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['result.json']


def test_a_finished_write_replaces_and_takes_the_umask_permissions(tmp_path):
    target = tmp_path / 'sub' / 'a.txt'
    old = os.umask(0o027)
    try:
        write_text(target, 'new')
    finally:
        os.umask(old)
    assert target.read_text() == 'new'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # not mkstemp's 0600
    assert sorted(p.name for p in target.parent.iterdir()) == ['a.txt']


def test_write_image_that_cannot_be_encoded_touches_nothing(tmp_path):
    target = tmp_path / 'x.png'
    target.write_bytes(b'keep me')
    with pytest.raises(OSError, match='could not encode'):
        write_image(target, np.zeros((4, 4, 7), np.float64))  # PNG has no 7-channel float
    assert target.read_bytes() == b'keep me'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['x.png']


def test_a_discarded_video_leaves_the_earlier_one(tmp_path):
    path = tmp_path / 'montage.mp4'
    path.write_bytes(b'earlier video')
    video = MontageVideo(path)
    video.add(np.zeros((32, 48, 3), np.uint8))
    assert path.read_bytes() == b'earlier video'
    video.close(keep=False)
    assert path.read_bytes() == b'earlier video'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['montage.mp4']
    video = MontageVideo(path)
    for _ in range(3):
        video.add(np.full((32, 48, 3), 128, np.uint8))
    video.close()
    assert path.stat().st_size > 100 and path.read_bytes() != b'earlier video'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['montage.mp4']


def test_pending_file_keeps_the_suffix_for_format_detection(tmp_path):
    pending = PendingFile(tmp_path / 'plot.png')
    try:
        assert pending.tmp.suffix == '.png' and pending.tmp.parent == tmp_path
        assert pending.tmp.name.startswith('.plot.')
    finally:
        pending.discard()
    assert not list(tmp_path.iterdir())
