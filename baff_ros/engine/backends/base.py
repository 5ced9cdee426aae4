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
"""The backend interface and the options every backend reads."""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from baff_ros.engine import cache

#: What the network graph returns. ``'cells'`` (default): the 1/8-resolution fused scores;
#: numpy computes labels equal to the argmax of the full-resolution logits from them, pixel by
#: pixel only in the cells whose four corner scores disagree, and the confidence as ``'fast'``
#: does (:func:`baff_ros.engine.postprocess.labels_from_scores`); the graph never builds the
#: (K, H, W) logits. ``'logits'``: full-resolution logits (Segmenter post-processes in numpy).
#: ``'exact'``: labels and max-softmax confidence computed inside the graph from the
#: full-resolution logits. ``'fast'``: labels the same (exact argmax of the full-resolution
#: logits), confidence from the 1/8-resolution fused scores, bilinearly upsampled (see
#: docs/engine.md for why and how far it is from ``'exact'``). A network without 1/8 scores
#: (the peers) runs ``'cells'`` as ``'exact'``.
HEADS = ('cells', 'fast', 'exact', 'logits')
#: Heads whose graph hands back floats (logits or scores) that numpy reduces to labels.
RAW_HEADS = ('logits', 'cells')
OPT_LEVELS = ('disable', 'basic', 'extended', 'all')
QUANTIZATIONS = ('static', 'dynamic')


class BackendError(RuntimeError):
    """A backend cannot be created or run (missing runtime, bad device, bad model)."""


@dataclass(frozen=True)
class BackendOptions:
    """Options common to all backends; each backend validates what applies to it.

    Attributes:
        device: ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        precision: ``'fp32'`` or ``'fp16'`` (GPU backends), ``'int8'`` where supported.
        threads: intra-op CPU threads, 0 = the runtime's default (torch: process-wide, set
            by :func:`baff_ros.engine.models.configure_threads`).
        with_weights: whether the BAFF weight maps are computed and returned.
        head: what the graph outputs, one of :data:`HEADS`.
        inter_threads: onnxruntime inter-op threads, 0 = default.
        opt_level: onnxruntime graph optimisation level, one of :data:`OPT_LEVELS`.
        onnx_file: run this ONNX file instead of exporting the model (onnxruntime, tensorrt).
        engine_file: tensorrt: run this serialised engine instead of building one.
        cache_dir: where exported ONNX files and TensorRT engines are cached; default
            ``$BAFF_ROS_CACHE``, ``$XDG_CACHE_HOME/baff_ros`` or ``~/.cache/baff_ros``
            (see :mod:`baff_ros.engine.cache`).
        compile: torch backend: wrap the graph in ``torch.compile``.
        channels_last: torch backend: NHWC memory format; None = on CUDA only (it is faster
            there with cuDNN, and was measured slower with oneDNN on this project's CPU).
        cuda_graphs: torch backend on CUDA: capture the graph once and replay it.
        quantization: int8 on onnxruntime: ``'static'`` (QDQ, calibrated) or ``'dynamic'``.
        calibration: image files for int8 calibration; empty = built-in synthetic scenes.
        spin: onnxruntime: let idle worker threads busy-wait (lower latency for a single
            session alone on its cores, unfair to anything else running; off by default).
    """

    device: str = 'cpu'
    precision: str = 'fp32'
    threads: int = 0
    with_weights: bool = True
    head: str = 'cells'
    inter_threads: int = 0
    opt_level: str = 'all'
    onnx_file: Optional[str] = None
    engine_file: Optional[str] = None
    cache_dir: Optional[str] = None
    compile: bool = False
    channels_last: Optional[bool] = None
    cuda_graphs: bool = True
    quantization: str = 'static'
    calibration: Tuple[str, ...] = ()
    spin: bool = False

    def __post_init__(self) -> None:
        if not (self.device == 'cpu' or self.device == 'cuda'
                or (self.device.startswith('cuda:') and self.device[5:].isdigit())):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if self.precision not in ('fp32', 'fp16', 'int8'):
            raise ValueError(f"precision must be 'fp32', 'fp16' or 'int8', got {self.precision!r}")
        if self.threads < 0:
            raise ValueError(f'threads must be >= 0, got {self.threads}')
        if self.inter_threads < 0:
            raise ValueError(f'inter_threads must be >= 0, got {self.inter_threads}')
        if self.head not in HEADS:
            raise ValueError(f'head must be one of {HEADS}, got {self.head!r}')
        if self.opt_level not in OPT_LEVELS:
            raise ValueError(f'opt_level must be one of {OPT_LEVELS}, got {self.opt_level!r}')
        if self.quantization not in QUANTIZATIONS:
            raise ValueError(f'quantization must be one of {QUANTIZATIONS}, '
                             f'got {self.quantization!r}')
        if not isinstance(self.calibration, tuple):
            raise ValueError('calibration must be a tuple of image paths')

    @property
    def is_cuda(self) -> bool:
        """Whether the device is a GPU."""
        return self.device.startswith('cuda')

    @property
    def device_index(self) -> int:
        """CUDA device ordinal (0 for ``'cuda'``)."""
        return int(self.device[5:]) if self.device.startswith('cuda:') else 0

    def resolved_cache_dir(self) -> str:
        """Return the cache directory (the caller creates it on demand).

        Raises:
            ValueError: ``$BAFF_ROS_CACHE_MAX_MB`` is malformed (reported before any export).
        """
        cache.max_bytes()
        return str(cache.cache_dir(self.cache_dir))


