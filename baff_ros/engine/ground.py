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
"""Ground projection: a labels image seen by a known camera -> points on the ground plane.

No ROS here: the node (rclpy or DDS), the bag tool and the demo call the same functions.

Frames follow REP-103/REP-105:

* the camera's **optical frame** (the image's ``frame_id``): z forward along the optical axis,
  x right, y down;
* the **ground frame** (``base_footprint``): x forward, y left, z up, with the ground the plane
  z = 0.

A pose is the 4x4 transform ``T_ground_camera`` taking optical-frame points into the ground
frame (what ``tf2`` returns for ``lookup_transform(ground_frame, image_frame, stamp)``).
:func:`pose_from_extrinsics` builds one from a camera height, roll, pitch and yaw (radians, of
the camera body x-forward frame; positive pitch looks down) and an x/y offset.

Each sampled pixel (every ``stride``-th row and column, at the centre of its stride cell) is
undistorted to a ray (``cv2.undistortPoints``), turned into the ground frame and intersected
with z = 0. Rays that do not point down (at or above the horizon) and hits farther than
``max_range`` (horizontal distance from the camera) are dropped. Rays depend only on the
intrinsics, the pose, the image size and the stride, so they are computed once and cached:
per frame, only the labels and confidence at the sampled pixels are read.

Classes map to roles: ``free`` (traversable), ``obstacle`` and ``ignore``. Unknown (255) is
always ignored.
"""

from dataclasses import dataclass
import math
from typing import cast, Dict, Iterable, Optional, Sequence, Tuple

import cv2
import numpy as np

# The camera model and pose live in engine/camera.py; ground.<name> stays their public path.
from baff_ros.engine.camera import (  # noqa: F401
    CameraModel, FISHEYE_MODELS, GroundError, PINHOLE_MODELS, pose_from_extrinsics,
    pose_from_transform, quaternion_from_matrix, R_BODY_OPTICAL, rotation_rpy)

IGNORE, FREE, OBSTACLE = 0, 1, 2
ROLE_NAMES = {IGNORE: 'ignore', FREE: 'free', OBSTACLE: 'obstacle'}
#: Default traversable classes (Cityscapes train-class names).
DEFAULT_TRAVERSABLE = ('road', 'sidewalk', 'terrain')
#: Default ignored classes; every other class is an obstacle, unknown (255) is always ignored.
DEFAULT_IGNORE = ('sky',)


# -- roles -------------------------------------------------------------------------------------

def parse_names(text: str) -> Tuple[str, ...]:
    """``'road, sidewalk'`` -> ('road', 'sidewalk') (a parameter's comma-separated list)."""
    return tuple(n.strip() for n in str(text).split(',') if n.strip())


def role_table(class_names: Sequence[str], traversable: Iterable[str] = DEFAULT_TRAVERSABLE,
               ignore: Iterable[str] = DEFAULT_IGNORE) -> np.ndarray:
    """(256,) uint8 lookup: train ID -> IGNORE / FREE / OBSTACLE.

    Every class not named traversable or ignored is an obstacle; IDs past the model's classes
    (255 = unknown) are ignored.

    Raises:
        GroundError: a name is not one of ``class_names`` or is named in both lists.
    """
    names = list(class_names)
    traversable, ignore = list(traversable), list(ignore)
    for what, group in (('traversable', traversable), ('ignore', ignore)):
        unknown = [n for n in group if n not in names]
        if unknown:
            raise GroundError(f'{what} classes: unknown class name(s) {", ".join(unknown)}; '
                              f'classes: {", ".join(names)}')
    both = sorted(set(traversable) & set(ignore))
    if both:
        raise GroundError(f'class(es) {", ".join(both)} named both traversable and ignored')
    table = np.full(256, IGNORE, np.uint8)
    table[:len(names)] = OBSTACLE
    for n in traversable:
        table[names.index(n)] = FREE
    for n in ignore:
        table[names.index(n)] = IGNORE
    return table


