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
"""Ground projection of synthetic scenes against the generator's own geometry.

The generator knows its camera (baff_ros/data/synth_camera.py) and its world: the road spans
|x| <= road_half and the sidewalks road_half..road_half + sidewalk, and each vehicle stands on
its wheels at its depth z (wheel faces at z - 0.02, within x +- 0.42 w +- 0.15). Projected with
that camera, every ground-truth road and sidewalk sample must land in its strip, and the lowest
pixel of every vehicle whose foot is visible (road right below it) where the vehicle stands: the
road/obstacle boundary. Tolerance: the ground footprint of 2 pixels at the point's range (a
polygon edge is rasterised to within a pixel); road and sidewalk within 20 m, vehicles 30 m.
"""

import inspect

import numpy as np
import pytest

from baff_ros.data import synth
from baff_ros.data.labels import CLASS_NAMES
from baff_ros.data.synth_camera import camera_info_fields, EXTRINSICS, ground_to_world
from baff_ros.engine.ground import (CameraModel, GroundProjector, intersect_ground,
                                    pose_from_extrinsics, ProjectionConfig, role_table)
from baff_ros.ros.messages import plain_types

CameraInfo = plain_types().CameraInfo

STRIDE = 2
ROAD, SIDEWALK = CLASS_NAMES.index('road'), CLASS_NAMES.index('sidewalk')


def scene(seed, size=(360, 640)):
    rng = np.random.default_rng(seed)
    world = synth.make_world(rng, start=-10.0)
    cam = synth.Camera(size[0], size[1], horizon=size[0] * 0.42, x=0.0)
    _, label_ids, _ = synth.render(world, cam, np.random.default_rng([seed, 0]))
    return world, cam, synth.train_ids(label_ids)


def footprint(camera, pose, u, v, du, dv):
    """Ground distance between the hits of pixels (u, v) and (u + du, v + dv)."""
    a, _ = intersect_ground(camera, pose, u, v)
    b, _ = intersect_ground(camera, pose, u + du, v + dv)
    return np.hypot(*(a - b).T)


@pytest.mark.parametrize('seed', [1, 5, 11])
def test_projected_boundaries_match_the_synthetic_world(seed):
    world, cam, labels = scene(seed)
    camera = CameraModel.from_camera_info(CameraInfo(**camera_info_fields(cam)))
    pose = pose_from_extrinsics(EXTRINSICS['camera_height'])
    proj = GroundProjector(role_table(CLASS_NAMES, ('road', 'sidewalk'), ('sky',)),
                           ProjectionConfig(STRIDE, 20.0, 0.0)).project(labels, camera, pose)
    f = cam.f
    edge = world.road_half + world.sidewalk
    for lab, lo, hi in ((ROAD, 0.0, world.road_half), (SIDEWALK, world.road_half, edge)):
        pts = proj.free.xyz[proj.free.label == lab]
        assert len(pts) > 200, (seed, lab)
        xw, _ = ground_to_world(cam, pts[:, 0], pts[:, 1])
        # back to pixels, to get each point's own 2-pixel footprint
        u = cam.width / 2 - f * pts[:, 1] / pts[:, 0]
        v = cam.horizon + f * EXTRINSICS['camera_height'] / pts[:, 0]
        tol = footprint(camera, pose, u, v, 2.0, 2.0)
        outside = np.maximum(lo - np.abs(xw), np.abs(xw) - hi)
        assert (outside <= tol).all(), (seed, lab, float((outside - tol).max()))


def vehicles(world):
    """Instance ID -> (x, z, width) of every vehicle, from the generator's own objects."""
    out = {}
    for thing in world.things:
        state = inspect.getclosurevars(thing.draw).nonlocals
        if state.get('label') in (synth.CAR, synth.TRUCK, synth.BUS):
            out[state['inst']] = (state['x'], state['z'], state['w'])
    return out


def test_vehicle_feet_project_where_the_vehicles_stand():
    checked = 0
    for seed in (1, 2, 3, 4, 6, 8):
        rng = np.random.default_rng(seed)
        world = synth.make_world(rng, start=-10.0)
        cam = synth.Camera(360, 640, horizon=360 * 0.42)
        _, label_ids, instances = synth.render(world, cam, np.random.default_rng([seed, 0]))
        camera = CameraModel.from_camera_info(CameraInfo(**camera_info_fields(cam)))
        pose = pose_from_extrinsics(EXTRINSICS['camera_height'])
        for inst, (x, z, w) in vehicles(world).items():
            rows, cols = np.nonzero(instances == inst)
            if not rows.size or rows.max() + 1 >= cam.height:
                continue
            r = rows.max()
            foot = [c for c in cols[rows == r] if label_ids[r + 1, c] == synth.ROAD]
            if not foot:
                continue  # hidden behind something nearer
            u = np.array(foot, float)
            v = np.full(len(foot), float(r))
            xy, valid = intersect_ground(camera, pose, u, v, 30.0)
            if not valid.all():
                continue
            tol = footprint(camera, pose, u, v, 2.0, 2.0)
            xw, zw = ground_to_world(cam, xy[:, 0], xy[:, 1])
            assert (np.abs(zw - (z - 0.02)) <= tol).all(), (seed, inst, zw, z)
            half = 0.42 * w + 0.15
            assert (np.abs(xw - x) <= half + tol).all(), (seed, inst, xw, x, half)
            checked += 1
    assert checked >= 8, checked
