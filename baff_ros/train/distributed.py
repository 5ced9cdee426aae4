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
"""Distributed set-up for torchrun (DDP, one process per GPU) and its per-epoch pieces.

Without torchrun (no ``WORLD_SIZE``) everything here degrades to one process: no process group,
no DDP wrapper, a seeded permutation as the sampler, and the loss mean of this process.
"""

from dataclasses import dataclass
import os
from typing import Iterable, Tuple

import numpy as np
import torch
from torch import nn
from torch.utils.data.distributed import DistributedSampler

from baff_ros.data.cityscapes import CityscapesDataset


@dataclass
class Dist:
    """This process's place in the run: world size, global rank, local rank (GPU index)."""

    world: int = 1
    rank: int = 0
    local: int = 0

    @property
    def main(self) -> bool:
        """Tell whether this is the process that validates, saves and logs (rank 0)."""
        return self.rank == 0


def init_distributed(device_arg: str) -> Tuple[Dist, torch.device]:
    """Set up the process group from torchrun's WORLD_SIZE/RANK/LOCAL_RANK (one per GPU)."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    d = Dist(world, int(os.environ.get('RANK', '0')), int(os.environ.get('LOCAL_RANK', '0')))
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


def wrap(model: nn.Module, dist: Dist, device: torch.device) -> nn.Module:
    """Return the model as the training step calls it: DDP-wrapped with several processes.

    DDP registers only the parameters that require grad at construction, so the loop wraps
    again whenever the phase (and with it the set of trainable parameters) changes.
    """
    if dist.world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    return DDP(model, device_ids=[device.index] if device.type == 'cuda' else None)


def epoch_sampler(dataset: CityscapesDataset, dist: Dist, seed: int, epoch: int
                  ) -> Iterable[int]:
    """Return one epoch's training order: a seeded permutation, or this rank's share of one."""
    if dist.world > 1:
        sampler: DistributedSampler[int] = DistributedSampler(
            dataset, dist.world, dist.rank, shuffle=True, seed=seed, drop_last=True)
        sampler.set_epoch(epoch)
        return sampler
    return np.random.default_rng([seed, epoch]).permutation(len(dataset)).tolist()


def mean_over_processes(value: float, dist: Dist, device: torch.device) -> float:
    """Average ``value`` over all processes (the value itself with one)."""
    if dist.world == 1:
        return value
    t = torch.tensor([value], device=device)
    torch.distributed.all_reduce(t)
    return float(t) / dist.world


def barrier(dist: Dist) -> None:
    """Wait for every process (no-op with one)."""
    if dist.world > 1:
        torch.distributed.barrier()


def finish(dist: Dist) -> None:
    """Tear the process group down at the end of a run (no-op with one process)."""
    if dist.world > 1:
        torch.distributed.destroy_process_group()
