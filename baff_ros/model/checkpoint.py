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
"""Checkpoint I/O: safetensors tensors + JSON metadata. Never unpickles anything.

Layout: ``models/<name>.safetensors``; the safetensors header's ``__metadata__`` holds one key,
``baff_ros``, whose value is a JSON document (see :class:`CheckpointMeta`).
"""

from dataclasses import asdict, dataclass, field
import json
import os
from pathlib import Path
import struct
from typing import Any, Dict, List, Optional, Tuple, TYPE_CHECKING

from baff_ros.data.labels import TRAIN_CLASSES
from baff_ros.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from baff_ros.model.config import ModelConfig

if TYPE_CHECKING:  # the network needs torch; the metadata here does not
    from baff_ros.model.skipnet import BAFFSkipNet

FORMAT_VERSION = 1
METADATA_KEY = 'baff_ros'
# A real header is a few hundred kB at most; anything larger is not one of ours.
_MAX_HEADER_BYTES = 64 * 1024 * 1024


class CheckpointError(ValueError):
    """A checkpoint file is missing, malformed, truncated or does not fit the model."""


@dataclass(frozen=True)
class CheckpointMeta:
    """Everything needed to use a checkpoint besides its tensors.

    Attributes:
        config: the architecture.
        class_names: one name per output channel (train ID order).
        palette: one RGB triple per class.
        mean: per-channel mean of the RGB input in [0, 1].
        std: per-channel std of the RGB input in [0, 1].
        input_size: (height, width) the model was trained/validated at.
        provenance: free-form facts: training data, schedule, code version.
        metrics: evaluation results (e.g. ``{'val_miou': 0.61}``).
    """

    config: ModelConfig
    class_names: Tuple[str, ...]
    palette: Tuple[Tuple[int, int, int], ...]
    mean: Tuple[float, float, float] = IMAGENET_MEAN
    std: Tuple[float, float, float] = IMAGENET_STD
    input_size: Tuple[int, int] = (512, 1024)
    provenance: Dict[str, Any] = field(default_factory=dict)
    metrics: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.config.num_classes
        if len(self.class_names) != n:
            raise ValueError(f'class_names has {len(self.class_names)} entries, '
                             f'config.num_classes is {n}')
        if len(self.palette) != n or any(len(c) != 3 for c in self.palette):
            raise ValueError(f'palette must hold {n} RGB triples')
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError('mean and std must be 3 values each, std > 0')
        if len(self.input_size) != 2 or min(self.input_size) <= 0:
            raise ValueError(f'input_size must be (height, width), got {self.input_size!r}')

    def to_json(self) -> str:
        """Serialise, with the format version, as stored in the file."""
        data = asdict(self)
        data['config'] = self.config.to_dict()
        data['format_version'] = FORMAT_VERSION
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> 'CheckpointMeta':
        """Parse and validate; raises ValueError naming the problem."""
        data = json.loads(text)
        version = data.pop('format_version', None)
        if version != FORMAT_VERSION:
            raise ValueError(f'unsupported checkpoint format_version {version!r} '
                             f'(this baff_ros reads {FORMAT_VERSION})')
        data['config'] = ModelConfig.from_dict(data['config'])
        data['class_names'] = tuple(data['class_names'])
        data['palette'] = tuple(tuple(int(v) for v in c) for c in data['palette'])
        data['mean'] = tuple(data['mean'])
        data['std'] = tuple(data['std'])
        data['input_size'] = tuple(data['input_size'])
        return cls(**data)

    @classmethod
    def default(cls, config: ModelConfig, **kwargs: Any) -> 'CheckpointMeta':
        """Cityscapes classes and palette for a 19-class config, generic names otherwise."""
        if config.num_classes == 19:
            names = tuple(c.name for c in TRAIN_CLASSES)
            palette = tuple(c.color for c in TRAIN_CLASSES)
        else:
            names = tuple(f'class_{i}' for i in range(config.num_classes))
            palette = tuple(((i * 67) % 256, (i * 137) % 256, (i * 211) % 256)
                            for i in range(config.num_classes))
        return cls(config=config, class_names=names, palette=palette, **kwargs)


