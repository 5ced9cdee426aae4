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
"""DDS message types: ROS 2 wire format (checked against rosbags' CDR) and names."""

import numpy as np
import pytest

pytest.importorskip('cyclonedds')
rosbags_typesys = pytest.importorskip('rosbags.typesys')

from baff_ros.ros.dds import msgs  # noqa: E402
from baff_ros.ros.dds.node import dds_topic_name, qos  # noqa: E402
from baff_ros.ros.messages import message_typestore, plain_types, ROS_NAMES  # noqa: E402
from baff_ros.ros.params import resolve_name  # noqa: E402


@pytest.fixture(scope='module')
def typestore():
    ts = rosbags_typesys.get_typestore(rosbags_typesys.Stores.ROS2_HUMBLE)
    label_info = ('std_msgs/Header header\nvision_msgs/VisionClass[] class_map\n'
                  'float32 threshold\n')
    vision_class = 'uint16 class_id\nstring class_name\n'
    types = rosbags_typesys.get_types_from_msg(label_info, 'vision_msgs/msg/LabelInfo')
    types.update(rosbags_typesys.get_types_from_msg(vision_class, 'vision_msgs/msg/VisionClass'))
    ts.register(types)
    return ts


def _header(ts):
    t = ts.types
    return t['std_msgs/msg/Header'](stamp=t['builtin_interfaces/msg/Time'](sec=17, nanosec=9),
                                    frame_id='camera_optical')


def _dds_header():
    return msgs.Header(stamp=msgs.Time(sec=17, nanosec=9), frame_id='camera_optical')


def test_image_cdr_matches_ros(typestore):
    data = np.arange(2 * 3 * 3, dtype=np.uint8).tobytes()
    ros = typestore.types['sensor_msgs/msg/Image'](
        header=_header(typestore), height=2, width=3, encoding='rgb8', is_bigendian=0, step=9,
        data=np.frombuffer(data, np.uint8))
    dds = msgs.Image(header=_dds_header(), height=2, width=3, encoding='rgb8', step=9,
                     data=data)
    wire = dds.serialize(use_version_2=False)
    assert wire[:2] == b'\x00\x01'  # CDR_LE: XCDR1, as rmw_cyclonedds writes
    assert wire == bytes(typestore.serialize_cdr(ros, 'sensor_msgs/msg/Image'))
    back = msgs.Image.deserialize(wire)
    assert isinstance(back.data, bytes) and back.data == data  # the fast path, not a list


def test_camera_info_label_info_diagnostics_cdr_match_ros(typestore):
    t = typestore.types
    k = np.array([500.0, 0, 320, 0, 510, 240, 0, 0, 1])
    p = np.array([500.0, 0, 320, 0, 0, 510, 240, 0, 0, 0, 1, 0])
    ros = t['sensor_msgs/msg/CameraInfo'](
        header=_header(typestore), height=480, width=640, distortion_model='plumb_bob',
        d=np.array([0.1, 0.2, 0, 0, 0]), k=k, r=np.eye(3).ravel(), p=p, binning_x=1,
        binning_y=2, roi=t['sensor_msgs/msg/RegionOfInterest'](
            x_offset=1, y_offset=2, height=3, width=4, do_rectify=True))
    dds = msgs.CameraInfo(header=_dds_header(), height=480, width=640,
                          distortion_model='plumb_bob', d=[0.1, 0.2, 0, 0, 0], k=list(k),
                          r=list(np.eye(3).ravel()), p=list(p), binning_x=1, binning_y=2,
                          roi=msgs.RegionOfInterest(x_offset=1, y_offset=2, height=3, width=4,
                                                    do_rectify=True))
    assert dds.serialize(use_version_2=False) == bytes(
        typestore.serialize_cdr(ros, 'sensor_msgs/msg/CameraInfo'))

    ros = t['vision_msgs/msg/LabelInfo'](header=_header(typestore), class_map=[
        t['vision_msgs/msg/VisionClass'](class_id=0, class_name='road'),
        t['vision_msgs/msg/VisionClass'](class_id=255, class_name='unknown')], threshold=0.5)
    dds = msgs.LabelInfo(header=_dds_header(), class_map=[
        msgs.VisionClass(class_id=0, class_name='road'),
        msgs.VisionClass(class_id=255, class_name='unknown')], threshold=0.5)
    assert dds.serialize(use_version_2=False) == bytes(
        typestore.serialize_cdr(ros, 'vision_msgs/msg/LabelInfo'))

    ros = t['diagnostic_msgs/msg/DiagnosticArray'](header=_header(typestore), status=[
        t['diagnostic_msgs/msg/DiagnosticStatus'](
            level=1, name='n', message='m', hardware_id='cpu',
            values=[t['diagnostic_msgs/msg/KeyValue'](key='a', value='1')])])
    dds = msgs.DiagnosticArray(header=_dds_header(), status=[msgs.DiagnosticStatus(
        level=1, name='n', message='m', hardware_id='cpu',
        values=[msgs.KeyValue(key='a', value='1')])])
    assert dds.serialize(use_version_2=False) == bytes(
        typestore.serialize_cdr(ros, 'diagnostic_msgs/msg/DiagnosticArray'))


