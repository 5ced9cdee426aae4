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
"""TensorRT backend: an engine built from the ONNX export, cached on disk.

The engine is specific to the model, input shape, precision, GPU and TensorRT version, so all of
them go into the cache key (:func:`engine_cache_key`); a second start deserialises the cached
engine (seconds) instead of building it (minutes). int8 builds from the onnxruntime QDQ model
(explicit quantisation), so no TensorRT calibrator is involved. Buffers are torch CUDA tensors,
which avoids a dependency on pycuda/cuda-python.
"""

import os
from pathlib import Path
import re
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from baff_ros.engine import cache as cache_store
from baff_ros.engine.backends.base import (Backend, BackendError, BackendOptions, Outputs,
                                           RAW_HEADS, Segmented, head_of_outputs)
from baff_ros.model.config import fusion_points


def import_tensorrt():
    """Import tensorrt or raise a BackendError that says how to get it."""
    try:
        import tensorrt
    except ImportError as exc:
        raise BackendError('TensorRT is not installed (pip install tensorrt, on a machine with '
                           'an NVIDIA GPU); use --backend onnxruntime or torch') from exc
    return tensorrt


def _slug(text: str) -> str:
    return re.sub(r'[^A-Za-z0-9.]+', '-', text).strip('-')


def engine_cache_key(source_hash: str, input_size: Tuple[int, int], precision: str,
                     gpu_name: str, trt_version: str, head: str = 'fast') -> str:
    """File name of a cached engine: everything that makes an engine invalid elsewhere.

    Args:
        source_hash: model hash (or the hash of a user-given ONNX file).
        input_size: (height, width) the engine is built for.
        precision: 'fp32', 'fp16' or 'int8'.
        gpu_name: ``torch.cuda.get_device_name`` (engines are tuned per GPU model).
        trt_version: ``tensorrt.__version__`` (engines are not portable across versions).
        head: what the graph outputs.
    """
    if precision not in ('fp32', 'fp16', 'int8'):
        raise ValueError(f'precision must be fp32, fp16 or int8, got {precision!r}')
    h, w = input_size
    return (f'{source_hash}_{h}x{w}_{precision}_{head}_{_slug(gpu_name)}_trt{_slug(trt_version)}'
            '.engine')


