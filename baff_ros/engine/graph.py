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
"""The graph a backend runs: the model plus an optional labels/confidence head, and its export.

Computing the argmax and the confidence inside the graph keeps them on the runtime's threads (or
the GPU) and avoids handing the full (K, H, W) float logits back, which is most of the
post-processing cost. The ONNX export lives here (not in ``baff_ros/export.py``) because the
onnxruntime and TensorRT backends export on the fly; the ``export`` command adds the user-facing
checks on top.
"""

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import List, Optional, Sequence, Tuple
import warnings

import torch
from torch import nn
import torch.nn.functional as F

from baff_ros.engine import cache
from baff_ros.engine.artefacts import graph_outputs
from baff_ros.engine.backends.base import BackendError, HEADS
from baff_ros.model.config import fusion_points

#: Bump when the exported graph changes for the same model, to invalidate caches.
GRAPH_VERSION = 3
DEFAULT_OPSET = 17


def output_names(head: str, fusion_names: Sequence[str]) -> List[str]:
    """Return the ONNX output names (contract): the head's, then ``weights_<k>``.

    The head's are ``logits``, ``scores`` or ``labels``/``confidence``.
    """
    return graph_outputs(head, fusion_names)


class SegmentationGraph(nn.Module):
    """Wraps a model so that it returns a flat tuple of tensors, ready for tracing or export.

    Args:
        model: a BAFF-SkipNet (anything with ``forward_scores(x) -> (1/8 scores, weights)``),
            or a plain segmentation network returning logits (then no weights).
        head: one of :data:`~baff_ros.engine.backends.base.HEADS`.
        with_weights: also return the BAFF weight maps.
    """

    def __init__(self, model: nn.Module, head: str = 'fast', with_weights: bool = True) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f'head must be one of {HEADS}, got {head!r}')
        self.model = model
        self.head = head
        self.with_weights = with_weights
        # BAFFSkipNet exposes its 1/8 fused scores (forward_scores): 'cells' returns them and
        # 'fast' computes confidence from them; other models (peers) fall back to the exact
        # confidence, and run 'cells' as 'exact' (the head they actually have).
        self._has_scores = hasattr(model, 'forward_scores')
        if head == 'cells' and not self._has_scores:
            self.head = 'exact'
        self._fast = head == 'fast' and self._has_scores

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return (logits or scores, *weights) or (labels uint8, confidence uint8, *weights)."""
        low = None
        if self._has_scores:
            low, weights = getattr(self.model, 'forward_scores')(x)
        else:
            logits, weights = self.model(x), []
        if not self.with_weights:
            weights = []
        if low is not None:
            if self.head == 'cells':  # (a network without 1/8 scores runs 'exact' instead)
                return (low, *weights)
            # Sized from x.shape, so a traced export keeps dynamic H and W.
            logits = F.interpolate(low, size=x.shape[-2:], mode='bilinear', align_corners=False)
        if self.head == 'logits':
            return (logits, *weights)
        labels = torch.argmax(logits, dim=1).to(torch.uint8)
        if self._fast and low is not None:
            prob = torch.softmax(low.float(), dim=1).amax(dim=1, keepdim=True)
            prob = F.interpolate(prob, size=logits.shape[-2:], mode='bilinear',
                                 align_corners=False)[:, 0]
        else:
            scores = logits.float()
            top = scores.amax(dim=1, keepdim=True)
            prob = 1.0 / torch.exp(scores - top).sum(dim=1)
        confidence = (prob * 255.0).clamp(0.0, 255.0).to(torch.uint8)
        return (labels, confidence, *weights)


def model_hash(model: nn.Module) -> str:
    """SHA-256 (16 hex) of the architecture config and every parameter and buffer."""
    h = hashlib.sha256()
    cfg = getattr(model, 'cfg', None)
    h.update(json.dumps(cfg.to_dict() if cfg is not None else type(model).__name__,
                        sort_keys=True).encode())
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f'{name}:{t.dtype}:{tuple(t.shape)}'.encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()[:16]


def export_onnx(model: nn.Module, path: os.PathLike, input_size: Tuple[int, int],
                head: str = 'logits', with_weights: bool = True, dynamic: bool = False,
                opset: int = DEFAULT_OPSET, fusion_names: Optional[Sequence[str]] = None
                ) -> Path:
    """Export ``model`` to ONNX with input ``image`` and named outputs.

    Uses the TorchScript-based exporter (``dynamo=False``): on this model its graphs run about
    1.7x faster in onnxruntime than the dynamo exporter's at the same opset (measured, see
    docs/engine.md), and it does not touch the model. The model is deep-copied anyway, because
    the dynamo exporter was seen to modify the module it exports.

    Args:
        model: the network (CPU, fp32 copy is made).
        path: the .onnx file to write (parent directories are created).
        input_size: (height, width) of the example input.
        head: what the graph outputs (see :class:`SegmentationGraph`).
        with_weights: include the BAFF weight maps as outputs.
        dynamic: make batch, height and width dynamic.
        opset: ONNX opset.
        fusion_names: weight output suffixes; default ``fusion_points(model)``.

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = copy.deepcopy(model).float().cpu().eval()
    if dynamic:  # shapes seen while tracing must not decide what the graph does
        for module in net.modules():
            if hasattr(module, 'always_crop'):
                setattr(module, 'always_crop', True)
    points = fusion_points(net)
    with_weights = with_weights and bool(points)
    names = list(fusion_names if fusion_names is not None else points) if with_weights else []
    graph = SegmentationGraph(net, head, with_weights).eval()
    outputs = output_names(graph.head, names)
    dynamic_axes = None
    if dynamic:
        spatial = {0: 'batch', 2: 'height', 3: 'width'}
        dynamic_axes = {'image': spatial}
        for name in outputs:
            dynamic_axes[name] = ({0: 'batch', 1: 'height', 2: 'width'}
                                  if name in ('labels', 'confidence') else
                                  {0: 'batch', 2: 'height', 3: 'width'} if name == 'logits'
                                  else {0: 'batch', 2: 'scores_height', 3: 'scores_width'}
                                  if name == 'scores'
                                  # Each weight map has its own size: distinct names, or
                                  # onnxruntime assumes equal shapes and fails at run time.
                                  else {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'})
    example = torch.zeros(1, getattr(getattr(net, 'cfg', None), 'in_channels', 3), *input_size)
    tmp = path.with_name(f'{path.name}.{os.getpid()}.tmp')  # two processes may export at once
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter('ignore')
            torch.onnx.export(graph, (example,), str(tmp), input_names=['image'],
                              output_names=outputs, dynamic_axes=dynamic_axes,
                              opset_version=opset, do_constant_folding=True, dynamo=False)
    except Exception as exc:  # noqa: BLE001 - exporter errors come in many types
        tmp.unlink(missing_ok=True)
        raise BackendError(f'ONNX export failed: {str(exc).splitlines()[0]}') from exc
    # Write-then-rename: a crash mid-export never leaves a truncated file in the cache.
    os.replace(tmp, path)
    return path


def cached_onnx(model: nn.Module, input_size: Tuple[int, int], head: str, with_weights: bool,
                cache_dir: str, opset: int = DEFAULT_OPSET) -> Path:
    """Export once into ``cache_dir``, keyed by model hash, input shape, head and versions.

    A hit refreshes the entry's last use; a new export may evict least recently used entries
    (:mod:`baff_ros.engine.cache`).
    """
    key = '_'.join([model_hash(model), f'{input_size[0]}x{input_size[1]}', head,
                    'w' if with_weights else 'nw', f'op{opset}', f'g{GRAPH_VERSION}',
                    f'torch{torch.__version__.split("+")[0]}'])
    path = Path(cache_dir) / 'onnx' / f'{key}.onnx'
    if not cache.mark_used(path):
        export_onnx(model, path, input_size, head, with_weights, opset=opset)
        cache.added(path)
    return path
