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
"""PyTorch backend: CPU or CUDA, fp32 or fp16, inference mode."""

from typing import List, Optional, Tuple

import numpy as np
import torch

from baff_ros.engine.backends.base import Backend, BackendError, BackendOptions
from baff_ros.model.skipnet import BAFFSkipNet


class TorchBackend(Backend):
    """Eager PyTorch inference."""

    name = 'torch'

    def __init__(self, model: BAFFSkipNet, options: BackendOptions = BackendOptions(),
                 input_size: Optional[Tuple[int, int]] = None) -> None:
        del input_size  # eager torch takes any size
        if options.device.startswith('cuda') and not torch.cuda.is_available():
            raise BackendError(f'device {options.device!r} requested but CUDA is not available '
                               f'to this torch ({torch.__version__})')
        if options.precision == 'int8':
            raise BackendError('the torch backend has no int8 mode; use onnxruntime')
        if options.precision == 'fp16' and options.device == 'cpu':
            raise BackendError('fp16 needs a CUDA device on the torch backend')
        if options.threads:
            torch.set_num_threads(options.threads)
        self.options = options
        self.device = torch.device(options.device)
        self.dtype = torch.float16 if options.precision == 'fp16' else torch.float32
        self.model = model.eval().to(self.device, self.dtype)
        self.description = (f'torch {torch.__version__} on {options.device} '
                            f'({options.precision})')

    def infer(self, batch: np.ndarray) -> Tuple[np.ndarray, List[np.ndarray]]:
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, self.dtype, non_blocking=True)
            if self.options.with_weights:
                logits, weights = self.model(x, return_weights=True)
            else:
                logits, weights = self.model(x), []
            return (logits.float().cpu().numpy(),
                    [w.float().cpu().numpy() for w in weights])

    def close(self) -> None:
        self.model = None
        if self.device.type == 'cuda':
            torch.cuda.empty_cache()
