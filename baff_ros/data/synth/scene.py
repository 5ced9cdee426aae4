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
"""The synthetic world's vocabulary: label IDs, camera, canvas, things, the street.

A scene is a small 3D world of boxes and flat shapes on a ground plane, seen by a pinhole camera
(:class:`Camera`) 1.5 m above the road; a :class:`Canvas` draws each polygon into the image,
the label-ID map and the instance map at once. Things (:mod:`.things`) and the street layout
(:mod:`.layout`) are built from these pieces.
"""

from dataclasses import dataclass, field
import math
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np

# Cityscapes label IDs (not train IDs) of the classes drawn.
ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE = 7, 8, 11, 12, 13, 17
LIGHT, SIGN, VEGETATION, TERRAIN, SKY = 19, 20, 21, 22, 23
PERSON, RIDER, CAR, TRUCK, BUS, TRAIN, MOTORCYCLE, BICYCLE = 24, 25, 26, 27, 28, 31, 32, 33
INSTANCE_CLASSES = (PERSON, RIDER, CAR, TRUCK, BUS, TRAIN, MOTORCYCLE, BICYCLE)

CAMERA_HEIGHT = 1.5  # metres above the road
HFOV_DEG = 90.0
NEAR = 1.0  # metres: geometry closer than this is clipped
FAR = 160.0


@dataclass
class Camera:
    """Pinhole camera looking down the road (+z), x to the right, y down."""

    height: int
    width: int
    horizon: float  # image row of the horizon
    z: float = 0.0  # position along the road
    x: float = 0.0  # lateral position

    @property
    def f(self) -> float:
        """Focal length in pixels."""
        return (self.width / 2) / math.tan(math.radians(HFOV_DEG) / 2)

    def project(self, x: np.ndarray, y_up: np.ndarray, z: np.ndarray) -> np.ndarray:
        """World points (x right, y up from the road, z forward) -> (N, 2) pixel coords."""
        zr = np.maximum(np.asarray(z, float) - self.z, NEAR)
        u = self.width / 2 + self.f * (np.asarray(x, float) - self.x) / zr
        v = self.horizon + self.f * (CAMERA_HEIGHT - np.asarray(y_up, float)) / zr
        return np.stack([u, v], axis=-1)


@dataclass
class Canvas:
    """The image and its label / instance maps, drawn together."""

    image: np.ndarray
    labels: np.ndarray
    instances: np.ndarray

    def poly(self, pts: np.ndarray, color, label: int, instance: int = 0) -> None:
        """Fill one polygon (pixel coordinates, float) in all three layers."""
        p = np.round(pts * 16).astype(np.int32).reshape(-1, 1, 2)
        # shift=4: sub-pixel vertices, so far (tiny) objects keep their shape.
        cv2.fillPoly(self.image, [p], tuple(int(c) for c in color), cv2.LINE_8, 4)
        cv2.fillPoly(self.labels, [p], int(label), cv2.LINE_8, 4)
        cv2.fillPoly(self.instances, [p], int(instance or label), cv2.LINE_8, 4)

    def ellipse(self, center, axes, color, label: int, instance: int = 0) -> None:
        """Fill an axis-aligned ellipse in all three layers."""
        c = (int(round(center[0] * 16)), int(round(center[1] * 16)))
        a = (max(1, int(round(axes[0] * 16))), max(1, int(round(axes[1] * 16))))
        for layer, value in ((self.image, tuple(int(v) for v in color)), (self.labels, label),
                             (self.instances, instance or label)):
            cv2.ellipse(layer, c, a, 0, 0, 360, value if isinstance(value, tuple) else int(value),
                        -1, cv2.LINE_8, 4)

    def ring(self, center, radius: float, thickness: float, color, label: int,
             instance: int = 0) -> None:
        """Draw a circle outline (a wheel) in all three layers."""
        c = (int(round(center[0] * 16)), int(round(center[1] * 16)))
        r = max(1, int(round(radius * 16)))
        t = max(1, int(round(thickness)))
        for layer, value in ((self.image, tuple(int(v) for v in color)), (self.labels, label),
                             (self.instances, instance or label)):
            cv2.circle(layer, c, r, value if isinstance(value, tuple) else int(value), t,
                       cv2.LINE_8, 4)


