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
"""Training: the two-phase BAFF-SkipNet schedule, on one device or with torchrun (DDP).

Phase 1 (``warmup_epochs``): the encoder and the per-tap score heads learn while every BAFF weight
net stays frozen at its initialisation (parameters ``requires_grad=False`` and their BatchNorm
statistics in eval mode), so fusion behaves as a fixed blend. Phase 2 (the remaining epochs):
everything, including the weight nets, trains end to end. See docs/training.md.

Outputs in ``out``: ``last.safetensors`` (+ ``last.state.pt`` / ``last.state.json`` for resuming,
loaded with ``weights_only=True``), ``best.safetensors`` (best val mIoU), ``final.safetensors``
(when the run completes), ``metrics.csv``, ``metrics.json`` and ``metrics.png``.
"""

from dataclasses import asdict, dataclass
import csv
import io
import json
import math
import os
from pathlib import Path
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from baff_ros.atomic import replacing, write_text
from baff_ros.data.labels import IGNORE_ID, NUM_CLASSES
from baff_ros.model.config import ModelConfig

OPTIMIZERS = ('sgd', 'adamw')
#: Initialisations of the BAFF weight nets' 1x1 head: ``zero`` (the model's own: weights and
#: bias 0, so w = 0.5 everywhere at start) or ``normal`` (weights ~ N(0, std), bias 0: w varies
#: from the first step, so the head's input gets a gradient signal from the start).
WEIGHT_NET_INITS = ('zero', 'normal')
DEFAULT_LR = {'sgd': 0.01, 'adamw': 1e-3}
DEFAULT_WEIGHT_DECAY = {'sgd': 5e-4, 'adamw': 1e-2}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint's provenance).

    Attributes:
        root: dataset root in the Cityscapes layout (``train`` and ``val`` splits).
        out: output directory.
        model: architecture.
        epochs: total epochs, phase 1 included.
        warmup_epochs: phase-1 epochs (encoder warm-up, BAFF weight nets frozen).
        batch_size: images per step and process.
        crop: (height, width) training crop, multiples of 32.
        scale: (min, max) random scale of the augmentation.
        lr: base learning rate (None: 0.01 for SGD, 1e-3 for AdamW).
        optimizer: ``'sgd'`` (momentum 0.9, Nesterov off) or ``'adamw'``.
        weight_decay: None: 5e-4 for SGD, 1e-2 for AdamW.
        lr_warmup_iters: linear LR warm-up steps before the poly decay.
        poly_power: exponent of the poly schedule ``(1 - it / total) ** power``.
        ohem: online hard example mining in the cross-entropy.
        ohem_thresh: OHEM keeps pixels whose true-class probability is below this...
        ohem_min_kept: ...and at least this fraction of the valid pixels of a batch.
        class_weights: median-frequency class weights computed from the training labels.
        weight_net_lr_mult: the BAFF weight nets learn at this multiple of the learning rate
            (1: the same as the rest; their own parameter groups otherwise).
        weight_net_init: ``'zero'`` or ``'normal'`` head initialisation (:data:`WEIGHT_NET_INITS`).
        weight_net_init_std: standard deviation of the ``'normal'`` head initialisation.
        amp: float16 autocast + gradient scaling (CUDA only; ignored on CPU).
        seed: seed of initialisation, shuffling and augmentation.
        workers: data-loader worker processes per process.
        max_iters: cap on total iterations, spread evenly over the epochs (keeps both phases).
        val_size: (height, width) val images are resized to (multiples of 32); None: native.
        device: ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'`` (torchrun sets it per rank).
    """

    root: str
    out: str
    model: ModelConfig = ModelConfig()
    epochs: int = 100
    warmup_epochs: int = 10
    batch_size: int = 8
    crop: Tuple[int, int] = (512, 1024)
    scale: Tuple[float, float] = (0.5, 2.0)
    lr: Optional[float] = None
    optimizer: str = 'sgd'
    weight_decay: Optional[float] = None
    lr_warmup_iters: int = 200
    poly_power: float = 0.9
    ohem: bool = False
    ohem_thresh: float = 0.7
    ohem_min_kept: float = 1 / 16
    class_weights: bool = False
    weight_net_lr_mult: float = 1.0
    weight_net_init: str = 'zero'
    weight_net_init_std: float = 0.1
    amp: bool = False
    seed: int = 0
    workers: int = 2
    max_iters: Optional[int] = None
    val_size: Optional[Tuple[int, int]] = None
    device: str = 'auto'

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f'epochs must be a positive integer, got {self.epochs!r}')
        if not isinstance(self.warmup_epochs, int) or not 0 <= self.warmup_epochs <= self.epochs:
            raise ValueError(f'warmup_epochs must be in [0, epochs={self.epochs}], '
                             f'got {self.warmup_epochs!r}')
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f'batch_size must be a positive integer, got {self.batch_size!r}')
        for name in ('crop', 'val_size'):
            v = getattr(self, name)
            if v is None and name == 'val_size':
                continue
            if len(v) != 2 or min(v) < 32 or v[0] % 32 or v[1] % 32:
                raise ValueError(f'{name} must be (height, width), positive multiples of 32, '
                                 f'got {v!r}')
        if len(self.scale) != 2 or not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f'scale must be (min, max) with 0 < min <= max, got {self.scale!r}')
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f'optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}')
        if self.lr is not None and not 0 < self.lr < 10:
            raise ValueError(f'lr must be in (0, 10), got {self.lr!r}')
        if self.weight_decay is not None and not 0 <= self.weight_decay < 1:
            raise ValueError(f'weight_decay must be in [0, 1), got {self.weight_decay!r}')
        if not isinstance(self.lr_warmup_iters, int) or self.lr_warmup_iters < 0:
            raise ValueError(f'lr_warmup_iters must be >= 0, got {self.lr_warmup_iters!r}')
        if not 0 < self.poly_power <= 10:
            raise ValueError(f'poly_power must be in (0, 10], got {self.poly_power!r}')
        if not 0 < self.ohem_thresh <= 1:
            raise ValueError(f'ohem_thresh must be in (0, 1], got {self.ohem_thresh!r}')
        if not 0 < self.ohem_min_kept <= 1:
            raise ValueError(f'ohem_min_kept must be in (0, 1], got {self.ohem_min_kept!r}')
        if not 0 < self.weight_net_lr_mult <= 1000:
            raise ValueError(f'weight_net_lr_mult must be in (0, 1000], '
                             f'got {self.weight_net_lr_mult!r}')
        if self.weight_net_init not in WEIGHT_NET_INITS:
            raise ValueError(f'weight_net_init must be one of {WEIGHT_NET_INITS}, '
                             f'got {self.weight_net_init!r}')
        if not 0 < self.weight_net_init_std <= 10:
            raise ValueError(f'weight_net_init_std must be in (0, 10], '
                             f'got {self.weight_net_init_std!r}')
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f'seed must be a non-negative integer, got {self.seed!r}')
        if not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f'workers must be >= 0, got {self.workers!r}')
        if self.max_iters is not None and (not isinstance(self.max_iters, int)
                                           or self.max_iters < 1):
            raise ValueError(f'max_iters must be a positive integer, got {self.max_iters!r}')

    @property
    def base_lr(self) -> float:
        """The learning rate, defaulted per optimizer."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def wd(self) -> float:
        """The weight decay, defaulted per optimizer."""
        return (self.weight_decay if self.weight_decay is not None
                else DEFAULT_WEIGHT_DECAY[self.optimizer])

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d['model'] = self.model.to_dict()
        d['lr'] = self.base_lr
        d['weight_decay'] = self.wd
        return d


