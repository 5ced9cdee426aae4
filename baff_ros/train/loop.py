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
"""The training loop: the two-phase BAFF-SkipNet schedule, on one device or with torchrun (DDP).

Phase 1 (``warmup_epochs``): the encoder and the per-tap score heads learn while every BAFF weight
net stays frozen at its initialisation (parameters ``requires_grad=False`` and their BatchNorm
statistics in eval mode), so fusion behaves as a fixed blend. Phase 2 (the remaining epochs):
everything, including the weight nets, trains end to end. See docs/training.md.
"""

from dataclasses import dataclass
import functools
import math
import os
from pathlib import Path
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from baff_ros.data.cityscapes import CityscapesDataset
from baff_ros.data.labels import NUM_CLASSES
from baff_ros.data.transforms import EvalTransform, TrainTransform
from baff_ros.evaluate import EvalResult
from baff_ros.model.checkpoint import load_checkpoint, save_checkpoint
from baff_ros.model.config import SIZE_DIVISOR
from baff_ros.model.skipnet import BAFFSkipNet, build_model
from baff_ros.progress import progress_bar
from baff_ros.train import distributed
from baff_ros.train.checkpoints import (checkpoint_meta, provenance, resume_state, RunState,
                                        save_epoch)
from baff_ros.train.config import TrainConfig
from baff_ros.train.objective import (init_weight_net_heads, lr_at, median_frequency_weights,
                                      param_groups, SegmentationLoss, set_phase, train_mode)
from baff_ros.train.report import write_metrics
from baff_ros.train.validation import validate


def train(cfg: TrainConfig, resume: Optional[os.PathLike] = None, progress: bool = True,
          log: Callable[[str], Any] = print, stop_after: Optional[int] = None
          ) -> Dict[str, Any]:
    """Run (or resume) a training; returns a summary (paths, metrics, throughput).

    Outputs in ``cfg.out``: ``last.safetensors`` (+ ``last.state.pt`` / ``last.state.json`` for
    resuming), ``best.safetensors`` (best val mIoU), ``final.safetensors`` (when the run
    completes), ``metrics.csv``, ``metrics.json`` and ``metrics.png``.

    Args:
        cfg: the run.
        resume: a ``last.safetensors`` of an earlier call with the same ``cfg``.
        progress: show progress bars.
        log: where status lines go.
        stop_after: stop after this many epochs in this call, keeping the schedule of
            ``cfg.epochs`` (for wall-time-limited jobs: call again with ``resume``).
    """
    dist, device = distributed.init_distributed(cfg.device)
    out = Path(cfg.out)
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)
    amp = cfg.amp and device.type == 'cuda'
    if cfg.amp and not amp and dist.main:
        log('--amp: mixed precision needs CUDA; training in float32 on the CPU')

    torch.manual_seed(cfg.seed)
    model, cfg = _model(cfg, resume, log)
    model.to(device)
    train_set = CityscapesDataset(Path(cfg.root), 'train',
                                  TrainTransform(crop=cfg.crop, scale=cfg.scale), seed=cfg.seed)
    val_set = CityscapesDataset(Path(cfg.root), 'val', EvalTransform(size=cfg.val_size))
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
    opt = _optimizer(model, cfg)
    scaler = torch.amp.GradScaler('cuda', enabled=amp)
    step_fn = _Step(criterion, opt, scaler, device, amp, functools.partial(
        lr_at, total=total_iters, base=cfg.base_lr, warmup=cfg.lr_warmup_iters,
        power=cfg.poly_power))

    state = RunState()
    if resume is not None:
        state = resume_state(resume, opt, scaler if amp else None, device, cfg.epochs)
        if dist.main:
            log(f'resumed from {resume} after epoch {state.epoch} (iteration {state.iteration})')

    # Metrics of the latest epoch (from the state file when resuming a finished epoch).
    last_metrics: Dict[str, Any] = {}
    val_loader = DataLoader(val_set, batch_size=1, shuffle=False, num_workers=cfg.workers,
                            pin_memory=device.type == 'cuda')
    ddp_model: nn.Module = model
    phase_built = None
    fixed = provenance(cfg, dist.world, device)
    input_size = ((cfg.val_size[0], cfg.val_size[1]) if cfg.val_size
                  else _round_up(val_set.raw(0)[0].shape[:2]))

    end_epoch = cfg.epochs if stop_after is None else min(cfg.epochs, state.epoch + stop_after)
    for epoch in range(state.epoch, end_epoch):
        phase = 1 if epoch < cfg.warmup_epochs else 2
        set_phase(model, phase)
        if dist.world > 1 and phase_built != phase:
            ddp_model = distributed.wrap(model, dist, device)
            phase_built = phase
        train_set.set_epoch(epoch)
        loader = DataLoader(train_set, batch_size=cfg.batch_size,
                            sampler=distributed.epoch_sampler(train_set, dist, cfg.seed, epoch),
                            num_workers=cfg.workers, drop_last=True,
                            pin_memory=device.type == 'cuda',
                            persistent_workers=False)
        train_mode(model, phase)
        t0 = time.perf_counter()
        bar = progress_bar(total=steps_per_epoch,
                           desc=f'epoch {epoch + 1}/{cfg.epochs} (phase {phase})',
                           unit='it', disable=not (progress and dist.main), leave=False)
        losses: List[float] = []
        for step, (image, target) in enumerate(loader):
            if step >= steps_per_epoch:
                break
            value, lr = step_fn(ddp_model, image, target, state.iteration)
            losses.append(value)
            state.iteration += 1
            bar.update(1)
            bar.set_postfix(loss=f'{value:.3f}', lr=f'{lr:.2e}')
        bar.close()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        dt = time.perf_counter() - t0
        state.epoch = epoch + 1
        state.train_time_s += dt
        n_img = len(losses) * per_step
        state.images_seen += n_img
        loss_mean = distributed.mean_over_processes(
            float(np.mean(losses)) if losses else float('nan'), dist, device)
        if dist.main:
            res = validate(model, val_loader, device, amp=amp, progress=progress)
            train_mode(model, phase)
            state.history.append({
                'epoch': epoch + 1, 'phase': phase, 'iterations': state.iteration,
                'lr': opt.param_groups[0]['lr'], 'train_loss': loss_mean,
                'val_miou': res.miou, 'val_pixel_accuracy': res.pixel_accuracy,
                'epoch_time_s': round(dt, 3), 'images_per_s': round(n_img / dt, 3)})
            last_metrics = _checkpoint_metrics(res, epoch + 1)
            save_epoch(out, model, checkpoint_meta(cfg, fixed, state, input_size, last_metrics),
                       opt, scaler if amp else None, state, cfg, res.miou)
            write_metrics(out, state.history)
            log(f'epoch {epoch + 1}/{cfg.epochs} phase {phase}: loss {loss_mean:.4f}, '
                f'val mIoU {res.miou:.4f}, {n_img / dt:.1f} img/s')
        distributed.barrier(dist)

    summary: Dict[str, Any] = {'out': str(out), 'history': state.history,
                               'iterations': state.iteration,
                               'train_time_s': state.train_time_s,
                               'images_per_s': state.images_per_s}
    if dist.main and end_epoch == cfg.epochs:
        final = save_checkpoint(model, out / 'final.safetensors',
                                checkpoint_meta(cfg, fixed, state, input_size, last_metrics))
        summary['final'] = str(final)
        log(f'training throughput: {summary["images_per_s"]:.2f} images/s '
            f'({state.images_seen} images in {state.train_time_s:.1f} s on {device}, '
            f'world size {dist.world})')
    distributed.finish(dist)
    return summary


