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
"""Procedural street scenes in perspective, labelled with the 19 Cityscapes classes.

A scene is a small 3D world of boxes and flat shapes on a ground plane (road with lane markings,
sidewalks, building facades with windows, walls, fences, poles with signs and traffic lights,
trees, terrain, people, riders on bicycles and motorcycles, cars, trucks, buses, a train), seen by
a pinhole camera 1.5 m above the road. Everything is projected with the same camera, so object
size follows depth: the same class appears near (large) and far (a few pixels) in one image,
which is exactly where a fixed receptive field struggles and BAFF is meant to help.

Drawing is OpenCV polygons into the image, the label-ID map and the instance map at once
(painter's algorithm, far to near), then lighting, texture and sensor noise are applied to the
image as whole-array operations. A numpy Generator seeded by the caller drives every choice, so
the same seed gives byte-identical output.

:func:`render_scene` makes one image; :func:`render_sequence` drives the camera forward through
one world for a consistent clip (used for the sample rosbag); :func:`write_dataset` writes the
Cityscapes layout that every tool of this package reads.
"""

from dataclasses import dataclass, field
import hashlib
import math
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np

from baff_ros.atomic import write_image

#: Written by ``baff-ros synth`` next to leftImg8bit/ and gtFine/; ``baff-ros train`` puts its
#: description into the checkpoints it writes.
INFO_FILE = 'synth_info.json'

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


def _box(cam: Camera, x0: float, x1: float, y0: float, y1: float, z: float) -> np.ndarray:
    """Project the face of a box at depth z that faces the camera (a polygon)."""
    return cam.project(np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]), np.full(4, z))


def _side(cam: Camera, x: float, y0: float, y1: float, z0: float, z1: float) -> np.ndarray:
    """Project a vertical plane parallel to the road (a facade) between depths z0 and z1."""
    return cam.project(np.full(4, x), np.array([y0, y1, y1, y0]), np.array([z0, z0, z1, z1]))


def _ground(cam: Camera, x0: float, x1: float, z0: float, z1: float, y: float = 0.0
            ) -> np.ndarray:
    """Project a flat strip on the ground between lateral x0..x1 and depths z0..z1."""
    return cam.project(np.array([x0, x1, x1, x0]), np.full(4, y), np.array([z0, z0, z1, z1]))


def _jitter(rng: np.random.Generator, base, spread: float = 25.0) -> np.ndarray:
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


class _Ids:
    """Instance numbering per class (Cityscapes: id * 1000 + k)."""

    def __init__(self) -> None:
        self.next: Dict[int, int] = {}

    def __call__(self, label: int) -> int:
        k = self.next.get(label, 0)
        self.next[label] = k + 1
        return label * 1000 + k


def _building(rng, side: int, x: float, z0: float, z1: float) -> Thing:
    h = rng.uniform(8, 30)
    color = _jitter(rng, PALETTE[BUILDING], 35)
    win = _jitter(rng, (60, 70, 85), 20)
    rows = int(rng.integers(2, 7))
    cols = max(1, int((z1 - z0) / rng.uniform(3, 5)))
    win_h = rng.uniform(1.0, 1.8)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z1 - cam.z < NEAR:
            return
        a = max(z0, cam.z + NEAR)
        cv.poly(_side(cam, x, 0, h, a, z1), color, BUILDING)
        for r in range(rows):
            y = 2.5 + r * (h - 3) / rows
            for c in range(cols):
                wz = z0 + (c + 0.3) * (z1 - z0) / cols
                if wz < a:
                    continue
                wz1 = wz + 0.4 * (z1 - z0) / cols
                cv.poly(_side(cam, x, y, y + win_h, wz, wz1), win, BUILDING)
    return Thing(z0, draw)


def _flat(rng, label: int, x0: float, x1: float, z0: float, z1: float, y: float = 0.0
          ) -> Thing:
    color = _jitter(rng, PALETTE[label], 20)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z1 - cam.z > NEAR:
            cv.poly(_ground(cam, x0, x1, max(z0, cam.z + NEAR), z1, y), color, label)
    return Thing(z0, draw)