# ---------------------------------------------------------------- losses and schedule

class SegmentationLoss(nn.Module):
    """Cross-entropy over train IDs (255 ignored), optionally class-weighted and with OHEM.

    OHEM keeps the pixels whose loss exceeds ``-log(thresh)`` (true-class probability below
    ``thresh``), and at least ``min_kept`` of the valid pixels (the hardest ones), as in OCNet.
    """

    def __init__(self, weight: Optional[torch.Tensor] = None, ohem: bool = False,
                 thresh: float = 0.7, min_kept: float = 1 / 16) -> None:
        super().__init__()
        self.register_buffer('weight', weight if weight is not None else None)
        self.ohem = ohem
        self.loss_thresh = -math.log(thresh)
        self.min_kept = min_kept

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss of the batch."""
        weight = self.weight.to(logits.dtype) if self.weight is not None else None
        if not self.ohem:
            return F.cross_entropy(logits, target, weight=weight, ignore_index=IGNORE_ID)
        pix = F.cross_entropy(logits, target, weight=weight, ignore_index=IGNORE_ID,
                              reduction='none').flatten()
        pix = pix[target.flatten() != IGNORE_ID]
        if pix.numel() == 0:
            return logits.sum() * 0.0  # keeps the graph (DDP needs a backward on every rank)
        kept = max(1, int(pix.numel() * self.min_kept))
        hard = pix[pix > self.loss_thresh]
        if hard.numel() < kept:
            hard = pix.topk(kept).values
        return hard.mean()


def lr_at(it: int, total: int, base: float, warmup: int, power: float) -> float:
    """Poly decay with linear warm-up: ``base * min(1, (it+1)/warmup) * (1 - it/total)^power``."""
    warm = min(1.0, (it + 1) / warmup) if warmup > 0 else 1.0
    return base * warm * max(0.0, 1.0 - it / max(total, 1)) ** power


def median_frequency_weights(dataset, num_classes: int = NUM_CLASSES, stride: int = 4,
                             progress: bool = True) -> torch.Tensor:
    """Median-frequency balancing (Eigen & Fergus): ``w_c = median(freq) / freq_c``.

    ``freq_c`` is the pixel count of class c over the pixel count of the images that contain c.
    Labels are subsampled by ``stride`` in both directions (frequencies barely change).
    Classes absent from the training set get weight 1.
    """
    from baff_ros.progress import progress_bar

    counts = np.zeros(num_classes, np.float64)
    image_pixels = np.zeros(num_classes, np.float64)
    for i in progress_bar(range(len(dataset)), desc='class weights', unit='img',
                          disable=not progress):
        _, lab = dataset.raw(i)
        lab = lab[::stride, ::stride]
        c = np.bincount(lab.ravel(), minlength=256)[:num_classes].astype(np.float64)
        counts += c
        image_pixels[c > 0] += lab.size
    present = counts > 0
    freq = np.where(present, counts / np.maximum(image_pixels, 1), 0.0)
    w = np.ones(num_classes, np.float64)
    if present.any():
        w[present] = np.median(freq[present]) / freq[present]
    return torch.tensor(w, dtype=torch.float32)


def set_phase(model: nn.Module, phase: int) -> None:
    """Phase 1 freezes every BAFF weight net at its initialisation; phase 2 trains all."""
    for fusion in model.fusions:
        for p in fusion.parameters():
            p.requires_grad = phase == 2


def init_weight_net_heads(model: nn.Module, init: str, std: float = 0.1) -> int:
    """Re-initialise the 1x1 head of every BAFF weight net (after the model is built).

    ``zero`` leaves the model's own initialisation (weights and bias 0: w = 0.5 everywhere);
    ``normal`` draws the weights from N(0, std) (the global torch seed decides) and keeps the
    bias at 0, so the mean blend stays 0.5 while w varies by block from the start. Models
    without weight nets (``fusion='add'``) are left alone. Returns the number of heads set.
    """
    if init not in WEIGHT_NET_INITS:
        raise ValueError(f'weight_net_init must be one of {WEIGHT_NET_INITS}, got {init!r}')
    heads = [f.weight_net.head for f in model.fusions if hasattr(f, 'weight_net')]
    if init == 'normal':
        with torch.no_grad():
            for head in heads:
                nn.init.normal_(head.weight, std=std)
                nn.init.zeros_(head.bias)
    return len(heads)


def param_groups(model: nn.Module, weight_decay: float, weight_net_lr_mult: float = 1.0
                 ) -> List[Dict[str, Any]]:
    """Return the optimizer's parameter groups, each with an ``lr_mult`` for the schedule.

    Decay and no decay (biases, norms); the BAFF weight nets in groups of their own when
    ``weight_net_lr_mult`` is not 1. With a multiplier of 1 the groups are the two of earlier
    versions, so their optimizer states still resume.
    """
    fusion_ids = {id(p) for f in model.fusions for p in f.parameters()}
    groups: Dict[Tuple[bool, bool], List[nn.Parameter]] = {}
    for p in model.parameters():
        apart = weight_net_lr_mult != 1.0 and id(p) in fusion_ids
        groups.setdefault((apart, p.ndim <= 1), []).append(p)
    out = []
    for apart in (False, True):
        for no_decay in (False, True):
            params = groups.get((apart, no_decay), [])
            if params or not apart:
                out.append({'params': params, 'weight_decay': 0.0 if no_decay else weight_decay,
                            'lr_mult': weight_net_lr_mult if apart else 1.0})
    return out


def _train_mode(model: nn.Module, phase: int) -> None:
    model.train()
    if phase == 1:
        # Frozen means frozen: the weight nets' BatchNorm statistics must not drift either.
        for fusion in model.fusions:
            fusion.eval()


# ---------------------------------------------------------------- validation

def confusion_torch(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C, C + 1) confusion matrix on the device; same layout as baff_ros.evaluate."""
    valid = target < num_classes
    p = pred[valid]
    p = torch.where(p < num_classes, p, torch.full_like(p, num_classes))
    idx = target[valid] * (num_classes + 1) + p
    return torch.bincount(idx, minlength=num_classes * (num_classes + 1)).reshape(
        num_classes, num_classes + 1)