# -- projection --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProjectionConfig:
    """How pixels are sampled and which hits are kept.

    Attributes:
        stride: sample every stride-th row and column (at the centre of each stride cell).
        max_range: drop hits farther than this (m, horizontal distance from the camera).
        min_confidence: drop pixels whose confidence (0..1) is below this.
    """

    stride: int = 4
    max_range: float = 10.0
    min_confidence: float = 0.5

    def __post_init__(self) -> None:
        if not isinstance(self.stride, int) or self.stride < 1:
            raise GroundError(f'stride must be an integer >= 1, got {self.stride!r}')
        if not self.max_range > 0:
            raise GroundError(f'max_range must be > 0 m, got {self.max_range}')
        if not 0.0 <= self.min_confidence <= 1.0:
            raise GroundError(f'min_confidence must be in [0, 1], got {self.min_confidence}')


@dataclass
class GroundRays:
    """Where each sampled pixel of one (camera, pose, size, stride) hits the ground.

    Attributes:
        rows, cols: the sampled pixel rows and columns (the grid is rows x cols).
        xy: (len(rows), len(cols), 2) float32 ground hit of each sample (NaN where none).
        valid: (len(rows), len(cols)) bool: the ray hits the ground within range.
        origin: (x, y, z) of the camera in the ground frame.
    """

    rows: np.ndarray
    cols: np.ndarray
    xy: np.ndarray
    valid: np.ndarray
    origin: Tuple[float, float, float]


def sample_grid(size: Tuple[int, int], stride: int) -> Tuple[np.ndarray, np.ndarray]:
    """Rows and columns sampled with ``stride``: the centre pixel of each stride cell."""
    off = stride // 2
    return (np.arange(off, size[0], stride, dtype=np.intp),
            np.arange(off, size[1], stride, dtype=np.intp))


def intersect_ground(camera: CameraModel, pose: np.ndarray, u: np.ndarray, v: np.ndarray,
                     max_range: float = math.inf) -> Tuple[np.ndarray, np.ndarray]:
    """Ground hits of pixels (u, v): ((N, 2) float64 x, y in the ground frame, (N,) valid).

    A pixel is valid where its ray points down (below the horizon) and its hit lies within
    ``max_range`` (horizontal distance from the camera). Invalid entries are NaN.
    """
    pose = np.asarray(pose, np.float64)
    if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
        raise GroundError(f'pose must be a finite 4x4 transform, got shape {pose.shape}')
    origin = pose[:3, 3]
    if not origin[2] > 0:
        raise GroundError(f'the camera must be above the ground plane (z > 0 in the ground '
                          f'frame), it is at z = {origin[2]:.3f} m')
    d = camera.rays(np.asarray(u), np.asarray(v)) @ pose[:3, :3].T
    with np.errstate(divide='ignore', invalid='ignore'):
        s = -origin[2] / d[:, 2]
        xy = origin[:2] + s[:, None] * d[:, :2]
        dist = np.hypot(xy[:, 0] - origin[0], xy[:, 1] - origin[1])
        valid = (d[:, 2] < 0) & (dist <= max_range) & np.isfinite(dist)
    xy[~valid] = np.nan
    return xy, valid


def ground_rays(camera: CameraModel, pose: np.ndarray, stride: int, max_range: float
                ) -> GroundRays:
    """Compute the ground hit of every sampled pixel (see :class:`GroundRays`)."""
    rows, cols = sample_grid(camera.size, stride)
    vv, uu = np.meshgrid(rows.astype(np.float64), cols.astype(np.float64), indexing='ij')
    xy, valid = intersect_ground(camera, pose, uu.ravel(), vv.ravel(), max_range)
    shape = (len(rows), len(cols))
    t = np.asarray(pose, np.float64)[:3, 3]
    origin = (float(t[0]), float(t[1]), float(t[2]))
    return GroundRays(rows, cols, xy.astype(np.float32).reshape(shape + (2,)),
                      valid.reshape(shape), origin)


@dataclass
class GroundCloud:
    """Points of one role on the ground plane.

    Attributes:
        xyz: (N, 3) float32 in the ground frame (z = 0).
        label: (N,) uint8 train IDs.
        confidence: (N,) float32 in [0, 1].
    """

    xyz: np.ndarray
    label: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.label)


