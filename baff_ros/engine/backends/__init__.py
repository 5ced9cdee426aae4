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

from typing import Callable, Dict

from baff_ros.engine.backends.base import Backend, BackendError, BackendOptions

#: name -> factory(model, meta, options) -> Backend; modules register themselves here.
_FACTORIES: Dict[str, str] = {
    'torch': 'baff_ros.engine.backends.torch_backend:TorchBackend',
}


def backend_names():
    """Names accepted by ``--backend`` (besides ``auto``)."""
    return tuple(_FACTORIES)


def get_backend_class(name: str) -> Callable[..., Backend]:
    """Import and return the backend class registered under ``name``."""
    import importlib

    if name not in _FACTORIES:
        raise BackendError(f'unknown backend {name!r}; choose one of '
                           f'{", ".join(("auto",) + backend_names())}')
    module, cls = _FACTORIES[name].split(':')
    return getattr(importlib.import_module(module), cls)


__all__ = ['Backend', 'BackendError', 'BackendOptions', 'backend_names', 'get_backend_class']
