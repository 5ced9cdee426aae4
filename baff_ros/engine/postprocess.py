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
"""Vectorised numpy post-processing for graphs that end in logits.

Used when a backend's graph has no in-graph head (``head='logits'`` or a user-supplied ONNX file
that outputs logits). Loops over the K class planes rather than reducing along axis 0 of a
(K, H, W) array: each step is a contiguous, SIMD-friendly element-wise op on one plane, about
twice as fast as numpy's strided ``argmax(axis=0)`` + ``exp`` on the whole volume.
"""

from typing import Tuple

import numpy as np


def labels_and_confidence(logits: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(N, K, H, W) float logits -> (N, H, W) uint8 argmax and (N, H, W) uint8 max softmax x 255.

    Ties go to the lowest class index, as with ``torch.argmax``/``numpy.argmax``.
    """
    if logits.ndim != 4:
        raise ValueError(f'expected (N, K, H, W) logits, got shape {logits.shape}')
    n, k, h, w = logits.shape
    if k > 255:
        raise ValueError(f'{k} classes do not fit uint8 labels')
    labels = np.zeros((n, h, w), np.uint8)
    confidence = np.empty((n, h, w), np.uint8)
    top = np.empty((h, w), np.float32)
    acc = np.empty((h, w), np.float32)
    tmp = np.empty((h, w), np.float32)
    greater = np.empty((h, w), bool)
    for i in range(n):
        scores = logits[i]
        top[...] = scores[0]
        for c in range(1, k):
            np.greater(scores[c], top, out=greater)
            np.maximum(top, scores[c], out=top)
            labels[i][greater] = c
        # max softmax = 1 / sum_k exp(l_k - l_max): stable, and no K-sized temporary.
        acc.fill(0.0)
        for c in range(k):
            np.subtract(scores[c], top, out=tmp)
            np.exp(tmp, out=tmp)
            acc += tmp
        np.divide(255.0, acc, out=acc)
        np.copyto(confidence[i], acc, casting='unsafe')
    return labels, confidence
