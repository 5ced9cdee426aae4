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

from baff_ros.commands.common import note, parse_size

HELP = 'train BAFF-SkipNet (two-phase schedule) on a Cityscapes-layout dataset; torchrun for DDP'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    from baff_ros.train import OPTIMIZERS, WEIGHT_NET_INITS

    parser.add_argument('--root', required=True, metavar='ROOT',
                        help='dataset root with leftImg8bit/{train,val} and gtFine/')
    parser.add_argument('--out', required=True, metavar='DIR', help='output directory')
    parser.add_argument('--config', metavar='FILE|K=V,...',
                        help='model architecture: YAML file or pairs such as width_mult=0.5')
    parser.add_argument('--epochs', type=int, default=100, help='total epochs (default: 100)')
    parser.add_argument('--warmup-epochs', type=int, default=10,
                        help='phase-1 epochs: encoder warm-up with BAFF weight nets frozen '
                             '(default: 10)')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='images per step and process (default: 8)')
    parser.add_argument('--crop', type=parse_size, default=(512, 1024), metavar='HxW',
                        help='training crop, multiples of 32 (default: 512x1024)')
    parser.add_argument('--scale', type=float, nargs=2, default=(0.5, 2.0),
                        metavar=('MIN', 'MAX'), help='random scale range (default: 0.5 2.0)')
    parser.add_argument('--val-size', type=parse_size, metavar='HxW',
                        help='resize val images to this size (default: native size)')
    parser.add_argument('--lr', type=float, help='base learning rate (default: 0.01 SGD, '
                                                 '1e-3 AdamW)')
    parser.add_argument('--optimizer', choices=OPTIMIZERS, default='sgd',
                        help='optimizer (default: sgd)')
    parser.add_argument('--weight-decay', type=float,
                        help='weight decay (default: 5e-4 SGD, 1e-2 AdamW)')
    parser.add_argument('--lr-warmup-iters', type=int, default=200,
                        help='linear LR warm-up iterations (default: 200)')
    parser.add_argument('--ohem', action='store_true', help='online hard example mining')
    parser.add_argument('--class-weights', action='store_true',
                        help='median-frequency class weights from the training labels')
    parser.add_argument('--weight-net-lr-mult', type=float, default=1.0, metavar='X',
                        help='BAFF weight nets learn at X times the learning rate (default: 1)')
    parser.add_argument('--weight-net-init', choices=WEIGHT_NET_INITS, default='zero',
                        help="BAFF weight-net head initialisation: zero (w = 0.5 everywhere at "
                             "start) or normal (weights ~ N(0, --weight-net-init-std), bias 0) "
                             "(default: %(default)s)")
    parser.add_argument('--weight-net-init-std', type=float, default=0.1, metavar='STD',
                        help='standard deviation of --weight-net-init normal (default: 0.1)')
    parser.add_argument('--amp', action='store_true', help='float16 autocast (CUDA only)')
    parser.add_argument('--resume', metavar='CKPT',
                        help='continue from a last.safetensors (needs its .state.pt/.json)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: 0)')
    parser.add_argument('--workers', type=int, default=2,
                        help='data-loader workers per process (default: 2)')
    parser.add_argument('--max-iters', type=int,
                        help='cap on total iterations, spread over the epochs')
    parser.add_argument('--stop-after-epochs', type=int, metavar='N',
                        help='stop after N epochs of this call (wall-time limits); '
                             'continue later with --resume')
    parser.add_argument('--device', default='auto', help='auto, cpu, cuda or cuda:N')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')


def build_config(args: argparse.Namespace):
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
