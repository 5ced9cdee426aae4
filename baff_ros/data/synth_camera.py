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
"""The synthetic street generator's camera as calibration data (its images are unchanged).

:class:`baff_ros.data.synth.Camera` is an ideal pinhole: focal length ``f = (W / 2) /
tan(HFOV / 2)`` in both axes, principal point ``(W / 2, horizon)``, no distortion, optical axis
level (parallel to the road), :data:`~baff_ros.data.synth.CAMERA_HEIGHT` above it. A horizon
row other than H / 2 is a shifted principal point, not a pitch: the generator projects with
``v = horizon + f * (CAMERA_HEIGHT - y) / z``.

In ROS terms (REP-103): the static extrinsics ``camera_height`` = 1.5, ``camera_roll`` =
``camera_pitch`` = ``camera_yaw`` = 0, with the ground frame under the camera (x forward along
the road, y to the left). A ground-frame point (x, y) is the generator's world point
(``cam.x - y``, ``cam.z + x``).
"""

from typing import Dict, List, Tuple

from baff_ros.data.synth import Camera, CAMERA_HEIGHT

#: Static extrinsics of every synthetic frame (node parameter name -> value).
EXTRINSICS: Dict[str, float] = {'camera_height': CAMERA_HEIGHT, 'camera_roll': 0.0,
                                'camera_pitch': 0.0, 'camera_yaw': 0.0, 'camera_x': 0.0,
                                'camera_y': 0.0}


def camera_matrix(cam: Camera) -> List[float]:
    """K of the synthetic camera, row-major (9 values)."""
    f = cam.f
    return [f, 0.0, cam.width / 2, 0.0, f, float(cam.horizon), 0.0, 0.0, 1.0]


def camera_info_fields(cam: Camera) -> Dict[str, object]:
    """Return the CameraInfo fields of a synthetic frame (keyword arguments for any type)."""
    k = camera_matrix(cam)
    return {'height': cam.height, 'width': cam.width, 'distortion_model': 'plumb_bob',
            'd': [0.0] * 5, 'k': k, 'r': [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            'p': k[:3] + [0.0] + k[3:6] + [0.0] + k[6:] + [0.0]}


def ground_to_world(cam: Camera, x: float, y: float) -> Tuple[float, float]:
    """Ground-frame (x forward, y left) -> the generator's world (x right, z forward)."""
    return cam.x - y, cam.z + x
