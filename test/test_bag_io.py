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
"""rosbag2 reading and atomic writing, checked with rosbags and an independent MCAP decoder."""

import numpy as np
import pytest

rosbags = pytest.importorskip('rosbags')

from baff_ros.bag import BagError, BagInput, BagOutput  # noqa: E402


def _typestore():
    from rosbags.typesys import get_typestore, Stores
    return get_typestore(Stores.ROS2_HUMBLE)


def _image(ts, sec, frame='cam', h=4, w=6):
    header = ts.types['std_msgs/msg/Header'](
        stamp=ts.types['builtin_interfaces/msg/Time'](sec=sec, nanosec=7), frame_id=frame)
    data = np.full(h * w * 3, sec % 256, np.uint8)
    return ts.types['sensor_msgs/msg/Image'](header=header, height=h, width=w, encoding='rgb8',
                                             is_bigendian=0, step=w * 3, data=data)


def _write_bag(path, topics=('/cam/image_raw',), n=3, storage='mcap'):
    ts = _typestore()
    with BagOutput(path, ts, storage=storage) as out:
        for i in range(n):
            for t in topics:
                out.write(t, _image(ts, i + 1), (i + 1) * 10**9)
    return path


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_round_trip_and_auto_detect(tmp_path, storage):
    bag = _write_bag(tmp_path / 'in', storage=storage)
    assert not any(p.name.endswith('.partial') for p in tmp_path.iterdir())
    with BagInput(bag) as inp:
        assert [s.topic for s in inp.streams] == ['/cam/image_raw']
        assert inp.streams[0].base == '/cam' and inp.frame_count == 3
        msgs = [inp.deserialize(raw, c.msgtype) for c, _, raw in inp.messages()]
    assert [m.header.stamp.sec for m in msgs] == [1, 2, 3]
    assert bytes(msgs[1].data) == bytes([2]) * 72


def test_topic_errors(tmp_path):
    bag = _write_bag(tmp_path / 'two', topics=('/a/image_raw', '/b/image_raw'))
    with pytest.raises(BagError, match='several image topics'):
        BagInput(bag)
    with pytest.raises(BagError, match='/c/image not in the bag'):
        BagInput(bag, topics=['/c/image'])
    with BagInput(bag, topics=['/b/image_raw']) as inp:
        assert inp.frame_count == 3


def test_missing_and_corrupt_bags(tmp_path):
    with pytest.raises(BagError, match='no such bag'):
        BagInput(tmp_path / 'nope')
    junk = tmp_path / 'junk'
    junk.mkdir()
    (junk / 'metadata.yaml').write_text('rosbag2_bagfile_information: [not, a, bag]\n')
    with pytest.raises(BagError, match='not a readable rosbag2'):
        BagInput(junk)
    # A truncated MCAP file: the header survives, the data does not.
    bag = _write_bag(tmp_path / 'ok', n=5)
    mcap = next(bag.glob('*.mcap'))
    mcap.write_bytes(mcap.read_bytes()[:200])
    with pytest.raises(BagError):
        with BagInput(bag) as inp:
            list(inp.messages())


def test_failed_write_leaves_no_bag(tmp_path):
    out = tmp_path / 'out'
    with pytest.raises(RuntimeError):
        with BagOutput(out, _typestore()) as w:
            w.write('/x/image', _image(_typestore(), 1), 10**9)
            raise RuntimeError('crash mid-way')
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    _write_bag(out)
    with pytest.raises(ValueError, match='output exists'):
        BagOutput(out, _typestore())


def test_label_info_decodes_with_mcap_ros2(tmp_path):
    """An independent decoder (mcap-ros2-support) reads what we write, vision_msgs included."""
    reader = pytest.importorskip('mcap_ros2.reader')
    ts = _typestore()
    out_path = tmp_path / 'li'
    with BagOutput(out_path, ts) as out:
        header = ts.types['std_msgs/msg/Header'](
            stamp=ts.types['builtin_interfaces/msg/Time'](sec=3, nanosec=4), frame_id='cam')
        vc = ts.types['vision_msgs/msg/VisionClass']
        msg = ts.types['vision_msgs/msg/LabelInfo'](
            header=header, class_map=[vc(class_id=0, class_name='road'),
                                      vc(class_id=18, class_name='bicycle')], threshold=0.5)
        out.write('/seg/label_info', msg, 3 * 10**9 + 4)
    msgs = list(reader.read_ros2_messages(str(next(out_path.glob('*.mcap')))))
    assert len(msgs) == 1
    got = msgs[0].ros_msg
    assert msgs[0].schema.name == 'vision_msgs/msg/LabelInfo'
    assert [(c.class_id, c.class_name) for c in got.class_map] == [(0, 'road'), (18, 'bicycle')]
    assert got.header.frame_id == 'cam' and got.threshold == 0.5