def _wall(rng, x: float, z0: float, z1: float) -> Thing:
    h = rng.uniform(0.8, 2.2)
    color = _jitter(rng, PALETTE[WALL], 25)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z1 - cam.z > NEAR:
            cv.poly(_side(cam, x, 0, h, max(z0, cam.z + NEAR), z1), color, WALL)
    return Thing(z0, draw)


def _fence(rng, x: float, z0: float, z1: float) -> Thing:
    h = rng.uniform(1.0, 2.0)
    gap = rng.uniform(0.25, 0.6)
    color = _jitter(rng, PALETTE[FENCE], 25)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z1 - cam.z < NEAR:
            return
        a = max(z0, cam.z + NEAR)
        for y in (h * 0.35, h * 0.9):  # rails
            cv.poly(_side(cam, x, y, y + 0.07, a, z1), color, FENCE)
        for z in np.arange(z0, z1, gap):  # posts: thin, repeated
            if z >= a:
                cv.poly(_box(cam, x - 0.04, x + 0.04, 0, h, z), color, FENCE)
    return Thing(z0, draw)


def _pole(rng, x: float, z: float, kind: str, low: bool = False) -> Thing:
    h = rng.uniform(3.0, 6.0) if kind != 'sign' else rng.uniform(2.2, 3.2)
    if low:  # a pedestrian signal: near the camera it stays in view instead of above it
        h = rng.uniform(2.4, 3.2)
    color = _jitter(rng, PALETTE[POLE], 15)
    sign = _jitter(rng, [(200, 180, 40), (200, 40, 40), (40, 80, 190), (230, 230, 230)][
        int(rng.integers(4))], 15)
    shape = int(rng.integers(3))
    lamp = int(rng.integers(3))

    def draw(cv: Canvas, cam: Camera) -> None:
        if z - cam.z < NEAR:
            return
        cv.poly(_box(cam, x - 0.06, x + 0.06, 0, h, z), color, POLE)
        if kind == 'light':
            body = _box(cam, x - 0.18, x + 0.18, h - 1.0, h, z - 0.01)
            cv.poly(body, PALETTE[LIGHT], LIGHT)
            (u0, v0), (u1, v1) = body[0], body[2]
            for i, c in enumerate(((230, 40, 30), (230, 180, 30), (40, 220, 80))):
                col = c if i == lamp else (50, 50, 45)
                cy = v1 + (v0 - v1) * (0.2 + 0.3 * i)
                r = abs(u1 - u0) * 0.3
                cv.ellipse(((u0 + u1) / 2, cy), (r, r), col, LIGHT)
        elif kind == 'sign':
            face = _box(cam, x - 0.35, x + 0.35, h - 0.7, h, z - 0.01)
            if shape == 0:
                cv.poly(face, sign, SIGN)
            elif shape == 1:
                (u0, v0), (u1, v1) = face[0], face[2]
                cv.ellipse(((u0 + u1) / 2, (v0 + v1) / 2), (abs(u1 - u0) / 2, abs(v0 - v1) / 2),
                           sign, SIGN)
            else:
                (u0, v0), (u1, v1) = face[0], face[2]
                cv.poly(np.array([[u0, v0], [u1, v0], [(u0 + u1) / 2, v1]]), sign, SIGN)
    return Thing(z, draw)


def _tree(rng, x: float, z: float) -> Thing:
    h = rng.uniform(4, 9)
    crown = rng.uniform(1.5, 3.5)
    color = _jitter(rng, PALETTE[VEGETATION], 25)
    trunk = _jitter(rng, (90, 70, 50), 15)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z - cam.z < NEAR:
            return
        cv.poly(_box(cam, x - 0.15, x + 0.15, 0, h - crown, z), trunk, VEGETATION)
        (u0, v0), (u1, v1) = _box(cam, x - crown, x + crown, h - 2 * crown, h, z)[[0, 2]]
        cv.ellipse(((u0 + u1) / 2, (v0 + v1) / 2), (abs(u1 - u0) / 2, abs(v0 - v1) / 2), color,
                   VEGETATION)
    return Thing(z, draw)


