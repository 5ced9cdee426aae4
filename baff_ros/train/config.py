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
"""The training run's configuration: :class:`TrainConfig`, its defaults and its portable form."""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from baff_ros.model.config import ModelConfig, SIZE_DIVISOR

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
            k = SIZE_DIVISOR
            if len(v) != 2 or min(v) < k or v[0] % k or v[1] % k:
                raise ValueError(f'{name} must be (height, width), positive multiples of {k}, '
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


#: Path-valued training options: a checkpoint keeps only their last component.
PATH_OPTIONS = ('root', 'out')


def portable_config(config: Dict[str, Any]) -> Dict[str, Any]:
    """Return a training config for a checkpoint's provenance: paths cut to their last part.

    A shipped checkpoint should say what it was trained on, not where on which machine.
    """
    return {k: (Path(v).name if k in PATH_OPTIONS and v else v) for k, v in config.items()}
