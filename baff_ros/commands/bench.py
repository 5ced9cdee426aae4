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
"""``baff-ros bench``: latency of BAFF-SkipNet vs SkipNet and peers, per backend and size."""

import argparse
import json

from baff_ros.atomic import write_text
from baff_ros.commands.common import note, parse_size

HELP = ('benchmark latency/FPS of BAFF-SkipNet, SkipNet, ERFNet, ENet and LR-ASPP per backend, '
        'with the compute floor and the end-to-end Segmenter')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    from baff_ros.bench import DEFAULT_BACKENDS, DEFAULT_MODELS
    from baff_ros.engine.backends import backend_names

    parser.add_argument('--size', type=parse_size, action='append', metavar='HxW',
                        help='network input size; repeat for several (default: 512x1024 and '
                             '1024x2048)')
    parser.add_argument('--backend', action='append', choices=('auto',) + backend_names(),
                        help=f'backend; repeat for several (default: '
                             f'{" ".join(DEFAULT_BACKENDS)})')
    parser.add_argument('--models', nargs='+', default=list(DEFAULT_MODELS),
                        choices=DEFAULT_MODELS, help='networks to compare (default: all)')
    parser.add_argument('--model', metavar='NAME|FILE',
                        help='a trained BAFF-SkipNet checkpoint (SkipNet = its weights with '
                             'additive fusion); every runner then sees a synthetic street scene. '
                             'Default: untrained networks on a smooth random input')
    parser.add_argument('--repeats', type=int, default=10, help='timed rounds (default: 10)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed rounds (default: 2)')
    parser.add_argument('--threads', type=int, default=0,
                        help='CPU threads for all runtimes, 0 = all cores')
    parser.add_argument('--no-int8', action='store_true', help='skip the int8 runner')
    parser.add_argument('--no-segmenter', action='store_true',
                        help='skip the end-to-end Segmenter runner')
    parser.add_argument('--json', metavar='FILE', help='write the full report as JSON')
    parser.add_argument('--plot', metavar='FILE', help='write a latency bar chart (PNG)')


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the table, write JSON and the plot."""
    from baff_ros.bench import DEFAULT_BACKENDS, DEFAULT_SIZES, format_table, plot, run_bench
    from baff_ros.model.skipnet import check_input_size

    sizes = args.size or list(DEFAULT_SIZES)
    for s in sizes:
        check_input_size(*s)
    if args.threads < 0:
        raise ValueError(f'--threads must be >= 0, got {args.threads}')
    model = None
    if args.model:
        from baff_ros.engine.models import load_model

        model = load_model(args.model)
        note(model[2])
    report = run_bench(sizes, args.backend or list(DEFAULT_BACKENDS), args.models,
                       args.repeats, args.warmup, args.threads, not args.no_int8,
                       not args.no_segmenter, model=model)
    print(format_table(report))
    for s in report['skipped']:
        note(f"skipped {s['model']} on {s['backend']}: {s['reason']}")
    if args.json:
        write_text(args.json, json.dumps(report, indent=2) + '\n')
        note(f'wrote {args.json}')
    if args.plot:
        plot(report, args.plot)
        note(f'wrote {args.plot}')
    return 0