@dataclass
class _Step:
    """One optimisation step: the scheduled LR, forward and loss, backward, update."""

    criterion: nn.Module
    opt: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    device: torch.device
    amp: bool
    lr_of: Callable[[int], float]  # iteration -> learning rate

    def __call__(self, model: nn.Module, image: torch.Tensor, target: torch.Tensor, it: int
                 ) -> Tuple[float, float]:
        """Train on one batch at iteration ``it``; return (loss, learning rate)."""
        lr = self.lr_of(it)
        for g in self.opt.param_groups:
            g['lr'] = lr * g.get('lr_mult', 1.0)
        image = image.to(self.device, non_blocking=True)
        target = target.to(self.device, non_blocking=True)
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            loss = self.criterion(model(image), target)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise RuntimeError(f'loss is {value} at iteration {it}; lower --lr')
        return value, lr


def _checkpoint_metrics(res: EvalResult, epoch: int) -> Dict[str, Any]:
    """Return the val scores a checkpoint carries (NaN IoU as None, for JSON)."""
    return {'val_miou': res.miou, 'val_pixel_accuracy': res.pixel_accuracy,
            'val_class_iou': {k: (None if math.isnan(v) else v)
                              for k, v in res.class_iou.items()},
            'epoch': epoch}


def _model(cfg: TrainConfig, resume: Optional[os.PathLike], log: Callable[[str], Any]
           ) -> Tuple[BAFFSkipNet, TrainConfig]:
    """Build the network (heads initialised per ``cfg``) or load the one to resume.

    A resumed run keeps the checkpoint's architecture, so the returned config may differ.
    """
    if resume is not None:
        model, meta = load_checkpoint(resume)
        if meta.config != cfg.model:
            log(f'resume: using the checkpoint architecture {meta.config}')
            cfg = TrainConfig(**{**{k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
                                 'model': meta.config})
    else:
        model = build_model(cfg.model)
        init_weight_net_heads(model, cfg.weight_net_init, cfg.weight_net_init_std)
    if cfg.model.num_classes != NUM_CLASSES:
        raise ValueError(f'training uses the {NUM_CLASSES} Cityscapes classes; '
                         f'model.num_classes is {cfg.model.num_classes}')
    return model, cfg


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """One optimizer over all parameters: frozen ones simply have no gradient in phase 1."""
    groups = param_groups(model, cfg.wd, cfg.weight_net_lr_mult)
    if cfg.optimizer == 'sgd':
        return torch.optim.SGD(groups, lr=cfg.base_lr, momentum=0.9)
    return torch.optim.AdamW(groups, lr=cfg.base_lr)


def _round_up(hw: Tuple[int, ...], k: int = SIZE_DIVISOR) -> Tuple[int, int]:
    """Round (height, width) up to multiples of ``k`` (the network input of a val image)."""
    return int(math.ceil(hw[0] / k) * k), int(math.ceil(hw[1] / k) * k)
