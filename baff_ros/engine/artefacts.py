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
"""Model artefacts: a checkpoint, or an exported ONNX model or TensorRT engine with its metadata.

``--model`` (and the node's ``model`` parameter) names one of:

- a ``.safetensors`` checkpoint or a bundled model name: the PyTorch network is built (needs
  torch) and exported to the backend's format on the fly, as before;
- an ``.onnx`` file written by ``baff-ros export --format onnx``: it runs on onnxruntime and
  nothing here imports torch. Its ``metadata_props`` hold one entry, ``baff_ros``, a JSON
  document (:class:`ExportMeta`) with everything the Segmenter needs besides the graph;
- a TensorRT engine (``.engine``/``.plan``) with the same JSON document in a sidecar file
  ``<engine>.json`` (``baff-ros export --format tensorrt`` writes both).

An ``.onnx`` without embedded metadata may carry it in a ``<file>.onnx.json`` sidecar instead
(how a plain logits ONNX from elsewhere is described); with neither it is refused, naming what is
missing. The ONNX metadata is read straight from the protobuf (:func:`read_onnx_metadata`), so
neither the ``onnx`` package nor a runtime session is needed to inspect a file.
"""

from dataclasses import asdict, dataclass, field, replace
import hashlib
import json
import os
from pathlib import Path
from typing import Any, BinaryIO, cast, Dict, List, Optional, Sequence, Tuple, Union

from baff_ros.engine.backends.base import BackendError, BackendOptions, HEADS
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


# -- reading ----------------------------------------------------------------------------------

def _varint(f: BinaryIO, where: str) -> Optional[int]:
    """Read a protobuf varint; None at a clean end of file."""
    result = shift = 0
    while True:
        byte = f.read(1)
        if not byte:
            if shift:
                raise ArtefactError(f'{where}: not a valid ONNX model (truncated)')
            return None
        result |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ArtefactError(f'{where}: not a valid ONNX model (bad varint)')


def _fields(f: BinaryIO, end: int, where: str):
    """Yield (field number, wire type, value) of a protobuf message up to byte ``end``.

    Length-delimited fields are yielded as a (offset, length) pair and skipped, so a graph of
    many megabytes is never read.
    """
    while f.tell() < end:
        tag = _varint(f, where)
        if tag is None:
            return
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ArtefactError(f'{where}: not a valid ONNX model (field number 0)')
        if wire == 0:
            value: Any = _varint(f, where)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value = f.read(size)
            if len(value) < size:
                raise ArtefactError(f'{where}: not a valid ONNX model (truncated)')
        elif wire == 2:
            length = _varint(f, where)
            if length is None or f.tell() + length > end:
                raise ArtefactError(f'{where}: not a valid ONNX model (truncated or not '
                                    'protobuf)')
            value = (f.tell(), length)
            f.seek(length, os.SEEK_CUR)
        else:
            raise ArtefactError(f'{where}: not a valid ONNX model (wire type {wire})')
        yield number, wire, value


#: ModelProto field numbers (onnx.proto3): graph, metadata_props.
_GRAPH, _METADATA_PROPS = 7, 14


def read_onnx_metadata(path: os.PathLike) -> Dict[str, str]:
    """Return the ``metadata_props`` of an ONNX file, parsed from its protobuf encoding.

    Only the top-level ``ModelProto`` fields are walked (the graph is skipped by its length), so
    this needs neither the ``onnx`` package nor onnxruntime, and takes microseconds.

    Raises:
        ArtefactError: the file is missing, not protobuf, or has no graph.
    """
    path = Path(path)
    where = str(path)
    try:
        size = path.stat().st_size
        props: Dict[str, str] = {}
        has_graph = False
        with open(path, 'rb') as f:
            for number, wire, value in list(_fields(f, size, where)):
                if number == _GRAPH and wire == 2:
                    has_graph = True
                elif number == _METADATA_PROPS and wire == 2:
                    offset, length = value
                    f.seek(offset)
                    entry = {}
                    for n, w, v in list(_fields(f, offset + length, where)):
                        if n in (1, 2) and w == 2:
                            f.seek(v[0])
                            entry[n] = f.read(v[1]).decode('utf-8')
                    props[entry.get(1, '')] = entry.get(2, '')
    except FileNotFoundError:
        raise ArtefactError(f'{where}: no such file') from None
    except UnicodeDecodeError:
        raise ArtefactError(f'{where}: not a valid ONNX model (metadata is not UTF-8)') from None
    if not has_graph:
        raise ArtefactError(f'{where}: not a valid ONNX model (no graph)')
    return props


