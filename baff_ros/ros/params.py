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
"""The node's parameters: one schema for rclpy, the DDS node, the YAML file and the launch file.

Each :class:`ParamSpec` carries what a ``ParameterDescriptor`` needs (type, range, choices,
description, read-only); :class:`NodeParams` is the validated, frozen set the pipeline uses.
``read_only`` parameters are fixed once the node is configured (model, backend, QoS ...);
the others can be changed at runtime and are validated by the same code in both adapters.
"""

from dataclasses import dataclass, fields, replace
from typing import Any, Dict, Mapping, Optional, Tuple

# Parameter files and --ros-args have a module of their own; params.<name> stays their path.
from baff_ros.ros.ros_args import (  # noqa: F401
    load_params_file, NODE_NAME, node_section, parse_param_override, parse_ros_args, RosArgs,
    resolve_name)


PARAM_TYPES = ('string', 'integer', 'double', 'bool', 'integer_array')


@dataclass(frozen=True)
class ParamSpec:
    """One parameter's declaration.

    Attributes:
        name: parameter name.
        type: one of :data:`PARAM_TYPES`.
        default: default value.
        description: one line for ``ros2 param describe`` and the docs.
        choices: allowed values of a string parameter (empty: any).
        range: inclusive (low, high) for numbers and every element of an integer array.
        read_only: fixed after configuration (rclpy: ``ParameterDescriptor.read_only``).
    """

    name: str
    type: str
    default: Any
    description: str
    choices: Tuple[str, ...] = ()
    range: Optional[Tuple[float, float]] = None
    read_only: bool = False

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f'{self.name}: type must be one of {PARAM_TYPES}, got {self.type!r}')
        self.validate(self.default)

    def validate(self, value: Any) -> Any:
        """Return ``value`` coerced to the parameter's type; ValueError naming the problem."""
        name, t = self.name, self.type
        if t == 'bool':
            if not isinstance(value, bool):
                raise ValueError(f'parameter {name}: expected a bool, got {value!r}')
            return value
        if t == 'string':
            if not isinstance(value, str):
                raise ValueError(f'parameter {name}: expected a string, got {value!r}')
            if self.choices and value not in self.choices:
                raise ValueError(f'parameter {name}: must be one of {", ".join(self.choices)}, '
                                 f'got {value!r}')
            return value
        if t == 'integer_array':
            if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise ValueError(f'parameter {name}: expected a list of integers, got {value!r}')
            for v in value:
                self._check_range(v)
            return tuple(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                t == 'integer' and not isinstance(value, int)):
            kind = 'an integer' if t == 'integer' else 'a number'
            raise ValueError(f'parameter {name}: expected {kind}, got {value!r}')
        value = int(value) if t == 'integer' else float(value)
        self._check_range(value)
        return value

    def _check_range(self, value: float) -> None:
        if self.range is not None and not self.range[0] <= value <= self.range[1]:
            raise ValueError(f'parameter {self.name}: {value!r} is outside '
                             f'[{self.range[0]}, {self.range[1]}]')


#: Outputs that have a publish_<name> toggle (topic segmentation/<name>; weights: one per fusion).
OUTPUTS = ('labels', 'confidence', 'color', 'overlay', 'weights', 'camera_info',
           'obstacle_points', 'free_points', 'ground_grid')
#: Outputs made by the ground projection (they need a CameraInfo and a camera pose).
GROUND_OUTPUTS = ('obstacle_points', 'free_points', 'ground_grid')
#: Where the camera pose comes from.
POSE_SOURCES = ('tf', 'static')
_RO: Dict[str, Any] = {'read_only': True}

