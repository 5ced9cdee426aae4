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
"""Ground projection against closed-form cases; no ROS.

Each case of :func:`closed_form_cases` states where a pixel must hit the ground, from geometry
alone (h / tan(pitch) on the principal ray) or from a forward projection of a known ground point
through the same camera (cv2.projectPoints, with distortion), and the projection must find it
within 1 mm. ``python test/test_ground.py`` prints the table (case, expected, got, error).
"""

import math
import sys

import cv2
import numpy as np
import pytest

from baff_ros.data.labels import CLASS_NAMES
from baff_ros.engine.ground import (CameraModel, FREE, GridConfig, GroundError,
                                    GroundProjector, IGNORE, intersect_ground, OBSTACLE,
                                    parse_names, pose_from_extrinsics, pose_from_transform,
                                    ProjectionConfig, quaternion_from_matrix, rasterise,
                                    role_table)
from baff_ros.ros.image_codec import scale_camera_info
from baff_ros.ros.messages import plain_types

CameraInfo = plain_types().CameraInfo

TOLERANCE_M = 1e-3
W, H = 1280, 720
PINHOLE = CameraModel.pinhole(800.0, 800.0, 640.0, 360.0, (H, W))
PLUMB_BOB = CameraModel((800.0, 0.0, 640.0, 0.0, 800.0, 360.0, 0.0, 0.0, 1.0),
                        (-0.28, 0.07, 0.001, -0.0005, 0.0), 'plumb_bob', (H, W))
FISHEYE = CameraModel((500.0, 0.0, 640.0, 0.0, 500.0, 360.0, 0.0, 0.0, 1.0),
                      (0.05, -0.01, 0.002, -0.0003), 'equidistant', (H, W))


def forward(camera: CameraModel, pose: np.ndarray, point) -> np.ndarray:
    """Pixel (u, v) of a ground-frame point, through the camera's full model (with distortion)."""
    rot_cg = pose[:3, :3].T
    rvec, _ = cv2.Rodrigues(rot_cg)
    tvec = -rot_cg @ pose[:3, 3]
    obj = np.asarray(point, np.float64).reshape(1, 1, 3)
    d = np.asarray(camera.d, np.float64)
    if camera.model == 'equidistant':
        px, _ = cv2.fisheye.projectPoints(obj, rvec, tvec, camera.matrix, d)
    else:
        px, _ = cv2.projectPoints(obj, rvec, tvec, camera.matrix, d if d.size else None)
    return px.reshape(2)


def hit(camera: CameraModel, pose: np.ndarray, uv) -> np.ndarray:
    xy, valid = intersect_ground(camera, pose, np.array([uv[0]], float),
                                 np.array([uv[1]], float))
    assert valid[0], uv
    return xy[0]