@torch.no_grad()
def validate(model: nn.Module, loader, device: torch.device, num_classes: int = NUM_CLASSES,
             amp: bool = False, progress: bool = False):
    """Fast path: logits upsampled to the label size, argmax, confusion matrix on the device.

    Returns:
        a :class:`baff_ros.evaluate.EvalResult` (pixel scores; no instance scores).
    """
    from baff_ros.progress import progress_bar

    from baff_ros.evaluate import Evaluator

    was_training = model.training
    model.eval()
    cm = torch.zeros(num_classes, num_classes + 1, dtype=torch.int64, device=device)
    for image, target in progress_bar(loader, desc='val', unit='img', leave=False,
                                      disable=not progress):
        image = image.to(device, non_blocking=True)
        target = target.to(device, non_blocking=True)
        h, w = image.shape[-2:]
        ph, pw = (-h) % 32, (-w) % 32
        x = F.pad(image, (0, pw, 0, ph)) if ph or pw else image
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            logits = model(x)[..., :h, :w]
        logits = F.interpolate(logits.float(), size=target.shape[-2:], mode='bilinear',
                               align_corners=False)
        cm += confusion_torch(logits.argmax(1), target, num_classes)
    model.train(was_training)
    ev = Evaluator(num_classes)
    ev.add_confusion(cm.cpu().numpy())
    ev.num_images = len(loader.dataset)
    return ev.result()


