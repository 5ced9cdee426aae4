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
"""The node's ground projection step: camera pose, projector cache, skips counted (no ROS).

:class:`GroundStage` turns one segmented frame into a :class:`~baff_ros.engine.ground.Projection`
for the obstacle / free clouds and the occupancy grid. Where there is no pose (no transform at
the image stamp) or no usable camera model, the frame's ground outputs are skipped, counted in
the diagnostics and logged (the first few, then every 100th).
"""

import time
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from baff_ros.engine import ground
from baff_ros.ros.diagnostics import Stats
from baff_ros.ros.params import NodeParams

#: Looks up ``T_ground_camera`` (4x4) for an image header; None when there is none (yet), or
#: raises :class:`PoseUnavailable` to say why.
PoseLookup = Callable[[Any], Optional[np.ndarray]]


class PoseUnavailable(Exception):
    """Raised by a :data:`PoseLookup` with no pose for a frame; its message is the skip reason."""


def no_transform(header: Any, ground_frame: str) -> str:
    """Skip reason of a frame with no camera transform at its stamp."""
    frame = header.frame_id or '(empty frame_id)'
    return f'no transform from {frame} to {ground_frame} at the image stamp'


def static_pose(params: NodeParams) -> np.ndarray:
    """``T_ground_camera`` from the camera_* parameters."""
    p = params
    return ground.pose_from_extrinsics(p.camera_height, p.camera_roll, p.camera_pitch,
                                       p.camera_yaw, p.camera_x, p.camera_y)


class GroundStage:
    """Projects labels onto the ground; one per pipeline, called from its publishing stage."""

    def __init__(self, stats: Stats, log: Any) -> None:
        self.stats = stats
        self.log = log
        self._projector: Optional[ground.GroundProjector] = None
        self._projector_key: Optional[Tuple[Any, ...]] = None

    def projector(self, params: NodeParams, class_names: Sequence[str]
                  ) -> ground.GroundProjector:
        """Return the projector for ``params`` and the model's classes (cached until they change).

        Raises:
            ValueError: a role list names a class the model does not have.
        """
        names = tuple(class_names)
        key = (names, params.ground_traversable, params.ground_ignore, params.ground_stride,
               params.ground_max_range, params.ground_min_confidence)
        if key != self._projector_key or self._projector is None:
            try:
                roles = ground.role_table(names, ground.parse_names(params.ground_traversable),
                                          ground.parse_names(params.ground_ignore))
            except ground.GroundError as exc:
                raise ValueError(f'parameters ground_traversable / ground_ignore: {exc}') \
                    from None
            config = ground.ProjectionConfig(params.ground_stride, params.ground_max_range,
                                             params.ground_min_confidence)
            self._projector, self._projector_key = ground.GroundProjector(roles, config), key
        return self._projector

    def skip(self, reason: str) -> None:
        """Count and log a frame whose ground outputs are skipped."""
        with self.stats.lock:
            self.stats.ground_skipped += 1
            self.stats.ground_skip_reason = reason
            count = self.stats.ground_skipped
        if count <= 3 or count % 100 == 0:
            self.log.warning(f'ground projection skipped ({count} so far): {reason}')

    def project(self, header: Any, result: Any, scaled_info: Any, params: NodeParams,
                projector: ground.GroundProjector, pose_lookup: Optional[PoseLookup]
                ) -> Optional[ground.Projection]:
        """Project the labels onto the ground; None (counted) when there is no camera pose.

        Args:
            header: the input frame's header (stamp and frame for the pose lookup).
            result: its SegmentationResult.
            scaled_info: CameraInfo scaled to the labels' size.
            params: the node parameters (static extrinsics, ground frame).
            projector: from :meth:`projector`.
            pose_lookup: where the pose comes from; None: the static camera_* parameters.
        """
        t0 = time.perf_counter()
        try:
            pose = static_pose(params) if pose_lookup is None else pose_lookup(header)
        except PoseUnavailable as exc:
            self.skip(str(exc))
            return None
        if pose is None:
            self.skip(no_transform(header, params.ground_frame))
            return None
        try:
            camera = ground.CameraModel.from_camera_info(scaled_info)
            projection = projector.project(result.labels, camera, pose, result.confidence)
        except ground.GroundError as exc:  # an uncalibrated CameraInfo, a camera below ground
            self.skip(str(exc))
            return None
        with self.stats.lock:
            self.stats.ground_ms.append((time.perf_counter() - t0) * 1e3)
            self.stats.obstacle_points = len(projection.obstacle)
            self.stats.free_points = len(projection.free)
        return projection