def closed_form_cases():
    """(case, expected (x, y), got (x, y)) for every closed-form case."""
    cases = []
    for h, pitch in ((1.5, math.radians(10)), (0.4, math.radians(25)), (2.0, math.radians(3))):
        pose = pose_from_extrinsics(h, pitch=pitch)
        cases.append((f'principal ray, h={h} m, pitch={math.degrees(pitch):.0f} deg',
                      (h / math.tan(pitch), 0.0), hit(PINHOLE, pose, (640.0, 360.0))))
    pose = pose_from_extrinsics(1.0, roll=0.2, pitch=0.3, yaw=0.5, x=0.3, y=-0.2)
    r = 1.0 / math.tan(0.3)
    cases.append(('principal ray, roll 0.2, yaw 0.5, offset (0.3, -0.2)',
                  (0.3 + r * math.cos(0.5), -0.2 + r * math.sin(0.5)),
                  hit(PINHOLE, pose, (640.0, 360.0))))
    pose = pose_from_extrinsics(1.5, pitch=math.radians(12))
    for name, camera in (('pinhole', PINHOLE), ('plumb_bob distortion', PLUMB_BOB),
                         ('equidistant (fisheye)', FISHEYE)):
        for point in ((10.0, 0.0), (10.0, 2.5), (4.0, -1.5)):
            uv = forward(camera, pose, (*point, 0.0))
            cases.append((f'{name}: ground point {point}', point, hit(camera, pose, uv)))
    # Scaled CameraInfo: calibrated at 1280x720, labels at 640x360 (network output size).
    info = CameraInfo(height=H, width=W, distortion_model='plumb_bob', d=list(PLUMB_BOB.d),
                      k=list(PLUMB_BOB.k),
                      p=[800.0, 0.0, 640.0, 0.0, 0.0, 800.0, 360.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    small = CameraModel.from_camera_info(scale_camera_info(info, (H, W), (H // 2, W // 2)))
    for point in ((10.0, 1.0), (6.0, -2.0)):
        uv = forward(small, pose, (*point, 0.0))
        cases.append((f'scaled CameraInfo 1280x720 -> 640x360: {point}', point,
                      hit(small, pose, uv)))
        full_uv = forward(PLUMB_BOB, pose, (*point, 0.0))
        cases.append((f'scaled CameraInfo: full-size pixel / 2 -> {point}', point,
                      hit(small, pose, full_uv / 2)))
    return cases


@pytest.mark.parametrize('case, expected, got', closed_form_cases(),
                         ids=[c[0] for c in closed_form_cases()])
def test_closed_form_case(case, expected, got):
    error = float(np.hypot(*(np.asarray(got) - expected)))
    assert error <= TOLERANCE_M, f'{case}: expected {expected}, got {got}, error {error} m'


def test_symmetric_pixels_give_symmetric_points():
    pose = pose_from_extrinsics(1.3, pitch=math.radians(15))
    # Radial distortion keeps the symmetry (tangential terms would not).
    radial = CameraModel(PLUMB_BOB.k, (-0.28, 0.07, 0.0, 0.0, 0.0), 'plumb_bob', (H, W))
    for camera in (PINHOLE, radial, FISHEYE):
        for du, v in ((100.0, 500.0), (500.0, 700.0), (37.5, 380.0)):
            left = hit(camera, pose, (640.0 - du, v))
            right = hit(camera, pose, (640.0 + du, v))
            assert abs(left[0] - right[0]) < 1e-9 and abs(left[1] + right[1]) < 1e-9
            assert left[1] > 0 > right[1]  # image left is ground +y (left)


def test_horizon_and_range_are_dropped():
    pose = pose_from_extrinsics(1.5, pitch=0.0)
    v = np.array([100.0, 359.0, 360.0, 361.0, 480.0, 700.0])
    xy, valid = intersect_ground(PINHOLE, pose, np.full(6, 640.0), v, max_range=12.0)
    # v=361 hits at 1.5*800/1 = 1200 m: beyond range; v=480: 10 m; v=700: 3.5 m.
    assert valid.tolist() == [False, False, False, False, True, True]
    assert np.isnan(xy[~valid]).all()
    assert xy[4, 0] == pytest.approx(1.5 * 800 / 120)
    assert xy[5, 0] == pytest.approx(1.5 * 800 / 340)


def test_roles_defaults_and_errors():
    table = role_table(CLASS_NAMES)
    names = dict(zip(CLASS_NAMES, table))
    assert [n for n, r in names.items() if r == FREE] == ['road', 'sidewalk', 'terrain']
    assert [n for n, r in names.items() if r == IGNORE] == ['sky']
    assert names['car'] == OBSTACLE and names['vegetation'] == OBSTACLE
    assert table[255] == IGNORE and table[19] == IGNORE
    assert parse_names(' road ,sidewalk,, ') == ('road', 'sidewalk')
    with pytest.raises(GroundError, match='unknown class name.*roads'):
        role_table(CLASS_NAMES, traversable=['roads'])
    with pytest.raises(GroundError, match='both'):
        role_table(CLASS_NAMES, traversable=['road'], ignore=['road'])


def test_projector_roles_confidence_cache_and_grid():
    pose = pose_from_extrinsics(1.5, pitch=math.radians(20))
    cam = CameraModel.pinhole(400.0, 400.0, 320.0, 240.0, (480, 640))
    labels = np.full((480, 640), 10, np.uint8)  # sky above ...
    labels[240:] = 0  # road below the horizon
    labels[400:, :320] = 13  # a car, bottom left
    labels[470:, 600:] = 255  # unknown
    conf = np.full((480, 640), 255, np.uint8)
    conf[240:300] = 60  # low confidence band
    proj = GroundProjector(role_table(CLASS_NAMES), ProjectionConfig(4, 30.0, 0.5))
    out = proj.project(labels, cam, pose, conf)
    assert set(out.obstacle.label.tolist()) == {13} and set(out.free.label.tolist()) == {0}
    assert (out.obstacle.xyz[:, 2] == 0).all() and (out.obstacle.xyz[:, 1] > 0).all()
    assert out.free.confidence.min() >= 0.5 and len(out.obstacle) == 20 * 80
    # The low-confidence rows 240..299 are the farthest part of the road: gone.
    near = proj.project(labels, cam, pose, None)
    assert len(near.free) > len(out.free)
    assert out.free.xyz[:, 0].max() < near.free.xyz[:, 0].max()
    assert proj.ray_builds == 1
    proj.project(labels, cam, pose_from_extrinsics(1.4, pitch=0.3), conf)
    assert proj.ray_builds == 2
    grid = rasterise(out, GridConfig(0.5, 20.0))
    assert grid.shape == (40, 40) and set(np.unique(grid).tolist()) == {-1, 0, 100}
    # The camera is at the centre cell; everything seen is ahead (+x, the right half).
    assert (grid[:, :20] == -1).all()
    with pytest.raises(GroundError, match='scale the CameraInfo'):
        proj.project(labels[:240], cam, pose)


def test_pose_helpers_and_errors():
    pose = pose_from_extrinsics(1.2, roll=0.1, pitch=0.4, yaw=-0.3, x=0.5, y=0.2)
    q = quaternion_from_matrix(pose[:3, :3])
    assert np.allclose(pose_from_transform(pose[:3, 3], q), pose)
    # Optical z (forward) of a level camera is ground x; optical x (right) is ground -y.
    level = pose_from_extrinsics(1.0)
    assert np.allclose(level[:3, :3] @ [0, 0, 1], [1, 0, 0])
    assert np.allclose(level[:3, :3] @ [1, 0, 0], [0, -1, 0])
    with pytest.raises(GroundError, match='height'):
        pose_from_extrinsics(0.0)
    below = pose.copy()
    below[2, 3] = -0.1
    with pytest.raises(GroundError, match='above the ground'):
        intersect_ground(PINHOLE, below, np.array([1.0]), np.array([1.0]))
    with pytest.raises(GroundError, match='focal'):
        CameraModel.pinhole(0.0, 0.0, 0.0, 0.0, (10, 10))
    with pytest.raises(GroundError, match='not supported'):
        CameraModel((1.0, 0, 0, 0, 1.0, 0, 0, 0, 1), (), 'kannala', (10, 10))


if __name__ == '__main__':
    print('| case | expected (x, y) m | got (x, y) m | error |')
    print('|---|---|---|---|')
    for case, expected, got in closed_form_cases():
        err = float(np.hypot(*(np.asarray(got) - expected)))
        print(f'| {case} | ({expected[0]:.4f}, {expected[1]:.4f}) | ({got[0]:.4f}, '
              f'{got[1]:.4f}) | {err * 1e3:.2g} mm |')
    sys.exit(0)
