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
"""What training optimises and how: the loss, the LR schedule, the two phases, parameter groups.

Phase 1 trains the encoder and the per-tap score heads with every BAFF weight net frozen at its
initialisation (:func:`set_phase`, :func:`train_mode`); phase 2 trains everything.
"""

import math
from typing import Any, cast, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from baff_ros.data.labels import IGNORE_ID, NUM_CLASSES
from baff_ros.progress import progress_bar
from baff_ros.train.config import WEIGHT_NET_INITS


def fusion_modules(model: nn.Module) -> List[nn.Module]:
    """Return the model's skip-fusion blocks (``model.fusions``) in fusion order."""
    return list(cast(nn.ModuleList, model.fusions))


class SegmentationLoss(nn.Module):
    """Cross-entropy over train IDs (255 ignored), optionally class-weighted and with OHEM.

    OHEM keeps the pixels whose loss exceeds ``-log(thresh)`` (true-class probability below
    ``thresh``), and at least ``min_kept`` of the valid pixels (the hardest ones), as in OCNet.
    """

    weight: Optional[torch.Tensor]

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


def median_frequency_weights(dataset: Any, num_classes: int = NUM_CLASSES, stride: int = 4,
                             progress: bool = True) -> torch.Tensor:
    """Median-frequency balancing (Eigen & Fergus): ``w_c = median(freq) / freq_c``.

    ``freq_c`` is the pixel count of class c over the pixel count of the images that contain c.
    Labels are subsampled by ``stride`` in both directions (frequencies barely change).
    Classes absent from the training set get weight 1.
    """
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
    for fusion in fusion_modules(model):
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
    heads = [cast(nn.Conv2d, f.get_submodule('weight_net.head'))
             for f in fusion_modules(model) if hasattr(f, 'weight_net')]
    if init == 'normal':
        with torch.no_grad():
            for head in heads:
                nn.init.normal_(head.weight, std=std)
                if head.bias is not None:
                    nn.init.zeros_(head.bias)
    return len(heads)


def param_groups(model: nn.Module, weight_decay: float, weight_net_lr_mult: float = 1.0
                 ) -> List[Dict[str, Any]]:
    """Return the optimizer's parameter groups, each with an ``lr_mult`` for the schedule.

    Decay and no decay (biases, norms); the BAFF weight nets in groups of their own when
    ``weight_net_lr_mult`` is not 1. With a multiplier of 1 the groups are the two of earlier
    versions, so their optimizer states still resume.
    """
    fusion_ids = {id(p) for f in fusion_modules(model) for p in f.parameters()}
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


def train_mode(model: nn.Module, phase: int) -> None:
    """Put the model in training mode; in phase 1 the frozen weight nets stay in eval mode."""
    model.train()
    if phase == 1:
        # Frozen means frozen: the weight nets' BatchNorm statistics must not drift either.
        for fusion in fusion_modules(model):
            fusion.eval()
