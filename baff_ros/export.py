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
"""Model export: ONNX (checked, parity-tested against PyTorch) and TensorRT engines.

Both carry the metadata that runs them without the checkpoint (:mod:`baff_ros.engine.artefacts`):
in the ONNX file's ``metadata_props``, and in a ``<engine>.json`` sidecar beside an engine.
"""

from dataclasses import dataclass, replace
import json
import os
from pathlib import Path
from typing import Any, cast, Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from baff_ros.atomic import PendingFile
from baff_ros.engine.artefacts import (ExportMeta, file_sha256, METADATA_KEY, read_onnx_meta,
                                       sidecar_path)
from baff_ros.engine.backends.base import BackendError, BackendOptions
from baff_ros.engine.graph import DEFAULT_OPSET, export_onnx
from baff_ros.model.checkpoint import CheckpointMeta
from baff_ros.model.config import fusion_points

#: Parity tolerances: max |logit difference| and the share of pixels whose label may differ.
LOGIT_TOLERANCE = 1e-3
LABEL_AGREEMENT_MIN = 0.999


@dataclass(frozen=True)
class Parity:
    """How closely a runtime reproduces PyTorch on one input.

    Attributes:
        max_abs_logit_diff: max |logits_runtime - logits_torch|; None for a graph whose head
            outputs labels and confidence instead of logits.
        label_agreement: share of pixels with the same argmax label, in [0, 1].
        max_abs_weight_diff: max difference of the BAFF weight maps (0 if none).
        size: (height, width) of the test input.
        max_abs_confidence_diff: labels/confidence graphs: max difference of the uint8
            confidence (rounding may make it 1); None for a logits graph.
    """

    max_abs_logit_diff: Optional[float]
    label_agreement: float
    max_abs_weight_diff: float
    size: Tuple[int, int]
    max_abs_confidence_diff: Optional[float] = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.label_agreement <= 1.0:
            raise ValueError(f'label_agreement must be in [0, 1], got {self.label_agreement}')

    def ok(self, logit_tol: float = LOGIT_TOLERANCE,
           agreement_min: float = LABEL_AGREEMENT_MIN) -> bool:
        """Whether the logits (if any) and the labels are within tolerance."""
        logits_ok = self.max_abs_logit_diff is None or self.max_abs_logit_diff <= logit_tol
        return logits_ok and self.label_agreement >= agreement_min

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready form."""
        return {'max_abs_logit_diff': self.max_abs_logit_diff,
                'label_agreement': self.label_agreement,
                'max_abs_weight_diff': self.max_abs_weight_diff, 'size': list(self.size),
                'max_abs_confidence_diff': self.max_abs_confidence_diff}


def _hw(size: Sequence[int]) -> Tuple[int, int]:
    """(height, width) of a size given as any sequence."""
    return cast(Tuple[int, int], tuple(size))


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
        is_baff = bool(fusion_points(model))
        if is_baff:
            ref, ref_w = model.eval()(torch.from_numpy(x), return_weights=True)
        else:
            ref, ref_w = model.eval()(torch.from_numpy(x)), []
    ref = ref.numpy()
    wdiff = max((float(np.abs(a - b.numpy()).max()) for a, b in zip(weights, ref_w)),
                default=0.0)
    return Parity(float(np.abs(logits - ref).max()),
                  float((logits.argmax(1) == ref.argmax(1)).mean()), wdiff, _hw(size))


def head_parity(model: torch.nn.Module, onnx_path: Path, head: str, size: Tuple[int, int],
                with_weights: bool = True, threads: int = 0) -> Parity:
    """Compare a labels/confidence graph (head ``fast``/``exact``) with that head in PyTorch.

    A ``cells`` graph (1/8 scores, labels computed in numpy) is compared with the ``fast`` head:
    the same labels (exact argmax of the full-resolution logits) and confidence.
    """
    from baff_ros.engine.backends.onnxruntime_backend import OnnxRuntimeBackend
    from baff_ros.engine.graph import SegmentationGraph

    x = parity_input(size)
    backend = OnnxRuntimeBackend(None, BackendOptions(onnx_file=str(onnx_path), threads=threads,
                                                      head=head), size)
    try:
        labels, confidence, weights = backend.segment(x)
    finally:
        backend.close()
    is_baff = bool(fusion_points(model))
    graph = SegmentationGraph(model.eval(), 'fast' if head == 'cells' else head,
                              with_weights and is_baff).eval()
    with torch.inference_mode():
        ref = [t.numpy() for t in graph(torch.from_numpy(x))]
    wdiff = max((float(np.abs(a - b).max()) for a, b in zip(weights, ref[2:])), default=0.0)
    cdiff = float(np.abs(confidence.astype(np.int16) - ref[1].astype(np.int16)).max())
    return Parity(None, float((labels == ref[0]).mean()), wdiff, _hw(size), cdiff)


def sidecar_text(metadata: Dict[str, Any]) -> str:
    """Return the text of an engine's ``<engine>.json`` sidecar: the metadata document."""
    return json.dumps(metadata, indent=2, sort_keys=True) + '\n'


