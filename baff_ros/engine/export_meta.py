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
"""The metadata document of an exported model (:class:`ExportMeta`) and its schema.

An ONNX file carries it as JSON in ``metadata_props['baff_ros']``, a TensorRT engine in a
``<engine>.json`` sidecar (see :mod:`baff_ros.engine.artefacts`): everything the Segmenter
needs besides the graph (classes, palette, normalisation, input size, fusion points, outputs).
"""

from dataclasses import dataclass, field
import json
from typing import Any, cast, Dict, List, Optional, Sequence, Tuple

from baff_ros.engine.backends.base import HEADS
from baff_ros.model.checkpoint import CheckpointMeta
from baff_ros.model.config import check_input_size, ModelConfig

#: Version of the metadata document; bumped when a reader of the old one would misread it.
ARTEFACT_VERSION = 1
#: The ONNX ``metadata_props`` key (and the sidecar's only content) holding the document.
METADATA_KEY = 'baff_ros'
CHECKPOINT_SUFFIXES = ('.safetensors',)
ONNX_SUFFIXES = ('.onnx',)
ENGINE_SUFFIXES = ('.engine', '.plan')
SIDECAR_SUFFIX = '.json'
#: Keys without which an exported model cannot be run (see docs/engine.md for each).
REQUIRED_KEYS = ('artefact_version', 'classes', 'palette', 'mean', 'std', 'input_size',
                 'dynamic', 'fusion_points', 'head', 'outputs')
#: Artefact kinds: what ``--model`` named.
KINDS = ('checkpoint', 'untrained', 'onnx', 'tensorrt')


class ArtefactError(ValueError):
    """A model file is missing, of an unknown type, unreadable or lacks its metadata."""


def graph_outputs(head: str, fusion_points: Sequence[str]) -> List[str]:
    """Return the output names of an exported graph: the head's, then the weights.

    The head's are ``logits``, ``scores`` (head ``'cells'``) or ``labels``/``confidence``.

    Defined here, without torch, for readers of exported files; the exporter
    (:func:`baff_ros.engine.graph.output_names`) uses it too.
    """
    first = ({'logits': ['logits'], 'cells': ['scores']}.get(head)
             or ['labels', 'confidence'])
    return first + [f'weights_{name}' for name in fusion_points]


