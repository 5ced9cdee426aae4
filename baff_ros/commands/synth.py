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
"""``baff-ros synth``: write a synthetic street-scene dataset in the Cityscapes layout."""

import argparse
from pathlib import Path

from baff_ros.atomic import write_text
from baff_ros.commands.common import note, parse_size

HELP = 'generate synthetic street scenes in the Cityscapes layout (leftImg8bit/, gtFine/)'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument('--out', required=True, metavar='DIR', help='dataset root to write')
    parser.add_argument('--n', type=int, default=100, help='number of images (default: 100)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: 0)')
    parser.add_argument('--size', type=parse_size, default=(256, 512), metavar='HxW',
                        help='image size (default: 256x512)')
    parser.add_argument('--split-val', type=int, default=0, metavar='K',
                        help='of the N images, put K in the val split (default: 0)')
    parser.add_argument('--layout', default='street', choices=('street', 'scale'),
                        help='street: the default scenes; scale: the same streets plus persons, '
                             'riders, bikes, poles, signs, lights, walls/fences and vehicles '
                             'placed near, in the middle and far (a benchmark where object size '
                             'matters) (default: %(default)s)')


def run(args: argparse.Namespace) -> int:
    """Generate the images (progress bar), then write synth_info.json describing them."""
    import json
    import time

    from baff_ros.data.synth import INFO_FILE, write_dataset

    h, w = args.size
    if min(h, w) < 32 or max(h, w) > 8192:
        raise ValueError(f'--size sides must be in [32, 8192], got {h}x{w}')
    if args.n < 1:
        raise ValueError(f'--n must be >= 1, got {args.n}')
    if not 0 <= args.split_val < args.n:
        raise ValueError(f'--split-val must be in [0, --n), got {args.split_val}')
    if args.seed < 0:
        raise ValueError(f'--seed must be >= 0, got {args.seed}')
    out = Path(args.out)
    t0 = time.perf_counter()
    counts = write_dataset(out, args.n - args.split_val, args.seed, (h, w),
                           n_val=args.split_val, progress=args.n >= 20, layout=args.layout)
    dt = time.perf_counter() - t0
    # Read by "baff-ros train" into the checkpoint's provenance.
    info = {'description': 'baff_ros synthetic street scenes (baff_ros.data.synth)',
            'n_train': counts['train'], 'n_val': counts['val'], 'seed': args.seed,
            'size': [h, w], 'layout': args.layout}
    write_text(out / INFO_FILE, json.dumps(info, indent=2, sort_keys=True) + '\n')
    note(f'{out}: {counts["train"]} train + {counts["val"]} val images of {h}x{w} in '
         f'{dt:.1f} s ({dt / args.n * 1000:.0f} ms/img)')
    return 0