def export_metadata(model: torch.nn.Module, meta: Optional[CheckpointMeta],
                    source: Optional[os.PathLike], size: Tuple[int, int], dynamic: bool,
                    head: str, outputs: Sequence[str], opset: Optional[int],
                    **extra: Any) -> ExportMeta:
    """Build the metadata an export carries (:class:`baff_ros.engine.artefacts.ExportMeta`).

    Args:
        model: the exported network.
        meta: its checkpoint metadata; default: Cityscapes classes for its config.
        source: the checkpoint file it came from (its name and SHA-256 are recorded).
        size: the (height, width) the graph was exported at.
        dynamic: whether height and width are dynamic.
        head: the graph's head.
        outputs: the graph's output names, in order.
        opset: the ONNX opset.
        extra: format-specific keys (a TensorRT engine's precision).
    """
    from baff_ros import __version__
    from baff_ros.engine.graph import model_hash

    if meta is None:
        # A BAFF-SkipNet carries its config; another network (a benchmark peer) gets the
        # default config's class table for the number of classes it outputs.
        config = getattr(model, 'cfg', None)
        if config is None:
            from baff_ros.model.config import ModelConfig

            classes = next(m for m in reversed(list(model.modules()))
                           if hasattr(m, 'out_channels')).out_channels
            config = ModelConfig(num_classes=cast(int, classes))
        meta = CheckpointMeta.default(config)
    meta = replace(meta, input_size=_hw(size))
    fusion = tuple(o[len('weights_'):] for o in outputs if o.startswith('weights_'))
    return ExportMeta(meta=meta, fusion_points=fusion, dynamic=dynamic, head=head,
                      outputs=tuple(outputs), model_hash=model_hash(model),
                      source=Path(source).name if source else '',
                      source_sha256=file_sha256(source) if source else '',
                      baff_ros_version=__version__, opset=opset, extra=dict(extra))


def write_onnx_metadata(path: Path, metadata: ExportMeta) -> None:
    """Store ``metadata`` in the ONNX file's ``metadata_props`` (key ``baff_ros``), in place."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in proto.metadata_props}
    props[METADATA_KEY] = metadata.to_json()
    onnx.helper.set_model_props(proto, props)  # replaces every entry
    onnx.save(proto, str(path))


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
                 parity_size: Optional[Tuple[int, int]] = None,
                 meta: Optional[CheckpointMeta] = None, source: Optional[os.PathLike] = None,
                 head: str = 'logits') -> Dict[str, Any]:
    """Export and verify. Returns a report; raises BackendError on failure.

    ONNX: write, ``onnx.checker``, store the metadata, read it back, parity vs PyTorch in
    onnxruntime. TensorRT: build the engine through the tensorrt backend (so it lands in the
    same cache and is verified to load), copy it to ``out`` and write ``out.json`` beside it.

    Args:
        meta: the checkpoint's metadata (classes, palette, normalisation) to carry; default:
            Cityscapes classes for the model's config.
        source: the checkpoint file, recorded by name and SHA-256.
        head: ``'logits'`` (default; parity on the logits) or ``'fast'``/``'exact'`` (labels
            and confidence computed in the graph: what a node runs fastest; parity on labels).
    """
    out = Path(out)
    if fmt not in ('onnx', 'tensorrt'):
        raise AssertionError(fmt)  # checked by export_model
    # Written beside ``out`` and renamed onto it once it loads and checks: a failed export
    # leaves an earlier file of that name as it was. An engine's sidecar likewise.
    pending = PendingFile(out)
    side = PendingFile(sidecar_path(out)) if fmt == 'tensorrt' else None
    try:
        report = _export(model, pending.tmp, fmt, size, dynamic, with_weights, opset, device,
                         precision, parity_size, meta, source, head)
        if side is not None:
            side.tmp.write_text(sidecar_text(report['metadata']))
    except BaseException:
        pending.discard()
        if side is not None:
            side.discard()
        raise
    pending.commit()
    report['path'] = str(out)
    if side is not None:
        report['sidecar'] = str(side.commit())
    return report


def _export(model: torch.nn.Module, out: Path, fmt: str, size: Tuple[int, int], dynamic: bool,
            with_weights: bool, opset: int, device: str, precision: str,
            parity_size: Optional[Tuple[int, int]], meta: Optional[CheckpointMeta],
            source: Optional[os.PathLike], head: str) -> Dict[str, Any]:
    if fmt == 'onnx':
        export_onnx(model, out, size, head=head, with_weights=with_weights,
                    dynamic=dynamic, opset=opset)
        check_onnx(out)
        import onnx

        proto = onnx.load(str(out), load_external_data=False)
        outputs = [o.name for o in proto.graph.output]
        metadata = export_metadata(model, meta, source, size, dynamic, head, outputs, opset)
        write_onnx_metadata(out, metadata)
        read_onnx_meta(out)  # what a runtime will read: parsable and complete
        report: Dict[str, Any] = {
            'format': 'onnx', 'path': str(out), 'opset': opset, 'dynamic': dynamic,
            'head': head, 'inputs': [i.name for i in proto.graph.input], 'outputs': outputs,
            'metadata': metadata.to_dict()}
        if head == 'logits':
            parity = onnx_parity(model, out, parity_size or size)
        else:
            parity = head_parity(model, out, head, parity_size or size, with_weights)
        report['parity'] = parity.to_dict()
        report['parity_ok'] = parity.ok()
        return report
    if fmt == 'tensorrt':
        import shutil

        from baff_ros.engine.artefacts import graph_outputs
        from baff_ros.engine.backends.tensorrt_backend import TensorRTBackend

        opts = BackendOptions(device=device, precision=precision, head=head,
                              with_weights=with_weights)
        backend = TensorRTBackend(model, opts, size)
        try:
            shutil.copyfile(backend.engine_path, out)
            fusion = list(fusion_points(model)) if with_weights else []
            metadata = export_metadata(model, meta, source, size, False, backend.head,
                                       graph_outputs(backend.head, fusion), DEFAULT_OPSET,
                                       precision=precision, built_with=backend.description)
            return {'format': 'tensorrt', 'path': str(out), 'description': backend.description,
                    'metadata': metadata.to_dict()}
        finally:
            backend.close()
    raise ValueError(f"format must be 'onnx' or 'tensorrt', got {fmt!r}")
