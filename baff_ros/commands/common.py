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
"""Arguments and helpers shared by several sub-commands."""

import argparse
import sys
from typing import Optional, Tuple


def parse_size(text: str) -> Tuple[int, int]:
    """Parse 'HxW' into (H, W); an argparse type."""
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected HEIGHTxWIDTH such as 512x1024, got {text!r}')
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f'size must be positive, got {text!r}')
    return h, w


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """--model / --config."""
    g = parser.add_argument_group('model')
    g.add_argument('--model', metavar='NAME|PATH',
                   help='checkpoint file or bundled model name (default: the bundled model, '
                        'or an untrained one if none is installed)')
    g.add_argument('--config', metavar='FILE|K=V,...',
                   help='without --model: architecture of an untrained model, as a YAML file or '
                        'inline pairs such as fusion=add,width_mult=0.5')


#: Defaults of the inference options (also what "not given on the command line" means).
BACKEND_DEFAULTS = {'backend': 'auto', 'device': 'cpu', 'precision': 'fp32', 'threads': 0}


def add_backend_args(parser: argparse.ArgumentParser) -> None:
    """--backend / --device / --precision / --threads / --size."""
    from baff_ros.engine.backends import backend_names

    g = parser.add_argument_group('inference')
    d = BACKEND_DEFAULTS
    g.add_argument('--backend', default=d['backend'], choices=('auto',) + backend_names(),
                   help='inference runtime (default: %(default)s)')
    g.add_argument('--device', default=d['device'],
                   help='cpu, cuda or cuda:N (default: %(default)s)')
    g.add_argument('--precision', default=d['precision'], choices=('fp32', 'fp16', 'int8'),
                   help='numeric precision (default: %(default)s)')
    g.add_argument('--threads', type=int, default=d['threads'],
                   help='CPU threads for inference, 0 = runtime default')
    g.add_argument('--size', type=parse_size, metavar='HxW',
                   help="network input size, multiples of 32 (default: the model's)")


def note(message: str) -> None:
    """Status lines go to stderr so stdout stays machine-readable (e.g. --json)."""
    print(message, file=sys.stderr, flush=True)


def load_model_from_args(args: argparse.Namespace):
    """(model, meta) for --model/--config, with a note saying what was loaded."""
    from baff_ros.engine.models import load_model

    model, meta, what = load_model(args.model, args.config)
    note(what)
    return model, meta


def make_segmenter(args: argparse.Namespace, output_size: str = 'input',
                   with_weights: bool = True, model_meta: Optional[tuple] = None):
    """Create a Segmenter from the model and inference arguments."""
    from baff_ros.engine import BackendOptions, Segmenter

    model, meta = model_meta or load_model_from_args(args)
    options = BackendOptions(device=args.device, precision=args.precision, threads=args.threads,
                             with_weights=with_weights)
    seg = Segmenter.from_model(model, meta, backend=args.backend, options=options,
                               input_size=args.size, output_size=output_size)
    note(f'backend: {seg.backend.description}; network input {seg.input_size[0]}x'
         f'{seg.input_size[1]}')
    return seg
