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
"""The rclpy lifecycle node and the launch file, where ROS 2 is installed."""

import time

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')

pytestmark = pytest.mark.rclpy

#: In-process nodes live in a namespace of their own: on Humble a destroyed node can stay in the
#: graph until the process ends, and launch tests later in this process start /baff_segmentation.
UNIT_NS = '/unit_test'


def test_parameters_are_declared_from_the_schema(ros_context):
    from baff_ros.ros.params import SCHEMA
    from baff_ros.ros.rclpy_node import SegmentationNode

    node = SegmentationNode(namespace=UNIT_NS)
    try:
        for spec in SCHEMA:
            desc = node.describe_parameter(spec.name)
            assert desc.read_only == spec.read_only, spec.name
        result = node.set_parameters([rclpy.parameter.Parameter('overlay_alpha', value=2.0)])
        assert not result[0].successful
        result = node.set_parameters([rclpy.parameter.Parameter('publish_color', value=False)])
        assert result[0].successful
    finally:
        node.destroy_node()


def test_lifecycle_segments_an_image(ros_context, executor_of):
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image

    from baff_ros.ros.rclpy_node import SegmentationNode

    node = SegmentationNode(namespace=UNIT_NS, parameter_overrides=[
        Parameter('model_config', value='width_mult=0.35'),
        Parameter('input_size', value=[64, 128])])
    peer = rclpy.create_node('peer')
    got = []
    peer.create_subscription(Image, f'{UNIT_NS}/segmentation/labels', got.append, 10)
    pub = peer.create_publisher(Image, f'{UNIT_NS}/image', 10)
    executor = executor_of(node, peer)
    try:
        node.trigger_configure()
        node.trigger_activate()
        img = Image(height=96, width=160, encoding='rgb8', step=480,
                    data=np.zeros(96 * 160 * 3, np.uint8).tobytes())
        img.header.frame_id = 'cam'
        deadline = time.monotonic() + 30
        while not got and time.monotonic() < deadline:
            pub.publish(img)
            executor.spin_once(timeout_sec=0.2)
        assert got and got[0].header.frame_id == 'cam' and got[0].height == 96
        node.trigger_deactivate()
        node.trigger_cleanup()
    finally:
        executor.shutdown()
        node.destroy_node()
        peer.destroy_node()


def test_every_topic_the_node_can_publish_is_a_valid_ros_name():
    """rcl's own validator accepts every input and output topic, relative and namespaced."""
    from rclpy.validate_full_topic_name import validate_full_topic_name
    from rclpy.validate_topic_name import validate_topic_name

    from baff_ros.engine.models import load_model
    from baff_ros.ros.params import OUTPUTS, resolve_name
    from baff_ros.ros.pipeline import DIAGNOSTICS, LABEL_INFO, output_topic, weights_key

    model, _, _ = load_model(None, 'width_mult=0.35')
    keys = [k for k in OUTPUTS if k != 'weights'] + [LABEL_INFO, DIAGNOSTICS]
    keys += [weights_key(n) for n in model.fusion_names]
    assert 'weights/stride16' in keys and 'weights/stride8' in keys
    topics = [output_topic(k) for k in keys] + ['image', 'image/compressed', 'camera_info']
    for topic in topics:
        assert validate_topic_name(topic), topic  # raises InvalidTopicNameException
        for ns in ('/', '/camera', '/robot1/front_camera'):
            assert validate_full_topic_name(resolve_name(topic, ns)), (ns, topic)


def test_a_failing_transition_is_logged_and_can_be_retried(ros_context, tmp_path, capfd):
    """activate with a corrupt model: FAILURE with the reason, the node stays inactive."""
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from baff_ros.ros.rclpy_node import SegmentationNode

    corrupt = tmp_path / 'broken.safetensors'
    corrupt.write_bytes(b'not a checkpoint')
    node = SegmentationNode(namespace=UNIT_NS, parameter_overrides=[
        Parameter('model', value=str(corrupt)), Parameter('input_size', value=[64, 128])])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.FAILURE
        assert node._state_machine.current_state[1] == 'inactive'
        log = capfd.readouterr().err  # rcutils logs to stderr
        assert 'activate failed: ' in log and 'broken.safetensors' in log, log
        # Nothing half-made is left behind: cleanup and a new configure work.
        assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    finally:
        node.destroy_node()
