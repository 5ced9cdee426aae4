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
"""The lean MCAP writer writes exactly the bytes rosbags' own writer writes."""

import numpy as np
import pytest

pytest.importorskip('rosbags')

from baff_ros.bag import mcap_lean  # noqa: E402


def _write(path, lean, compression=False):
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
    from rosbags.typesys import get_typestore, Stores

    ts = get_typestore(Stores.ROS2_HUMBLE)
    t = ts.types
    writer = (mcap_lean.lean_writer(path, 9, StoragePlugin.MCAP) if lean
              else Writer(path, version=9, storage_plugin=StoragePlugin.MCAP))
    if compression:
        writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    writer.open()
    images = writer.add_connection('/cam/labels', 'sensor_msgs/msg/Image', typestore=ts)
    strings = writer.add_connection('/note', 'std_msgs/msg/String', typestore=ts)
    rng = np.random.default_rng(0)
    # Small and large messages on two channels: chunks of many messages, of one, and a last
    # chunk closed by close().
    for i, side in enumerate([4, 300, 700, 16, 900, 2, 500, 1100, 8, 3]):
        header = t['std_msgs/msg/Header'](
            stamp=t['builtin_interfaces/msg/Time'](sec=i, nanosec=7), frame_id='cam')
        data = rng.integers(0, 19, side * side, np.uint8)
        msg = t['sensor_msgs/msg/Image'](header=header, height=side, width=side,
                                         encoding='mono8', is_bigendian=0, step=side,
                                         data=data)
        writer.write(images, 1000 + i, ts.serialize_cdr(msg, msg.__msgtype__))
        note = t['std_msgs/msg/String'](data=f'frame {i}')
        writer.write(strings, 1000 + i, memoryview(ts.serialize_cdr(note, note.__msgtype__)))
    writer.close()
    return next(path.glob('*.mcap')).read_bytes()


@pytest.mark.parametrize('compression', [False, True])
def test_lean_writer_writes_rosbags_bytes(tmp_path, compression):
    if mcap_lean.lean_writer_class() is None:
        pytest.fail(f'rosbags {mcap_lean.rosbags_release()} is not among the checked releases '
                    f'{mcap_lean.CHECKED_ROSBAGS}: check it and add it')
    # (the same bag name: the file embeds it)
    lean = _write(tmp_path / 'lean' / 'bag', True, compression)
    stock = _write(tmp_path / 'stock' / 'bag', False, compression)
    assert len(lean) > (100_000 if compression else 2_000_000)
    assert lean == stock
    # and an independent reader gets every message back
    from mcap.reader import make_reader
    with open(tmp_path / 'lean' / 'bag' / 'bag.mcap', 'rb') as f:
        topics = [c.topic for _, c, _ in make_reader(f).iter_messages()]
    assert topics.count('/cam/labels') == 10 and topics.count('/note') == 10


def test_other_rosbags_releases_use_rosbags_own_writer(monkeypatch, tmp_path):
    from rosbags.rosbag2 import StoragePlugin, Writer

    mcap_lean.lean_writer_class.cache_clear()
    monkeypatch.setattr(mcap_lean, 'rosbags_release', lambda: (9, 0))
    try:
        assert mcap_lean.lean_writer_class() is None
        writer = mcap_lean.lean_writer(tmp_path / 'b', 9, StoragePlugin.MCAP)
        assert type(writer) is Writer
    finally:
        mcap_lean.lean_writer_class.cache_clear()
