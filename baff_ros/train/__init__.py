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
"""Training: the two-phase BAFF-SkipNet schedule, on one device or with torchrun (DDP).

One module per concern: :mod:`~baff_ros.train.config` (:class:`TrainConfig`),
:mod:`~baff_ros.train.objective` (loss, LR schedule, phases, parameter groups),
:mod:`~baff_ros.train.validation` (val scores on the device),
:mod:`~baff_ros.train.checkpoints` (checkpoints, resuming), :mod:`~baff_ros.train.distributed`
(torchrun set-up), :mod:`~baff_ros.train.report` (metrics files and plot) and
:mod:`~baff_ros.train.loop` (:func:`train`). The names below are the public API.
"""

from baff_ros.train.config import (DEFAULT_LR, DEFAULT_WEIGHT_DECAY, OPTIMIZERS, PATH_OPTIONS,
                                   portable_config, TrainConfig, WEIGHT_NET_INITS)
from baff_ros.train.loop import train
from baff_ros.train.objective import (init_weight_net_heads, lr_at, median_frequency_weights,
                                      param_groups, SegmentationLoss, set_phase)
from baff_ros.train.report import write_metrics
from baff_ros.train.validation import confusion_torch, validate

__all__ = ['confusion_torch', 'DEFAULT_LR', 'DEFAULT_WEIGHT_DECAY', 'init_weight_net_heads',
           'lr_at', 'median_frequency_weights', 'OPTIMIZERS', 'param_groups', 'PATH_OPTIONS',
           'portable_config', 'SegmentationLoss', 'set_phase', 'train', 'TrainConfig',
           'validate', 'WEIGHT_NET_INITS', 'write_metrics']
