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
"""PyTorch backend: CPU or CUDA, fp32/fp16, inference mode, channels-last, compile, graphs."""

from typing import Any, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from baff_ros.engine.backends.base import (Backend, BackendError, BackendOptions, Outputs,
                                           RAW_HEADS, Segmented)
from baff_ros.engine.graph import SegmentationGraph
from baff_ros.model.config import fusion_points


class TorchBackend(Backend):
    """Eager (or compiled) PyTorch inference of a :class:`SegmentationGraph`."""

    name = 'torch'

    def __init__(self, model: nn.Module, options: BackendOptions = BackendOptions(),
                 input_size: Optional[Tuple[int, int]] = None, meta=None) -> None:
        del input_size, meta  # eager torch takes any size; no calibration
        if options.is_cuda and not torch.cuda.is_available():
            raise BackendError(f'device {options.device!r} requested but CUDA is not available '
                               f'to this torch ({torch.__version__})')
        if options.is_cuda and options.device_index >= torch.cuda.device_count():
            raise BackendError(f'device {options.device!r} does not exist: this machine has '
                               f'{torch.cuda.device_count()} CUDA device(s)')
        if options.precision == 'int8':
            raise BackendError('the torch backend has no int8 mode; use onnxruntime')
        if options.precision == 'fp16' and not options.is_cuda:
            raise BackendError('fp16 needs a CUDA device on the torch backend')
        if options.onnx_file:
            raise BackendError('the torch backend cannot run an ONNX file; use onnxruntime')
        # options.threads: torch's thread pool is process-wide, so the entry points size it
        # (baff_ros.engine.models.configure_threads), not a backend behind its caller's back.
        self.options = options
        self.device = torch.device(options.device)
        self.dtype = torch.float16 if options.precision == 'fp16' else torch.float32
        self.channels_last = (options.is_cuda if options.channels_last is None
                              else options.channels_last)
        self.memory_format = (torch.channels_last if self.channels_last
                              else torch.contiguous_format)
        is_baff = bool(fusion_points(model))
        graph = SegmentationGraph(model.eval(), options.head, options.with_weights and is_baff)
        self.head = graph.head  # 'cells' runs as 'exact' on a network without 1/8 scores
        self.graph: Any = graph.to(self.device, self.dtype)
        if self.channels_last:
            # Only 4-D weights have an NHWC layout (the BAFF 3-D conv keeps its own).
            for module in self.graph.modules():
                weight = getattr(module, 'weight', None)
                if isinstance(weight, torch.Tensor) and weight.dim() == 4:
                    weight.data = weight.data.contiguous(memory_format=torch.channels_last)
        self._run: Any = self.graph
        if options.compile:
            try:
                self._run = torch.compile(self.graph, dynamic=False)
            except Exception as exc:  # noqa: BLE001 - compile backends fail in many ways
                raise BackendError(f'torch.compile failed: {str(exc).splitlines()[0]}') from exc
        # CUDA graphs remove per-kernel launch overhead, which dominates at small sizes on fast
        # GPUs; they need static shapes, so they are captured lazily for the first shape seen.
        self._use_graphs = options.is_cuda and options.cuda_graphs and not options.compile
        self._cuda_graph: Any = None
        self._static_in: Any = None
        self._static_out: Tuple[torch.Tensor, ...] = ()
        extras = [n for n, on in (('channels_last', self.channels_last),
                                  ('compile', options.compile),
                                  ('cuda-graphs', self._use_graphs)) if on]
        self.description = (f'torch {torch.__version__} on {options.device} '
                            f'({options.precision}{", " + ", ".join(extras) if extras else ""}'
                            f'; head {self.head})')

    def _capture(self, x: torch.Tensor) -> None:
        self._static_in = x.clone()
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            for _ in range(3):  # warm-up on a side stream, as the CUDA graphs docs require
                self.graph(self._static_in)
        torch.cuda.current_stream(self.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._static_out = self.graph(self._static_in)
        self._cuda_graph = graph

    def _forward(self, batch: np.ndarray) -> Tuple[torch.Tensor, ...]:
        with torch.inference_mode():
            x = torch.from_numpy(batch)
            if self.device.type == 'cuda':
                x = x.pin_memory().to(self.device, non_blocking=True)
            x = x.to(self.dtype).contiguous(memory_format=self.memory_format)
            if not self._use_graphs:
                return self._run(x)
            if self._cuda_graph is None or self._static_in.shape != x.shape:
                self._capture(x)
            self._static_in.copy_(x)
            self._cuda_graph.replay()
            return self._static_out

    @staticmethod
    def _numpy(t: torch.Tensor) -> np.ndarray:
        if t.is_floating_point():
            t = t.float()
        return t.cpu().contiguous().numpy()

    def infer(self, batch: np.ndarray) -> Outputs:
        if self.head not in RAW_HEADS:
            raise BackendError(f"infer() needs head 'logits' or 'cells', this backend has "
                               f'{self.head!r}')
        out = self._forward(batch)
        return self._numpy(out[0]), [self._numpy(w) for w in out[1:]]

    def segment(self, batch: np.ndarray) -> Segmented:
        if self.head in RAW_HEADS:
            return super().segment(batch)
        out = self._forward(batch)
        weights: List[np.ndarray] = [self._numpy(w) for w in out[2:]]
        return self._numpy(out[0]), self._numpy(out[1]), weights

    def close(self) -> None:
        self.graph = self._run = None
        self._cuda_graph = self._static_in = None
        self._static_out = ()
        if self.device.type == 'cuda':
            torch.cuda.empty_cache()
