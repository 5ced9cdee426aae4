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
"""Segmenter: image in, labels + confidence + BAFF weight maps out, on any backend.

Per frame it does three things around the backend call, each kept to one or two passes over the
image: resize (cv2, uint8) -> normalise + HWC->CHW through a per-channel float lookup table into
a reused buffer -> backend (whose graph, by default, already returns uint8 labels and confidence,
see :mod:`baff_ros.engine.graph`) -> nearest/linear resize of the uint8 maps back to the image.
"""

from dataclasses import dataclass, field
import time
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from baff_ros.engine.backends import Backend, BackendOptions, get_backend_class
from baff_ros.model.checkpoint import CheckpointMeta
from baff_ros.model.config import check_input_size, fusion_points

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

    @property
    def total_ms(self) -> float:
        """The Segmenter's own time for this image: pre + infer + post."""
        return sum(self.timings_ms.values())


def normalisation_lut(mean, std, color_order: str = 'rgb') -> np.ndarray:
    """(1, 256, 3) float32 table: uint8 value of input channel c -> normalised float.

    For BGR input the table's channels are swapped, so the lookup normalises each channel with
    its own statistics without reordering the image first.
    """
    v = np.arange(256, dtype=np.float64)[:, None] / 255.0
    table = (v - np.asarray(mean, np.float64)[None]) / np.asarray(std, np.float64)[None]
    if color_order == 'bgr':
        table = table[:, ::-1]
    return np.ascontiguousarray(table[None], np.float32)


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
        size = input_size or meta.input_size
        self.input_size: Tuple[int, int] = (int(size[0]), int(size[1]))
        check_input_size(*self.input_size)
        if output_size not in OUTPUT_SIZES:
            raise ValueError(f'output_size must be one of {OUTPUT_SIZES}, got {output_size!r}')
        self.output_size = output_size
        self._luts = {order: normalisation_lut(meta.mean, meta.std, order)
                      for order in COLOR_ORDERS}
        self._batch = np.empty((1, 3) + self.input_size, np.float32)
        self._planes = [self._batch[0, c] for c in range(3)]
        h, w = self.input_size
        self._resized = np.empty((h, w, 3), np.uint8)
        self._normalised = np.empty((h, w, 3), np.float32)

    @classmethod
    def from_model(cls, model, meta: CheckpointMeta, backend: str = 'torch',
                   options: BackendOptions = BackendOptions(), **kwargs) -> 'Segmenter':
        """Create the named backend (or ``'auto'``) for ``model`` and wrap it."""
        names = fusion_points(model) if options.with_weights else ()
        input_size = tuple(kwargs.get('input_size') or meta.input_size)
        check_input_size(*input_size)
        impl = get_backend_class(backend)(model, options, input_size=input_size, meta=meta)
        return cls(impl, meta, names, **kwargs)

    @classmethod
    def from_artefact(cls, artefact, backend: str = 'auto',
                      options: BackendOptions = BackendOptions(),
                      input_size: Optional[Tuple[int, int]] = None,
                      output_size: str = 'input') -> 'Segmenter':
        """Create a Segmenter for what ``--model`` named (see :mod:`baff_ros.engine.artefacts`).

        A checkpoint goes through :meth:`from_model`. An exported ONNX model runs on onnxruntime
        (``auto``; ``tensorrt`` builds an engine from it; ``torch`` is refused), a TensorRT
        engine on tensorrt, each with the classes, normalisation, input size and fusion points
        of its metadata; neither imports torch on the way (the tensorrt backend does itself).
        """
        from baff_ros.engine.artefacts import check_backend_outputs, segmenter_input_size

        if artefact.export is None:
            return cls.from_model(artefact.model, artefact.meta, backend=backend,
                                  options=options, input_size=input_size,
                                  output_size=output_size)
        size = segmenter_input_size(artefact, input_size)
        name, options = artefact.backend(backend, options)
        impl = get_backend_class(name)(None, options, input_size=size, meta=artefact.meta)
        try:
            check_backend_outputs(artefact, impl)
        except BaseException:
            impl.close()
            raise
        names = artefact.export.fusion_points if options.with_weights else ()
        return cls(impl, artefact.meta, names, input_size=size, output_size=output_size)

    def preprocess(self, image: np.ndarray, color_order: str = 'rgb') -> np.ndarray:
        """HxWx3 uint8 -> the (1, 3, h, w) float32 normalised RGB batch (a reused buffer)."""
        if color_order not in COLOR_ORDERS:
            raise ValueError(f'color_order must be one of {COLOR_ORDERS}, got {color_order!r}')
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f'expected an HxWx3 uint8 image, got shape {image.shape} '
                             f'dtype {image.dtype}')
        h, w = self.input_size
        if image.shape[:2] != (h, w):
            cv2.resize(image, (w, h), dst=self._resized, interpolation=cv2.INTER_LINEAR)
            image = self._resized
        # One pass: per-channel table lookup (uint8 -> normalised float32, HWC) ...
        cv2.LUT(image, self._luts[color_order], dst=self._normalised)
        # ... and one pass: de-interleave into the CHW planes of the batch, RGB order.
        planes = self._planes if color_order == 'rgb' else self._planes[::-1]
        cv2.split(self._normalised, planes)
        return self._batch

    @staticmethod
    def _resize(labels: np.ndarray, confidence: np.ndarray, out_hw: Tuple[int, int]
                ) -> Tuple[np.ndarray, np.ndarray]:
        if labels.shape != tuple(out_hw):
            size = (int(out_hw[1]), int(out_hw[0]))
            # Nearest for labels: an interpolated class ID is meaningless.
            labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
            confidence = cv2.resize(confidence, size, interpolation=cv2.INTER_LINEAR)
        return labels, confidence

    def __call__(self, image: np.ndarray, color_order: str = 'rgb',
                 input_hw: Optional[Tuple[int, int]] = None) -> SegmentationResult:
        """Segment one HxWx3 uint8 image.

        Args:
            image: the frame.
            color_order: ``rgb`` or ``bgr``.
            input_hw: (height, width) of the frame ``image`` was decoded from, when it was
                decoded at a reduced scale: with ``output_size='input'`` the outputs are at
                this size. Default: ``image``'s own.
        """
        t0 = time.perf_counter()
        batch = self.preprocess(image, color_order)
        t1 = time.perf_counter()
        labels, confidence, weights = self.backend.segment(batch)
        t2 = time.perf_counter()
        out_hw = self.input_size
        if self.output_size == 'input':
            src = input_hw if input_hw is not None else image.shape[:2]
            out_hw = (int(src[0]), int(src[1]))
        labels, confidence = self._resize(labels[0], confidence[0], out_hw)
        wmaps = {name: np.ascontiguousarray(w[0, 0], np.float32)
                 for name, w in zip(self.fusion_names, weights)}
        t3 = time.perf_counter()
        return SegmentationResult(
            labels, confidence, wmaps, self.input_size,
            {'pre': (t1 - t0) * 1e3, 'infer': (t2 - t1) * 1e3, 'post': (t3 - t2) * 1e3})

    def close(self) -> None:
        """Release the backend."""
        self.backend.close()
