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

from dataclasses import asdict, dataclass, replace
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from baff_ros.engine.backends.base import BackendError, BackendOptions
# The schema and the protobuf reader have modules of their own; artefacts.<name> stays their
# public path.
from baff_ros.engine.export_meta import (  # noqa: F401
    ARTEFACT_VERSION, ArtefactError, CHECKPOINT_SUFFIXES, ENGINE_SUFFIXES, ExportMeta,
    graph_outputs, KINDS, METADATA_KEY, ONNX_SUFFIXES, REQUIRED_KEYS, SIDECAR_SUFFIX)
from baff_ros.engine.onnx_metadata import read_onnx_metadata
from baff_ros.model.checkpoint import CheckpointMeta
from baff_ros.model.config import check_input_size


# -- reading ----------------------------------------------------------------------------------

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
