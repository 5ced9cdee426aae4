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
"""``baff-ros bag``: segment a recorded rosbag2 offline into a new bag (no ROS graph needed)."""

import argparse
import logging
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from baff_ros.bag.writer import BAG_VERSIONS, COMPRESSIONS, STORAGES
from baff_ros.commands.common import (add_backend_args, add_model_args, add_weights_scale_arg,
                                      given_backend_args, note)

HELP = ('segment the image topic(s) of a rosbag2 (mcap/sqlite3) and write every node output to '
        'a new bag')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument('input', metavar='IN', help='input bag (directory or .mcap/.db3 file)')
    parser.add_argument('output', metavar='OUT', help='output bag directory (written atomically)')
    parser.add_argument('--topic', action='append', default=[], metavar='TOPIC',
                        help='image topic to segment (repeatable; default: the only one)')
    parser.add_argument('--params', metavar='FILE',
                        help='node parameter file (config/segment.yaml format)')
    parser.add_argument('-p', '--param', action='append', default=[], metavar='NAME:=VALUE',
                        help='node parameter override (repeatable), e.g. -p overlay_alpha:=0.3')
    parser.add_argument('--storage', choices=STORAGES, default='mcap',
                        help='output storage (default: %(default)s)')
    parser.add_argument('--compression', choices=COMPRESSIONS, default='none',
                        help='mcap chunk compression: zstd makes the output ~5x smaller for '
                             'some CPU time (default: %(default)s)')
    add_bag_version_arg(parser)
    parser.add_argument('--typestore', choices=('humble', 'jazzy', 'latest'), default='humble',
                        help='message definitions for bags that carry none (default: humble)')
    parser.add_argument('--outputs', metavar='LIST', type=parse_outputs,
                        help='node outputs to write, a comma list of labels, confidence, color, '
                             'overlay, weights, camera_info, obstacle_points, free_points, '
                             'ground_grid, or "all" (default: ' + ','.join(DEFAULT_OUTPUTS)
                             + ', or what --params/-p publish_* say); label_info is always '
                             'written')
    parser.add_argument('--compressed-outputs', action='store_true',
                        help='write image outputs as sensor_msgs/CompressedImage on '
                             '<topic>/compressed: png for labels, confidence and weights '
                             '(lossless), jpeg for color and overlay')
    add_workers_arg(parser)
    parser.add_argument('--no-copy', action='store_true',
                        help='do not copy the input topics into the output bag')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing OUT')
    parser.add_argument('--salvage', action='store_true',
                        help='segment what is intact of a damaged mcap recording (no footer, a '
                             'chunk cut short, no metadata.yaml: what a crashed recorder '
                             'leaves); IN is only read. No effect on a bag that reads normally')
    parser.add_argument('--video', metavar='FILE.mp4',
                        help='also write an overlay + BAFF weight-map montage video')
    add_weights_scale_arg(parser)
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    add_model_args(parser)
    add_backend_args(parser)


def add_workers_arg(parser: argparse.ArgumentParser) -> None:
    """Register ``--workers`` (shared with ``baff-ros demo``)."""
    parser.add_argument('--workers', type=int, default=0, metavar='N',
                        help='frames segmented at once, each by its own copy of the network '
                             '(default 0: two on a CPU with two or more cores, each on half of '
                             'them unless -p threads:=N says otherwise; one on a GPU)')


def add_bag_version_arg(parser: argparse.ArgumentParser) -> None:
    """Register ``--bag-version`` (shared with ``baff-ros demo``)."""
    parser.add_argument('--bag-version', type=int, choices=BAG_VERSIONS, default=9,
                        help='rosbag2 metadata version: 9 (Jazzy and later) or 8 (QoS profiles '
                             'as a string, as older releases parse them). Humble\'s ros2 bag '
                             'needs 8: it cannot parse the QoS profiles of version 9 (default: '
                             '%(default)s)')


#: What ``baff-ros bag`` writes unless told otherwise: the segmentation for machines (labels,
#: confidence, the CameraInfo that goes with them) and for people (the colour mask). Not the
#: overlay (the camera picture again, at its size), the weight maps (a model-debugging view)
#: nor the ground projection (it needs the camera's mounting): ``--outputs all`` adds them.
DEFAULT_OUTPUTS = ('labels', 'confidence', 'color', 'camera_info')


