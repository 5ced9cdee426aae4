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
from typing import Any, Dict, Tuple


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
                   help='checkpoint (.safetensors) or bundled model name, or an exported model: '
                        '.onnx (runs on onnxruntime without torch) or a TensorRT .engine/.plan '
                        'with its .json sidecar (default: the bundled model, or an untrained '
                        'one if none is installed)')
    g.add_argument('--config', metavar='FILE|K=V,...',
                   help='without --model: architecture of an untrained model, as a YAML file or '
                        'inline pairs such as fusion=add,width_mult=0.5')


def add_weights_scale_arg(parser: argparse.ArgumentParser) -> None:
    """--weights-scale fixed|stretch: colour scale of weight-map pictures."""
    parser.add_argument('--weights-scale', default='fixed', choices=('fixed', 'stretch'),
                        help="colour scale of the BAFF weight-map pictures: fixed (w 0..1, the "
                             "same colour is the same w everywhere) or stretch (each map's own "
                             "min..max; exaggerates small variations) (default: %(default)s)")


#: Defaults of the inference options. The options themselves default to None, so that a value
#: given on the command line is told apart from the default even where it equals it:
#: ``baff-ros bag --params gpu.yaml --device cpu`` runs on the CPU (:func:`given_backend_args`).
BACKEND_DEFAULTS: Dict[str, Any] = {'backend': 'auto', 'device': 'cpu', 'precision': 'fp32',
                                    'threads': 0}


def add_backend_args(parser: argparse.ArgumentParser) -> None:
    """--backend / --device / --precision / --threads / --size."""
    from baff_ros.engine.backends import backend_names

    g = parser.add_argument_group('inference')
    d = BACKEND_DEFAULTS
    g.add_argument('--backend', choices=('auto',) + backend_names(),
                   help=f'inference runtime (default: {d["backend"]})')
    g.add_argument('--device', help=f'cpu, cuda or cuda:N (default: {d["device"]})')
    g.add_argument('--precision', choices=('fp32', 'fp16', 'int8'),
                   help=f'numeric precision (default: {d["precision"]})')
    g.add_argument('--threads', type=int,
                   help=f'CPU threads for inference, {d["threads"]} = runtime default')
    g.add_argument('--size', type=parse_size, metavar='HxW',
                   help="network input size, multiples of 32 (default: the model's)")


def given_backend_args(args: argparse.Namespace) -> Dict[str, Any]:
    """Return the inference options given on the command line, name -> value (absent: left out)."""
    return {name: value for name in BACKEND_DEFAULTS
            if (value := getattr(args, name, None)) is not None}


def backend_args(args: argparse.Namespace) -> Dict[str, Any]:
    """Return every inference option: as given on the command line, else its default."""
    return {**BACKEND_DEFAULTS, **given_backend_args(args)}


def note(message: str) -> None:
    """Status lines go to stderr so stdout stays machine-readable (e.g. --json)."""
    print(message, file=sys.stderr, flush=True)


def load_model_from_args(args: argparse.Namespace):
    """(model, meta) for --model/--config, with a note saying what was loaded.

    For commands that need the PyTorch network (export, info): an exported model is refused.
    """
    from baff_ros.engine.artefacts import is_exported
    from baff_ros.engine.models import load_model

    if is_exported(args.model):
        raise ValueError(f'{args.model}: this command needs the PyTorch network: a checkpoint '
                         '(.safetensors, or a bundled name) or --config, not an exported model')
    model, meta, what = load_model(args.model, args.config)
    note(what)
    return model, meta


def segmenter_from_args(args: argparse.Namespace, output_size: str = 'input',
                        with_weights: bool = True):
    """Create a Segmenter from the model and inference arguments (notes what was loaded)."""
    from baff_ros.engine import BackendOptions
    from baff_ros.engine.models import configure_threads, load_segmenter

    opts = backend_args(args)
    options = BackendOptions(device=opts['device'], precision=opts['precision'],
                             threads=opts['threads'], with_weights=with_weights)
    seg = load_segmenter(args.model, args.config, backend=opts['backend'], options=options,
                         input_size=args.size, output_size=output_size, log=note)
    configure_threads(seg, options.threads)
    note(f'backend: {seg.backend.description}; network input {seg.input_size[0]}x'
         f'{seg.input_size[1]}')
    return seg