SCHEMA: Tuple[ParamSpec, ...] = (
    ParamSpec('model', 'string', '', 'checkpoint (.safetensors) path or bundled model name, or '
              'an exported model: .onnx (onnxruntime, no torch needed) or TensorRT .engine/.plan '
              'with its .json sidecar; empty: the bundled default (an untrained model from '
              'model_config if none is installed)', **_RO),
    ParamSpec('model_config', 'string', '', 'without a checkpoint: architecture of an untrained '
              'model as key=value pairs (e.g. width_mult=0.35); for tests and demos only', **_RO),
    ParamSpec('backend', 'string', 'auto', 'inference runtime: auto, torch, onnxruntime, '
              'tensorrt (those installed)', **_RO),
    ParamSpec('device', 'string', 'cpu', 'cpu, cuda or cuda:N', **_RO),
    ParamSpec('precision', 'string', 'fp32', 'numeric precision',
              choices=('fp32', 'fp16', 'int8'), **_RO),
    ParamSpec('threads', 'integer', 0, 'CPU inference threads, 0 = runtime default',
              range=(0, 256), **_RO),
    ParamSpec('input_size', 'integer_array', [0, 0], 'network input [height, width], multiples '
              "of 32; [0, 0] = the checkpoint's", range=(0, 8192), **_RO),
    ParamSpec('output_size', 'string', 'input', 'size of labels/confidence/colour: the input '
              "image's or the network's", choices=('input', 'network'), **_RO),
    ParamSpec('input_transport', 'string', 'raw', "subscribe to 'image' (raw) or "
              "'image/compressed' (jpeg/png)", choices=('raw', 'compressed'), **_RO),
    ParamSpec('reduced_decode', 'bool', True, 'decode JPEG frames at 1/2, 1/4 or 1/8 scale '
              'where that still covers the network input and no overlay at the input size is '
              'wanted (a fraction of the decode time; labels as with a full decode on about '
              '99 % of pixels)'),
    ParamSpec('publish_labels', 'bool', True, 'publish segmentation/labels (mono8 train IDs)'),
    ParamSpec('publish_confidence', 'bool', True, 'publish segmentation/confidence (mono8)'),
    ParamSpec('publish_color', 'bool', True, 'publish segmentation/color (rgb8 palette)'),
    ParamSpec('publish_overlay', 'bool', True, 'publish segmentation/overlay (rgb8 blend)'),
    ParamSpec('publish_weights', 'bool', True, 'publish segmentation/weights/stride<k> '
              '(BAFF fusion weights)'),
    ParamSpec('publish_camera_info', 'bool', True, 'publish segmentation/camera_info scaled to '
              'the labels image (needs camera_info input)'),
    ParamSpec('publish_obstacle_points', 'bool', True, 'publish segmentation/obstacle_points '
              '(PointCloud2 on the ground plane; needs camera_info and a camera pose)'),
    ParamSpec('publish_free_points', 'bool', True, 'publish segmentation/free_points '
              '(PointCloud2 of traversable ground; needs camera_info and a camera pose)'),
    ParamSpec('publish_ground_grid', 'bool', True, 'publish segmentation/ground_grid '
              '(OccupancyGrid around the ground frame origin, -1 unseen)'),
    ParamSpec('ground_frame', 'string', 'base_footprint', 'frame of the clouds and the grid; '
              'its z = 0 plane is the ground', **_RO),
    ParamSpec('ground_pose_source', 'string', 'tf', "camera pose: 'tf' (rclpy node: image "
              "frame_id -> ground_frame at the image stamp) or 'static' (camera_* parameters; "
              'the DDS node and the bag tool always use these)', choices=POSE_SOURCES, **_RO),
    ParamSpec('ground_tf_timeout', 'double', 0.05, 'seconds to wait for the camera transform; '
              'a frame without one is not projected (counted in diagnostics)',
              range=(0.0, 5.0)),
    ParamSpec('camera_height', 'double', 1.5, 'static extrinsics: camera height above the '
              'ground (m)', range=(0.01, 100.0)),
    ParamSpec('camera_roll', 'double', 0.0, 'static extrinsics: roll (rad, REP-103)',
              range=(-3.1416, 3.1416)),
    ParamSpec('camera_pitch', 'double', 0.0, 'static extrinsics: pitch (rad, positive looks '
              'down)', range=(-3.1416, 3.1416)),
    ParamSpec('camera_yaw', 'double', 0.0, 'static extrinsics: yaw (rad, positive turns left)',
              range=(-3.1416, 3.1416)),
    ParamSpec('camera_x', 'double', 0.0, 'static extrinsics: camera x in the ground frame (m, '
              'forward)', range=(-100.0, 100.0)),
    ParamSpec('camera_y', 'double', 0.0, 'static extrinsics: camera y in the ground frame (m, '
              'left)', range=(-100.0, 100.0)),
    ParamSpec('ground_stride', 'integer', 4, 'project every n-th pixel row and column',
              range=(1, 64)),
    ParamSpec('ground_max_range', 'double', 10.0, 'drop ground points farther than this from '
              'the camera (m)', range=(0.1, 1000.0)),
    ParamSpec('ground_min_confidence', 'double', 0.5, 'drop pixels less confident than this '
              '(0..1)', range=(0.0, 1.0)),
    ParamSpec('ground_traversable', 'string', 'road, sidewalk, terrain', 'comma-separated '
              'classes that are free space; every class neither traversable nor ignored is '
              'an obstacle'),
    ParamSpec('ground_ignore', 'string', 'sky', 'comma-separated classes left out of the '
              'projection (unknown, 255, always is)'),
    ParamSpec('grid_resolution', 'double', 0.1, 'ground_grid cell size (m)',
              range=(0.01, 10.0)),
    ParamSpec('grid_size', 'double', 20.0, 'ground_grid side length (m), centred on the '
              'ground frame origin', range=(0.1, 1000.0)),
    ParamSpec('weights_encoding', 'string', 'mono8', 'weight maps as mono8 (w*255) or 32FC1',
              choices=('mono8', '32FC1')),
    ParamSpec('weights_size', 'string', 'output', "weight maps at the labels image's size "
              "(nearest, blocks kept) or their native block grid", choices=('output', 'native')),
    ParamSpec('weights_scale', 'string', 'fixed', 'mono8 weight maps: fixed (w*255, the same '
              "grey is the same w in every frame) or stretch (each frame's min..max to 0..255; "
              'range in /diagnostics); 32FC1 is always w', choices=('fixed', 'stretch')),
    ParamSpec('overlay_alpha', 'double', 0.5, 'opacity of the colour mask in the overlay',
              range=(0.0, 1.0)),
    ParamSpec('frame_skip', 'integer', 0, 'process one frame, then ignore this many',
              range=(0, 1000)),
    ParamSpec('image_qos_reliability', 'string', 'best_effort', 'input image reliability '
              '(REP-2003 sensor data: best_effort)', choices=('best_effort', 'reliable'), **_RO),
    ParamSpec('image_qos_depth', 'integer', 1, 'input image history depth (keep last)',
              range=(1, 100), **_RO),
    ParamSpec('output_qos_reliability', 'string', 'reliable', 'output image reliability',
              choices=('best_effort', 'reliable'), **_RO),
    ParamSpec('output_qos_depth', 'integer', 1, 'output history depth (keep last)',
              range=(1, 100), **_RO),
    ParamSpec('diagnostics_period', 'double', 1.0, 'seconds between /diagnostics messages',
              range=(0.1, 60.0), **_RO),
    ParamSpec('autostart', 'bool', True, 'rclpy lifecycle node: configure and activate itself '
              'on start (false: wait for a lifecycle manager)', **_RO),
)
SPECS: Dict[str, ParamSpec] = {s.name: s for s in SCHEMA}
#: Parameters that may change while the node runs.
RUNTIME_PARAMS = tuple(s.name for s in SCHEMA if not s.read_only)