def parse_outputs(text: str) -> Dict[str, bool]:
    """Parse ``--outputs``: ``publish_<name>`` for every output, True for those listed."""
    from baff_ros.ros.params import OUTPUTS

    names = [n.strip() for n in text.split(',') if n.strip()]
    if names == ['all']:
        names = list(OUTPUTS)
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f'expected a comma list of {", ".join(OUTPUTS)} (or all), got {text!r}')
    return {f'publish_{name}': name in names for name in OUTPUTS}


def node_params(args: argparse.Namespace, params_file: Optional[str] = None,
                overrides: Sequence[str] = (), base: Optional[Dict[str, Any]] = None):
    """Build the node parameters for ``bag`` and ``demo``.

    In order, later wins: ``base`` (the bag's default outputs, the demo's sample-camera
    extrinsics), ``params_file``, then the model/inference options and ``--outputs`` given on
    the command line (an option given wins even where it equals its default), then the
    ``-p NAME:=VALUE`` ``overrides``.
    """
    from baff_ros.ros.params import load_params_file, NodeParams, parse_param_override

    values: Dict[str, Any] = dict(base or {})
    values.update(load_params_file(params_file) if params_file else {})
    values.update(getattr(args, 'outputs', None) or {})
    if args.model:
        values['model'] = args.model
    if args.config:
        values['model_config'] = args.config
    values.update(given_backend_args(args))
    if args.size:
        values['input_size'] = list(args.size)
    for item in overrides:
        name, value = parse_param_override(item)
        values[name] = value
    return NodeParams.from_dict(values)


def make_video_callback(path: Optional[str], scale: str = 'fixed'):
    """(on_frame callback, video) writing a montage per frame, or (None, None).

    ``scale``: colour scale of the weight maps (``fixed`` or ``stretch``); the maps are the
    arrays behind the node's weight outputs (mono8 = w x 255, or 32FC1).
    """
    if not path:
        return None, None
    from baff_ros.bag.video import montage, MontageVideo, weight_arrays

    video = MontageVideo(path)

    def on_frame(stream, msg, outputs, arrays) -> None:
        if 'overlay' in arrays:
            video.add(montage(arrays['overlay'], weight_arrays(arrays), scale))
    return on_frame, video


def run(args: argparse.Namespace) -> int:
    """Process the bag and print throughput."""
    from baff_ros.bag.process import process_bag

    logging.basicConfig(level=logging.INFO, format='%(message)s')
    # --video draws the overlay and weight maps: with it, they are among the default outputs.
    defaults = DEFAULT_OUTPUTS + (('overlay', 'weights') if args.video else ())
    params = node_params(args, args.params, args.param, base=parse_outputs(','.join(defaults)))
    if args.video and not params.publish_overlay:
        raise ValueError('--video draws the overlay output: add overlay to --outputs')
    on_frame, video = make_video_callback(args.video, args.weights_scale)
    try:
        report = process_bag(args.input, args.output, params, topics=args.topic,
                             storage=args.storage, typestore=args.typestore,
                             compression=args.compression, bag_version=args.bag_version,
                             copy_inputs=not args.no_copy,
                             overwrite=args.overwrite, on_frame=on_frame,
                             progress=not args.quiet, salvage=args.salvage,
                             compressed_outputs=args.compressed_outputs,
                             workers=args.workers)
    except BaseException:
        if video is not None:
            video.close(keep=False)  # the bag was not written: nor is its video
        raise
    if video is not None:
        video.close()
    print_report(report)
    if video is not None:
        note(f'video: {Path(args.video)} ({video.frames} frames)')
    return 0


def print_report(report) -> None:
    """Topics written and throughput, to stderr."""
    note(f'wrote {report.output}:')
    for topic, count in sorted(report.topics.items()):
        note(f'  {topic}: {count}')
    if report.errors:
        note(f'{report.errors} frame(s) skipped; first: {report.first_error}')
    side = f', {report.workers} side by side' if report.workers > 1 else ''
    note(f'{report.frames} frames in {report.seconds:.1f} s (+{report.setup_seconds:.1f} s '
         f'setup): {report.fps:.2f} frames/s end to end; the Segmenters\' own time within '
         f'this run{side}: {report.segmenter_fps:.2f} frames/s '
         f'(ratio {report.fps / report.segmenter_fps if report.segmenter_fps else 0:.2f}; '
         f'slowed by the I/O sharing the cores - scripts/bench_bag.py measures it alone)')