def sidecar_path(path: os.PathLike) -> Path:
    """Return the metadata sidecar of a model file: ``x.engine`` -> ``x.engine.json``."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _read_sidecar(path: Path) -> ExportMeta:
    side = sidecar_path(path)
    try:
        data = json.loads(side.read_text(encoding='utf-8'))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtefactError(f'{side}: metadata sidecar is not JSON ({exc})') from None
    return ExportMeta.from_dict(data, str(side))


def read_onnx_meta(path: os.PathLike) -> ExportMeta:
    """Read an exported ONNX file's metadata: embedded, else from a ``<file>.json`` sidecar."""
    path = Path(path)
    props = read_onnx_metadata(path)
    if METADATA_KEY in props:
        try:
            data = json.loads(props[METADATA_KEY])
        except json.JSONDecodeError as exc:
            raise ArtefactError(f'{path}: {METADATA_KEY} metadata is not JSON ({exc})') from None
        return ExportMeta.from_dict(data, str(path))
    if sidecar_path(path).is_file():
        return _read_sidecar(path)
    raise ArtefactError(
        f'{path}: no {METADATA_KEY} metadata (classes, palette, mean/std, input size, outputs): '
        f'neither in its metadata_props nor in a {sidecar_path(path).name} beside it; export '
        'the checkpoint with baff-ros export --format onnx, or write the sidecar '
        '(docs/engine.md)')


def read_engine_meta(path: os.PathLike) -> ExportMeta:
    """Read a TensorRT engine's metadata from its ``<engine>.json`` sidecar."""
    path = Path(path)
    if not path.is_file():
        raise ArtefactError(f'{path}: no such file')
    if not sidecar_path(path).is_file():
        raise ArtefactError(f'{path}: TensorRT engine without its metadata sidecar '
                            f'{sidecar_path(path).name} (baff-ros export --format tensorrt '
                            'writes both; keep them side by side)')
    return _read_sidecar(path)


