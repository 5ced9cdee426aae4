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
"""Rendering: a world seen by a camera, as image, label-ID map and instance map.

Drawing is OpenCV polygons into the three layers at once (painter's algorithm, far to near),
then lighting, texture and sensor noise are applied to the image as whole-array operations.
"""

import math
from typing import cast, List, Tuple

import cv2
import numpy as np

from baff_ros.data.synth.layout import make_world
from baff_ros.data.synth.scene import (Camera, Canvas, FAR, GROUND, ground_strip, jitter, NEAR,
                                       PALETTE, ROAD, SIDEWALK, SKY, TERRAIN, World)


def lighting(rng: np.random.Generator, image: np.ndarray, labels: np.ndarray) -> np.ndarray:
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
    out += cast(np.ndarray, rng.normal(0, rng.uniform(2, 7), out.shape)).astype(np.float32)
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
    cv.poly(ground_strip(cam, world.facade[0] - 50, world.facade[1] + 50, cam.z + NEAR, end),
            jitter(rng, PALETTE[TERRAIN], 10), TERRAIN)
    edge = world.road_half + world.sidewalk
    for x0, x1 in ((-edge, -world.road_half), (world.road_half, edge)):
        cv.poly(ground_strip(cam, x0, x1, cam.z + NEAR, end, 0.005), world.walk_color, SIDEWALK)
    cv.poly(ground_strip(cam, -world.road_half, world.road_half, cam.z + NEAR, end),
            world.road_color, ROAD)
    # Lane markings: painted road (label road), dashed centre line, solid edge lines.
    dash0 = math.floor(cam.z / 9.0) * 9.0
    for z in np.arange(dash0, end, 9.0):
        if z + 3 > cam.z + NEAR:
            cv.poly(ground_strip(cam, -0.08, 0.08, max(z, cam.z + NEAR), z + 3, 0.01),
                    (225, 225, 215), ROAD)
    for x in (-world.road_half + 0.3, world.road_half - 0.3):
        cv.poly(ground_strip(cam, x - 0.07, x + 0.07, cam.z + NEAR, end, 0.01), (225, 225, 215),
                ROAD)
    # By layer (ground, facades, kerbside walls, standing), far to near within each; a stable
    # sort, so with every thing in one layer (the street layout) the plain far-to-near order.
    for thing in sorted(world.things, key=lambda t: (t.layer, -t.z)):
        if thing.layer == GROUND or (cam.z + NEAR < thing.z + 40 and thing.z < end):
            thing.draw(cv, cam)
    return lighting(rng, cv.image, cv.labels), cv.labels, cv.instances


def render_scene(size: Tuple[int, int], seed: int, layout: str = 'street'
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one random street scene: (RGB HxWx3, label IDs HxW uint8, instance IDs int32).

    ``layout``: one of :data:`LAYOUTS`.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    cam = Camera(h, w, horizon=h * rng.uniform(0.36, 0.5), x=rng.uniform(-1.5, 1.5))
    world = make_world(rng, start=rng.uniform(-20, 0), layout=layout)
    world.sky_top = tuple(jitter(rng, (90, 140, 210), 25))
    world.sky_bottom = tuple(jitter(rng, (190, 210, 230), 15))
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
