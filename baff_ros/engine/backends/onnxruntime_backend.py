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
"""onnxruntime backend: CPU, CUDA or TensorRT execution providers, optional int8 quantisation.

The session runs either an ONNX file given by the user or an export of the model made on the fly
into the cache directory (keyed by model hash, input shape and head; see
:func:`baff_ros.engine.graph.cached_onnx`), so the second start is fast. Running a given file
imports no torch (the exporter is imported only to export).
"""

import hashlib
import os
from pathlib import Path
from typing import Any, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from baff_ros.engine import cache
from baff_ros.engine.backends.base import (Backend, BackendError, BackendOptions, Outputs,
                                           RAW_HEADS, Segmented, head_of_outputs)
from baff_ros.model.config import fusion_points

_OPT_LEVELS = {'disable': 'ORT_DISABLE_ALL', 'basic': 'ORT_ENABLE_BASIC',
               'extended': 'ORT_ENABLE_EXTENDED', 'all': 'ORT_ENABLE_ALL'}


def import_onnxruntime():
    """Import onnxruntime or raise a BackendError that says how to get it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise BackendError('onnxruntime is not installed: pip install onnxruntime '
                           '(or onnxruntime-gpu for CUDA), or use --backend torch') from exc
    return onnxruntime


def calibration_batches(input_size: Tuple[int, int], mean: Sequence[float],
                        std: Sequence[float], files: Sequence[str] = (), count: int = 8
                        ) -> List[np.ndarray]:
    """Normalised (1, 3, H, W) float32 batches for int8 calibration and accuracy checks.

    From ``files`` (read with OpenCV, RGB) when given; otherwise deterministic synthetic street
    scenes (sky, road, building blocks, noise) so the calibration range resembles camera input.
    """
    import cv2

    h, w = input_size
    images = []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            raise BackendError(f'{f}: cannot read calibration image')
        images.append(cv2.cvtColor(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA),
                                   cv2.COLOR_BGR2RGB))
    rng = np.random.default_rng(0)
    while len(images) < (count if not files else len(files)):
        img = np.empty((h, w, 3), np.uint8)
        img[:h // 3] = rng.integers(120, 230, 3)           # sky
        img[h // 3:] = rng.integers(60, 140, 3)            # buildings
        img[2 * h // 3:] = rng.integers(40, 110, 3)        # road
        for _ in range(12):                                # objects
            y, x = int(rng.integers(0, h - 8)), int(rng.integers(0, w - 8))
            bh, bw = int(rng.integers(8, h // 3)), int(rng.integers(8, w // 4))
            img[y:y + bh, x:x + bw] = rng.integers(0, 255, 3)
        noise = rng.normal(0.0, 8.0, img.shape)
        images.append(np.clip(img + noise, 0, 255).astype(np.uint8))
    m = np.asarray(mean, np.float32).reshape(1, 3, 1, 1)
    s = np.asarray(std, np.float32).reshape(1, 3, 1, 1)
    return [((img.transpose(2, 0, 1)[None].astype(np.float32) / 255.0) - m) / s
            for img in images]


def quantize_onnx(src: Path, dst: Path, mode: str, batches: Iterable[np.ndarray]) -> Path:
    """int8-quantise ``src`` into ``dst``: static QDQ (per-channel, calibrated) or dynamic."""
    from onnxruntime import quantization as q

    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f'{dst.name}.{os.getpid()}.tmp')
    try:
        if mode == 'dynamic':
            q.quantize_dynamic(str(src), str(tmp), weight_type=q.QuantType.QInt8,
                               per_channel=True)
        else:
            class Reader(q.CalibrationDataReader):
                def __init__(self, data):
                    self._it = iter([{'image': b} for b in data])

                def get_next(self):
                    return next(self._it, None)

            # Pre-processing (shape inference + graph fusion) lets the quantiser see Conv+Relu
            # patterns, so fewer QDQ pairs end up inside fused ops.
            pre = dst.with_name(f'{dst.name}.{os.getpid()}.pre.onnx')
            try:
                q.quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
                model_in = pre
            except Exception:  # noqa: BLE001 - pre-processing is an optimisation only
                model_in = src
            q.quantize_static(str(model_in), str(tmp), Reader(list(batches)),
                              quant_format=q.QuantFormat.QDQ, per_channel=True,
                              activation_type=q.QuantType.QUInt8,
                              weight_type=q.QuantType.QInt8,
                              calibrate_method=q.CalibrationMethod.MinMax,
                              # The head (argmax, softmax, interpolation of scores) and the
                              # BAFF sigmoid stay float: they are cheap and precision-critical.
                              op_types_to_quantize=['Conv', 'MatMul', 'Add', 'Mul'])
            pre.unlink(missing_ok=True)
    except Exception as exc:  # noqa: BLE001
        tmp.unlink(missing_ok=True)
        raise BackendError(f'int8 quantisation failed: {str(exc).splitlines()[0]}') from exc
    os.replace(tmp, dst)
    return dst


def _onnx_error(path: str, exc: Exception) -> BackendError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return BackendError(f'{path}: not a valid ONNX model or not runnable by onnxruntime '
                        f'({first[:200]})')


class OnnxRuntimeBackend(Backend):
    """Runs an ONNX graph with onnxruntime."""

    name = 'onnxruntime'

    def __init__(self, model: Optional[Any], options: BackendOptions = BackendOptions(),
                 input_size: Optional[Tuple[int, int]] = None, meta=None) -> None:
        ort = import_onnxruntime()
        self.options = options
        available = ort.get_available_providers()
        if options.is_cuda:
            if 'CUDAExecutionProvider' not in available:
                raise BackendError(f'device {options.device!r} requested but this onnxruntime '
                                   f'({ort.__version__}) has no CUDA execution provider '
                                   f'(available: {", ".join(available)}); install '
                                   'onnxruntime-gpu')
            providers = [('CUDAExecutionProvider', {'device_id': options.device_index}),
                         'CPUExecutionProvider']
        else:
            providers = ['CPUExecutionProvider']
        if options.precision == 'fp16':
            raise BackendError('the onnxruntime backend runs fp32 or int8; use --backend '
                               'tensorrt or torch for fp16')
        if options.onnx_file:
            path = Path(options.onnx_file)
            if not path.is_file():
                raise BackendError(f'{path}: ONNX file not found')
        else:
            if model is None or input_size is None:
                raise BackendError('onnxruntime backend needs a model and an input size, or '
                                   'an ONNX file')
            from baff_ros.engine.graph import cached_onnx

            is_baff = bool(fusion_points(model))
            path = cached_onnx(model, input_size, options.head,
                               options.with_weights and is_baff, options.resolved_cache_dir())
        self.fp32_path = path
        if options.precision == 'int8':
            path = self._quantized(path, input_size, meta)
        self.path = path
        so = ort.SessionOptions()
        so.graph_optimization_level = getattr(ort.GraphOptimizationLevel,
                                              _OPT_LEVELS[options.opt_level])
        if options.threads:
            so.intra_op_num_threads = options.threads
        if options.inter_threads:
            so.inter_op_num_threads = options.inter_threads
            so.execution_mode = ort.ExecutionMode.ORT_PARALLEL
        # Idle intra-op threads busy-wait by default. With more than one session in a process
        # (the benchmark, or a node next to other runtimes) the spinning threads of one session
        # steal the cores the next one needs: measured +30 ms per call at 512x1024 on 2 cores.
        # Sleeping idle threads cost well under 1 ms per call here.
        so.add_session_config_entry('session.intra_op.allow_spinning',
                                    '1' if options.spin else '0')
        so.log_severity_level = 3  # warnings about unused initialisers are noise here
        try:
            self.session = ort.InferenceSession(str(path), so, providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise _onnx_error(str(path), exc) from exc
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise BackendError(f'{path}: expected one input (image), found {len(inputs)}')
        self.input_name = inputs[0].name
        self.input_shape = tuple(inputs[0].shape)
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.head = head_of_outputs(options.head, self.output_names)
        if self.head == 'cells':
            self._first = ['scores']
        elif self.head != 'logits':
            self._first = ['labels', 'confidence']
        else:
            self._first = ['logits' if 'logits' in self.output_names else self.output_names[0]]
        self.weight_names = sorted(
            (n for n in self.output_names if n.startswith('weights_')),
            key=lambda n: -int(n.split('_')[1]) if n.split('_')[1].isdigit() else 0)
        if not options.with_weights:
            self.weight_names = []
        self._fetch = self._first + self.weight_names
        static = all(isinstance(d, int) for d in self.input_shape[2:])
        if input_size is not None and static and tuple(self.input_shape[2:]) != tuple(input_size):
            raise BackendError(f'{path}: the ONNX input is {self.input_shape[2]}x'
                               f'{self.input_shape[3]}, the network input size asked for is '
                               f'{input_size[0]}x{input_size[1]}; export with --dynamic or '
                               'pass a matching --size')
        provider = self.session.get_providers()[0].replace('ExecutionProvider', '')
        self.description = (f'onnxruntime {ort.__version__} {provider} ({options.precision}'
                            f'{" " + options.quantization if options.precision == "int8" else ""}'
                            f'; head {self.head}; {path.name})')

    def _quantized(self, src: Path, input_size: Optional[Tuple[int, int]], meta) -> Path:
        from baff_ros.model.checkpoint import IMAGENET_MEAN, IMAGENET_STD

        if input_size is None:
            raise BackendError('int8 needs the network input size for calibration')
        mean = meta.mean if meta is not None else IMAGENET_MEAN
        std = meta.std if meta is not None else IMAGENET_STD
        files = self.options.calibration
        h = hashlib.sha256(src.read_bytes())
        h.update(self.options.quantization.encode())
        for f in files:
            h.update(Path(f).read_bytes())
        dst = (Path(self.options.resolved_cache_dir()) / 'int8'
               / f'{src.stem}_{h.hexdigest()[:12]}.onnx')
        if not cache.mark_used(dst):
            batches = calibration_batches(input_size, mean, std, files)
            quantize_onnx(src, dst, self.options.quantization, batches)
            cache.added(dst)
        return dst

    def _run(self, batch: np.ndarray) -> List[np.ndarray]:
        try:
            return self.session.run(self._fetch, {self.input_name: batch})
        except Exception as exc:  # noqa: BLE001
            raise BackendError(f'onnxruntime run failed: {str(exc).splitlines()[0]}') from exc

    def infer(self, batch: np.ndarray) -> Outputs:
        if self.head not in RAW_HEADS:
            raise BackendError(f"infer() needs head 'logits' or 'cells', this graph has "
                               f'{self.head!r}')
        out = self._run(batch)
        return out[0], out[1:]

    def segment(self, batch: np.ndarray) -> Segmented:
        if self.head in RAW_HEADS:
            return super().segment(batch)
        out = self._run(batch)
        return out[0], out[1], out[2:]

    def close(self) -> None:
        self.session = None
