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
"""The things of a street, one factory each: it draws its random looks, returns a :class:`Thing`.

Each factory takes the random generator first and draws all of its random choices when called
(not when drawn), so a world's looks are fixed once it is laid out and every frame of a clip
shows the same objects.
"""

import numpy as np

from baff_ros.data.synth.scene import (BICYCLE, box_face, BUILDING, BUS, Camera, Canvas, CAR,
                                       FENCE, ground_strip, jitter, LIGHT, MOTORCYCLE, NEAR,
                                       PALETTE, PERSON, POLE, RIDER, side_face, SIGN, Thing,
                                       TRAIN, TRUCK, VEGETATION, WALL)


def building(rng: np.random.Generator, side: int, x: float, z0: float, z1: float) -> Thing:
    """Make a building facade with rows of windows, at lateral x from depth z0 to z1."""
    h = rng.uniform(8, 30)
    color = jitter(rng, PALETTE[BUILDING], 35)
    win = jitter(rng, (60, 70, 85), 20)
    rows = int(rng.integers(2, 7))
    cols = max(1, int((z1 - z0) / rng.uniform(3, 5)))
    win_h = rng.uniform(1.0, 1.8)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z1 - cam.z < NEAR:
            return
        a = max(z0, cam.z + NEAR)
        cv.poly(side_face(cam, x, 0, h, a, z1), color, BUILDING)
        for r in range(rows):
            y = 2.5 + r * (h - 3) / rows
            for c in range(cols):
                wz = z0 + (c + 0.3) * (z1 - z0) / cols
                if wz < a:
                    continue
                wz1 = wz + 0.4 * (z1 - z0) / cols
                cv.poly(side_face(cam, x, y, y + win_h, wz, wz1), win, BUILDING)
    return Thing(z0, draw)


def flat(rng: np.random.Generator, label: int, x0: float, x1: float, z0: float, z1: float,
         y: float = 0.0) -> Thing:
    """Make a flat strip of one class on (or just above) the ground."""
    color = jitter(rng, PALETTE[label], 20)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z1 - cam.z > NEAR:
            cv.poly(ground_strip(cam, x0, x1, max(z0, cam.z + NEAR), z1, y), color, label)
    return Thing(z0, draw)


def wall(rng: np.random.Generator, x: float, z0: float, z1: float) -> Thing:
    """Make a low wall along the road at lateral x."""
    h = rng.uniform(0.8, 2.2)
    color = jitter(rng, PALETTE[WALL], 25)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z1 - cam.z > NEAR:
            cv.poly(side_face(cam, x, 0, h, max(z0, cam.z + NEAR), z1), color, WALL)
    return Thing(z0, draw)


def fence(rng: np.random.Generator, x: float, z0: float, z1: float) -> Thing:
    """Make a fence of two rails and thin posts along the road at lateral x."""
    h = rng.uniform(1.0, 2.0)
    gap = rng.uniform(0.25, 0.6)
    color = jitter(rng, PALETTE[FENCE], 25)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z1 - cam.z < NEAR:
            return
        a = max(z0, cam.z + NEAR)
        for y in (h * 0.35, h * 0.9):  # rails
            cv.poly(side_face(cam, x, y, y + 0.07, a, z1), color, FENCE)
        for z in np.arange(z0, z1, gap):  # posts: thin, repeated
            if z >= a:
                cv.poly(box_face(cam, x - 0.04, x + 0.04, 0, h, z), color, FENCE)
    return Thing(z0, draw)


def pole(rng: np.random.Generator, x: float, z: float, kind: str, low: bool = False) -> Thing:
    """Make a pole, bare or carrying a traffic light or sign (``kind``), at (x, z)."""
    h = rng.uniform(3.0, 6.0) if kind != 'sign' else rng.uniform(2.2, 3.2)
    if low:  # a pedestrian signal: near the camera it stays in view instead of above it
        h = rng.uniform(2.4, 3.2)
    color = jitter(rng, PALETTE[POLE], 15)
    sign = jitter(rng, [(200, 180, 40), (200, 40, 40), (40, 80, 190), (230, 230, 230)][
        int(rng.integers(4))], 15)
    shape = int(rng.integers(3))
    lamp = int(rng.integers(3))

    def draw(cv: Canvas, cam: Camera) -> None:
        if z - cam.z < NEAR:
            return
        cv.poly(box_face(cam, x - 0.06, x + 0.06, 0, h, z), color, POLE)
        if kind == 'light':
            body = box_face(cam, x - 0.18, x + 0.18, h - 1.0, h, z - 0.01)
            cv.poly(body, PALETTE[LIGHT], LIGHT)
            (u0, v0), (u1, v1) = body[0], body[2]
            for i, c in enumerate(((230, 40, 30), (230, 180, 30), (40, 220, 80))):
                col = c if i == lamp else (50, 50, 45)
                cy = v1 + (v0 - v1) * (0.2 + 0.3 * i)
                r = abs(u1 - u0) * 0.3
                cv.ellipse(((u0 + u1) / 2, cy), (r, r), col, LIGHT)
        elif kind == 'sign':
            face = box_face(cam, x - 0.35, x + 0.35, h - 0.7, h, z - 0.01)
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


