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
"""The backend interface."""

from dataclasses import dataclass
from typing import List, Tuple

import numpy as np


class BackendError(RuntimeError):
    """A backend cannot be created or run (missing runtime, bad device, bad model)."""


@dataclass(frozen=True)
class BackendOptions:
    """Options common to all backends; each backend validates what applies to it.

    Attributes:
        device: ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        precision: ``'fp32'`` or ``'fp16'`` (GPU backends), ``'int8'`` where supported.
        threads: intra-op CPU threads, 0 = the runtime's default.
        with_weights: whether the BAFF weight maps are computed and returned.
    """

    device: str = 'cpu'
    precision: str = 'fp32'
    threads: int = 0
    with_weights: bool = True

    def __post_init__(self) -> None:
        if not (self.device == 'cpu' or self.device == 'cuda'
                or (self.device.startswith('cuda:') and self.device[5:].isdigit())):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if self.precision not in ('fp32', 'fp16', 'int8'):
            raise ValueError(f"precision must be 'fp32', 'fp16' or 'int8', got {self.precision!r}")
        if self.threads < 0:
            raise ValueError(f'threads must be >= 0, got {self.threads}')


class Backend:
    """Runs the network: (N, 3, H, W) float32 normalised batch -> logits and weight maps.

    Constructor signature of every backend: ``(model, options, input_size)``, where
    ``input_size`` is the (height, width) the backend may specialise for.

    Attributes:
        name: backend name as given to ``--backend``.
        description: one line for logs (runtime version, device, precision).
    """

    name = 'base'
    description = ''

    def infer(self, batch: np.ndarray) -> Tuple[np.ndarray, List[np.ndarray]]:
        """Return logits (N, K, H, W) and the weight maps [(N, 1, h, w), ...] (maybe empty)."""
        raise NotImplementedError

    def close(self) -> None:
        """Free device memory and runtime state."""
