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
"""``baff-ros train``: two-phase BAFF-SkipNet training on a Cityscapes-layout dataset."""

import argparse
from dataclasses import fields
from typing import Any, Dict, TYPE_CHECKING

from baff_ros.commands.common import note, parse_size

if TYPE_CHECKING:
    from baff_ros.train import TrainConfig

HELP = 'train BAFF-SkipNet (two-phase schedule) on a Cityscapes-layout dataset; torchrun for DDP'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options; their defaults are :class:`TrainConfig`'s."""
    from baff_ros.train import (DEFAULT_LR, DEFAULT_WEIGHT_DECAY, OPTIMIZERS, TrainConfig,
                                WEIGHT_NET_INITS)

    d: Dict[str, Any] = {f.name: f.default for f in fields(TrainConfig)}
    parser.add_argument('--root', required=True, metavar='ROOT',
                        help='dataset root with leftImg8bit/{train,val} and gtFine/')
    parser.add_argument('--out', required=True, metavar='DIR', help='output directory')
    parser.add_argument('--config', metavar='FILE|K=V,...',
                        help='model architecture: YAML file or pairs such as width_mult=0.5')
    parser.add_argument('--epochs', type=int, default=d['epochs'],
                        help='total epochs (default: %(default)s)')
    parser.add_argument('--warmup-epochs', type=int, default=d['warmup_epochs'],
                        help='phase-1 epochs: encoder warm-up with BAFF weight nets frozen '
                             '(default: %(default)s)')
    parser.add_argument('--batch-size', type=int, default=d['batch_size'],
                        help='images per step and process (default: %(default)s)')
    parser.add_argument('--crop', type=parse_size, default=d['crop'], metavar='HxW',
                        help='training crop, multiples of 32 (default: {}x{})'.format(*d['crop']))
    parser.add_argument('--scale', type=float, nargs=2, default=d['scale'],
                        metavar=('MIN', 'MAX'),
                        help='random scale range (default: {} {})'.format(*d['scale']))
    parser.add_argument('--val-size', type=parse_size, metavar='HxW',
                        help='resize val images to this size (default: native size)')
    parser.add_argument('--lr', type=float, help='base learning rate (default: {sgd:g} SGD, '
                                                 '{adamw:g} AdamW)'.format(**DEFAULT_LR))
    parser.add_argument('--optimizer', choices=OPTIMIZERS, default=d['optimizer'],
                        help='optimizer (default: %(default)s)')
    parser.add_argument('--weight-decay', type=float,
                        help='weight decay (default: {sgd:g} SGD, {adamw:g} AdamW)'.format(
                            **DEFAULT_WEIGHT_DECAY))
    parser.add_argument('--lr-warmup-iters', type=int, default=d['lr_warmup_iters'],
                        help='linear LR warm-up iterations (default: %(default)s)')
    parser.add_argument('--ohem', action='store_true', help='online hard example mining')
    parser.add_argument('--class-weights', action='store_true',
                        help='median-frequency class weights from the training labels')
    parser.add_argument('--weight-net-lr-mult', type=float, default=d['weight_net_lr_mult'],
                        metavar='X',
                        help='BAFF weight nets learn at X times the learning rate '
                             '(default: %(default)g)')
    parser.add_argument('--weight-net-init', choices=WEIGHT_NET_INITS,
                        default=d['weight_net_init'],
                        help="BAFF weight-net head initialisation: zero (w = 0.5 everywhere at "
                             "start) or normal (weights ~ N(0, --weight-net-init-std), bias 0) "
                             "(default: %(default)s)")
    parser.add_argument('--weight-net-init-std', type=float, default=d['weight_net_init_std'],
                        metavar='STD',
                        help='standard deviation of --weight-net-init normal '
                             '(default: %(default)s)')
    parser.add_argument('--amp', action='store_true', help='float16 autocast (CUDA only)')
    parser.add_argument('--resume', metavar='CKPT',
                        help='continue from a last.safetensors (needs its .state.pt/.json)')
    parser.add_argument('--seed', type=int, default=d['seed'],
                        help='random seed (default: %(default)s)')
    parser.add_argument('--workers', type=int, default=d['workers'],
                        help='data-loader workers per process (default: %(default)s)')
    parser.add_argument('--max-iters', type=int,
                        help='cap on total iterations, spread over the epochs')
    parser.add_argument('--stop-after-epochs', type=int, metavar='N',
                        help='stop after N epochs of this call (wall-time limits); '
                             'continue later with --resume')
    parser.add_argument('--device', default=d['device'], help='auto, cpu, cuda or cuda:N')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')


def build_config(args: argparse.Namespace) -> 'TrainConfig':
    """Build the (validated) TrainConfig from the parsed arguments."""
    from baff_ros.engine.models import parse_config_arg
    from baff_ros.train import TrainConfig

    return TrainConfig(
        root=args.root, out=args.out, model=parse_config_arg(args.config), epochs=args.epochs,
        warmup_epochs=args.warmup_epochs, batch_size=args.batch_size, crop=tuple(args.crop),
        scale=tuple(args.scale), lr=args.lr, optimizer=args.optimizer,
        weight_decay=args.weight_decay, lr_warmup_iters=args.lr_warmup_iters, ohem=args.ohem,
        class_weights=args.class_weights, weight_net_lr_mult=args.weight_net_lr_mult,
        weight_net_init=args.weight_net_init, weight_net_init_std=args.weight_net_init_std,
        amp=args.amp, seed=args.seed, workers=args.workers,
        max_iters=args.max_iters,
        val_size=tuple(args.val_size) if args.val_size else None, device=args.device)


def run(args: argparse.Namespace) -> int:
    """Train; prints a JSON-free summary line per epoch and the throughput at the end."""
    from baff_ros.train import train

    cfg = build_config(args)
    if args.stop_after_epochs is not None and args.stop_after_epochs < 1:
        raise ValueError(f'--stop-after-epochs must be >= 1, got {args.stop_after_epochs}')
    summary = train(cfg, resume=args.resume, progress=not args.no_progress, log=note,
                    stop_after=args.stop_after_epochs)
    if 'final' in summary:
        note(f'final checkpoint: {summary["final"]}')
    return 0
