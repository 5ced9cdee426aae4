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
"""Segmenter: image in, labels + confidence + BAFF weight maps out, on any backend."""

from dataclasses import dataclass, field
import time
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from baff_ros.engine.backends import Backend, BackendOptions, get_backend_class
from baff_ros.model.checkpoint import CheckpointMeta
from baff_ros.model.skipnet import BAFFSkipNet, check_input_size

COLOR_ORDERS = ('rgb', 'bgr')
OUTPUT_SIZES = ('input', 'network')


@dataclass
class SegmentationResult:
    """What one image produces.

    Attributes:
        labels: (H, W) uint8 train IDs (255 = unknown), at the output size.
        confidence: (H, W) uint8, max softmax probability x 255, at the output size.
        weights: fusion name -> (h, w) float32 BAFF weight map in [0, 1] at the fusion map's
            own resolution (one value per block); empty for a plain SkipNet.
        network_size: (height, width) the network ran at.
        timings_ms: 'pre', 'infer', 'post' milliseconds.
    """

    labels: np.ndarray
    confidence: np.ndarray
    weights: Dict[str, np.ndarray]
    network_size: Tuple[int, int]
    timings_ms: Dict[str, float] = field(default_factory=dict)


class Segmenter:
    """Pre-process, run a backend, post-process.

    Args:
        backend: a created backend.
        meta: the checkpoint metadata (classes, palette, mean/std, trained input size).
        fusion_names: names of the fusion points, in the order the backend returns weights.
        input_size: network (height, width), multiples of 32; default: the checkpoint's.
        output_size: ``'input'`` (labels at the image's size) or ``'network'``.
    """

    def __init__(self, backend: Backend, meta: CheckpointMeta, fusion_names: Tuple[str, ...],
                 input_size: Optional[Tuple[int, int]] = None,
                 output_size: str = 'input') -> None:
        self.backend = backend
        self.meta = meta
        self.fusion_names = tuple(fusion_names)
        self.input_size = tuple(input_size or meta.input_size)
        check_input_size(*self.input_size)
        if output_size not in OUTPUT_SIZES:
            raise ValueError(f'output_size must be one of {OUTPUT_SIZES}, got {output_size!r}')
        self.output_size = output_size
        mean = np.asarray(meta.mean, np.float32) * 255.0
        std = np.asarray(meta.std, np.float32) * 255.0
        # (x - mean) / std == x * scale + shift, per channel: one fused multiply-add.
        self._scale = (1.0 / std).reshape(3, 1, 1)
        self._shift = (-mean / std).reshape(3, 1, 1)
        self._batch = np.empty((1, 3) + self.input_size, np.float32)

    @classmethod
    def from_model(cls, model: BAFFSkipNet, meta: CheckpointMeta, backend: str = 'torch',
                   options: BackendOptions = BackendOptions(), **kwargs) -> 'Segmenter':
        """Create the named backend for ``model`` and wrap it."""
        if options.with_weights is False or model.cfg.fusion != 'baff':
            names: Tuple[str, ...] = ()
        else:
            names = model.fusion_names
        input_size = kwargs.get('input_size') or meta.input_size
        impl = get_backend_class(backend)(model, options, input_size=tuple(input_size))
        return cls(impl, meta, names, **kwargs)

    def preprocess(self, image: np.ndarray, color_order: str = 'rgb') -> np.ndarray:
        """HxWx3 uint8 -> the (1, 3, h, w) float32 normalised batch (a reused buffer)."""
        if color_order not in COLOR_ORDERS:
            raise ValueError(f'color_order must be one of {COLOR_ORDERS}, got {color_order!r}')
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f'expected an HxWx3 uint8 image, got shape {image.shape} '
                             f'dtype {image.dtype}')
        h, w = self.input_size
        if image.shape[:2] != (h, w):
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        if color_order == 'bgr':
            image = image[..., ::-1]
        chw = image.transpose(2, 0, 1)
        np.multiply(chw, self._scale, out=self._batch[0], casting='unsafe')
        self._batch[0] += self._shift
        return self._batch

    def postprocess(self, logits: np.ndarray, out_hw: Tuple[int, int]
                    ) -> Tuple[np.ndarray, np.ndarray]:
        """(1, K, h, w) logits -> labels and confidence (uint8) at ``out_hw``."""
        scores = logits[0]
        labels = scores.argmax(axis=0).astype(np.uint8)
        top = scores.max(axis=0)
        # max softmax = 1 / sum_k exp(l_k - l_max)
        denom = np.exp(scores - top).sum(axis=0)
        confidence = (255.0 / denom).astype(np.uint8)
        if labels.shape != tuple(out_hw):
            size = (out_hw[1], out_hw[0])
            labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
            confidence = cv2.resize(confidence, size, interpolation=cv2.INTER_LINEAR)
        return labels, confidence

    def __call__(self, image: np.ndarray, color_order: str = 'rgb') -> SegmentationResult:
        """Segment one HxWx3 uint8 image."""
        t0 = time.perf_counter()
        batch = self.preprocess(image, color_order)
        t1 = time.perf_counter()
        logits, weights = self.backend.infer(batch)
        t2 = time.perf_counter()
        out_hw = image.shape[:2] if self.output_size == 'input' else self.input_size
        labels, confidence = self.postprocess(logits, out_hw)
        wmaps = {name: w[0, 0] for name, w in zip(self.fusion_names, weights)}
        t3 = time.perf_counter()
        return SegmentationResult(
            labels, confidence, wmaps, self.input_size,
            {'pre': (t1 - t0) * 1e3, 'infer': (t2 - t1) * 1e3, 'post': (t3 - t2) * 1e3})

    def close(self) -> None:
        """Release the backend."""
        self.backend.close()