def tree(rng: np.random.Generator, x: float, z: float) -> Thing:
    """Make a tree: trunk and an elliptic crown (both vegetation)."""
    h = rng.uniform(4, 9)
    crown = rng.uniform(1.5, 3.5)
    color = jitter(rng, PALETTE[VEGETATION], 25)
    trunk = jitter(rng, (90, 70, 50), 15)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z - cam.z < NEAR:
            return
        cv.poly(box_face(cam, x - 0.15, x + 0.15, 0, h - crown, z), trunk, VEGETATION)
        (u0, v0), (u1, v1) = box_face(cam, x - crown, x + crown, h - 2 * crown, h, z)[[0, 2]]
        cv.ellipse(((u0 + u1) / 2, (v0 + v1) / 2), (abs(u1 - u0) / 2, abs(v0 - v1) / 2), color,
                   VEGETATION)
    return Thing(z, draw)


def vehicle(rng: np.random.Generator, label: int, x: float, z: float, inst: int) -> Thing:
    """Make a car, truck, bus or train seen from behind, instance ``inst``."""
    w, h = {CAR: (1.8, 1.5), TRUCK: (2.5, 3.4), BUS: (2.6, 3.2), TRAIN: (3.0, 4.0)}[label]
    w *= rng.uniform(0.9, 1.1)
    h *= rng.uniform(0.9, 1.1)
    body = jitter(rng, PALETTE[label], 40)
    glass = jitter(rng, (50, 60, 75), 10)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z - cam.z < NEAR:
            return
        clear = 0.0 if label == TRAIN else 0.25
        cv.poly(box_face(cam, x - w / 2, x + w / 2, clear, h, z), body, label, inst)
        top = h * (0.55 if label == CAR else 0.7)
        cv.poly(box_face(cam, x - w * 0.4, x + w * 0.4, top, h * 0.92, z - 0.01), glass, label,
                inst)
        if label != TRAIN:
            for sx in (-1, 1):
                cv.poly(box_face(cam, x + sx * w * 0.42 - 0.15, x + sx * w * 0.42 + 0.15, 0, 0.5,
                                 z - 0.02), (25, 25, 25), label, inst)
                cv.poly(box_face(cam, x + sx * w * 0.4 - 0.12, x + sx * w * 0.4 + 0.12, 0.7, 0.9,
                                 z - 0.02), (200, 30, 30), label, inst)
    return Thing(z, draw)


def person(rng: np.random.Generator, x: float, z: float, inst: int) -> Thing:
    """Make a pedestrian seen from behind: legs, shirt, head."""
    h = rng.uniform(1.55, 1.9)
    shirt = jitter(rng, PALETTE[PERSON], 60)
    legs = jitter(rng, (50, 50, 70), 25)
    skin = jitter(rng, (200, 160, 130), 20)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z - cam.z < NEAR:
            return
        for sx in (-0.1, 0.1):
            cv.poly(box_face(cam, x + sx - 0.07, x + sx + 0.07, 0, h * 0.48, z), legs, PERSON,
                    inst)
        cv.poly(box_face(cam, x - 0.22, x + 0.22, h * 0.46, h * 0.84, z), shirt, PERSON, inst)
        (u0, v0), (u1, v1) = box_face(cam, x - 0.11, x + 0.11, h * 0.84, h, z)[[0, 2]]
        cv.ellipse(((u0 + u1) / 2, (v0 + v1) / 2), (abs(u1 - u0) / 2, abs(v0 - v1) / 2), skin,
                   PERSON, inst)
    return Thing(z, draw)


def rider(rng: np.random.Generator, x: float, z: float, motor: bool, inst_rider: int,
          inst_bike: int) -> Thing:
    """Make a rider on a bicycle or motorcycle (``motor``), two instances."""
    bike_label = MOTORCYCLE if motor else BICYCLE
    r = rng.uniform(0.3, 0.36)
    bike = jitter(rng, PALETTE[bike_label], 30)
    shirt = jitter(rng, PALETTE[RIDER], 50)
    skin = jitter(rng, (200, 160, 130), 20)

    def draw(cv: Canvas, cam: Camera) -> None:
        if z - cam.z < NEAR:
            return
        # Seen from behind at a slight angle: wheels as rings one behind the other, offset.
        for dz, dx in ((0.0, 0.0), (0.9, 0.25)):
            (u0, v0), (u1, v1) = box_face(cam, x + dx - r, x + dx + r, 0, 2 * r, z + dz)[[0, 2]]
            thick = max(1.0, abs(u1 - u0) * (0.25 if motor else 0.08))
            cv.ring(((u0 + u1) / 2, (v0 + v1) / 2), abs(u1 - u0) / 2, thick, (20, 20, 20),
                    bike_label, inst_bike)
        if motor:
            cv.poly(box_face(cam, x - 0.25, x + 0.35, r * 0.8, r * 2.6, z + 0.3), bike, bike_label,
                    inst_bike)
        else:
            frame = box_face(cam, x - 0.03, x + 0.28, r, r * 2.4, z + 0.4)
            cv.poly(frame[[0, 1, 2]], bike, bike_label, inst_bike)
        cv.poly(box_face(cam, x - 0.2, x + 0.25, r * 2.2, r * 2.2 + 0.7, z + 0.35), shirt, RIDER,
                inst_rider)
        (u0, v0), (u1, v1) = box_face(cam, x - 0.1, x + 0.12, r * 2.2 + 0.7,
                                      r * 2.2 + 0.95, z + 0.35)[[0, 2]]
        cv.ellipse(((u0 + u1) / 2, (v0 + v1) / 2), (abs(u1 - u0) / 2, abs(v0 - v1) / 2), skin,
                   RIDER, inst_rider)
    return Thing(z, draw)