def box_face(cam: Camera, x0: float, x1: float, y0: float, y1: float, z: float) -> np.ndarray:
    """Project the face of a box at depth z that faces the camera (a polygon)."""
    return cam.project(np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]), np.full(4, z))


def side_face(cam: Camera, x: float, y0: float, y1: float, z0: float, z1: float) -> np.ndarray:
    """Project a vertical plane parallel to the road (a facade) between depths z0 and z1."""
    return cam.project(np.full(4, x), np.array([y0, y1, y1, y0]), np.array([z0, z0, z1, z1]))


def ground_strip(cam: Camera, x0: float, x1: float, z0: float, z1: float, y: float = 0.0
                 ) -> np.ndarray:
    """Project a flat strip on the ground between lateral x0..x1 and depths z0..z1."""
    return cam.project(np.array([x0, x1, x1, x0]), np.full(4, y), np.array([z0, z0, z1, z1]))


def jitter(rng: np.random.Generator, base, spread: float = 25.0) -> np.ndarray:
    """Vary an RGB colour by Gaussian noise per channel, clipped to 0..255."""
    return np.clip(np.asarray(base, float) + rng.normal(0, spread, 3), 0, 255)


# Base colours (RGB). Neighbouring classes are close on purpose (wall/building, terrain/
# vegetation, sidewalk/road): the network has to use shape and context, not colour alone.
PALETTE = {
    ROAD: (95, 92, 98), SIDEWALK: (150, 140, 135), BUILDING: (140, 120, 105),
    WALL: (150, 145, 130), FENCE: (120, 110, 90), POLE: (90, 90, 95), LIGHT: (40, 40, 35),
    SIGN: (200, 180, 40), VEGETATION: (60, 110, 45), TERRAIN: (130, 150, 80),
    PERSON: (150, 60, 60), RIDER: (60, 60, 170), CAR: (40, 70, 150), TRUCK: (180, 170, 160),
    BUS: (200, 130, 40), TRAIN: (170, 60, 60), MOTORCYCLE: (50, 50, 60), BICYCLE: (150, 30, 80),
}


#: Drawing layers of the scale layout, lowest first (see :func:`make_world`).
GROUND, FACADE, KERB_WALL, STANDING = 0, 1, 2, 3


@dataclass
class Thing:
    """One object of the world; ``draw`` renders it for a camera."""

    z: float  # depth of its nearest face, for painter's ordering
    draw: Callable[[Canvas, Camera], None]
    # Drawing layer, lowest first; far to near within a layer. The street layout puts
    # everything in STANDING (pure far-to-near by nearest face, kept for reproducibility).
    layer: int = 3


@dataclass
class World:
    """A straight street: static layout parameters plus a list of things."""

    road_half: float
    sidewalk: float
    facade: Tuple[float, float]  # lateral x of the left and right facades
    things: List[Thing] = field(default_factory=list)
    sky_top: Tuple[float, float, float] = (90, 140, 210)
    sky_bottom: Tuple[float, float, float] = (190, 210, 230)
    road_color: Tuple[float, float, float] = PALETTE[ROAD]
    walk_color: Tuple[float, float, float] = PALETTE[SIDEWALK]


class InstanceIds:
    """Instance numbering per class (Cityscapes: id * 1000 + k)."""

    def __init__(self) -> None:
        self.next: Dict[int, int] = {}

    def __call__(self, label: int) -> int:
        k = self.next.get(label, 0)
        self.next[label] = k + 1
        return label * 1000 + k