@dataclass(frozen=True)
class NodeParams:
    """Validated node parameters (field names and defaults are :data:`SCHEMA`'s)."""

    model: str = SPECS['model'].default
    model_config: str = SPECS['model_config'].default
    backend: str = SPECS['backend'].default
    device: str = SPECS['device'].default
    precision: str = SPECS['precision'].default
    threads: int = SPECS['threads'].default
    input_size: Tuple[int, ...] = tuple(SPECS['input_size'].default)
    output_size: str = SPECS['output_size'].default
    input_transport: str = SPECS['input_transport'].default
    reduced_decode: bool = SPECS['reduced_decode'].default
    publish_labels: bool = SPECS['publish_labels'].default
    publish_confidence: bool = SPECS['publish_confidence'].default
    publish_color: bool = SPECS['publish_color'].default
    publish_overlay: bool = SPECS['publish_overlay'].default
    publish_weights: bool = SPECS['publish_weights'].default
    publish_camera_info: bool = SPECS['publish_camera_info'].default
    publish_obstacle_points: bool = SPECS['publish_obstacle_points'].default
    publish_free_points: bool = SPECS['publish_free_points'].default
    publish_ground_grid: bool = SPECS['publish_ground_grid'].default
    ground_frame: str = SPECS['ground_frame'].default
    ground_pose_source: str = SPECS['ground_pose_source'].default
    ground_tf_timeout: float = SPECS['ground_tf_timeout'].default
    camera_height: float = SPECS['camera_height'].default
    camera_roll: float = SPECS['camera_roll'].default
    camera_pitch: float = SPECS['camera_pitch'].default
    camera_yaw: float = SPECS['camera_yaw'].default
    camera_x: float = SPECS['camera_x'].default
    camera_y: float = SPECS['camera_y'].default
    ground_stride: int = SPECS['ground_stride'].default
    ground_max_range: float = SPECS['ground_max_range'].default
    ground_min_confidence: float = SPECS['ground_min_confidence'].default
    ground_traversable: str = SPECS['ground_traversable'].default
    ground_ignore: str = SPECS['ground_ignore'].default
    grid_resolution: float = SPECS['grid_resolution'].default
    grid_size: float = SPECS['grid_size'].default
    weights_encoding: str = SPECS['weights_encoding'].default
    weights_size: str = SPECS['weights_size'].default
    weights_scale: str = SPECS['weights_scale'].default
    overlay_alpha: float = SPECS['overlay_alpha'].default
    frame_skip: int = SPECS['frame_skip'].default
    image_qos_reliability: str = SPECS['image_qos_reliability'].default
    image_qos_depth: int = SPECS['image_qos_depth'].default
    output_qos_reliability: str = SPECS['output_qos_reliability'].default
    output_qos_depth: int = SPECS['output_qos_depth'].default
    diagnostics_period: float = SPECS['diagnostics_period'].default
    autostart: bool = SPECS['autostart'].default

    def __post_init__(self) -> None:
        for f in fields(self):
            # frozen: write the coerced value (e.g. 1 -> 1.0, list -> tuple) through object.
            object.__setattr__(self, f.name, SPECS[f.name].validate(getattr(self, f.name)))
        size = self.input_size
        if len(size) != 2 or (any(size) and (min(size) < 32 or size[0] % 32 or size[1] % 32)):
            raise ValueError(f'parameter input_size: expected [height, width], multiples of 32 '
                             f'(or [0, 0] for the checkpoint\'s), got {list(size)}')
        dev = self.device
        if not (dev in ('cpu', 'cuda') or (dev.startswith('cuda:') and dev[5:].isdigit())):
            raise ValueError(f"parameter device: expected 'cpu', 'cuda' or 'cuda:N', got {dev!r}")
        if self.grid_size / self.grid_resolution > 4096:
            raise ValueError(f'parameters grid_size / grid_resolution: {self.grid_size} m at '
                             f'{self.grid_resolution} m is more than 4096 cells a side')
        if not self.ground_frame:
            raise ValueError('parameter ground_frame: must not be empty')

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> 'NodeParams':
        """Validate a name -> value mapping; unknown names are an error (typos fail loudly)."""
        unknown = sorted(set(values) - set(SPECS))
        if unknown:
            raise ValueError(f'unknown parameter(s) {", ".join(unknown)}; known: '
                             f'{", ".join(SPECS)}')
        return cls(**dict(values))

    def as_dict(self) -> Dict[str, Any]:
        """Return name -> value, arrays as lists (what ROS parameters and YAML hold)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in fields(self)}

    def with_changes(self, changes: Mapping[str, Any], runtime: bool = True) -> 'NodeParams':
        """Return a copy with ``changes`` applied; at runtime read-only parameters are refused."""
        if runtime:
            fixed = sorted(n for n in changes if n in SPECS and SPECS[n].read_only
                           and changes[n] != getattr(self, n))
            if fixed:
                raise ValueError(f'parameter(s) {", ".join(fixed)} are read-only while the node '
                                 'is configured')
        unknown = sorted(set(changes) - set(SPECS))
        if unknown:
            raise ValueError(f'unknown parameter(s) {", ".join(unknown)}')
        return replace(self, **dict(changes))

    @property
    def network_size(self) -> Optional[Tuple[int, int]]:
        """The requested network input size, None for the checkpoint's."""
        return tuple(self.input_size) if any(self.input_size) else None  # type: ignore
