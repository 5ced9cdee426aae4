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
"""How the ground projection's error grows with range, for the usual mistakes.

Usage: python scripts/plot_projection_error.py [--out docs/img/projection_error.png]
       [--height 1.0] [--pitch-deg 10] [--width 1280] [--hfov-deg 90] [--max-range 20]

A camera ``--height`` m above flat ground, pitched down ``--pitch-deg``, sees ground points
straight ahead at distances d. Each point is imaged with the true geometry, then projected back
with the geometry the node assumes (baff_ros.engine.ground), and the distance error is plotted:

* pitch error of 0.5, 1 and 2 degrees (a loose mount, braking, a wrong calibration);
* height error of 5 cm;
* a slope: the ground rises 2 or 5 degrees ahead of the robot (flat-ground assumption broken);
* a one-pixel error of the labels' boundary (segmentation).

For small errors the distance error grows with d squared: about d^2 / h * dtheta for a pitch
error dtheta, d^2 / (f h) per pixel. Prints the table of errors at 2, 5, 10 and 20 m too.
"""

import argparse
import math
from pathlib import Path
import sys

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def errors(height: float, pitch: float, f: float, d: np.ndarray):
    """Label -> |distance error| (m) at ground distances ``d``, straight ahead."""
    from baff_ros.engine.ground import CameraModel, intersect_ground, pose_from_extrinsics

    size = (4000, 4000)  # large enough that every test pixel is "in" the image
    cam = CameraModel.pinhole(f, f, 2000.0, 2000.0, size)
    nominal = pose_from_extrinsics(height, pitch=pitch)

    def pixel_rows(pose, points):
        rot_cg = pose[:3, :3].T
        pc = (points - pose[:3, 3]) @ rot_cg.T
        return 2000.0 + f * pc[:, 1] / pc[:, 2]

    def back(v):
        xy, valid = intersect_ground(cam, nominal, np.full(len(v), 2000.0), v)
        return np.where(valid, xy[:, 0], np.inf)

    flat = np.stack([d, np.zeros_like(d), np.zeros_like(d)], axis=1)
    out = {}
    for deg in (0.5, 1.0, 2.0):
        true = pose_from_extrinsics(height, pitch=pitch + math.radians(deg))
        out[f'pitch error {deg:g} deg'] = np.abs(back(pixel_rows(true, flat)) - d)
    true = pose_from_extrinsics(height + 0.05, pitch=pitch)
    out['height error 5 cm'] = np.abs(back(pixel_rows(true, flat)) - d)
    for deg in (2.0, 5.0):
        sloped = flat.copy()
        sloped[:, 2] = d * math.tan(math.radians(deg))
        out[f'slope {deg:g} deg (ground rises)'] = np.abs(back(pixel_rows(nominal, sloped)) - d)
    out['labels 1 px off'] = np.abs(back(pixel_rows(nominal, flat) - 1.0) - d)
    return out


def main() -> int:
    """Compute, print the table, write the plot."""
    from baff_ros.atomic import replacing
    from baff_ros.plotting import pyplot

    plt = pyplot()

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(ROOT / 'docs' / 'img' / 'projection_error.png'))
    ap.add_argument('--height', type=float, default=1.0)
    ap.add_argument('--pitch-deg', type=float, default=10.0)
    ap.add_argument('--width', type=int, default=1280)
    ap.add_argument('--hfov-deg', type=float, default=90.0)
    ap.add_argument('--max-range', type=float, default=20.0)
    args = ap.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    f = args.width / 2 / math.tan(math.radians(args.hfov_deg) / 2)
    pitch = math.radians(args.pitch_deg)
    d = np.linspace(0.5, args.max_range, 400)
    curves = errors(args.height, pitch, f, d)
    at = np.array([2.0, 5.0, 10.0, 20.0])
    table = errors(args.height, pitch, f, at)
    print(f'camera {args.height} m high, pitched {args.pitch_deg} deg, f = {f:.0f} px')
    print('| cause | ' + ' | '.join(f'{v:g} m' for v in at) + ' |')
    print('|---|' + '---|' * len(at))
    for name, err in table.items():
        print(f'| {name} | ' + ' | '.join('beyond horizon' if not np.isfinite(e) else
                                          f'{e:.2f} m' for e in err) + ' |')

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for name, err in curves.items():
        ax.plot(d, np.where(np.isfinite(err), err, np.nan), label=name,
                linestyle='--' if 'px' in name else '-')
    ax.set_yscale('log')
    ax.set_ylim(1e-3, 50)
    ax.set_xlabel('true distance ahead (m)')
    ax.set_ylabel('distance error (m)')
    ax.set_title(f'Ground projection error: camera {args.height:g} m high, pitched '
                 f'{args.pitch_deg:g} deg down, f = {f:.0f} px', fontsize=9)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with replacing(args.out) as tmp:
        fig.savefig(tmp, format='png')
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