# ---------------------------------------------------------------- checkpoints and logs

def _state_paths(ckpt: Path) -> Tuple[Path, Path]:
    base = str(ckpt)
    if base.endswith('.safetensors'):
        base = base[:-len('.safetensors')]
    return Path(base + '.state.pt'), Path(base + '.state.json')


def write_metrics(out: Path, history: List[Dict[str, Any]]) -> None:
    """metrics.csv, metrics.json and metrics.png (loss and val mIoU per epoch)."""
    if not history:
        return
    keys = list(history[0])
    table = io.StringIO(newline='')
    w = csv.DictWriter(table, fieldnames=keys, extrasaction='ignore')
    w.writeheader()
    w.writerows(history)
    write_text(out / 'metrics.csv', table.getvalue())
    write_text(out / 'metrics.json', json.dumps(history, indent=2) + '\n')
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:  # plots are optional (extra 'plot')
        return
    ep = [h['epoch'] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(ep, [h['train_loss'] for h in history], 'o-', color='tab:blue', label='train loss')
    ax.set_xlabel('epoch')
    ax.set_ylabel('train loss', color='tab:blue')
    ax2 = ax.twinx()
    ax2.plot(ep, [h['val_miou'] for h in history], 's-', color='tab:red', label='val mIoU')
    ax2.set_ylabel('val mIoU', color='tab:red')
    ax2.set_ylim(0, 1)
    warm = [h['epoch'] for h in history if h['phase'] == 1]
    if warm:
        ax.axvspan(min(ep) - 0.5, max(warm) + 0.5, color='0.9', label='phase 1')
    ax.set_title('training')
    fig.tight_layout()
    with replacing(out / 'metrics.png') as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


#: Path-valued training options: a checkpoint keeps only their last component.
PATH_OPTIONS = ('root', 'out')


def portable_config(config: Dict[str, Any]) -> Dict[str, Any]:
    """Return a training config for a checkpoint's provenance: paths cut to their last part.

    A shipped checkpoint should say what it was trained on, not where on which machine.
    """
    return {k: (Path(v).name if k in PATH_OPTIONS and v else v) for k, v in config.items()}


def _describe_data(root: Path) -> Dict[str, Any]:
    from baff_ros.data.synth import INFO_FILE

    info = root / INFO_FILE
    if info.is_file():
        data = json.loads(info.read_text())
        return {'data_root': root.name, 'data': data.get('description', 'synthetic'),
                'data_generator': data}
    return {'data_root': root.name, 'data': f'Cityscapes-layout dataset ({root.name})'}


# ---------------------------------------------------------------- distributed

@dataclass
class _Dist:
    world: int = 1
    rank: int = 0
    local: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device_arg: str) -> Tuple[_Dist, torch.device]:
    """Set up the process group from torchrun's WORLD_SIZE/RANK/LOCAL_RANK (one per GPU)."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    d = _Dist(world, int(os.environ.get('RANK', '0')), int(os.environ.get('LOCAL_RANK', '0')))
    if device_arg == 'auto':
        device_arg = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device_arg.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'device {device_arg!r} requested but CUDA is not available')
    if device_arg.startswith('cuda'):
        device = torch.device('cuda', d.local if world > 1 else (torch.device(device_arg).index
                                                                 or 0))
        torch.cuda.set_device(device)
    else:
        device = torch.device('cpu')
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group('nccl' if device.type == 'cuda' else 'gloo')
    return d, device


# ---------------------------------------------------------------- the loop

def train(cfg: TrainConfig, resume: Optional[os.PathLike] = None, progress: bool = True,
          log=print, stop_after: Optional[int] = None) -> Dict[str, Any]:
    """Run (or resume) a training; returns a summary (paths, metrics, throughput).

    Args:
        cfg: the run.
        resume: a ``last.safetensors`` of an earlier call with the same ``cfg``.
        progress: show progress bars.
        log: where status lines go.
        stop_after: stop after this many epochs in this call, keeping the schedule of
            ``cfg.epochs`` (for wall-time-limited jobs: call again with ``resume``).
    """
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler
    from baff_ros.progress import progress_bar

    from baff_ros.data.cityscapes import CityscapesDataset
    from baff_ros.data.transforms import EvalTransform, TrainTransform
    from baff_ros.model.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
    from baff_ros.model.skipnet import build_model

    dist, device = _init_distributed(cfg.device)
    out = Path(cfg.out)
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)
    amp = cfg.amp and device.type == 'cuda'
    if cfg.amp and not amp and dist.main:
        log('--amp: mixed precision needs CUDA; training in float32 on the CPU')

    torch.manual_seed(cfg.seed)
    if resume is not None:
        model, meta0 = load_checkpoint(resume)
        if meta0.config != cfg.model:
            log(f'resume: using the checkpoint architecture {meta0.config}')
            cfg = TrainConfig(**{**{k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
                                 'model': meta0.config})
    else:
        model = build_model(cfg.model)
        init_weight_net_heads(model, cfg.weight_net_init, cfg.weight_net_init_std)
    model.to(device)
    if cfg.model.num_classes != NUM_CLASSES:
        raise ValueError(f'training uses the {NUM_CLASSES} Cityscapes classes; '
                         f'model.num_classes is {cfg.model.num_classes}')

    train_set = CityscapesDataset(cfg.root, 'train', TrainTransform(crop=cfg.crop,
                                                                    scale=cfg.scale),
                                  seed=cfg.seed)
    val_set = CityscapesDataset(cfg.root, 'val', EvalTransform(size=cfg.val_size))
    per_step = cfg.batch_size * dist.world
    if len(train_set) < per_step:
        raise ValueError(f'the train split has {len(train_set)} images, fewer than one batch '
                         f'({cfg.batch_size} x {dist.world} process(es))')
    steps_per_epoch = len(train_set) // per_step
    if cfg.max_iters is not None:
        steps_per_epoch = min(steps_per_epoch, math.ceil(cfg.max_iters / cfg.epochs))
    total_iters = steps_per_epoch * cfg.epochs

    weight = None
    if cfg.class_weights:
        weight = median_frequency_weights(train_set, progress=progress and dist.main).to(device)
        if dist.main:
            log('class weights: ' + ', '.join(f'{w:.2f}' for w in weight.tolist()))
    criterion = SegmentationLoss(weight, cfg.ohem, cfg.ohem_thresh, cfg.ohem_min_kept).to(device)

    # One optimizer over all parameters: frozen ones simply have no gradient in phase 1.
    groups = param_groups(model, cfg.wd, cfg.weight_net_lr_mult)
    if cfg.optimizer == 'sgd':
        opt = torch.optim.SGD(groups, lr=cfg.base_lr, momentum=0.9)
    else:
        opt = torch.optim.AdamW(groups, lr=cfg.base_lr)
    scaler = torch.amp.GradScaler('cuda', enabled=amp)

    start_epoch, global_it, best = 0, 0, -1.0
    history: List[Dict[str, Any]] = []
    train_time, images_seen = 0.0, 0
    if resume is not None:
        state_pt, state_json = _state_paths(Path(resume))
        if not state_pt.is_file() or not state_json.is_file():
            raise ValueError(f'{resume}: no training state next to it ({state_pt.name}, '
                             f'{state_json.name}); resume from a last.safetensors of a run')
        state = json.loads(state_json.read_text())
        opt_state = torch.load(state_pt, map_location=device, weights_only=True)
        opt.load_state_dict(opt_state['optimizer'])
        if amp and opt_state.get('scaler'):
            scaler.load_state_dict(opt_state['scaler'])
        start_epoch, global_it = state['epoch'], state['iteration']
        best, history = state['best_miou'], state['history']
        train_time, images_seen = state['train_time_s'], state['images_seen']
        if start_epoch >= cfg.epochs:
            raise ValueError(f'{resume}: already trained {start_epoch} epochs; '
                             f'--epochs {cfg.epochs} leaves nothing to do')
        if dist.main:
            log(f'resumed from {resume} after epoch {start_epoch} (iteration {global_it})')

    # Metrics of the latest epoch (from the state file when resuming a finished epoch).
    last_metrics: Dict[str, Any] = {}
    val_loader = DataLoader(val_set, batch_size=1, shuffle=False, num_workers=cfg.workers,
                            pin_memory=device.type == 'cuda')
    ddp_model: nn.Module = model
    phase_built = None
    provenance = {**_describe_data(Path(cfg.root)), 'schedule': {
        'phase1_epochs': cfg.warmup_epochs, 'phase2_epochs': cfg.epochs - cfg.warmup_epochs,
        'phase1': 'encoder + score heads, BAFF weight nets frozen at init',
        'phase2': 'all parameters end to end', 'lr': f'poly({cfg.poly_power}) with '
        f'{cfg.lr_warmup_iters} warm-up iterations', 'optimizer': cfg.optimizer},
        'train_config': portable_config(cfg.to_dict()), 'epochs': cfg.epochs, 'seed': cfg.seed,
        'image_size': list(cfg.crop), 'world_size': dist.world, 'device': str(device),
        'torch': torch.__version__, 'trained': True}
    input_size = tuple(cfg.val_size) if cfg.val_size else _round32(val_set.raw(0)[0].shape[:2])

    def make_meta(metrics: Dict[str, Any]) -> CheckpointMeta:
        prov = dict(provenance, epochs_done=history[-1]['epoch'] if history else 0,
                    iterations=global_it, train_time_s=round(train_time, 2),
                    images_per_s=round(images_seen / train_time, 3) if train_time else None)
        return CheckpointMeta.default(cfg.model, input_size=input_size, provenance=prov,
                                      metrics=metrics)

    end_epoch = cfg.epochs if stop_after is None else min(cfg.epochs, start_epoch + stop_after)
    for epoch in range(start_epoch, end_epoch):
        phase = 1 if epoch < cfg.warmup_epochs else 2
        set_phase(model, phase)
        if dist.world > 1 and phase_built != phase:
            # DDP registers only parameters that require grad at construction: rebuild it
            # when the phase (and so the set of trainable parameters) changes.
            from torch.nn.parallel import DistributedDataParallel as DDP
            ddp_model = DDP(model, device_ids=[device.index] if device.type == 'cuda' else None)
            phase_built = phase
        train_set.set_epoch(epoch)
        if dist.world > 1:
            sampler = DistributedSampler(train_set, dist.world, dist.rank, shuffle=True,
                                         seed=cfg.seed, drop_last=True)
            sampler.set_epoch(epoch)
        else:
            sampler = np.random.default_rng([cfg.seed, epoch]).permutation(
                len(train_set)).tolist()
        loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler,
                            num_workers=cfg.workers, drop_last=True,
                            pin_memory=device.type == 'cuda',
                            persistent_workers=False)
        _train_mode(model, phase)
        losses = []
        t0 = time.perf_counter()
        bar = progress_bar(total=steps_per_epoch,
                           desc=f'epoch {epoch + 1}/{cfg.epochs} (phase {phase})',
                           unit='it', disable=not (progress and dist.main), leave=False)
        for step, (image, target) in enumerate(loader):
            if step >= steps_per_epoch:
                break
            lr = lr_at(global_it, total_iters, cfg.base_lr, cfg.lr_warmup_iters, cfg.poly_power)
            for g in opt.param_groups:
                g['lr'] = lr * g.get('lr_mult', 1.0)
            image = image.to(device, non_blocking=True)
            target = target.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                loss = criterion(ddp_model(image), target)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise RuntimeError(f'loss is {value} at iteration {global_it}; lower --lr')
            losses.append(value)
            global_it += 1
            bar.update(1)
            bar.set_postfix(loss=f'{value:.3f}', lr=f'{lr:.2e}')
        bar.close()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        dt = time.perf_counter() - t0
        train_time += dt
        n_img = len(losses) * per_step
        images_seen += n_img
        loss_mean = float(np.mean(losses)) if losses else float('nan')
        if dist.world > 1:
            t = torch.tensor([loss_mean], device=device)
            torch.distributed.all_reduce(t)
            loss_mean = float(t) / dist.world
        if dist.main:
            res = validate(model, val_loader, device, amp=amp, progress=progress)
            _train_mode(model, phase)
            row = {'epoch': epoch + 1, 'phase': phase, 'iterations': global_it,
                   'lr': opt.param_groups[0]['lr'], 'train_loss': loss_mean,
                   'val_miou': res.miou, 'val_pixel_accuracy': res.pixel_accuracy,
                   'epoch_time_s': round(dt, 3), 'images_per_s': round(n_img / dt, 3)}
            history.append(row)
            metrics = {'val_miou': res.miou, 'val_pixel_accuracy': res.pixel_accuracy,
                       'val_class_iou': {k: (None if math.isnan(v) else v)
                                         for k, v in res.class_iou.items()},
                       'epoch': epoch + 1}
            last_metrics = metrics
            meta = make_meta(metrics)
            last = save_checkpoint(model, out / 'last.safetensors', meta)
            state_pt, state_json = _state_paths(last)
            with replacing(state_pt) as tmp:
                torch.save({'optimizer': opt.state_dict(),
                            'scaler': scaler.state_dict() if amp else None}, tmp)
            if not math.isnan(res.miou) and res.miou > best:
                best = res.miou
                save_checkpoint(model, out / 'best.safetensors', meta)
            write_text(state_json, json.dumps({
                'epoch': epoch + 1, 'iteration': global_it, 'best_miou': best,
                'history': history, 'train_time_s': train_time, 'images_seen': images_seen,
                'train_config': cfg.to_dict()}, indent=2) + '\n')
            write_metrics(out, history)
            log(f'epoch {epoch + 1}/{cfg.epochs} phase {phase}: loss {loss_mean:.4f}, '
                f'val mIoU {res.miou:.4f}, {n_img / dt:.1f} img/s')
        if dist.world > 1:
            torch.distributed.barrier()

    summary: Dict[str, Any] = {'out': str(out), 'history': history, 'iterations': global_it,
                               'train_time_s': train_time,
                               'images_per_s': images_seen / train_time if train_time else 0.0}
    if dist.main and end_epoch == cfg.epochs:
        final = save_checkpoint(model, out / 'final.safetensors', make_meta(last_metrics))
        summary['final'] = str(final)
        log(f'training throughput: {summary["images_per_s"]:.2f} images/s '
            f'({images_seen} images in {train_time:.1f} s on {device}, world size {dist.world})')
    if dist.world > 1:
        torch.distributed.destroy_process_group()
    return summary


def _round32(hw) -> Tuple[int, int]:
    return tuple(int(math.ceil(v / 32) * 32) for v in hw)
