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
"""Ground clouds over real ROS 2: camera pose from a tf2 static broadcaster, clouds read back
with sensor_msgs_py.point_cloud2, a frame without a transform counted and skipped."""

import time

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')
point_cloud2 = pytest.importorskip('sensor_msgs_py.point_cloud2')

pytestmark = pytest.mark.rclpy

UNIT_NS = '/ground_test'
HEIGHT, PITCH = 1.2, 0.35


def _static_transform(peer):
    from geometry_msgs.msg import TransformStamped
    from tf2_ros import StaticTransformBroadcaster

    from baff_ros.engine.ground import pose_from_extrinsics, quaternion_from_matrix

    pose = pose_from_extrinsics(HEIGHT, pitch=PITCH)
    t = TransformStamped()
    t.header.stamp = peer.get_clock().now().to_msg()
    t.header.frame_id = 'base_footprint'
    t.child_frame_id = 'camera_optical'
    t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = \
        (float(v) for v in pose[:3, 3])
    q = quaternion_from_matrix(pose[:3, :3])
    (t.transform.rotation.x, t.transform.rotation.y, t.transform.rotation.z,
     t.transform.rotation.w) = q
    broadcaster = StaticTransformBroadcaster(peer)
    broadcaster.sendTransform(t)
    return broadcaster, pose


def test_node_publishes_ground_clouds_from_tf(ros_context, executor_of):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2

    from baff_ros.engine import ground
    from baff_ros.ros.rclpy_node import SegmentationNode

    node = SegmentationNode(namespace=UNIT_NS, parameter_overrides=[
        Parameter('model_config', value='width_mult=0.35'),
        Parameter('input_size', value=[64, 128]),
        Parameter('ground_min_confidence', value=0.0),
        # An untrained model may call every pixel sky: ignore nothing, so every ground ray
        # that hits the ground within range gives a point whatever the labels are.
        Parameter('ground_ignore', value=''),
        Parameter('ground_max_range', value=30.0),
        Parameter('ground_tf_timeout', value=0.5),
        Parameter('diagnostics_period', value=0.2)])
    peer = rclpy.create_node('ground_peer')
    got = {'labels': {}, 'confidence': {}, 'obstacle_points': {}, 'free_points': {}}
    for key, msg_type in (('labels', Image), ('confidence', Image),
                          ('obstacle_points', PointCloud2), ('free_points', PointCloud2)):
        peer.create_subscription(
            msg_type, f'{UNIT_NS}/segmentation/{key}',
            lambda m, key=key: got[key].__setitem__(m.header.stamp.sec, m), 10)
    diags = []
    peer.create_subscription(DiagnosticArray, '/diagnostics', diags.append, 10)
    image_pub = peer.create_publisher(Image, f'{UNIT_NS}/image', 10)
    info_pub = peer.create_publisher(CameraInfo, f'{UNIT_NS}/camera_info', 10)
    broadcaster, pose = _static_transform(peer)
    info = CameraInfo(height=96, width=160, distortion_model='plumb_bob', d=[0.0] * 5,
                      k=[100.0, 0.0, 80.0, 0.0, 100.0, 48.0, 0.0, 0.0, 1.0])
    info.header.frame_id = 'camera_optical'
    rgb = np.random.default_rng(3).integers(0, 256, (96, 160, 3), dtype=np.uint8)
    executor = executor_of(node, peer)
    try:
        node.trigger_configure()
        node.trigger_activate()

        def send(sec, frame_id):
            img = Image(height=96, width=160, encoding='rgb8', step=480, data=rgb.tobytes())
            img.header.stamp.sec = sec
            img.header.frame_id = frame_id
            info_pub.publish(info)
            image_pub.publish(img)

        def spin_until(done, timeout=30.0):
            deadline = time.monotonic() + timeout
            while not done() and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.1)
            return done()

        # The static transform is stamped now; tf2 serves static ones at any stamp.
        sec = 100
        while not spin_until(lambda: sec in got['free_points'], 1.0):
            sec += 1
            assert sec < 130, 'no ground clouds within 30 frames'
            send(sec, 'camera_optical')
        assert spin_until(lambda: all(sec in v for v in got.values()), 10.0)
        labels = np.frombuffer(bytes(got['labels'][sec].data), np.uint8).reshape(96, 160)
        conf = np.frombuffer(bytes(got['confidence'][sec].data), np.uint8).reshape(96, 160)
        roles = ground.role_table(node.pipeline.segmenter.meta.class_names, ignore=())
        ref = ground.GroundProjector(roles, ground.ProjectionConfig(4, 30.0, 0.0)).project(
            labels, ground.CameraModel.from_camera_info(info), pose, conf)
        for key, cloud in (('obstacle_points', ref.obstacle), ('free_points', ref.free)):
            msg = got[key][sec]
            assert msg.header.frame_id == 'base_footprint' and msg.header.stamp.sec == sec
            pts = point_cloud2.read_points(msg, field_names=('x', 'y', 'z', 'label',
                                                             'confidence'))
            assert len(pts) == len(cloud)
            assert np.allclose(pts['x'], cloud.xyz[:, 0], atol=1e-6)
            assert np.allclose(pts['y'], cloud.xyz[:, 1], atol=1e-6)
            assert (pts['z'] == 0).all() and np.array_equal(pts['label'], cloud.label)
        assert len(ref.obstacle) + len(ref.free) > 100
        # A role list naming no class is refused at runtime, with the reason.
        result = node.set_parameters([Parameter('ground_traversable', value='road, roads')])
        assert not result[0].successful and 'roads' in result[0].reason
        assert node.pipeline.params.ground_traversable == 'road, sidewalk, terrain'

        # An image in a frame TF does not know: no clouds for it, counted, the node goes on.
        send(200, 'unknown_camera')
        assert spin_until(lambda: 200 in got['labels'], 10.0)
        spin_until(lambda: 200 in got['free_points'], 1.0)
        assert 200 not in got['free_points'] and 200 not in got['obstacle_points']
        diags.clear()

        def skipped():
            for d in diags:
                for status in d.status:
                    values = {v.key: v.value for v in status.values}
                    if values.get('ground_skipped', '0') != '0':
                        return values
            return None
        assert spin_until(skipped, 5.0)
        assert 'unknown_camera' in skipped()['ground_skip_reason']
        node.trigger_deactivate()
        node.trigger_cleanup()
    finally:
        executor.shutdown()
        del broadcaster
        node.destroy_node()
        peer.destroy_node()
