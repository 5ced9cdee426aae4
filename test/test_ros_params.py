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
"""Parameters schema, config/segment.yaml, launch arguments, rviz config, --ros-args: no ROS."""

import ast
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from baff_ros.ros.params import (load_params_file, node_section, NodeParams, parse_ros_args,
                                 resolve_name, RUNTIME_PARAMS, SCHEMA, SPECS)

ROOT = Path(__file__).resolve().parents[1]
#: Parameters every rclpy node has; the launch file may set them without a schema entry.
ROS_BUILTIN_PARAMS = {'use_sim_time'}


def test_schema_and_dataclass_agree():
    assert [f.name for f in fields(NodeParams)] == [s.name for s in SCHEMA]
    defaults = NodeParams().as_dict()
    for spec in SCHEMA:
        assert defaults[spec.name] == spec.default, spec.name
        assert spec.description and not spec.description.endswith('.')
    assert set(RUNTIME_PARAMS) >= {'overlay_alpha', 'publish_color', 'publish_weights'}
    assert SPECS['model'].read_only and not SPECS['overlay_alpha'].read_only


def test_config_yaml_matches_schema():
    values = load_params_file(ROOT / 'config' / 'segment.yaml')
    assert set(values) == set(SPECS), 'config/segment.yaml must list every parameter'
    assert NodeParams.from_dict(values) == NodeParams()  # and document the defaults


@pytest.mark.parametrize('values, match', [
    ({'overlay_alpha': 2.0}, 'outside'),
    ({'output_size': 'huge'}, 'one of'),
    ({'input_size': [100, 128]}, 'multiples of 32'),
    ({'input_size': [64]}, 'multiples of 32'),
    ({'publish_color': 1}, 'bool'),
    ({'threads': 1.5}, 'integer'),
    ({'device': 'gpu'}, 'cuda'),
    ({'modle': 'x'}, 'unknown parameter'),
])
def test_validation_errors_name_the_parameter(values, match):
    with pytest.raises(ValueError, match=match):
        NodeParams.from_dict(values)


def test_runtime_changes():
    p = NodeParams()
    assert p.with_changes({'overlay_alpha': 0.2}).overlay_alpha == 0.2
    with pytest.raises(ValueError, match='read-only'):
        p.with_changes({'backend': 'onnxruntime'})
    assert p.with_changes({'backend': 'onnxruntime'}, runtime=False).backend == 'onnxruntime'


def test_params_file_sections(tmp_path):
    data = {'/**': {'ros__parameters': {'device': 'cuda', 'threads': 2}},
            '/robot/baff_segmentation': {'ros__parameters': {'device': 'cuda:1'}}}
    assert node_section(data) == {'device': 'cuda:1', 'threads': 2}
    with pytest.raises(ValueError, match='no section'):
        node_section({'other': {'ros__parameters': {}}})
    bad = tmp_path / 'bad.yaml'
    bad.write_text('baff_segmentation: [1, 2')
    with pytest.raises(ValueError, match='not valid YAML'):
        load_params_file(bad)


def test_ros_args():
    ros = parse_ros_args(['--ros-args', '-p', 'input_size:=[256, 512]', '-p', 'device:=cuda',
                          '-r', 'image:=/camera/image_raw', '-r', '__ns:=/robot',
                          '--log-level', 'debug', '--params-file', 'x.yaml'])
    assert ros.params == {'input_size': [256, 512], 'device': 'cuda'}
    assert ros.namespace == '/robot' and ros.log_level == 'debug'
    assert ros.params_files == ('x.yaml',)
    assert resolve_name('image', ros.namespace, ros.remaps) == '/camera/image_raw'
    assert resolve_name('camera_info', ros.namespace, ros.remaps) == '/robot/camera_info'
    with pytest.raises(ValueError, match='unsupported'):
        parse_ros_args(['--enclave', 'x'])


def _launch_arguments():
    tree = ast.parse((ROOT / 'launch' / 'segment.launch.py').read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == 'ARGUMENTS':
            return ast.literal_eval(node.value)
    raise AssertionError('ARGUMENTS not found')


def test_launch_arguments_fit_the_schema():
    args = _launch_arguments()
    assert {'params_file', 'namespace', 'image', 'use_sim_time', 'log_level', 'autostart',
            'rviz', 'device', 'input_size'} <= set(args)
    source = (ROOT / 'launch' / 'segment.launch.py').read_text()
    # Every parameter override the launch file writes is a schema (or ROS builtin) name.
    tree = ast.parse(source)
    written = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == 'overrides'):
            written |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
                and node.value.id == 'overrides' and isinstance(node.slice, ast.Constant)):
            written.add(node.slice.value)
    assert written and written <= set(SPECS) | ROS_BUILTIN_PARAMS, written - set(SPECS)
    for name in ('device', 'backend'):
        assert SPECS[name].validate(args[name][0]) == args[name][0]


def test_rviz_config_shows_the_node_topics():
    data = yaml.safe_load((ROOT / 'config' / 'segment.rviz').read_text())
    topics = {d['Topic']['Value'] for d in data['Visualization Manager']['Displays']}
    # What `ros2 launch ... namespace:=camera` and the demo bag (/camera/image_raw) publish.
    assert {'/camera/segmentation/color', '/camera/segmentation/overlay',
            '/camera/segmentation/weights/stride16', '/camera/segmentation/weights/stride8'} \
        <= topics


def test_ground_rviz_config_shows_the_clouds_in_the_ground_frame():
    data = yaml.safe_load((ROOT / 'config' / 'ground.rviz').read_text())
    manager = data['Visualization Manager']
    topics = {d['Topic']['Value'] for d in manager['Displays'] if 'Topic' in d}
    assert {'/camera/segmentation/obstacle_points', '/camera/segmentation/free_points',
            '/camera/segmentation/ground_grid'} <= topics
    assert manager['Global Options']['Fixed Frame'] == SPECS['ground_frame'].default


def test_nav2_snippet_reads_the_node_clouds():
    data = yaml.safe_load((ROOT / 'config' / 'nav2_semantic_obstacles.yaml').read_text())
    params = data['local_costmap']['local_costmap']['ros__parameters']
    layer = params['semantic_obstacle_layer']
    assert layer['plugin'] == 'nav2_costmap_2d::ObstacleLayer'
    sources = layer['observation_sources'].split()
    got = {layer[s]['topic']: (layer[s]['marking'], layer[s]['clearing']) for s in sources}
    assert got == {'/camera/segmentation/obstacle_points': (True, False),
                   '/camera/segmentation/free_points': (False, True)}
    for s in sources:  # the points lie on z = 0: inside the layer's height band
        assert layer[s]['min_obstacle_height'] < 0 < layer[s]['max_obstacle_height']
        assert layer[s]['data_type'] == 'PointCloud2'
    assert params['robot_base_frame'] == SPECS['ground_frame'].default


def test_setup_registers_the_ros_entry_point():
    assert "'segment = baff_ros.ros.rclpy_node:main'" in (ROOT / 'setup.py').read_text()


def test_node_command_help_and_bad_params(tmp_path):
    from baff_ros.cli import main

    bad = tmp_path / 'p.yaml'
    bad.write_text('baff_segmentation:\n  ros__parameters:\n    overlay_alpha: 3.0\n')
    assert main(['node', '--params', str(bad)]) == 2
    assert main(['node', '--ros-args', '-p', 'frame_skip:=-1']) == 2