Outputs = Tuple[np.ndarray, List[np.ndarray]]
Segmented = Tuple[np.ndarray, np.ndarray, List[np.ndarray]]


class Backend:
    """Runs the network on a (N, 3, H, W) float32 normalised batch.

    Constructor signature of every backend: ``(model, options, input_size)``, where
    ``input_size`` is the (height, width) the backend may specialise for.

    A backend's graph either ends in floats: full-resolution logits (``head == 'logits'``) or
    the 1/8 scores (``'cells'``); then :meth:`infer` returns them and :meth:`segment`
    post-processes in numpy. Or it ends in labels + confidence (``'fast'``/``'exact'``):
    :meth:`segment` returns them straight from the graph and :meth:`infer` is unavailable.

    Attributes:
        name: backend name as given to ``--backend``.
        description: one line for logs (runtime version, device, precision).
        head: what the graph outputs (see :data:`HEADS`).
    """

    name = 'base'
    description = ''
    head = 'logits'
    #: Set by ``auto``: why each backend tried before this one could not start.
    auto_skipped: Sequence[str] = ()

    def infer(self, batch: np.ndarray) -> Outputs:
        """Return the graph's floats and the weight maps [(N, 1, h, w), ...] (maybe empty).

        The floats are the (N, K, H, W) logits, or with head ``'cells'`` the (N, K, H/8, W/8)
        scores.
        """
        raise NotImplementedError

    def segment(self, batch: np.ndarray) -> Segmented:
        """Return labels (N, H, W) uint8, confidence (N, H, W) uint8 and the weight maps."""
        from baff_ros.engine.postprocess import labels_and_confidence, labels_from_scores

        raw, weights = self.infer(batch)
        if self.head == 'cells':
            factor = batch.shape[2] // raw.shape[2]
            if (raw.shape[2] * factor, raw.shape[3] * factor) != tuple(batch.shape[2:]):
                raise BackendError(f'scores of {raw.shape[2]}x{raw.shape[3]} are not an '
                                   f'integer fraction of the input {batch.shape[2]}x'
                                   f'{batch.shape[3]}')
            labels, confidence = labels_from_scores(raw, factor)
        else:
            labels, confidence = labels_and_confidence(raw)
        return labels, confidence, weights

    def close(self) -> None:
        """Free device memory and runtime state."""


def head_of_outputs(requested: str, outputs: Sequence[str]) -> str:
    """Return the head a graph with these output names runs, given the one asked for.

    ``scores`` -> ``'cells'``; ``labels`` + ``confidence`` -> the requested in-graph head
    (``'exact'`` for ``'cells'``, which a network without 1/8 scores runs in the graph;
    ``'fast'`` for ``'logits'``); anything else -> ``'logits'``.
    """
    if 'scores' in outputs:
        return 'cells'
    if 'labels' in outputs and 'confidence' in outputs:
        return {'cells': 'exact', 'logits': 'fast'}.get(requested, requested)
    return 'logits'
