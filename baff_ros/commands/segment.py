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
"""``baff-ros segment``: segment image files and write labels, colour, overlay and weights."""

import argparse
import os
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np

from baff_ros.commands.common import (add_backend_args, add_model_args, add_weights_scale_arg,
                                      note, segmenter_from_args)
from baff_ros.ros.image_codec import ImageCodecError, read_image_file

HELP = 'segment image files; write <stem>_labels.png, _color.png, _overlay.png, _weights_<k>.png'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument('images', nargs='+', metavar='IMG', help='image files (any OpenCV format)')
    parser.add_argument('--out', required=True, metavar='DIR', help='output directory')
    parser.add_argument('--alpha', type=float, default=0.5, help='overlay opacity of the mask')
    add_weights_scale_arg(parser)
    add_model_args(parser)
    add_backend_args(parser)


def output_names(images) -> List[Path]:
    """Where each input's outputs go below --out: its path below the inputs' common folder.

    Inputs from one folder keep their plain stems (``000001`` -> ``000001_labels.png``); inputs
    from several folders mirror them (``cam0/000001.png`` -> ``cam0/000001_labels.png``), so
    same-named frames of two cameras never overwrite each other.

    Raises:
        ValueError: an input is given twice, or two inputs would still share their outputs
            (``a.png`` and ``a.jpg`` in one folder); nothing has been written then.
    """
    resolved = [Path(p).resolve() for p in images]
    seen: Dict[Path, str] = {}
    for given, full in zip(images, resolved):
        if full in seen:
            raise ValueError(f'{given}: given twice (also as {seen[full]})')
        seen[full] = str(given)
    common = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    names = [p.parent.relative_to(common) / p.stem for p in resolved]
    owner: Dict[Path, str] = {}
    for given, name in zip(images, names):
        if name in owner:
            raise ValueError(f'{owner[name]} and {given} would write the same outputs '
                             f'({name}_*.png); rename one or segment them into separate --out '
                             'folders')
        owner[name] = str(given)
    return names


def write_outputs(out_dir: Path, stem: str, image_rgb: np.ndarray, result, lut: np.ndarray,
                  alpha: float, weights_scale: str = 'fixed') -> Dict[str, Path]:
    """Write one image's PNGs; returns kind -> path.

    ``_weights_<k>.png`` is w x 255 on the ``fixed`` scale (default), or each map's own
    min..max spread over 0..255 with ``weights_scale='stretch'``.
    """
    from baff_ros.atomic import write_image
    from baff_ros.engine.visualize import Views

    views = Views(result, image_rgb, lut, alpha, weights_scale=weights_scale)
    files = {
        'labels': (out_dir / f'{stem}_labels.png', result.labels),
        'color': (out_dir / f'{stem}_color.png', cv2.cvtColor(views.color, cv2.COLOR_RGB2BGR)),
        'overlay': (out_dir / f'{stem}_overlay.png',
                    cv2.cvtColor(views.overlay, cv2.COLOR_RGB2BGR)),
        'confidence': (out_dir / f'{stem}_confidence.png', result.confidence),
    }
    for name in result.weights:
        files[f'weights_{name}'] = (out_dir / f'{stem}_weights_{name}.png', views.weights(name))
    written = {}
    for kind, (path, array) in files.items():
        written[kind] = write_image(path, array)
    return written


def weight_ranges_line(weights: Dict[str, np.ndarray], scale: str) -> str:
    """One line with each weight map's observed range and the scale its PNG is drawn on."""
    from baff_ros.engine.visualize import weight_range

    ranges = []
    for name in sorted(weights, key=lambda k: -int(k)):
        lo, hi = weight_range(weights[name])
        ranges.append(f'1/{name} {lo:.3f}-{hi:.3f}')
    how = ('w x 255 (fixed 0-1 scale)' if scale == 'fixed'
           else "each map's min..max stretched to 0..255")
    return f'BAFF w range: {", ".join(ranges)}; _weights_<k>.png = {how}'


def run(args: argparse.Namespace) -> int:
    """Segment every image; bad images are reported and skipped, exit code 2 if any."""
    from baff_ros.progress import progress_bar

    from baff_ros.engine.visualize import palette_lut

    if not 0.0 <= args.alpha <= 1.0:
        raise ValueError(f'--alpha must be in [0, 1], got {args.alpha}')
    names = output_names(args.images)  # before any work: a clash writes nothing
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    seg = segmenter_from_args(args)
    lut = palette_lut(seg.meta.palette)
    failed = []
    infer_ms = []
    for path, name in progress_bar(list(zip(args.images, names)), unit='img',
                                   disable=len(args.images) < 4):
        try:
            image = read_image_file(path)
        except ImageCodecError as exc:
            note(f'{exc}, skipped')
            failed.append(path)
            continue
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        result = seg(rgb)
        infer_ms.append(result.timings_ms['infer'])
        (out_dir / name.parent).mkdir(parents=True, exist_ok=True)
        written = write_outputs(out_dir / name.parent, name.name, rgb, result, lut, args.alpha,
                                args.weights_scale)
        note(f'{path}: {image.shape[1]}x{image.shape[0]} -> '
             + ', '.join(str(p.relative_to(out_dir)) for p in written.values()))
        if result.weights:
            note('  ' + weight_ranges_line(result.weights, args.weights_scale))
    seg.close()
    if infer_ms:
        note(f'{len(infer_ms)} image(s), median inference {np.median(infer_ms):.1f} ms')
    if failed:
        note(f'{len(failed)} image(s) could not be read: {", ".join(failed)}')
        return 2
    return 0
