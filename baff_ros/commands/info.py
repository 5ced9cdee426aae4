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
"""``baff-ros info``: parameters, BAFF overhead, FLOPs and classes of a model."""

import argparse
import json

from baff_ros.commands.common import add_model_args, load_model_from_args, parse_size

HELP = ('show parameters, fusion (BAFF) overhead, FLOPs and classes of a model; the metadata of '
        'an exported one (.onnx, .engine)')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    add_model_args(parser)
    parser.add_argument('--size', type=parse_size, default=None, metavar='HxW',
                        help="input size for the FLOP count (default: the model's input size)")
    parser.add_argument('--json', action='store_true', help='print JSON instead of text')


def show_exported(args: argparse.Namespace) -> int:
    """Print an exported model's metadata (no torch: FLOPs need the checkpoint)."""
    from baff_ros.engine.artefacts import describe_dict, load_artefact

    if args.size:
        raise ValueError('--size: FLOPs are counted on the checkpoint; an exported model shows '
                         'its metadata only')
    artefact = load_artefact(args.model, args.config)
    if args.json:
        print(json.dumps(describe_dict(artefact), indent=2))
        return 0
    export = artefact.export
    if export is None:  # show_exported is called for exported models only
        raise ValueError(f'{args.model}: not an exported model')
    print(f'{artefact.kind}: {artefact.path}')
    print(export.summary())
    print(f"outputs: {', '.join(export.outputs)}")
    print(f"classes: {', '.join(export.meta.class_names)}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Print the model summary."""
    from baff_ros.engine.artefacts import is_exported

    if is_exported(args.model):
        return show_exported(args)
    from baff_ros.model.flops import model_summary
    from baff_ros.model.skipnet import check_input_size

    model, meta = load_model_from_args(args)
    size = args.size or tuple(meta.input_size)
    check_input_size(*size)
    info = {
        'config': meta.config.to_dict(),
        **model_summary(model, size),
        'fusion_points': list(model.fusion_names) if meta.config.fusion == 'baff' else [],
        'encoder_taps': {'reductions': list(model.encoder.reductions),
                         'channels': list(model.encoder.out_channels)},
        'classes': list(meta.class_names),
        'trained_input_size': list(meta.input_size),
        'provenance': meta.provenance,
        'metrics': meta.metrics,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    blocks = (f'a block grid of {meta.config.block_grid} rows' if meta.config.block_grid else
              f'block {meta.config.block_size}px')
    if meta.config.fusion == 'baff' and meta.config.compact_stride != 1:
        blocks += f', compact conv stride {meta.config.compact_stride}'
    print(f"model: {meta.config.fusion} fusion, width {meta.config.width_mult}, "
          f"{meta.config.num_classes} classes, {blocks}")
    print(f"params: {info['params']:,} (fusion {info['fusion_params']:,} = "
          f"{100 * info['fusion_params_share']:.3f} %)")
    print(f"FLOPs at {size[0]}x{size[1]}: {info['flops'] / 1e9:.2f} G (fusion "
          f"{info['fusion_flops'] / 1e9:.3f} G = {100 * info['fusion_flops_share']:.3f} %)")
    print(f"fusion points: {', '.join(info['fusion_points']) or 'none (plain SkipNet)'}")
    print(f"classes: {', '.join(info['classes'])}")
    return 0
