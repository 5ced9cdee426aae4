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
"""BAFF-SkipNet: MobileNetV2 encoder, SkipNet decoder, Block Adaptive Feature Fusion."""

from baff_ros.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from baff_ros.model.config import ModelConfig
from baff_ros.model.skipnet import BAFFSkipNet, build_model, check_input_size

__all__ = ['BAFFSkipNet', 'CheckpointError', 'ModelConfig', 'build_model', 'check_input_size',
           'load_checkpoint', 'save_checkpoint']