@dataclass(frozen=True)
class ExportMeta:
    """What an exported model carries besides its graph: one JSON document.

    Attributes:
        meta: classes, palette, mean/std, the network input size the export was made at, the
            architecture, and the checkpoint's provenance and metrics.
        fusion_points: fusion points whose BAFF weight maps the graph outputs
            (``weights_<name>``), in output order; empty when exported without them.
        dynamic: whether batch, height and width are dynamic; if not, the network runs only at
            ``meta.input_size``.
        head: ``'logits'`` (the graph outputs logits; argmax and confidence in numpy),
            ``'cells'`` (the 1/8 scores; exact labels computed from them in numpy), or
            ``'fast'``/``'exact'`` (uint8 labels and confidence computed in the graph).
        outputs: the graph's output names, in order.
        input_name: the graph's input: (N, 3, H, W) float32 RGB, normalised with mean/std.
        model_hash: SHA-256 (16 hex) of the architecture and every tensor of the exported
            network (the key of the export cache).
        source: file name of the checkpoint it was exported from; empty for an untrained model.
        source_sha256: SHA-256 of that checkpoint file; empty if none.
        baff_ros_version: version of the baff_ros that exported it.
        opset: ONNX opset (for an engine: of the ONNX graph it was built from).
        extra: format-specific facts (a TensorRT engine's precision and builder).
    """

    meta: CheckpointMeta
    fusion_points: Tuple[str, ...]
    dynamic: bool
    head: str
    outputs: Tuple[str, ...]
    input_name: str = 'image'
    model_hash: str = ''
    source: str = ''
    source_sha256: str = ''
    baff_ros_version: str = ''
    opset: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def input_size(self) -> Tuple[int, int]:
        """(height, width) the graph was exported at (the only one unless ``dynamic``)."""
        return tuple(self.meta.input_size)  # type: ignore[return-value]

    def to_dict(self) -> Dict[str, Any]:
        """Return the JSON document, as stored in the file or sidecar."""
        meta = self.meta
        data: Dict[str, Any] = {
            'artefact_version': ARTEFACT_VERSION,
            'baff_ros_version': self.baff_ros_version,
            'classes': list(meta.class_names),
            'palette': [list(c) for c in meta.palette],
            'mean': list(meta.mean), 'std': list(meta.std),
            'input_size': list(meta.input_size),
            'dynamic': self.dynamic,
            'input': self.input_name,
            'head': self.head,
            'outputs': list(self.outputs),
            'fusion_points': list(self.fusion_points),
            'model_hash': self.model_hash,
            'source': self.source,
            'source_sha256': self.source_sha256,
            'opset': self.opset,
            'config': meta.config.to_dict(),
            'provenance': meta.provenance,
            'metrics': meta.metrics,
        }
        data.update(self.extra)
        return data

    def to_json(self) -> str:
        """Serialise :meth:`to_dict` (sorted keys, so equal metadata gives equal bytes)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> 'ExportMeta':
        """Validate a parsed document; raises ArtefactError naming ``where`` and the problem."""
        if not isinstance(data, dict):
            raise ArtefactError(f'{where}: {METADATA_KEY} metadata is not a JSON object')
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise ArtefactError(f'{where}: {METADATA_KEY} metadata lacks {", ".join(missing)} '
                                '(re-export with baff-ros export, see docs/engine.md)')
        version = data['artefact_version']
        if version != ARTEFACT_VERSION:
            raise ArtefactError(f'{where}: unsupported artefact_version {version!r} (this '
                                f'baff_ros reads {ARTEFACT_VERSION})')
        known = {'artefact_version', 'baff_ros_version', 'classes', 'palette', 'mean', 'std',
                 'input_size', 'dynamic', 'input', 'head', 'outputs', 'fusion_points',
                 'model_hash', 'source', 'source_sha256', 'opset', 'config', 'provenance',
                 'metrics'}
        try:
            classes = _str_list(data['classes'], 'classes')
            head = data['head']
            if head not in HEADS:
                raise ValueError(f'head must be one of {HEADS}, got {head!r}')
            if not isinstance(data['dynamic'], bool):
                raise ValueError(f'dynamic must be true or false, got {data["dynamic"]!r}')
            size = data['input_size']
            if (not isinstance(size, list) or len(size) != 2
                    or not all(isinstance(v, int) for v in size)):
                raise ValueError(f'input_size must be [height, width], got {size!r}')
            check_input_size(*size)
            fusion = _str_list(data['fusion_points'], 'fusion_points')
            outputs = _str_list(data['outputs'], 'outputs')
            _check_outputs(head, fusion, outputs)
            config = data.get('config')
            cfg = (ModelConfig.from_dict(config) if isinstance(config, dict) else
                   ModelConfig(num_classes=len(classes), fusion='baff' if fusion else 'add'))
            meta = CheckpointMeta(
                config=cfg, class_names=tuple(classes),
                palette=cast(Tuple[Tuple[int, int, int], ...],
                             tuple(tuple(int(v) for v in c) for c in data['palette'])),
                mean=cast(Tuple[float, float, float], tuple(float(v) for v in data['mean'])),
                std=cast(Tuple[float, float, float], tuple(float(v) for v in data['std'])),
                input_size=tuple(size),
                provenance=dict(data.get('provenance') or {}),
                metrics=dict(data.get('metrics') or {}))
            opset = data.get('opset')
            if opset is not None and not isinstance(opset, int):
                raise ValueError(f'opset must be an integer, got {opset!r}')
        except (ValueError, TypeError) as exc:
            raise ArtefactError(f'{where}: bad {METADATA_KEY} metadata: {exc}') from None
        return cls(meta=meta, fusion_points=tuple(fusion), dynamic=data['dynamic'], head=head,
                   outputs=tuple(outputs), input_name=str(data.get('input') or 'image'),
                   model_hash=str(data.get('model_hash') or ''),
                   source=str(data.get('source') or ''),
                   source_sha256=str(data.get('source_sha256') or ''),
                   baff_ros_version=str(data.get('baff_ros_version') or ''), opset=opset,
                   extra={k: v for k, v in data.items() if k not in known})

    def summary(self) -> str:
        """One line: origin, classes, input size, head, weight maps."""
        h, w = self.input_size
        origin = f'exported by baff_ros {self.baff_ros_version or "?"}'
        if self.source:
            origin += f' from {self.source}'
            if self.source_sha256:
                origin += f', sha256 {self.source_sha256[:12]}'
        parts = [origin, f'{len(self.meta.class_names)} classes',
                 f'input {h}x{w} {"dynamic" if self.dynamic else "static"}',
                 f'head {self.head}',
                 f'weight maps {", ".join(self.fusion_points) or "none"}']
        if self.opset is not None:
            parts.append(f'opset {self.opset}')
        for key in ('precision',):
            if key in self.extra:
                parts.append(f'{key} {self.extra[key]}')
        return '; '.join(parts)


def _str_list(value: Any, name: str) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'{name} must be a list of strings, got {value!r}'[:200])
    return list(value)


def _check_outputs(head: str, fusion_points: Sequence[str], outputs: Sequence[str]) -> None:
    weights = [o for o in outputs if o.startswith('weights_')]
    if weights != [f'weights_{n}' for n in fusion_points]:
        raise ValueError(f'fusion_points {list(fusion_points)} do not name the weight outputs '
                         f'{weights}')
    if head == 'cells' and outputs[:1] != ['scores']:
        raise ValueError(f"head 'cells' needs output 'scores' first, got {list(outputs)}")
    if head in ('fast', 'exact') and outputs[:2] != ['labels', 'confidence']:
        raise ValueError(f"head {head!r} needs outputs 'labels', 'confidence' first, got "
                         f'{list(outputs)}')
    if head == 'logits' and len(outputs) == len(weights):
        raise ValueError(f'head logits needs a logits output, got {list(outputs)}')