def _vehicle(rng, label: int, x: float, z: float, inst: int) -> Thing:
    w, h = {CAR: (1.8, 1.5), TRUCK: (2.5, 3.4), BUS: (2.6, 3.2), TRAIN: (3.0, 4.0)}[label]
    w *= rng.uniform(0.9, 1.1)
    h *= rng.uniform(0.9, 1.1)
    body = _jitter(rng, PALETTE[label], 40)
    glass = _jitter(rng, (50, 60, 75), 10)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z - cam.z < NEAR:
            return
        clear = 0.0 if label == TRAIN else 0.25
        cv.poly(_box(cam, x - w / 2, x + w / 2, clear, h, z), body, label, inst)
        top = h * (0.55 if label == CAR else 0.7)
        cv.poly(_box(cam, x - w * 0.4, x + w * 0.4, top, h * 0.92, z - 0.01), glass, label, inst)
        if label != TRAIN:
            for sx in (-1, 1):
                cv.poly(_box(cam, x + sx * w * 0.42 - 0.15, x + sx * w * 0.42 + 0.15, 0, 0.5,
                             z - 0.02), (25, 25, 25), label, inst)
                cv.poly(_box(cam, x + sx * w * 0.4 - 0.12, x + sx * w * 0.4 + 0.12, 0.7, 0.9,
                             z - 0.02), (200, 30, 30), label, inst)
    return Thing(z, draw)


def _person(rng, x: float, z: float, inst: int) -> Thing:
    h = rng.uniform(1.55, 1.9)
    shirt = _jitter(rng, PALETTE[PERSON], 60)
    legs = _jitter(rng, (50, 50, 70), 25)
    skin = _jitter(rng, (200, 160, 130), 20)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z - cam.z < NEAR:
            return
        for sx in (-0.1, 0.1):
            cv.poly(_box(cam, x + sx - 0.07, x + sx + 0.07, 0, h * 0.48, z), legs, PERSON, inst)
        cv.poly(_box(cam, x - 0.22, x + 0.22, h * 0.46, h * 0.84, z), shirt, PERSON, inst)
        (u0, v0), (u1, v1) = _box(cam, x - 0.11, x + 0.11, h * 0.84, h, z)[[0, 2]]
        cv.ellipse(((u0 + u1) / 2, (v0 + v1) / 2), (abs(u1 - u0) / 2, abs(v0 - v1) / 2), skin,
                   PERSON, inst)
    return Thing(z, draw)


def _rider(rng, x: float, z: float, motor: bool, inst_rider: int, inst_bike: int) -> Thing:
    bike_label = MOTORCYCLE if motor else BICYCLE
    r = rng.uniform(0.3, 0.36)
    bike = _jitter(rng, PALETTE[bike_label], 30)
    shirt = _jitter(rng, PALETTE[RIDER], 50)
    skin = _jitter(rng, (200, 160, 130), 20)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z - cam.z < NEAR:
            return
        # Seen from behind at a slight angle: wheels as rings one behind the other, offset.
        for dz, dx in ((0.0, 0.0), (0.9, 0.25)):
            (u0, v0), (u1, v1) = _box(cam, x + dx - r, x + dx + r, 0, 2 * r, z + dz)[[0, 2]]
            thick = max(1.0, abs(u1 - u0) * (0.25 if motor else 0.08))
            cv.ring(((u0 + u1) / 2, (v0 + v1) / 2), abs(u1 - u0) / 2, thick, (20, 20, 20),
                    bike_label, inst_bike)
        if motor:
            cv.poly(_box(cam, x - 0.25, x + 0.35, r * 0.8, r * 2.6, z + 0.3), bike, bike_label,
                    inst_bike)
        else:
            frame = _box(cam, x - 0.03, x + 0.28, r, r * 2.4, z + 0.4)
            cv.poly(frame[[0, 1, 2]], bike, bike_label, inst_bike)
        cv.poly(_box(cam, x - 0.2, x + 0.25, r * 2.2, r * 2.2 + 0.7, z + 0.35), shirt, RIDER,
                inst_rider)
        (u0, v0), (u1, v1) = _box(cam, x - 0.1, x + 0.12, r * 2.2 + 0.7,
                                  r * 2.2 + 0.95, z + 0.35)[[0, 2]]
        cv.ellipse(((u0 + u1) / 2, (v0 + v1) / 2), (abs(u1 - u0) / 2, abs(v0 - v1) / 2), skin,
                   RIDER, inst_rider)
    return Thing(z, draw)


