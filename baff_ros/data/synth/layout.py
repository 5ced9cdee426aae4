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
"""Street layouts: where the things of a random street stand (``street`` and ``scale``)."""

from typing import Callable

import numpy as np

from baff_ros.data.synth.scene import (BICYCLE, BUS, CAR, FACADE, FAR, GROUND, InstanceIds,
                                       jitter, KERB_WALL, MOTORCYCLE, PALETTE, PERSON, RIDER,
                                       ROAD, SIDEWALK, STANDING, TERRAIN, Thing, TRAIN, TRUCK,
                                       VEGETATION, World)
from baff_ros.data.synth.things import (building, fence, flat, person, pole, rider, tree,
                                        vehicle, wall)

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
                  road_color=tuple(jitter(rng, PALETTE[ROAD], 12)),
                  walk_color=tuple(jitter(rng, PALETTE[SIDEWALK], 18)))

    def add(thing: Thing, layer: int = STANDING) -> None:
        if layout == 'scale':
            thing.layer = layer
        world.things.append(thing)

    ids = InstanceIds()
    end = start + length
    for side in (-1, 1):
        fx = side * (edge + setback)
        # Ground beside the sidewalk, up to the facades: terrain or hedge.
        add(flat(rng, TERRAIN if rng.random() < 0.6 else VEGETATION, min(side * edge, fx),
                 max(side * edge, fx), start, end, 0.01), GROUND)
        z = start + rng.uniform(-5, 10)
        while z < end:  # facades, with gaps showing trees
            span = rng.uniform(8, 30)
            if rng.random() < 0.8:
                add(building(rng, side, fx, z, z + span), FACADE)
            else:
                for tz in np.arange(z, z + span, rng.uniform(3, 6)):
                    add(tree(rng, fx - side * 0.5, tz), FACADE)
            z += span + rng.uniform(0, 4)
        z = start + rng.uniform(0, 15)
        while z < end:  # walls and fences along the sidewalk's outer edge
            span = rng.uniform(5, 20)
            if rng.random() < 0.5:
                add(wall(rng, side * (edge + 0.1), z, z + span) if rng.random() < 0.5
                    else fence(rng, side * (edge + 0.1), z, z + span), KERB_WALL)
            z += span + rng.uniform(3, 15)
        z = start + rng.uniform(3, 12)
        while z < end:  # poles with signs / traffic lights, trees on the kerb
            kind = ('light', 'sign', 'pole', 'tree')[int(rng.integers(4))]
            px = side * (road_half + rng.uniform(0.3, 0.8))
            add(tree(rng, px, z) if kind == 'tree' else pole(rng, px, z, kind))
            z += rng.uniform(6, 20)
        for _ in range(int(rng.integers(1, 6))):  # pedestrians
            add(person(rng, side * (road_half + rng.uniform(0.3, sidewalk - 0.3)),
                       rng.uniform(start + 3, end * 0.6), ids(PERSON)))
    lanes = [-road_half / 2, road_half / 2]
    for _ in range(int(rng.integers(2, 8))):  # vehicles
        label = (CAR, CAR, CAR, TRUCK, BUS)[int(rng.integers(5))]
        add(vehicle(rng, label, lanes[int(rng.integers(2))] + rng.uniform(-0.4, 0.4),
                    rng.uniform(start + 5, end * 0.7), ids(label)))
    for _ in range(int(rng.integers(0, 4))):  # riders, near the kerb
        side = 1 if rng.random() < 0.5 else -1
        motor = rng.random() < 0.4
        add(rider(rng, side * (road_half - rng.uniform(0.6, 1.5)),
                  rng.uniform(start + 4, end * 0.5), motor, ids(RIDER),
                  ids(MOTORCYCLE if motor else BICYCLE)))
    if rng.random() < 0.25:  # a train on a track beside the road, far side
        add(vehicle(rng, TRAIN, world.facade[1] - 2.0, rng.uniform(start + 15, end * 0.6),
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
            add(person(rng, side * (half + rng.uniform(0.3, max(0.4, walk - 0.3))), depth(),
                       ids(PERSON)))
        for motor in (False, True, False):
            side = 1 if rng.random() < 0.5 else -1
            add(rider(rng, side * (half - rng.uniform(0.6, 1.5)), depth(), motor, ids(RIDER),
                      ids(MOTORCYCLE if motor else BICYCLE)))
        for kind in ('light', 'sign', 'pole'):
            side = 1 if rng.random() < 0.5 else -1
            add(pole(rng, side * (half + rng.uniform(0.3, 0.8)), depth(), kind,
                     low=kind == 'light'))
        side = 1 if rng.random() < 0.5 else -1
        z = depth()
        span = float(rng.uniform(4, 10))
        kerb = (wall(rng, side * (edge + 0.1), z, z + span) if rng.random() < 0.5
                else fence(rng, side * (edge + 0.1), z, z + span))
        kerb.layer = KERB_WALL
        add(kerb)
        label = (CAR, TRUCK, BUS)[int(rng.integers(3))]
        add(vehicle(rng, label, (-half / 2, half / 2)[int(rng.integers(2))], depth(),
                    ids(label)))
        if rng.random() < 1 / 3:
            add(vehicle(rng, TRAIN, world.facade[1] - 2.0, depth(), ids(TRAIN)))