def file_sha256(path: os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


# -- loading ----------------------------------------------------------------------------------

@dataclass
class Artefact:
    """What ``--model`` named, loaded as far as its kind needs before a backend is chosen.

    Attributes:
        kind: one of :data:`KINDS`.
        path: the file (None for an untrained model built from a config).
        meta: classes, palette, mean/std, input size (an export's: the size it was made at).
        model: the PyTorch network (checkpoint and untrained kinds only).
        export: the exported model's metadata (onnx and tensorrt kinds only).
        description: one line for logs: kind, path and a summary of the metadata.
    """

    kind: str
    path: Optional[Path]
    meta: CheckpointMeta
    model: Any = None
    export: Optional[ExportMeta] = None
    description: str = ''

    def backend(self, name: str, options: BackendOptions) -> Tuple[str, BackendOptions]:
        """Return the backend to create for this artefact and its options (with the file).

        Raises:
            BackendError: ``name`` cannot run this kind of file.
        """
        if self.kind == 'onnx':
            if name == 'torch':
                raise BackendError(f'{self.path}: an exported ONNX model runs on onnxruntime '
                                   '(or tensorrt), not --backend torch; the torch backend needs '
                                   'the .safetensors checkpoint')
            return ('onnxruntime' if name == 'auto' else name,
                    replace(options, onnx_file=str(self.path)))
        if self.kind == 'tensorrt':
            if name not in ('auto', 'tensorrt'):
                raise BackendError(f'{self.path}: a TensorRT engine runs only on --backend '
                                   f'tensorrt (or auto), not {name}')
            return 'tensorrt', replace(options, engine_file=str(self.path))
        return name, options


def artefact_kind(path: Union[str, os.PathLike]) -> Optional[str]:
    """``'onnx'``, ``'tensorrt'`` or ``'checkpoint'`` by file suffix; None for another suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in ONNX_SUFFIXES:
        return 'onnx'
    if suffix in ENGINE_SUFFIXES:
        return 'tensorrt'
    if suffix in CHECKPOINT_SUFFIXES:
        return 'checkpoint'
    return None


def is_exported(model: Optional[str]) -> bool:
    """Whether ``--model`` names an exported model (.onnx, .engine, .plan) by its suffix."""
    return bool(model) and (artefact_kind(str(model)) or '') in ('onnx', 'tensorrt')


def load_artefact(model: Optional[str] = None, config: Optional[str] = None) -> Artefact:
    """Load what ``--model``/``--config`` name; exported models without importing torch.

    Args:
        model: a checkpoint path or bundled name, an .onnx file, or a TensorRT engine (its
            sidecar beside it); None means the bundled default checkpoint.
        config: with no model, the architecture of an untrained model.

    Raises:
        ArtefactError, CheckpointError, ValueError: with a one-line reason.
    """
    if is_exported(model):
        if config is not None:
            raise ValueError('give either --model or --config, not both')
        path = Path(str(model)).expanduser()
        kind = 'onnx' if artefact_kind(path) == 'onnx' else 'tensorrt'
        if not path.is_file():
            raise ArtefactError(f'{path}: no such file')
        export = read_onnx_meta(path) if kind == 'onnx' else read_engine_meta(path)
        return Artefact(kind, path, export.meta, export=export,
                        description=f'model: {kind} {path} ({export.summary()})')
    if model:
        path = Path(model).expanduser()
        if path.is_file() and artefact_kind(path) is None:
            raise ArtefactError(
                f'{path}: unknown model file type {path.suffix or "(no suffix)"!r}; expected '
                '.safetensors (checkpoint), .onnx (baff-ros export) or .engine/.plan (TensorRT, '
                'with its .json sidecar)')
    try:
        import torch  # noqa: F401 - only to say clearly what is missing
    except ImportError:
        raise ArtefactError(
            f'{"checkpoint " + str(model) if model else "the bundled checkpoint"}: loading a '
            'checkpoint needs PyTorch, which is not installed; run an exported model instead '
            '(--model model.onnx, see docs/engine.md)') from None
    from baff_ros.engine.models import checkpoint_path, load_model

    checkpoint = checkpoint_path(model, config)
    net, meta, what = load_model(model, config)
    return Artefact('checkpoint' if checkpoint else 'untrained', checkpoint, meta, model=net,
                    description=what)


def segmenter_input_size(artefact: Artefact, input_size: Optional[Sequence[int]]
                         ) -> Tuple[int, int]:
    """Return the network input size to run ``artefact`` at: ``input_size`` or its own.

    Raises:
        ValueError: not a multiple of 32, or not the size of a static export.
    """
    size = tuple(int(v) for v in (input_size or artefact.meta.input_size))
    check_input_size(*size)
    export = artefact.export
    if export is not None and not export.dynamic and size != export.input_size:
        h, w = export.input_size
        raise ValueError(f'{artefact.path}: exported for a {h}x{w} network input (static); '
                         f'{size[0]}x{size[1]} needs an export made with --dynamic (or leave '
                         'out the size)')
    return size  # type: ignore[return-value]


def check_backend_outputs(artefact: Artefact, backend: Any) -> None:
    """Raise BackendError if the runtime's graph outputs differ from the metadata's."""
    names = getattr(backend, 'output_names', None)
    if artefact.export is None or names is None:
        return
    if list(names) != list(artefact.export.outputs):
        raise BackendError(f'{artefact.path}: the graph outputs {", ".join(names)}, its '
                           f'metadata says {", ".join(artefact.export.outputs)}')


def describe_dict(artefact: Artefact) -> Dict[str, Any]:
    """JSON-ready: kind, path and the metadata document (``baff-ros info`` on an export)."""
    data: Dict[str, Any] = {'kind': artefact.kind, 'path': str(artefact.path)}
    if artefact.export is not None:
        data['metadata'] = artefact.export.to_dict()
    else:
        meta = asdict(artefact.meta)
        meta['config'] = artefact.meta.config.to_dict()
        data['metadata'] = meta
    return data
