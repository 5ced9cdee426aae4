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
"""BAFF-SkipNet: MobileNetV2 encoder, SkipNet decoder, Block Adaptive Feature Fusion.

The network's names (which need torch) are imported on first use, so ``baff_ros.model.config``
and ``baff_ros.model.checkpoint``'s metadata can be used where torch is not installed.
"""

import importlib
from typing import Any

from baff_ros.model.config import check_input_size, ModelConfig

#: name -> module that defines it, imported on first access (PEP 562).
_LAZY = {
    'BAFFSkipNet': 'baff_ros.model.skipnet',
    'build_model': 'baff_ros.model.skipnet',
    'CheckpointError': 'baff_ros.model.checkpoint',
    'load_checkpoint': 'baff_ros.model.checkpoint',
    'save_checkpoint': 'baff_ros.model.checkpoint',
}


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` when it is first asked for."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['BAFFSkipNet', 'CheckpointError', 'ModelConfig', 'build_model', 'check_input_size',
           'load_checkpoint', 'save_checkpoint']
