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
"""The node's outputs: their keys and topics, and the messages built for them (no ROS).

Output keys are the topic names below ``segmentation/`` (``labels``, ``weights/stride16``,
...). The pictures come from :class:`baff_ros.engine.visualize.Views` (each rendered once);
this module only wraps them, the ground clouds and grid, and the class table into messages of
the adapter's :class:`~baff_ros.ros.messages.MessageTypes`.
"""

from typing import Any, List, Sequence, Tuple

import numpy as np

from baff_ros.engine import ground
from baff_ros.engine.visualize import Views
from baff_ros.ros.diagnostics import header_now
from baff_ros.ros.ground_codec import cloud_to_msg, grid_to_msg
from baff_ros.ros.messages import MessageTypes
from baff_ros.ros.params import NodeParams, OUTPUTS

#: Topic of each output key, relative to the node's namespace.
TOPIC_PREFIX = 'segmentation/'
#: Output key (and topic suffix) of a fusion point's weight map: ``weights/stride16``. ROS name
#: tokens must not start with a digit, so the fusion's stride alone ('16') is not a valid token.
WEIGHTS_PREFIX = 'weights/stride'
LABEL_INFO = 'label_info'
DIAGNOSTICS = 'diagnostics'
#: Label value of pixels with no class (Cityscapes ignore / unknown).
UNKNOWN_LABEL = 255
#: Publishing order of a frame's outputs: what navigation consumes first, pictures last.
PUBLISH_ORDER = ('labels', 'camera_info', 'obstacle_points', 'free_points', 'ground_grid',
                 'confidence', 'weights', 'color', 'overlay')


def publish_rank(key: str) -> int:
    """Return the position of ``key`` in :data:`PUBLISH_ORDER` (weight maps share one rank)."""
    return PUBLISH_ORDER.index(key.split('/')[0])


def weights_key(fusion: str) -> str:
    """Output key of a fusion point's weight map: ``'16'`` -> ``'weights/stride16'``."""
    return WEIGHTS_PREFIX + fusion


def fusion_of(key: str) -> str:
    """Fusion point of a weight-map output key: ``'weights/stride16'`` -> ``'16'``."""
    if not key.startswith(WEIGHTS_PREFIX):
        raise ValueError(f'not a weight-map output key: {key!r}')
    return key[len(WEIGHTS_PREFIX):]


def output_topic(key: str) -> str:
    """Relative topic of an output key: ``'color'`` -> ``'segmentation/color'``."""
    if key == DIAGNOSTICS:
        return '/diagnostics'
    return TOPIC_PREFIX + key


def output_keys(fusion_names: Sequence[str]) -> List[str]:
    """Return every output key of a model with these fusion points (one weight map each)."""
    keys = [k for k in OUTPUTS if k != 'weights']
    return keys + [weights_key(n) for n in fusion_names]


def image_output(key: str, views: Views, params: NodeParams) -> Tuple[np.ndarray, str]:
    """Return (array, encoding) of image output ``key`` (labels, confidence, colour, ...)."""
    if key in ('labels', 'confidence'):
        return getattr(views.result, key), 'mono8'
    if key == 'color':
        return views.color, 'rgb8'
    if key == 'overlay':
        return views.overlay, 'rgb8'
    encoding = params.weights_encoding
    return (views.weights(fusion_of(key), encoding, at_output=params.weights_size == 'output'),
            encoding)


def ground_msg(key: str, projection: ground.Projection, header: Any, params: NodeParams,
               types: MessageTypes) -> Any:
    """Build ground output ``key`` of a projection, stamped as the frame, in ``ground_frame``."""
    gheader = types.Header(stamp=types.Time(sec=int(header.stamp.sec),
                                            nanosec=int(header.stamp.nanosec)),
                           frame_id=params.ground_frame)
    if key == 'obstacle_points':
        return cloud_to_msg(projection.obstacle, gheader, types)
    if key == 'free_points':
        return cloud_to_msg(projection.free, gheader, types)
    grid = ground.GridConfig(params.grid_resolution, params.grid_size)
    return grid_to_msg(ground.rasterise(projection, grid), grid, gheader, types)


def label_info_msg(class_names: Sequence[str], types: MessageTypes) -> Any:
    """vision_msgs/LabelInfo: train ID -> class name, 255 = unknown."""
    classes = [types.VisionClass(class_id=i, class_name=str(n))
               for i, n in enumerate(class_names)]
    classes.append(types.VisionClass(class_id=UNKNOWN_LABEL, class_name='unknown'))
    # threshold: no confidence threshold is applied to the labels (argmax everywhere).
    return types.LabelInfo(header=header_now(types), class_map=classes, threshold=0.0)
