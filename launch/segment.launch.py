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
"""Launch the BAFF-SkipNet segmentation lifecycle node (optionally with rviz).

    ros2 launch baff_ros segment.launch.py image:=/camera/image_raw device:=cuda

Deployment arguments only; everything else comes from ``params_file`` (config/segment.yaml),
with the arguments layered on top: ``parameters=[params_file, {...}]``.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, OpaqueFunction,
                            RegisterEventHandler)
from launch.conditions import IfCondition
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition

#: name -> (default, description); test/test_ros_params.py checks these against the schema.
ARGUMENTS = {
    'params_file': ('', 'parameter file (default: the package\'s config/segment.yaml)'),
    'namespace': ('', 'namespace of the node and its topics'),
    'image': ('image', 'input image topic (remaps "image"; compressed: "<image>/compressed")'),
    'camera_info': ('camera_info', 'input CameraInfo topic'),
    'model': ('', 'checkpoint, bundled model name, .onnx or TensorRT engine (empty: '
              'params_file\'s)'),
    'input_size': ('', 'network input as "[height, width]" (empty: params_file\'s)'),
    'device': ('cpu', 'cpu, cuda or cuda:N'),
    'backend': ('auto', 'auto, torch, onnxruntime or tensorrt'),
    'use_sim_time': ('false', 'use /clock'),
    'log_level': ('info', 'debug, info, warn, error'),
    'autostart': ('true', 'configure and activate the lifecycle node on start'),
    'ground_frame': ('base_footprint', 'frame of the ground clouds and grid (TF from the '
                     'image frame_id to it places the camera)'),
    'rviz': ('false', 'start rviz2 with config/<rviz_config>'),
    'rviz_config': ('segment.rviz', 'rviz layout in the package\'s config/: segment.rviz '
                    '(images) or ground.rviz (ground clouds from above)'),
}


def _node(context, *args, **kwargs):
    share = get_package_share_directory('baff_ros')
    arg = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    params_file = arg['params_file'] or os.path.join(share, 'config', 'segment.yaml')
    overrides = {'device': arg['device'], 'backend': arg['backend'],
                 'ground_frame': arg['ground_frame'],
                 'use_sim_time': arg['use_sim_time'].lower() == 'true',
                 # The launch file drives the lifecycle itself (below), not the node.
                 'autostart': False}
    if arg['model']:
        overrides['model'] = arg['model']
    if arg['input_size']:
        overrides['input_size'] = [int(v) for v in arg['input_size'].strip('[]').split(',')]
    node = LifecycleNode(
        package='baff_ros', executable='segment', name='baff_segmentation',
        namespace=arg['namespace'], output='screen',
        parameters=[params_file, overrides],
        remappings=[('image', arg['image']), ('image/compressed', arg['image'] + '/compressed'),
                    ('camera_info', arg['camera_info'])],
        arguments=['--ros-args', '--log-level', arg['log_level']])
    actions = [node]
    if arg['autostart'].lower() == 'true':
        actions += [
            EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                        transition_id=Transition.TRANSITION_CONFIGURE)),
            RegisterEventHandler(OnStateTransition(
                target_lifecycle_node=node, goal_state='inactive',
                entities=[EmitEvent(event=ChangeState(
                    lifecycle_node_matcher=matches_action(node),
                    transition_id=Transition.TRANSITION_ACTIVATE))])),
        ]
    return actions


def generate_launch_description() -> LaunchDescription:
    """Arguments, the lifecycle node with its autostart events, optional rviz."""
    share = get_package_share_directory('baff_ros')
    declared = [DeclareLaunchArgument(name, default_value=default, description=desc)
                for name, (default, desc) in ARGUMENTS.items()]
    rviz = Node(package='rviz2', executable='rviz2', name='rviz2', output='screen',
                arguments=['-d', PathJoinSubstitution([share, 'config',
                                                       LaunchConfiguration('rviz_config')])],
                condition=IfCondition(LaunchConfiguration('rviz')))
    return LaunchDescription(declared + [OpaqueFunction(function=_node), rviz])