class TensorRTBackend(Backend):
    """Runs a serialised TensorRT engine on a CUDA device."""

    name = 'tensorrt'

    def __init__(self, model: Optional[Any], options: BackendOptions = BackendOptions(),
                 input_size: Optional[Tuple[int, int]] = None, meta=None) -> None:
        if not options.is_cuda:
            raise BackendError("the tensorrt backend needs a CUDA device (--device cuda)")
        trt = import_tensorrt()
        try:
            import torch
        except ImportError as exc:
            raise BackendError('the tensorrt backend keeps its buffers in torch CUDA tensors: '
                               'install torch') from exc

        if not torch.cuda.is_available() or options.device_index >= torch.cuda.device_count():
            raise BackendError(f'device {options.device!r} is not available to torch '
                               f'{torch.__version__}; TensorRT buffers live in torch tensors')
        if input_size is None:
            raise BackendError('the tensorrt backend needs the network input size')
        self.options = options
        self.torch = torch
        self.device = torch.device(options.device)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        is_baff = bool(fusion_points(model))
        cache = Path(options.resolved_cache_dir())
        gpu = torch.cuda.get_device_name(self.device)
        if options.engine_file:  # a given engine: deserialised as it is, never rebuilt
            engine_path = Path(options.engine_file)
            if not engine_path.is_file():
                raise BackendError(f'{engine_path}: TensorRT engine file not found')
        else:
            engine_path = self._engine_path(model, is_baff, cache, gpu, trt.__version__, meta)
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self.logger)
        with torch.cuda.device(self.device):
            if options.engine_file or cache_store.mark_used(engine_path):
                self.engine = self.runtime.deserialize_cuda_engine(engine_path.read_bytes())
                built = 'given' if options.engine_file else 'cached'
            else:
                data = self._build(trt, self._onnx_path, options.precision)
                engine_path.parent.mkdir(parents=True, exist_ok=True)
                tmp = engine_path.with_name(f'{engine_path.name}.{os.getpid()}.tmp')
                tmp.write_bytes(data)
                os.replace(tmp, engine_path)
                cache_store.added(engine_path)
                self.engine = self.runtime.deserialize_cuda_engine(data)
                built = 'built'
            if self.engine is None:
                raise BackendError(
                    f'{engine_path}: TensorRT could not deserialise the engine ('
                    + ('built for another GPU or TensorRT version?' if options.engine_file
                       else 'delete it to rebuild') + ')')
            self.context = self.engine.create_execution_context()
            self.stream = torch.cuda.Stream(self.device)
            self._alloc(trt)
        self.engine_path = engine_path
        self.head = head_of_outputs(options.head, list(self.buffers))
        precision = 'engine file' if options.engine_file else options.precision
        self.description = (f'tensorrt {trt.__version__} on {options.device} ({gpu}, '
                            f'{precision}; head {self.head}; engine {built})')

    def _engine_path(self, model: Any, is_baff: bool, cache: Path, gpu: str, trt_version: str,
                     meta) -> Path:
        """Cache path of the engine for this model or ONNX file; sets the ONNX to build from."""
        options = self.options
        if options.onnx_file:
            onnx_path = Path(options.onnx_file)
            if not onnx_path.is_file():
                raise BackendError(f'{onnx_path}: ONNX file not found')
            from baff_ros.engine.artefacts import file_sha256

            source = file_sha256(onnx_path)[:16]
        else:
            from baff_ros.engine.graph import cached_onnx, model_hash

            onnx_path = cached_onnx(model, self.input_size, options.head,
                                    options.with_weights and is_baff, str(cache))
            source = model_hash(model)
        if options.precision == 'int8':
            from baff_ros.engine.backends.onnxruntime_backend import OnnxRuntimeBackend

            # Reuse onnxruntime's calibrated QDQ export: TensorRT honours explicit Q/DQ nodes.
            ort_opts = BackendOptions(precision='int8', head=options.head,
                                      with_weights=options.with_weights,
                                      onnx_file=str(onnx_path), cache_dir=str(cache),
                                      calibration=options.calibration)
            quant = OnnxRuntimeBackend(None, ort_opts, self.input_size, meta)
            onnx_path = quant.path
            quant.close()
        self._onnx_path = onnx_path
        key = engine_cache_key(source, self.input_size, options.precision, gpu, trt_version,
                               options.head)
        return cache / 'tensorrt' / key

    def _build(self, trt, onnx_path: Path, precision: str) -> bytes:
        builder = trt.Builder(self.logger)
        flags = 0
        if hasattr(trt.NetworkDefinitionCreationFlag, 'EXPLICIT_BATCH'):
            flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(onnx_path.read_bytes()):
            errors = '; '.join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise BackendError(f'{onnx_path}: TensorRT cannot parse the ONNX model: {errors}')
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 2 << 30)
        if precision == 'fp16':
            if not builder.platform_has_fast_fp16:
                raise BackendError('this GPU has no fast fp16; use --precision fp32')
            config.set_flag(trt.BuilderFlag.FP16)
        elif precision == 'int8':
            config.set_flag(trt.BuilderFlag.INT8)
            config.set_flag(trt.BuilderFlag.FP16)  # layers left unquantised may use fp16
        # Dynamic exports get a one-shape profile at the requested size.
        inp = network.get_input(0)
        if any(d < 0 for d in inp.shape):
            profile = builder.create_optimization_profile()
            shape = (1, inp.shape[1]) + self.input_size
            profile.set_shape(inp.name, shape, shape, shape)
            config.add_optimization_profile(profile)
        data = builder.build_serialized_network(network, config)
        if data is None:
            raise BackendError('TensorRT engine build failed (see the TensorRT log above)')
        return bytes(data)

    def _alloc(self, trt) -> None:
        torch = self.torch
        dtypes = {trt.float32: torch.float32, trt.float16: torch.float16,
                  trt.int32: torch.int32, trt.int64: torch.int64, trt.uint8: torch.uint8,
                  trt.int8: torch.int8, trt.bool: torch.bool}
        self.buffers: Dict[str, Any] = {}
        self.input_name = ''
        self.output_order: List[str] = []
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            shape = tuple(self.engine.get_tensor_shape(name))
            if self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                self.input_name = name
                if any(d < 0 for d in shape):
                    shape = (1, shape[1]) + self.input_size
                    self.context.set_input_shape(name, shape)
            else:
                shape = tuple(self.context.get_tensor_shape(name))
                self.output_order.append(name)
            dtype = dtypes[self.engine.get_tensor_dtype(name)]
            self.buffers[name] = torch.empty(shape, dtype=dtype, device=self.device)
            self.context.set_tensor_address(name, self.buffers[name].data_ptr())

    def _run(self, batch: np.ndarray) -> Dict[str, np.ndarray]:
        torch = self.torch
        src = torch.from_numpy(batch)
        dst = self.buffers[self.input_name]
        if tuple(src.shape) != tuple(dst.shape):
            raise BackendError(f'engine input is {tuple(dst.shape)}, got {tuple(src.shape)}')
        with torch.cuda.stream(self.stream):
            dst.copy_(src.to(dst.dtype), non_blocking=True)
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise BackendError('TensorRT execution failed')
            out = {n: self.buffers[n].to('cpu', non_blocking=False) for n in self.output_order}
        self.stream.synchronize()
        return {n: (t.float() if t.is_floating_point() else t).numpy() for n, t in out.items()}

    def _weights(self, out: Dict[str, np.ndarray]) -> List[np.ndarray]:
        if not self.options.with_weights:
            return []
        names = [n for n in out if n.startswith('weights_')]
        names.sort(key=lambda n: -int(n.split('_')[1]) if n.split('_')[1].isdigit() else 0)
        return [out[n] for n in names]

    def infer(self, batch: np.ndarray) -> Outputs:
        if self.head not in RAW_HEADS:
            raise BackendError(f"infer() needs head 'logits' or 'cells', this engine has "
                               f'{self.head!r}')
        out = self._run(batch)
        return out['scores' if self.head == 'cells' else 'logits'], self._weights(out)

    def segment(self, batch: np.ndarray) -> Segmented:
        if self.head in RAW_HEADS:
            return super().segment(batch)
        out = self._run(batch)
        return (out['labels'].astype(np.uint8, copy=False),
                out['confidence'].astype(np.uint8, copy=False), self._weights(out))

    def close(self) -> None:
        self.buffers = {}
        self.context = self.engine = None
