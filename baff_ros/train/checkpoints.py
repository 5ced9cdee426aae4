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
"""Checkpoints of a run and resuming it.

After every epoch the main process writes ``last.safetensors`` with the optimizer (and gradient
scaler) state beside it in ``last.state.pt`` (read back with ``weights_only=True``) and the run's
progress in ``last.state.json``; ``best.safetensors`` when the val mIoU improved. Resuming from a
``last.safetensors`` reads all three back (:func:`resume_state`).
"""

from dataclasses import asdict, dataclass, field
import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch

from baff_ros.atomic import replacing, write_text
from baff_ros.data.synth import INFO_FILE
from baff_ros.model.checkpoint import CheckpointMeta, save_checkpoint
from baff_ros.model.skipnet import BAFFSkipNet
from baff_ros.train.config import portable_config, TrainConfig


@dataclass
class RunState:
    """How far a run has come (``last.state.json``, without the config it also holds)."""

    epoch: int = 0
    iteration: int = 0
    best_miou: float = -1.0
    history: List[Dict[str, Any]] = field(default_factory=list)
    train_time_s: float = 0.0
    images_seen: int = 0

    @property
    def images_per_s(self) -> float:
        """Training throughput so far (0 before the first epoch)."""
        return self.images_seen / self.train_time_s if self.train_time_s else 0.0


def state_paths(ckpt: Path) -> Tuple[Path, Path]:
    """``<ckpt>.state.pt`` and ``<ckpt>.state.json`` beside a ``.safetensors`` checkpoint."""
    base = str(ckpt)
    if base.endswith('.safetensors'):
        base = base[:-len('.safetensors')]
    return Path(base + '.state.pt'), Path(base + '.state.json')


def describe_data(root: Path) -> Dict[str, Any]:
    """Describe the training data for a checkpoint (a synthetic set by its generator)."""
    info = root / INFO_FILE
    if info.is_file():
        data = json.loads(info.read_text())
        return {'data_root': root.name, 'data': data.get('description', 'synthetic'),
                'data_generator': data}
    return {'data_root': root.name, 'data': f'Cityscapes-layout dataset ({root.name})'}


def provenance(cfg: TrainConfig, world: int, device: torch.device) -> Dict[str, Any]:
    """Return the fixed part of the provenance: data, schedule, config, machine."""
    return {**describe_data(Path(cfg.root)), 'schedule': {
        'phase1_epochs': cfg.warmup_epochs, 'phase2_epochs': cfg.epochs - cfg.warmup_epochs,
        'phase1': 'encoder + score heads, BAFF weight nets frozen at init',
        'phase2': 'all parameters end to end', 'lr': f'poly({cfg.poly_power}) with '
        f'{cfg.lr_warmup_iters} warm-up iterations', 'optimizer': cfg.optimizer},
        'train_config': portable_config(cfg.to_dict()), 'epochs': cfg.epochs, 'seed': cfg.seed,
        'image_size': list(cfg.crop), 'world_size': world, 'device': str(device),
        'torch': torch.__version__, 'trained': True}


def checkpoint_meta(cfg: TrainConfig, fixed: Dict[str, Any], state: RunState,
                    input_size: Tuple[int, int], metrics: Dict[str, Any]) -> CheckpointMeta:
    """Return the metadata of a checkpoint written now: ``fixed`` plus the run's progress."""
    prov = dict(fixed, epochs_done=state.history[-1]['epoch'] if state.history else 0,
                iterations=state.iteration, train_time_s=round(state.train_time_s, 2),
                images_per_s=(round(state.images_seen / state.train_time_s, 3)
                              if state.train_time_s else None))
    return CheckpointMeta.default(cfg.model, input_size=input_size, provenance=prov,
                                  metrics=metrics)


def save_epoch(out: Path, model: BAFFSkipNet, meta: CheckpointMeta,
               optimizer: torch.optim.Optimizer, scaler: Optional[torch.amp.GradScaler],
               state: RunState, cfg: TrainConfig, miou: float) -> None:
    """Write ``last`` (+ its state files) and, when ``miou`` beats the best so far, ``best``.

    ``state.best_miou`` is updated before the state file is written, so a resumed run knows it.
    ``scaler`` is None without mixed precision.
    """
    last = save_checkpoint(model, out / 'last.safetensors', meta)
    state_pt, state_json = state_paths(last)
    with replacing(state_pt) as tmp:
        torch.save({'optimizer': optimizer.state_dict(),
                    'scaler': scaler.state_dict() if scaler is not None else None}, tmp)
    if not math.isnan(miou) and miou > state.best_miou:
        state.best_miou = miou
        save_checkpoint(model, out / 'best.safetensors', meta)
    write_text(state_json, json.dumps({**asdict(state), 'train_config': cfg.to_dict()},
                                      indent=2) + '\n')


def resume_state(resume: os.PathLike, optimizer: torch.optim.Optimizer,
                 scaler: Optional[torch.amp.GradScaler], device: torch.device,
                 epochs: int) -> RunState:
    """Load the optimizer (and scaler) state saved beside ``resume``; return the run's progress.

    Raises:
        ValueError: the state files are missing, or the run already has ``epochs`` epochs.
    """
    state_pt, state_json = state_paths(Path(resume))
    if not state_pt.is_file() or not state_json.is_file():
        raise ValueError(f'{resume}: no training state next to it ({state_pt.name}, '
                         f'{state_json.name}); resume from a last.safetensors of a run')
    saved = json.loads(state_json.read_text())
    opt_state = torch.load(state_pt, map_location=device, weights_only=True)
    optimizer.load_state_dict(opt_state['optimizer'])
    if scaler is not None and opt_state.get('scaler'):
        scaler.load_state_dict(opt_state['scaler'])
    state = RunState(saved['epoch'], saved['iteration'], saved['best_miou'], saved['history'],
                     saved['train_time_s'], saved['images_seen'])
    if state.epoch >= epochs:
        raise ValueError(f'{resume}: already trained {state.epoch} epochs; '
                         f'--epochs {epochs} leaves nothing to do')
    return state
