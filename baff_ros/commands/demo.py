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
"""``baff-ros demo``: the main job on bundled defaults: segment the sample drive bag."""

import argparse
import logging
from pathlib import Path
from typing import Any, Dict, List

import cv2
import numpy as np

from baff_ros.commands.bag import (add_bag_version_arg, add_workers_arg, make_video_callback,
                                   node_params, print_report)
from baff_ros.commands.common import (add_backend_args, add_model_args, add_weights_scale_arg,
                                      note)

HELP = ('segment the bundled sample drive (rosbag2) with the bundled model; write the output '
        'bag, overlay PNGs, a weight-map montage and a video to ./baff_demo/')

#: Name of the bundled sample bag (a directory under models/samples/).
SAMPLE_BAG = 'street_drive'
#: Static extrinsics of the sample bag's camera, for its ground clouds. The generator's camera
#: is level, 1.5 m up, with the horizon at row 0.42 H (baff_ros/data/synth_camera.py); the bag's
#: CameraInfo puts the principal point at the image centre instead, so the same rays come from
#: a camera pitched down by atan((0.5 - 0.42) H / f) = 0.079 rad at 512x1024 (f = 512 px):
#: within 0.1 m of the true ground points up to 20 m.
SAMPLE_EXTRINSICS = {'camera_height': 1.5, 'camera_pitch': 0.0789}
#: Metres ahead (and across) that the demo's bird's-eye views show.
BEV_EXTENT_M = 20.0


def find_sample_bag() -> Path:
    """Locate the bundled sample bag's directory (source tree or installed share)."""
    from baff_ros.engine.models import model_dirs

    for d in model_dirs():
        candidate = d / 'samples' / SAMPLE_BAG
        if (candidate / 'metadata.yaml').is_file():
            return candidate
    raise FileNotFoundError(f'bundled sample bag {SAMPLE_BAG!r} not found under '
                            f'{", ".join(str(d / "samples") for d in model_dirs())}')


def bev_picture(outputs: Dict[str, Any], size_px: int) -> np.ndarray:
    """Bird's-eye view (RGB, size_px square) of a frame's obstacle_points and free_points."""
    from baff_ros.data.labels import palette_array
    from baff_ros.engine.ground import birds_eye_view, GroundCloud, Projection
    from baff_ros.ros.ground_codec import msg_to_points

    clouds = []
    for key in ('obstacle_points', 'free_points'):
        pts = msg_to_points(outputs[key])
        xyz = np.stack([pts['x'], pts['y'], pts['z']], axis=1)
        clouds.append(GroundCloud(xyz, pts['label'], pts['confidence']))
    return birds_eye_view(Projection(clouds[0], clouds[1], (0.0, 0.0, 0.0)), palette_array(),
                          size_px, BEV_EXTENT_M, dot=2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument('--out', default='baff_demo', metavar='DIR',
                        help='output directory (default: %(default)s)')
    parser.add_argument('--bag', metavar='PATH', help='another input bag instead of the sample')
    parser.add_argument('--topic', action='append', default=[], metavar='TOPIC',
                        help='image topic (default: the only one)')
    parser.add_argument('--stills', type=int, default=3,
                        help='how many frames to save as PNG, 0 for none (default: %(default)s)')
    add_weights_scale_arg(parser)
    add_bag_version_arg(parser)
    add_workers_arg(parser)
    add_model_args(parser)
    add_backend_args(parser)


def run(args: argparse.Namespace) -> int:
    """Process the bag, save stills and a montage, print what was written and how to view it."""
    from baff_ros.atomic import write_image
    from baff_ros.bag.process import process_bag
    from baff_ros.bag.video import montage, weight_arrays

    if args.stills < 0:
        raise ValueError(f'--stills: expected a count >= 0, got {args.stills}')
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    src = Path(args.bag) if args.bag else find_sample_bag()
    note(f'input bag: {src}')
    params = node_params(args, base=None if args.bag else SAMPLE_EXTRINSICS)
    video_path = out_dir / 'montage.mp4'
    on_video, video = make_video_callback(str(video_path), args.weights_scale)
    written: List[Path] = []
    frame_index = {'n': 0}
    # Which frames become PNG stills: spread over the drive, decided once the count is known.
    stills: Dict[str, set] = {}

    def on_frame(stream, msg, outputs, arrays) -> None:
        on_video(stream, msg, outputs, arrays)
        i = frame_index['n']
        frame_index['n'] += 1
        if not stills:
            n = max(1, stream.count)
            k = min(args.stills, n)
            stills['at'] = {round(j * (n - 1) / max(1, k - 1)) for j in range(k)}
        if i not in stills['at']:
            return
        weights = weight_arrays(arrays)
        for name, image in (('overlay', arrays.get('overlay')), ('color', arrays.get('color')),
                            ('montage', montage(arrays['overlay'], weights, args.weights_scale)
                             if 'overlay' in arrays else None)):
            if image is None:
                continue
            written.append(write_image(out_dir / f'frame{i:04d}_{name}.png',
                                       cv2.cvtColor(image, cv2.COLOR_RGB2BGR)))
        if 'labels' in arrays:
            written.append(write_image(out_dir / f'frame{i:04d}_labels.png', arrays['labels']))
        if 'overlay' in arrays and 'obstacle_points' in outputs and 'free_points' in outputs:
            picture = np.concatenate([arrays['overlay'], bev_picture(
                outputs, arrays['overlay'].shape[0])], axis=1)
            written.append(write_image(out_dir / f'frame{i:04d}_bev.png',
                                       cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)))

    bag_out = out_dir / f'{src.name}_segmented'
    try:
        report = process_bag(src, bag_out, params, topics=args.topic, overwrite=True,
                             on_frame=on_frame, bag_version=args.bag_version,
                             workers=args.workers)
    except BaseException:
        video.close(keep=False)  # a montage of a failed run does not replace an earlier one
        raise
    video.close()
    print_report(report)
    print(f'\nwrote to {out_dir}/:')
    print(f'  {bag_out.name}/  output rosbag2 (mcap): input topics + segmentation outputs')
    print(f'  {video_path.name}  overlay + BAFF weight-map montage video ({video.frames} frames)')
    for path in written:
        print(f'  {path.name}')
    print('\nto view it:')
    print(f'  ROS 2:    ros2 bag play {bag_out}  and  rviz2 -d '
          '$(ros2 pkg prefix baff_ros)/share/baff_ros/config/segment.rviz')
    if args.bag_version != 8:
        print('            (Humble\'s ros2 bag reads it when written with --bag-version 8)')
    print(f'  Foxglove: open {next(bag_out.glob("*.mcap"), bag_out)} (Image panels on '
          '*/segmentation/overlay and */segmentation/weights/*)')
    print(f'  files:    any image viewer on {out_dir}/frame*_montage.png (and frame*_bev.png: '
          'the ground clouds from above)')
    return 0
