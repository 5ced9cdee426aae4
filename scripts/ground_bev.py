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
"""Bird's-eye view of one synthetic frame: overlay | model's ground clouds | ground truth's.

Usage: python scripts/ground_bev.py [--out docs/img/ground_bev.png] [--seed 7]
       [--size 512x1024] [--model baff_skipnet_synth] [--stride 4] [--range 30]

Renders one street frame with the synthetic generator, segments it with the model, and projects
both the model's labels (with its confidence, threshold 0.5) and the generator's ground-truth
labels onto the ground with the generator's own camera (baff_ros/data/synth_camera.py). In the
views, up is forward (x), left is left (y), the white dot is the camera, grid lines every 5 m;
obstacle points are drawn in their class colour, free points dimmed.
"""

import argparse
from pathlib import Path
import sys

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2,
                cv2.LINE_AA)
    return out


def main() -> int:
    """Render, segment, project, write the picture; print the point counts."""
    from baff_ros.atomic import write_image
    from baff_ros.data import synth
    from baff_ros.data.labels import CLASS_NAMES, palette_array
    from baff_ros.data.synth_camera import camera_info_fields, EXTRINSICS
    from baff_ros.engine import ground
    from baff_ros.engine.visualize import colorize, overlay
    from baff_ros.ros.messages import plain_types
    from baff_ros.ros.params import NodeParams
    from baff_ros.engine.models import load_segmenter_for

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(ROOT / 'docs' / 'img' / 'ground_bev.png'))
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--size', default='512x1024', help='HxW')
    ap.add_argument('--model', default='baff_skipnet_synth')
    ap.add_argument('--stride', type=int, default=4)
    ap.add_argument('--range', type=float, default=30.0, help='max range and view extent (m)')
    args = ap.parse_args()
    CameraInfo = plain_types().CameraInfo
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    h, w = (int(v) for v in args.size.split('x'))

    rng = np.random.default_rng(args.seed)
    world = synth.make_world(rng, start=-10.0)
    cam = synth.Camera(h, w, horizon=h * 0.42)
    rgb, label_ids, _ = synth.render(world, cam, np.random.default_rng([args.seed, 0]))
    truth = synth.train_ids(label_ids)
    seg = load_segmenter_for(NodeParams(model=args.model))
    try:
        result = seg(rgb)
    finally:
        seg.close()

    camera = ground.CameraModel.from_camera_info(CameraInfo(**camera_info_fields(cam)))
    pose = ground.pose_from_extrinsics(EXTRINSICS['camera_height'])
    projector = ground.GroundProjector(ground.role_table(CLASS_NAMES),
                                       ground.ProjectionConfig(args.stride, args.range, 0.5))
    predicted = projector.project(result.labels, camera, pose, result.confidence)
    expected = projector.project(truth, camera, pose)
    palette = palette_array()
    views = [_label(overlay(rgb, colorize(result.labels, palette), 0.5), 'model labels')]
    for name, proj in (('model -> ground', predicted), ('ground truth -> ground', expected)):
        views.append(_label(ground.birds_eye_view(proj, palette, h, args.range, dot=2), name))
    picture = np.concatenate(views, axis=1)
    path = write_image(args.out, cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    for name, proj in (('model', predicted), ('ground truth', expected)):
        print(f'{name}: {len(proj.obstacle)} obstacle, {len(proj.free)} free points')
    print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