def save_checkpoint(model: 'BAFFSkipNet', path: os.PathLike,
                    meta: Optional[CheckpointMeta] = None) -> Path:
    """Write ``model``'s state dict and metadata to a safetensors file, atomically.

    The file appears under its final name only when complete (write to a temporary name, fsync,
    rename), so a crash never leaves a truncated checkpoint that looks valid.
    """
    from safetensors.torch import save_file

    path = Path(path)
    meta = meta or CheckpointMeta.default(model.cfg)
    if meta.config != model.cfg:
        raise ValueError('meta.config does not match the model being saved')
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.tmp{os.getpid()}')
    try:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: meta.to_json()})
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        # Readable like any other file of the project (the writer creates it owner-only).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_header(path: os.PathLike) -> Tuple[Dict[str, Any], CheckpointMeta]:
    """Validate the file's structure and return (tensor index, metadata) without loading data."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'{path}: no such checkpoint file')
    size = path.stat().st_size
    with open(path, 'rb') as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f'{path}: not a safetensors file (only {size} bytes)')
        (n,) = struct.unpack('<Q', head)
        if n > _MAX_HEADER_BYTES or 8 + n > size:
            raise CheckpointError(
                f'{path}: not a safetensors file or truncated (header claims {n} bytes, '
                f'file has {size})')
        raw = f.read(n)
    try:
        header = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f'{path}: not a safetensors file (header is not JSON: {exc})')
    if not isinstance(header, dict):
        raise CheckpointError(f'{path}: not a safetensors file (header is not a JSON object)')
    meta_raw = (header.pop('__metadata__', None) or {}).get(METADATA_KEY)
    if meta_raw is None:
        raise CheckpointError(f'{path}: safetensors file has no {METADATA_KEY!r} metadata; '
                              'not a baff_ros checkpoint')
    data_len = size - 8 - n
    end = max((int(v['data_offsets'][1]) for v in header.values()), default=0)
    if end > data_len:
        raise CheckpointError(
            f'{path}: truncated (tensor data needs {end} bytes, file holds {data_len})')
    try:
        meta = CheckpointMeta.from_json(meta_raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f'{path}: bad {METADATA_KEY} metadata: {exc}')
    return header, meta


def load_checkpoint(path: os.PathLike, map_location: str = 'cpu'
                    ) -> Tuple['BAFFSkipNet', CheckpointMeta]:
    """Build the model a checkpoint describes and load its weights (strict keys and shapes).

    Raises:
        CheckpointError: with a one-line reason for a missing, foreign, truncated or
            mismatched file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from baff_ros.model.skipnet import build_model

    header, meta = read_header(path)
    model = build_model(meta.config)
    expected = model.state_dict()
    problems: List[str] = []
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    if missing:
        problems.append(f'missing keys {_short(missing)}')
    if unexpected:
        problems.append(f'unexpected keys {_short(unexpected)}')
    for k in sorted(set(expected) & set(header)):
        if tuple(header[k]['shape']) != tuple(expected[k].shape):
            problems.append(f'{k} has shape {tuple(header[k]["shape"])}, '
                            f'model expects {tuple(expected[k].shape)}')
            break
    if problems:
        raise CheckpointError(f'{path}: does not fit {meta.config}: ' + '; '.join(problems))
    try:
        tensors = load_file(str(path), device=map_location)
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise CheckpointError(f'{path}: unreadable: {str(exc).splitlines()[0]}')
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model, meta


def _short(names: List[str], limit: int = 3) -> str:
    more = f' (+{len(names) - limit} more)' if len(names) > limit else ''
    return ', '.join(names[:limit]) + more