@pytest.mark.parametrize('name', sorted(ROS_NAMES))
def test_plain_and_dds_tables_are_one_definition(name):
    """Both tables come from the typestore: a message of each type gives the same CDR."""
    fields = {'Header': dict(frame_id='cam'), 'Image': dict(encoding='mono8', data=b'\x01\x02'),
              'CameraInfo': dict(d=[0.5, 0.25], k=[1.0] * 9),
              'OccupancyGrid': dict(data=np.int8([-1, 0, 100]).tobytes()),
              'DiagnosticStatus': dict(level=2, name='x'), 'LabelInfo': dict(threshold=0.5),
              'Quaternion': dict(w=1.0)}.get(name, {})
    plain = getattr(plain_types(), name)(**fields)
    dds = getattr(msgs.DDS_TYPES, name)(**fields)
    assert dds.serialize(use_version_2=False) == bytes(
        message_typestore().serialize_cdr(plain, ROS_NAMES[name]))
    assert msgs.TYPE_HASHES[ROS_NAMES[name]].startswith('RIHS01_')


def test_every_struct_is_a_declared_module_attribute_with_bytes_data():
    assert set(ROS_NAMES) <= set(msgs.__annotations__)  # declared for type checkers
    for name in ROS_NAMES:
        assert getattr(msgs, name) is msgs.STRUCTS[name] is getattr(msgs.DDS_TYPES, name)
    # Every uint8[] / int8[] field takes the one-block bytes path, both ways.
    for name in ('Image', 'CompressedImage', 'PointCloud2', 'OccupancyGrid'):
        cls = msgs.STRUCTS[name]
        back = cls.deserialize(cls(data=b'\x01\xff').serialize(use_version_2=False))
        assert back.data == b'\x01\xff' and isinstance(back.data, bytes), name


def test_plain_types_reject_unknown_fields_and_fill_the_rest():
    info = plain_types().CameraInfo(width=640)
    assert info.width == 640 and info.header.frame_id == '' and info.k.shape == (9,)
    with pytest.raises(TypeError, match='widht'):
        plain_types().CameraInfo(widht=640)


def test_ros_names():
    assert msgs.Image.__idl_typename__ == 'sensor_msgs::msg::dds_::Image_'
    assert msgs.LabelInfo.__idl_typename__ == 'vision_msgs::msg::dds_::LabelInfo_'
    assert dds_topic_name(resolve_name('image', '/robot')) == 'rt/robot/image'
    assert resolve_name('image', '/robot', {'image': '/camera/image_raw'}) == \
        '/camera/image_raw'
    assert resolve_name('segmentation/color', '/') == '/segmentation/color'
    assert resolve_name('/diagnostics', '/robot') == '/diagnostics'


def test_qos_is_xcdr1():
    from cyclonedds.core import Policy
    q = qos('best_effort', 1)
    assert q[Policy.DataRepresentation].use_cdrv0_representation
    assert not q[Policy.DataRepresentation].use_xcdrv2_representation
    assert q[Policy.Reliability] == Policy.Reliability.BestEffort
    assert q[Policy.Durability] == Policy.Durability.Volatile
    latched = qos('reliable', 1, transient_local=True)
    assert latched[Policy.Durability] == Policy.Durability.TransientLocal