@dataclass
class Projection:
    """What one labels image gives: obstacle and free clouds, and the camera's position."""

    obstacle: GroundCloud
    free: GroundCloud
    origin: Tuple[float, float, float]


class GroundProjector:
    """Labels (+ confidence) image -> :class:`Projection`, with the rays cached.

    Args:
        roles: (256,) role table from :func:`role_table`.
        config: sampling and filtering.
    """

    def __init__(self, roles: np.ndarray, config: ProjectionConfig = ProjectionConfig()
                 ) -> None:
        roles = np.asarray(roles, np.uint8)
        if roles.shape != (256,):
            raise GroundError(f'role table must have 256 entries, got shape {roles.shape}')
        self.roles = roles
        self.config = config
        self._key: Optional[tuple] = None
        self._rays: Optional[GroundRays] = None
        self.ray_builds = 0  # how often the cache missed (for tests and diagnostics)

    def rays(self, camera: CameraModel, pose: np.ndarray) -> GroundRays:
        """Return the cached rays of (camera, pose), recomputed only when either changes."""
        pose = np.asarray(pose, np.float64)
        key = (camera, pose.tobytes(), self.config.stride, self.config.max_range)
        if key != self._key:
            self._rays = ground_rays(camera, pose, self.config.stride, self.config.max_range)
            self._key = key
            self.ray_builds += 1
        return cast(GroundRays, self._rays)

    def project(self, labels: np.ndarray, camera: CameraModel, pose: np.ndarray,
                confidence: Optional[np.ndarray] = None) -> Projection:
        """Project one labels image.

        Args:
            labels: (H, W) uint8 train IDs; (H, W) must be ``camera.size``.
            camera: intrinsics of the labels image.
            pose: ``T_ground_camera`` (4x4).
            confidence: (H, W) uint8 (x255) or float (0..1); None: every pixel is confident.
        """
        if labels.shape != tuple(camera.size):
            raise GroundError(f'labels are {labels.shape[1]}x{labels.shape[0]} but the camera '
                              f'model is {camera.size[1]}x{camera.size[0]} (scale the '
                              'CameraInfo to the labels image)')
        rays = self.rays(camera, pose)
        s, off = self.config.stride, self.config.stride // 2
        lab = labels[off::s, off::s]
        role = self.roles[lab]
        keep = rays.valid & (role != IGNORE)
        if confidence is not None:
            if confidence.shape != labels.shape:
                raise GroundError(f'confidence is {confidence.shape}, labels {labels.shape}')
            conf = confidence[off::s, off::s]
            if conf.dtype == np.uint8:
                conf = conf.astype(np.float32) * np.float32(1 / 255)
            else:
                conf = conf.astype(np.float32, copy=False)
            keep &= conf >= np.float32(self.config.min_confidence) - np.float32(1e-6)
        else:
            conf = None
        clouds = []
        for wanted in (OBSTACLE, FREE):
            idx = np.flatnonzero(keep & (role == wanted))
            xy = rays.xy.reshape(-1, 2)[idx]
            xyz = np.zeros((len(idx), 3), np.float32)
            xyz[:, :2] = xy
            c = (conf.reshape(-1)[idx] if conf is not None
                 else np.ones(len(idx), np.float32))
            clouds.append(GroundCloud(xyz, lab.reshape(-1)[idx], c))
        return Projection(clouds[0], clouds[1], rays.origin)


# -- occupancy grid ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GridConfig:
    """A square occupancy grid centred on the ground frame's origin.

    Attributes:
        resolution: cell size (m).
        size: side length (m).
    """

    resolution: float = 0.1
    size: float = 20.0

    def __post_init__(self) -> None:
        if not self.resolution > 0 or not self.size > 0:
            raise GroundError(f'grid resolution and size must be > 0, got {self.resolution}, '
                              f'{self.size}')
        if self.cells > 4096:
            raise GroundError(f'grid of {self.cells}x{self.cells} cells is too large (at most '
                              '4096 per side: raise resolution or lower size)')

    @property
    def cells(self) -> int:
        """Cells per side."""
        return max(1, int(round(self.size / self.resolution)))

    @property
    def origin(self) -> Tuple[float, float]:
        """Ground-frame (x, y) of the grid's cell (0, 0) corner."""
        half = self.cells * self.resolution / 2
        return -half, -half


