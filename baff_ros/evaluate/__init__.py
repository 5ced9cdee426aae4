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
"""Cityscapes pixel-level evaluation: IoU, iIoU, category scores, confusion matrix, size buckets.

One module per concern: :mod:`~baff_ros.evaluate.metrics` (the official scores, tested for
equality against ``cityscapesscripts``: :class:`Evaluator`, :class:`EvalResult`),
:mod:`~baff_ros.evaluate.sizes` (object-size buckets and BAFF weight-map statistics) and
:mod:`~baff_ros.evaluate.report` (predictions on disk, JSON, plots). The names below are the
public API.
"""

from baff_ros.evaluate.metrics import (AVG_CLASS_SIZE, confusion_matrix, EvalResult, Evaluator,
                                       INSTANCE_CLASSES, iou_from_confusion, nanmean_ordered)
from baff_ros.evaluate.report import (evaluate_predictions, find_prediction, plot_results,
                                      read_instances, write_json)
from baff_ros.evaluate.sizes import (LARGE_MIN_AREA, segment_areas, SIZE_BUCKETS,
                                     size_bucket_map, SMALL_MAX_AREA, WeightMapStats)

__all__ = ['AVG_CLASS_SIZE', 'confusion_matrix', 'EvalResult', 'evaluate_predictions',
           'Evaluator', 'find_prediction', 'INSTANCE_CLASSES', 'iou_from_confusion',
           'LARGE_MIN_AREA', 'nanmean_ordered', 'plot_results', 'read_instances',
           'segment_areas', 'SIZE_BUCKETS', 'size_bucket_map', 'SMALL_MAX_AREA',
           'WeightMapStats', 'write_json']
