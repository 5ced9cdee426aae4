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
"""The camera side of the ground projection: intrinsics, distortion and the camera pose.

Frames follow REP-103/REP-105: the camera's **optical frame** (the image's ``frame_id``): z
forward along the optical axis, x right, y down; the **ground frame** (``base_footprint``): x
forward, y left, z up, with the ground the plane z = 0. A pose is the 4x4 transform
``T_ground_camera`` taking optical-frame points into the ground frame (what ``tf2`` returns for
``lookup_transform(ground_frame, image_frame, stamp)``). No ROS here.
"""

from dataclasses import dataclass
import math
from typing import Any, cast, Sequence, Tuple

import cv2
import numpy as np

#: Rotation taking optical-frame vectors (z forward, x right, y down) into the camera body frame
#: (x forward, y left, z up).
R_BODY_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
#: Distortion models: cv2.undistortPoints handles plumb_bob and rational_polynomial (5 and 8
#: coefficients), cv2.fisheye.undistortPoints the equidistant one (4).
PINHOLE_MODELS = ('', 'plumb_bob', 'rational_polynomial')
FISHEYE_MODELS = ('equidistant',)


class GroundError(ValueError):
    """A camera model, pose or role table that cannot be used for projection."""


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics of the image the labels are in.

    Attributes:
        k: 3x3 camera matrix (already scaled to the labels image).
        d: distortion coefficients (empty or all zero: none).
        model: distortion model name as in CameraInfo (``plumb_bob``, ``rational_polynomial``,
            ``equidistant``; empty = none).
        size: (height, width) of the image.
    """

    k: Tuple[float, ...]
    d: Tuple[float, ...]
    model: str
    size: Tuple[int, int]

    def __post_init__(self) -> None:
        if len(self.k) != 9:
            raise GroundError(f'camera k: expected 9 values, got {len(self.k)}')
        k = self.k
        if not (k[0] > 0 and k[4] > 0 and math.isfinite(k[0] + k[2] + k[4] + k[5])):
            raise GroundError(f'camera k: focal lengths must be positive and finite, got '
                              f'fx={k[0]}, fy={k[4]} (is the CameraInfo calibrated?)')
        if self.model not in PINHOLE_MODELS + FISHEYE_MODELS:
            raise GroundError(f'camera distortion_model {self.model!r} is not supported (use '
                              f'{", ".join(m for m in PINHOLE_MODELS + FISHEYE_MODELS if m)})')
        if self.model in FISHEYE_MODELS and len(self.d) != 4:
            raise GroundError(f'camera d: equidistant needs 4 coefficients, got {len(self.d)}')
        if self.size[0] <= 0 or self.size[1] <= 0:
            raise GroundError(f'camera size must be positive, got {self.size}')

    @classmethod
    def from_camera_info(cls, info: Any) -> 'CameraModel':
        """Build from a CameraInfo (any duck type) that describes the labels image."""
        return cls(tuple(float(v) for v in info.k), tuple(float(v) for v in info.d),
                   str(info.distortion_model), (int(info.height), int(info.width)))

    @classmethod
    def pinhole(cls, fx: float, fy: float, cx: float, cy: float, size: Tuple[int, int]
                ) -> 'CameraModel':
        """Build an undistorted pinhole camera."""
        return cls((fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0), (), '', (int(size[0]), int(size[1])))

    @property
    def matrix(self) -> np.ndarray:
        """K as a 3x3 float64 array."""
        return np.asarray(self.k, np.float64).reshape(3, 3)

    @property
    def distorted(self) -> bool:
        """Whether any distortion coefficient is non-zero."""
        return any(v != 0.0 for v in self.d)

    def rays(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Return the ray of each pixel (u, v): (N, 3), unit depth, optical frame, undistorted."""
        pts = np.stack([u, v], axis=-1).astype(np.float64).reshape(-1, 1, 2)
        if not self.distorted:
            kinv = np.linalg.inv(self.matrix)
            xy = pts.reshape(-1, 2) @ kinv[:2, :2].T + kinv[:2, 2]
            x, y = xy[:, 0], xy[:, 1]
        elif self.model in FISHEYE_MODELS:
            und = cv2.fisheye.undistortPoints(pts, self.matrix, np.asarray(self.d, np.float64))
            x, y = und[:, 0, 0], und[:, 0, 1]
        else:
            # Iterative, so that strong distortion converges at the image edges too.
            crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-12)
            und = cast(Any, cv2.undistortPointsIter)(
                pts, self.matrix, np.asarray(self.d, np.float64), None, None, crit)
            x, y = und[:, 0, 0], und[:, 0, 1]
        return np.stack([x, y, np.ones_like(x)], axis=-1)


def rotation_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """3x3 rotation Rz(yaw) @ Ry(pitch) @ Rx(roll) (fixed-axis roll, pitch, yaw; REP-103)."""
    cr, sr = math.cos(roll), math.sin(roll)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


def pose_from_extrinsics(height: float, roll: float = 0.0, pitch: float = 0.0,
                         yaw: float = 0.0, x: float = 0.0, y: float = 0.0) -> np.ndarray:
    """``T_ground_camera`` (4x4) of an optical frame from static extrinsics.

    Args:
        height: camera height above the ground (m), > 0.
        roll, pitch, yaw: orientation (rad) of the camera body frame (x forward, y left, z up)
            relative to the ground frame; positive pitch tilts the camera down.
        x, y: position of the camera above the ground frame's origin (m).
    """
    if not height > 0:
        raise GroundError(f'camera height must be > 0 m (the camera is above the ground), '
                          f'got {height}')
    pose = np.eye(4)
    pose[:3, :3] = rotation_rpy(roll, pitch, yaw) @ R_BODY_OPTICAL
    pose[:3, 3] = (x, y, height)
    return pose


def pose_from_transform(translation: Sequence[float], quaternion: Sequence[float]
                        ) -> np.ndarray:
    """4x4 from a translation (x, y, z) and a unit quaternion (x, y, z, w), as in tf2."""
    qx, qy, qz, qw = (float(v) for v in quaternion)
    n = math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
    if not n > 0:
        raise GroundError('transform: zero quaternion')
    qx, qy, qz, qw = qx / n, qy / n, qz / n, qw / n
    pose = np.eye(4)
    pose[:3, :3] = [
        [1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * qw), 2 * (qx * qz + qy * qw)],
        [2 * (qx * qy + qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * qw)],
        [2 * (qx * qz - qy * qw), 2 * (qy * qz + qx * qw), 1 - 2 * (qx * qx + qy * qy)]]
    pose[:3, 3] = [float(v) for v in translation]
    return pose


def quaternion_from_matrix(rot: np.ndarray) -> Tuple[float, float, float, float]:
    """Return the unit quaternion (x, y, z, w) of a 3x3 rotation (e.g. to broadcast a pose)."""
    m = np.asarray(rot, np.float64)
    w = math.sqrt(max(0.0, 1 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    x = math.copysign(math.sqrt(max(0.0, 1 + m[0, 0] - m[1, 1] - m[2, 2])) / 2, m[2, 1] - m[1, 2])
    y = math.copysign(math.sqrt(max(0.0, 1 - m[0, 0] + m[1, 1] - m[2, 2])) / 2, m[0, 2] - m[2, 0])
    z = math.copysign(math.sqrt(max(0.0, 1 - m[0, 0] - m[1, 1] + m[2, 2])) / 2, m[1, 0] - m[0, 1])
    return x, y, z, w


# -- roles -------------------------------------------------------------------------------------