UNSEEN, FREE_CELL, OCCUPIED_CELL = -1, 0, 100


def rasterise(projection: Projection, grid: GridConfig) -> np.ndarray:
    """(cells, cells) int8 occupancy (row = y, col = x; -1 unseen, 0 free, 100 occupied).

    A cell with any obstacle point is occupied, whatever free points it also holds.
    """
    n = grid.cells
    out = np.full(n * n, UNSEEN, np.int8)
    ox, oy = grid.origin
    for cloud, value in ((projection.free, FREE_CELL), (projection.obstacle, OCCUPIED_CELL)):
        if not len(cloud):
            continue
        cx = np.floor((cloud.xyz[:, 0] - ox) / grid.resolution).astype(np.intp)
        cy = np.floor((cloud.xyz[:, 1] - oy) / grid.resolution).astype(np.intp)
        inside = (cx >= 0) & (cx < n) & (cy >= 0) & (cy < n)
        out[cy[inside] * n + cx[inside]] = value
    return out.reshape(n, n)


# -- bird's-eye view ----------------------------------------------------------------------------

def birds_eye_view(projection: Projection, palette: np.ndarray, size_px: int = 400,
                   extent: float = 20.0, dot: int = 1) -> np.ndarray:
    """RGB picture of the clouds from above: x (forward) up, y (left) left, camera at bottom.

    Free points are drawn in their class colour, dimmed; obstacle points in their class colour
    at full strength, on top; a grid line every 5 m.

    Args:
        projection: the clouds.
        palette: (256, 3) uint8 train ID -> RGB.
        size_px: output side in pixels.
        extent: metres shown forward and across (±extent/2 sideways).
        dot: each point is drawn as a (2 dot + 1)-pixel square.
    """
    img = np.full((size_px, size_px, 3), 24, np.uint8)
    scale = size_px / extent
    for metre in np.arange(0.0, extent + 1e-9, 5.0):
        r = int(round(size_px - 1 - metre * scale))
        img[max(r, 0), :] = 60
        c = int(round(size_px / 2 + (metre - extent / 2) * scale))
        img[:, min(max(c, 0), size_px - 1)] = 60
    pal = np.asarray(palette, np.uint8)
    # Far samples lie metres apart: each point is grown into a small square (free first, then
    # obstacles on top) so that the view reads as areas, not as sparse rows of dots.
    kernel = np.ones((2 * dot + 1, 2 * dot + 1), np.uint8)
    for cloud, gain in ((projection.free, 0.7), (projection.obstacle, 1.0)):
        if not len(cloud):
            continue
        layer = np.zeros_like(img)
        rr = np.round(size_px - 1 - cloud.xyz[:, 0] * scale).astype(np.intp)
        cc = np.round(size_px / 2 - cloud.xyz[:, 1] * scale).astype(np.intp)
        inside = (rr >= 0) & (rr < size_px) & (cc >= 0) & (cc < size_px)
        colours = (pal[cloud.label[inside]].astype(np.float32) * gain).astype(np.uint8)
        layer[rr[inside], cc[inside]] = np.maximum(colours, 1)  # never pure black: "painted"
        if dot:
            layer = np.asarray(cv2.dilate(layer, kernel))
        painted = layer.any(axis=2)
        img[painted] = layer[painted]
    ox, oy = projection.origin[:2]
    r0 = int(round(size_px - 1 - ox * scale))
    c0 = int(round(size_px / 2 - oy * scale))
    cv2.circle(img, (c0, min(r0, size_px - 4)), 4, (255, 255, 255), -1)
    return img


def projection_stats(projection: Projection) -> Dict[str, int]:
    """Point counts, for diagnostics and benchmarks."""
    return {'obstacle_points': len(projection.obstacle), 'free_points': len(projection.free)}
