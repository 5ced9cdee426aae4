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
"""Inference backends behind :class:`baff_ros.engine.Segmenter`.

A backend runs the network on a prepared batch and returns numpy arrays. Each lives in its own
module and imports its runtime lazily, so a missing runtime only matters when it is chosen.
"""

import importlib
import importlib.util
from typing import Callable, Dict, List, Tuple

from baff_ros.engine.backends.base import Backend, BackendError, BackendOptions

#: name -> 'module:Class'; the class is imported only when the backend is chosen.
_FACTORIES: Dict[str, str] = {
    'torch': 'baff_ros.engine.backends.torch_backend:TorchBackend',
    'onnxruntime': 'baff_ros.engine.backends.onnxruntime_backend:OnnxRuntimeBackend',
    'tensorrt': 'baff_ros.engine.backends.tensorrt_backend:TensorRTBackend',
}


def backend_names() -> Tuple[str, ...]:
    """Names accepted by ``--backend`` (besides ``auto``)."""
    return tuple(_FACTORIES)


def get_backend_class(name: str) -> Callable[..., Backend]:
    """Import and return the backend class registered under ``name`` (``auto`` included)."""
    if name == 'auto':
        return create_auto
    if name not in _FACTORIES:
        raise BackendError(f'unknown backend {name!r}; choose one of '
                           f'{", ".join(("auto",) + backend_names())}')
    module, cls = _FACTORIES[name].split(':')
    return getattr(importlib.import_module(module), cls)


def auto_candidates(options: BackendOptions) -> List[str]:
    """Backends ``auto`` tries, fastest first, for this device and precision.

    On CUDA: TensorRT (fastest by far on NVIDIA GPUs), then onnxruntime, then torch. On CPU:
    onnxruntime (its fused graph ran 4-7x faster than eager torch here, see docs/benchmarks.md),
    then torch. A runtime that is not importable is skipped without being imported.
    """
    order = ['tensorrt', 'onnxruntime', 'torch'] if options.is_cuda else ['onnxruntime', 'torch']
    if options.precision == 'fp16' and not options.is_cuda:
        order = ['torch']
    runtime = {'tensorrt': 'tensorrt', 'onnxruntime': 'onnxruntime', 'torch': 'torch'}
    return [n for n in order if importlib.util.find_spec(runtime[n]) is not None]


def create_auto(model, options: BackendOptions = BackendOptions(), input_size=None,
                meta=None) -> Backend:
    """Create the first backend of :func:`auto_candidates` that starts.

    Its description says which one was chosen; ``auto_skipped`` says why others were not.
    """
    skipped = []
    for name in auto_candidates(options):
        try:
            backend = get_backend_class(name)(model, options, input_size=input_size, meta=meta)
        except BackendError as exc:
            skipped.append(f'{name}: {exc}')
            continue
        backend.description = f'auto -> {backend.description}'
        backend.auto_skipped = skipped
        return backend
    raise BackendError('no backend could be started: ' + ' | '.join(skipped))


__all__ = ['Backend', 'BackendError', 'BackendOptions', 'auto_candidates', 'backend_names',
           'create_auto', 'get_backend_class']