#: Drawing layers of the scale layout, lowest first (see :func:`make_world`).
GROUND, FACADE, KERB_WALL, STANDING = 0, 1, 2, 3
#: Scene layouts: ``street`` (the default; what every earlier dataset of a seed holds) and
#: ``scale``, the same street plus a roster of objects placed at controlled depths (see
#: :func:`add_scale_roster`), for benchmarks where object size matters.
LAYOUTS = ('street', 'scale')
#: Depth bands of the ``scale`` layout, metres from the camera: near, middle, far. At 256x512
#: (focal length 256 px) a 1.7 m person is ~35-110 px tall near, ~15-30 px in the middle band
#: and ~5-12 px far (in the small bucket of :mod:`baff_ros.evaluate` far, mostly medium near).
SCALE_BANDS = ((4.0, 12.0), (14.0, 30.0), (35.0, 80.0))


def make_world(rng: np.random.Generator, length: float = FAR, start: float = 0.0,
               layout: str = 'street') -> World:
    """Lay out a random street from depth ``start`` to ``start + length``.

    ``layout='scale'`` adds :func:`add_scale_roster` after the street and draws in layers: the
    ground strips beside the sidewalks, then the facades (and trees in their gaps), then walls
    and fences on the sidewalks' outer edge, then everything else far to near. Seen from the
    road each layer lies behind the next, so nothing standing is painted over. The ``street``
    layout orders every thing by its nearest face, which paints a long strip or facade that
    starts behind the camera over the people in front of it; it keeps that so a seed's images
    stay what they were. The random draws of the street are the same in both layouts.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {", ".join(LAYOUTS)}, got {layout!r}')
    road_half = rng.uniform(3.5, 7.0)
    sidewalk = rng.uniform(1.5, 4.0)
    setback = rng.uniform(0.5, 6.0)
    edge = road_half + sidewalk
    world = World(road_half, sidewalk, (-(edge + setback), edge + setback),
                  road_color=tuple(_jitter(rng, PALETTE[ROAD], 12)),
                  walk_color=tuple(_jitter(rng, PALETTE[SIDEWALK], 18)))

    def add(thing: Thing, layer: int = STANDING) -> None:
        if layout == 'scale':
            thing.layer = layer
        world.things.append(thing)

    ids = _Ids()
    end = start + length
    for side in (-1, 1):
        fx = side * (edge + setback)
        # Ground beside the sidewalk, up to the facades: terrain or hedge.
        add(_flat(rng, TERRAIN if rng.random() < 0.6 else VEGETATION, min(side * edge, fx),
                  max(side * edge, fx), start, end, 0.01), GROUND)
        z = start + rng.uniform(-5, 10)
        while z < end:  # facades, with gaps showing trees
            span = rng.uniform(8, 30)
            if rng.random() < 0.8:
                add(_building(rng, side, fx, z, z + span), FACADE)
            else:
                for tz in np.arange(z, z + span, rng.uniform(3, 6)):
                    add(_tree(rng, fx - side * 0.5, tz), FACADE)
            z += span + rng.uniform(0, 4)
        z = start + rng.uniform(0, 15)
        while z < end:  # walls and fences along the sidewalk's outer edge
            span = rng.uniform(5, 20)
            if rng.random() < 0.5:
                add(_wall(rng, side * (edge + 0.1), z, z + span) if rng.random() < 0.5
                    else _fence(rng, side * (edge + 0.1), z, z + span), KERB_WALL)
            z += span + rng.uniform(3, 15)
        z = start + rng.uniform(3, 12)
        while z < end:  # poles with signs / traffic lights, trees on the kerb
            kind = ('light', 'sign', 'pole', 'tree')[int(rng.integers(4))]
            px = side * (road_half + rng.uniform(0.3, 0.8))
            add(_tree(rng, px, z) if kind == 'tree' else _pole(rng, px, z, kind))
            z += rng.uniform(6, 20)
        for _ in range(int(rng.integers(1, 6))):  # pedestrians
            add(_person(rng, side * (road_half + rng.uniform(0.3, sidewalk - 0.3)),
                        rng.uniform(start + 3, end * 0.6), ids(PERSON)))
    lanes = [-road_half / 2, road_half / 2]
    for _ in range(int(rng.integers(2, 8))):  # vehicles
        label = (CAR, CAR, CAR, TRUCK, BUS)[int(rng.integers(5))]
        add(_vehicle(rng, label, lanes[int(rng.integers(2))] + rng.uniform(-0.4, 0.4),
                     rng.uniform(start + 5, end * 0.7), ids(label)))
    for _ in range(int(rng.integers(0, 4))):  # riders, near the kerb
        side = 1 if rng.random() < 0.5 else -1
        motor = rng.random() < 0.4
        add(_rider(rng, side * (road_half - rng.uniform(0.6, 1.5)),
                   rng.uniform(start + 4, end * 0.5), motor, ids(RIDER),
                   ids(MOTORCYCLE if motor else BICYCLE)))
    if rng.random() < 0.25:  # a train on a track beside the road, far side
        add(_vehicle(rng, TRAIN, world.facade[1] - 2.0, rng.uniform(start + 15, end * 0.6),
                     ids(TRAIN)))
    if layout == 'scale':
        add_scale_roster(rng, world, ids)
    return world


def add_scale_roster(rng: np.random.Generator, world: World, ids: Callable[[int], int],
                     cam_z: float = 0.0) -> None:
    """Place every standing class near, in the middle and far (:data:`SCALE_BANDS`).

    In each band, at a random depth inside it: two pedestrians on each sidewalk, two cyclists and
    a motorcyclist near the kerb (rider + bicycle / motorcycle), a pole with a traffic light (a
    pedestrian signal, 2.4-3.2 m, so that it is in view near the camera), one with a sign and a
    bare one on the kerbs, a wall or a fence along a sidewalk, and a vehicle
    (car, truck or bus) in a lane; a train beside the road in one band out of three on average.
    The rare, small classes of the street layout (person, rider, bicycle, motorcycle, pole,
    traffic light, traffic sign) so appear several times per image, at sizes set by the band.
    """
    add = world.things.append
    half, walk = world.road_half, world.sidewalk
    edge = half + walk
    for z0, z1 in SCALE_BANDS:

        def depth() -> float:
            return cam_z + float(rng.uniform(z0, z1))
        for side in (-1, 1, -1, 1):
            add(_person(rng, side * (half + rng.uniform(0.3, max(0.4, walk - 0.3))), depth(),
                        ids(PERSON)))
        for motor in (False, True, False):
            side = 1 if rng.random() < 0.5 else -1
            add(_rider(rng, side * (half - rng.uniform(0.6, 1.5)), depth(), motor, ids(RIDER),
                       ids(MOTORCYCLE if motor else BICYCLE)))
        for kind in ('light', 'sign', 'pole'):
            side = 1 if rng.random() < 0.5 else -1
            add(_pole(rng, side * (half + rng.uniform(0.3, 0.8)), depth(), kind,
                      low=kind == 'light'))
        side = 1 if rng.random() < 0.5 else -1
        z = depth()
        span = float(rng.uniform(4, 10))
        wall = (_wall(rng, side * (edge + 0.1), z, z + span) if rng.random() < 0.5
                else _fence(rng, side * (edge + 0.1), z, z + span))
        wall.layer = KERB_WALL
        add(wall)
        label = (CAR, TRUCK, BUS)[int(rng.integers(3))]
        add(_vehicle(rng, label, (-half / 2, half / 2)[int(rng.integers(2))], depth(),
                     ids(label)))
        if rng.random() < 1 / 3:
            add(_vehicle(rng, TRAIN, world.facade[1] - 2.0, depth(), ids(TRAIN)))


def _lighting(rng: np.random.Generator, image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Smooth illumination, per-pixel texture and sensor noise, as whole-array operations."""
    h, w = image.shape[:2]
    shade = cv2.resize(rng.uniform(0.75, 1.2, (4, 6)).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    texture = cv2.resize(rng.normal(1.0, 0.07, (h // 4 + 1, w // 4 + 1)).astype(np.float32),
                         (w, h), interpolation=cv2.INTER_LINEAR)
    gain = rng.uniform(0.7, 1.25) * shade * texture
    sky = labels == SKY
    gain[sky] = 1.0  # the sky keeps its gradient
    out = image.astype(np.float32) * gain[..., None]
    out += rng.normal(0, rng.uniform(2, 7), out.shape).astype(np.float32)
    tint = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    return np.clip(out * tint, 0, 255).astype(np.uint8)


def render(world: World, cam: Camera, rng: np.random.Generator
           ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw a world: (RGB uint8, label IDs uint8, instance IDs int32) at the camera's size."""
    h, w = cam.height, cam.width
    hz = int(max(0, min(h, round(cam.horizon))))
    image = np.empty((h, w, 3), np.uint8)
    ramp = np.linspace(0, 1, max(hz, 1), dtype=np.float32)[:, None]
    image[:hz] = (np.asarray(world.sky_top) * (1 - ramp) + np.asarray(world.sky_bottom) * ramp
                  )[:, None, :].astype(np.uint8)
    image[hz:] = np.asarray(world.walk_color, np.uint8)
    labels = np.full((h, w), SKY, np.uint8)
    labels[hz:] = TERRAIN  # far ground below the horizon until something covers it
    instances = labels.astype(np.int32)
    cv = Canvas(image, labels, instances)
    end = cam.z + FAR
    # Ground first (never occludes anything standing on it).
    cv.poly(_ground(cam, world.facade[0] - 50, world.facade[1] + 50, cam.z + NEAR, end),
            _jitter(rng, PALETTE[TERRAIN], 10), TERRAIN)
    edge = world.road_half + world.sidewalk
    for x0, x1 in ((-edge, -world.road_half), (world.road_half, edge)):
        cv.poly(_ground(cam, x0, x1, cam.z + NEAR, end, 0.005), world.walk_color, SIDEWALK)
    cv.poly(_ground(cam, -world.road_half, world.road_half, cam.z + NEAR, end),
            world.road_color, ROAD)
    # Lane markings: painted road (label road), dashed centre line, solid edge lines.
    dash0 = math.floor(cam.z / 9.0) * 9.0
    for z in np.arange(dash0, end, 9.0):
        if z + 3 > cam.z + NEAR:
            cv.poly(_ground(cam, -0.08, 0.08, max(z, cam.z + NEAR), z + 3, 0.01),
                    (225, 225, 215), ROAD)
    for x in (-world.road_half + 0.3, world.road_half - 0.3):
        cv.poly(_ground(cam, x - 0.07, x + 0.07, cam.z + NEAR, end, 0.01), (225, 225, 215), ROAD)
    # By layer (ground, facades, kerbside walls, standing), far to near within each; a stable
    # sort, so with every thing in one layer (the street layout) the plain far-to-near order.
    for thing in sorted(world.things, key=lambda t: (t.layer, -t.z)):
        if thing.layer == GROUND or (cam.z + NEAR < thing.z + 40 and thing.z < end):
            thing.draw(cv, cam)
    return _lighting(rng, cv.image, cv.labels), cv.labels, cv.instances


def render_scene(size: Tuple[int, int], seed: int, layout: str = 'street'
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one random street scene: (RGB HxWx3, label IDs HxW uint8, instance IDs int32).

    ``layout``: one of :data:`LAYOUTS`.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    cam = Camera(h, w, horizon=h * rng.uniform(0.36, 0.5), x=rng.uniform(-1.5, 1.5))
    world = make_world(rng, start=rng.uniform(-20, 0), layout=layout)
    world.sky_top = tuple(_jitter(rng, (90, 140, 210), 25))
    world.sky_bottom = tuple(_jitter(rng, (190, 210, 230), 15))
    return render(world, cam, rng)


def render_sequence(n_frames: int, size: Tuple[int, int], seed: int, speed: float = 1.2
                    ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """Render a clip of the camera driving forward through one street.

    Args:
        n_frames: number of frames.
        size: (height, width).
        seed: world and noise seed; the same seed gives the same clip.
        speed: metres the camera moves per frame (1.2 m at 10 Hz is 43 km/h).

    Returns:
        (RGB uint8 frames, label-ID uint8 maps), one per frame.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    world = make_world(rng, length=FAR + n_frames * speed, start=-10.0)
    images, labels = [], []
    for i in range(n_frames):
        cam = Camera(h, w, horizon=h * 0.42, z=i * speed)
        frame_rng = np.random.default_rng([seed, i])
        image, label, _ = render(world, cam, frame_rng)
        images.append(image)
        labels.append(label)
    return images, labels


def train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Label IDs -> train IDs (255 for ignored), through the Cityscapes label table."""
    from baff_ros.data.labels import id_to_train_id_lut

    return id_to_train_id_lut()[label_ids]


def write_dataset(out: Path, n: int, seed: int, size: Tuple[int, int] = (256, 512),
                  n_val: int = 0, progress: bool = False, city: str = 'synth',
                  layout: str = 'street') -> Dict[str, int]:
    """Write ``n`` train and ``n_val`` val scenes in the Cityscapes layout.

    ``layout``: scene layout (:data:`LAYOUTS`); a seed gives the same images for a layout.

    ``leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png`` and, under ``gtFine``,
    ``_gtFine_labelIds.png``, ``_gtFine_labelTrainIds.png``, ``_gtFine_instanceIds.png``
    (16-bit; id * 1000 + k for instance classes) and ``_gtFine_color.png``.

    Returns:
        split -> images written.
    """
    from baff_ros.progress import progress_bar

    from baff_ros.data.labels import palette_array

    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {", ".join(LAYOUTS)}, got {layout!r}')
    out = Path(out)
    lut = palette_array()
    counts = {'train': n, 'val': n_val}
    jobs = [(split, i) for split, k in counts.items() for i in range(k)]
    for split, i in progress_bar(jobs, unit='img', disable=not progress):
        # Scene seeds are derived from (seed, split, index): adding images or a val split
        # never changes the images that were already there.
        scene_seed = int.from_bytes(hashlib.sha256(f'{seed}/{split}/{i}'.encode()).digest()[:8],
                                    'little')
        image, label, inst = render_scene(size, scene_seed, layout)
        stem = f'{city}_{i // 1000:06d}_{i % 1000:06d}'
        img_dir = out / 'leftImg8bit' / split / city
        gt_dir = out / 'gtFine' / split / city
        img_dir.mkdir(parents=True, exist_ok=True)
        gt_dir.mkdir(parents=True, exist_ok=True)
        tid = train_ids(label)
        write_image(img_dir / f'{stem}_leftImg8bit.png', cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        write_image(gt_dir / f'{stem}_gtFine_labelIds.png', label)
        write_image(gt_dir / f'{stem}_gtFine_labelTrainIds.png', tid)
        write_image(gt_dir / f'{stem}_gtFine_instanceIds.png', inst.astype(np.uint16))
        write_image(gt_dir / f'{stem}_gtFine_color.png', cv2.cvtColor(lut[tid], cv2.COLOR_RGB2BGR))
    return counts
