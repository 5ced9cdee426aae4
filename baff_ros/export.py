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
"""Model export: ONNX (checked, parity-tested against PyTorch) and TensorRT engines."""

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from baff_ros.atomic import PendingFile
from baff_ros.engine.backends.base import BackendError, BackendOptions
from baff_ros.engine.graph import DEFAULT_OPSET, export_onnx

#: Parity tolerances: max |logit difference| and the share of pixels whose label may differ.
LOGIT_TOLERANCE = 1e-3
LABEL_AGREEMENT_MIN = 0.999


@dataclass(frozen=True)
class Parity:
    """How closely a runtime reproduces PyTorch on one input.

    Attributes:
        max_abs_logit_diff: max |logits_runtime - logits_torch|.
        label_agreement: share of pixels with the same argmax label, in [0, 1].
        max_abs_weight_diff: max difference of the BAFF weight maps (0 if none).
        size: (height, width) of the test input.
    """

    max_abs_logit_diff: float
    label_agreement: float
    max_abs_weight_diff: float
    size: Tuple[int, int]

    def __post_init__(self) -> None:
        if not 0.0 <= self.label_agreement <= 1.0:
            raise ValueError(f'label_agreement must be in [0, 1], got {self.label_agreement}')

    def ok(self, logit_tol: float = LOGIT_TOLERANCE,
           agreement_min: float = LABEL_AGREEMENT_MIN) -> bool:
        """Whether both figures are within tolerance."""
        return self.max_abs_logit_diff <= logit_tol and self.label_agreement >= agreement_min

    def to_dict(self) -> Dict[str, object]:
        """JSON-ready form."""
        return {'max_abs_logit_diff': self.max_abs_logit_diff,
                'label_agreement': self.label_agreement,
                'max_abs_weight_diff': self.max_abs_weight_diff, 'size': list(self.size)}


def parity_input(size: Tuple[int, int], seed: int = 0) -> np.ndarray:
    """Make a (1, 3, H, W) normalised-range test batch: smooth structure plus noise.

    Smooth regions make the argmax spatially coherent, as on real images, so label agreement
    measures the runtime rather than coin flips between near-equal logits.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    coarse = rng.normal(0.0, 1.0, (1, 3, max(1, h // 16), max(1, w // 16))).astype(np.float32)
    smooth = torch.nn.functional.interpolate(torch.from_numpy(coarse), size=(h, w),
                                             mode='bilinear', align_corners=False).numpy()
    return (smooth + rng.normal(0.0, 0.2, smooth.shape)).astype(np.float32)


def onnx_parity(model: torch.nn.Module, onnx_path: Path, size: Tuple[int, int],
                threads: int = 0) -> Parity:
    """Run ``onnx_path`` in onnxruntime (CPU) and the model in PyTorch on the same input."""
    from baff_ros.engine.backends.onnxruntime_backend import OnnxRuntimeBackend

    x = parity_input(size)
    backend = OnnxRuntimeBackend(None, BackendOptions(onnx_file=str(onnx_path), threads=threads,
                                                      head='logits'), size)
    try:
        if backend.head != 'logits':
            raise BackendError(f'{onnx_path}: parity needs a graph with a logits output')
        logits, weights = backend.infer(x)
    finally:
        backend.close()
    with torch.inference_mode():
        is_baff = getattr(getattr(model, 'cfg', None), 'fusion', None) == 'baff'
        if is_baff:
            ref, ref_w = model.eval()(torch.from_numpy(x), return_weights=True)
        else:
            ref, ref_w = model.eval()(torch.from_numpy(x)), []
    ref = ref.numpy()
    wdiff = max((float(np.abs(a - b.numpy()).max()) for a, b in zip(weights, ref_w)),
                default=0.0)
    return Parity(float(np.abs(logits - ref).max()),
                  float((logits.argmax(1) == ref.argmax(1)).mean()), wdiff, tuple(size))


def check_onnx(path: Path) -> None:
    """Run onnx.checker (full check, with shape inference); raise BackendError if invalid."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:  # noqa: BLE001 - protobuf decode and checker errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendError(f'{path}: ONNX check failed: {first[:200]}') from exc


def export_model(model: torch.nn.Module, out: Path, fmt: str = 'onnx',
                 size: Tuple[int, int] = (512, 1024), dynamic: bool = False,
                 with_weights: bool = True, opset: int = DEFAULT_OPSET,
                 device: str = 'cuda', precision: str = 'fp16',
                 parity_size: Optional[Tuple[int, int]] = None) -> Dict[str, object]:
    """Export and verify. Returns a report; raises BackendError on failure.

    ONNX: write, ``onnx.checker``, parity vs PyTorch in onnxruntime. TensorRT: build the engine
    through the tensorrt backend (so it lands in the same cache and is verified to load), then
    copy it to ``out``.
    """
    out = Path(out)
    if fmt not in ('onnx', 'tensorrt'):
        raise AssertionError(fmt)  # checked by export_model
    # Written beside ``out`` and renamed onto it once it loads and checks: a failed export
    # leaves an earlier file of that name as it was.
    pending = PendingFile(out)
    try:
        report = _export(model, pending.tmp, fmt, size, dynamic, with_weights, opset, device,
                         precision, parity_size)
    except BaseException:
        pending.discard()
        raise
    pending.commit()
    report['path'] = str(out)
    return report


def _export(model: torch.nn.Module, out: Path, fmt: str, size: Tuple[int, int], dynamic: bool,
            with_weights: bool, opset: int, device: str, precision: str,
            parity_size: Optional[Tuple[int, int]]) -> Dict[str, object]:
    if fmt == 'onnx':
        export_onnx(model, out, size, head='logits', with_weights=with_weights,
                    dynamic=dynamic, opset=opset)
        check_onnx(out)
        import onnx

        proto = onnx.load(str(out), load_external_data=False)
        report: Dict[str, object] = {
            'format': 'onnx', 'path': str(out), 'opset': opset, 'dynamic': dynamic,
            'inputs': [i.name for i in proto.graph.input],
            'outputs': [o.name for o in proto.graph.output]}
        parity = onnx_parity(model, out, parity_size or size)
        report['parity'] = parity.to_dict()
        report['parity_ok'] = parity.ok()
        return report
    if fmt == 'tensorrt':
        import shutil

        from baff_ros.engine.backends.tensorrt_backend import TensorRTBackend

        opts = BackendOptions(device=device, precision=precision, head='logits',
                              with_weights=with_weights)
        backend = TensorRTBackend(model, opts, size)
        try:
            shutil.copyfile(backend.engine_path, out)
            return {'format': 'tensorrt', 'path': str(out), 'description': backend.description}
        finally:
            backend.close()
    raise ValueError(f"format must be 'onnx' or 'tensorrt', got {fmt!r}")
