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
"""``baff-ros export``: ONNX (checked and parity-tested) or a TensorRT engine, with metadata.

The file (ONNX) or its ``.json`` sidecar (engine) carries classes, palette, normalisation,
input size, outputs and provenance, so ``--model FILE`` runs it without the checkpoint.
"""

import argparse
import json

from baff_ros.commands.common import add_model_args, load_model_from_args, note, parse_size

HELP = ('export the model to ONNX (checked, parity-tested vs PyTorch) or a TensorRT engine, '
        'with the metadata that runs it without the checkpoint (--model FILE)')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    from baff_ros.engine.backends.base import HEADS
    from baff_ros.engine.graph import DEFAULT_OPSET

    add_model_args(parser)
    parser.add_argument('--format', default='onnx', choices=('onnx', 'tensorrt'),
                        help='output format (default: %(default)s)')
    parser.add_argument('--out', required=True, metavar='FILE', help='file to write')
    parser.add_argument('--size', type=parse_size, metavar='HxW',
                        help="network input size (default: the model's)")
    parser.add_argument('--dynamic', action='store_true',
                        help='ONNX: dynamic batch, height and width')
    parser.add_argument('--no-weights', action='store_true',
                        help='leave out the BAFF weight map outputs')
    parser.add_argument('--head', default='cells', choices=HEADS,
                        help="graph outputs: 'logits'; 'cells': the 1/8 scores, from which the "
                             'runtime computes exact labels in numpy (what a node runs '
                             "quickest); or uint8 labels and confidence computed in the graph "
                             "('fast': confidence from the 1/8 scores, 'exact') "
                             '(default: %(default)s)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help='ONNX opset (default: %(default)s)')
    parser.add_argument('--device', default='cuda', help='TensorRT: CUDA device')
    parser.add_argument('--precision', default='fp16', choices=('fp32', 'fp16', 'int8'),
                        help='TensorRT: precision (default: %(default)s)')
    parser.add_argument('--json', action='store_true', help='print the report as JSON')


def run(args: argparse.Namespace) -> int:
    """Export, check, and report parity; exit code 2 when parity is out of tolerance."""
    from baff_ros.engine.models import checkpoint_path
    from baff_ros.export import export_model, LABEL_AGREEMENT_MIN, LOGIT_TOLERANCE
    from baff_ros.model.skipnet import check_input_size

    model, meta = load_model_from_args(args)
    source = checkpoint_path(args.model, args.config)
    size = tuple(args.size or meta.input_size)
    check_input_size(*size)
    if args.opset < 13:
        raise ValueError(f'--opset must be >= 13, got {args.opset}')
    note(f'exporting {args.format} at {size[0]}x{size[1]} to {args.out} ...')
    report = export_model(model, args.out, args.format, size, args.dynamic,
                          not args.no_weights, args.opset, args.device, args.precision,
                          meta=meta, source=source, head=args.head)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"wrote {report['path']}")
        if 'outputs' in report:
            print(f"input: {', '.join(report['inputs'])}; outputs: "
                  f"{', '.join(report['outputs'])}")
        if 'description' in report:
            print(report['description'])
        if 'sidecar' in report:
            print(f"metadata: {report['sidecar']}")
        else:
            print('metadata: in the file (run it with --model ' + str(report['path']) + ')')
    parity = report.get('parity')
    if parity is not None:
        if parity['max_abs_logit_diff'] is not None:
            first = (f"max |logit diff| {parity['max_abs_logit_diff']:.3g} (tolerance "
                     f"{LOGIT_TOLERANCE:g})")
        else:
            first = f"max |confidence diff| {parity['max_abs_confidence_diff']:.0f}/255"
        print(f"parity vs PyTorch at {parity['size'][0]}x{parity['size'][1]}: {first}, labels "
              f"agree on {100 * parity['label_agreement']:.4f} % of pixels (minimum "
              f"{100 * LABEL_AGREEMENT_MIN:.1f} %), max |weight diff| "
              f"{parity['max_abs_weight_diff']:.3g}")
        if not report['parity_ok']:
            raise ValueError('ONNX parity check failed: outputs differ from PyTorch beyond '
                             'tolerance')
    return 0
