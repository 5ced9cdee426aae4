#!/usr/bin/env python3
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
"""Build the bundled sample bag: a short synthetic drive, JPEG-compressed, with CameraInfo.

Usage: python scripts/make_sample_bag.py [--out models/samples/street_drive] [--frames 30]
The output is deterministic for a given seed (same frames, same stamps).
"""

import argparse
import math
from pathlib import Path
import shutil
import sys

import numpy as np

TOPIC = '/camera/image_raw/compressed'
INFO_TOPIC = '/camera/camera_info'
FRAME_ID = 'camera_optical_frame'
#: First stamp of the drive (2026-01-01T00:00:00Z) and the frame period (10 Hz).
T0_NS = 1767225600 * 10**9
PERIOD_NS = 100_000_000


def camera_info(ts, header, height: int, width: int, hfov_deg: float = 90.0):
    """Build a pinhole CameraInfo for the generator's camera (no distortion)."""
    t = ts.types
    f = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    roi = t['sensor_msgs/msg/RegionOfInterest'](x_offset=0, y_offset=0, height=0, width=0,
                                                do_rectify=False)
    return t['sensor_msgs/msg/CameraInfo'](
        header=header, height=height, width=width, distortion_model='plumb_bob',
        d=np.zeros(5), k=np.array([f, 0, cx, 0, f, cy, 0, 0, 1], float),
        r=np.eye(3).ravel(), p=np.array([f, 0, cx, 0, 0, f, cy, 0, 0, 0, 1, 0], float),
        binning_x=0, binning_y=0, roi=roi)


def main(argv=None) -> int:
    """Render the drive and write the bag."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='models/samples/street_drive')
    parser.add_argument('--frames', type=int, default=30)
    parser.add_argument('--size', default='512x1024', help='HxW of the camera images')
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--quality', type=int, default=90, help='JPEG quality')
    parser.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap')
    args = parser.parse_args(argv)

    from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness,
                                    QosReliability, QosTime)
    from rosbags.typesys import get_typestore, Stores

    from baff_ros.bag import BagOutput
    from baff_ros.data.synth import render_sequence
    from baff_ros.ros.image_codec import rgb_to_compressed

    h, w = (int(v) for v in args.size.split('x'))
    images, _labels = render_sequence(args.frames, (h, w), args.seed)
    ts = get_typestore(Stores.ROS2_HUMBLE)
    t = ts.types
    zero = QosTime(sec=0, nsec=0)
    # What a camera driver offers: sensor data QoS (best effort, keep last 5).
    sensor = [Qos(QosHistory.KEEP_LAST, 5, QosReliability.BEST_EFFORT, QosDurability.VOLATILE,
                  zero, zero, QosLiveliness.AUTOMATIC, zero, False)]
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    with BagOutput(out, ts, storage=args.storage) as bag:
        for i, rgb in enumerate(images):
            stamp_ns = T0_NS + i * PERIOD_NS
            header = t['std_msgs/msg/Header'](
                stamp=t['builtin_interfaces/msg/Time'](sec=stamp_ns // 10**9,
                                                       nanosec=stamp_ns % 10**9),
                frame_id=FRAME_ID)
            jpeg = rgb_to_compressed(rgb, header, 'jpeg', args.quality)
            msg = t['sensor_msgs/msg/CompressedImage'](
                header=header, format=jpeg.format, data=np.frombuffer(jpeg.data, np.uint8))
            # CameraInfo first, as image_transport camera publishers do: the frame's info is
            # there when the frame arrives.
            bag.write(INFO_TOPIC, camera_info(ts, header, h, w), stamp_ns, qos=sensor)
            bag.write(TOPIC, msg, stamp_ns, qos=sensor)
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f'{out}: {args.frames} frames {w}x{h} on {TOPIC} + {INFO_TOPIC}, '
          f'{size / 1e6:.2f} MB', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
