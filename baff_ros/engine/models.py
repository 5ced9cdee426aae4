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
"""Finding and loading models: bundled names, checkpoint paths, or an untrained config.

Exported models (.onnx, TensorRT engines) are read by :mod:`baff_ros.engine.artefacts`.
:func:`load_segmenter` is the one way from a model name to a running Segmenter: the CLI
commands, the offline bag tool, the demo and both node adapters load through it.
"""

import os
from pathlib import Path
import sys
from typing import Any, Callable, List, Optional, Tuple, TYPE_CHECKING

from baff_ros.model.checkpoint import CheckpointError, CheckpointMeta
from baff_ros.model.config import ModelConfig

if TYPE_CHECKING:  # torch: imported by load_model only, never for exported artefacts
    from baff_ros.engine.backends import BackendOptions
    from baff_ros.engine.segmenter import Segmenter
    from baff_ros.model.skipnet import BAFFSkipNet

#: The bundled checkpoint every command and the node use when no --model is given.
DEFAULT_MODEL = 'baff_skipnet_synth'
CHECKPOINT_SUFFIX = '.safetensors'


def model_dirs() -> List[Path]:
    """Where bundled models are looked for, first match wins.

    ``BAFF_ROS_MODEL_PATH`` (os.pathsep-separated), the source tree's ``models/`` (pip -e,
    a checkout), then the installed share directory (``colcon``/``pip install``).
    """
    dirs = [Path(p) for p in os.environ.get('BAFF_ROS_MODEL_PATH', '').split(os.pathsep) if p]
    dirs.append(Path(__file__).resolve().parents[2] / 'models')
    try:  # ROS 2 install space, when ament_index is importable
        from ament_index_python.packages import get_package_share_directory
        dirs.append(Path(get_package_share_directory('baff_ros')) / 'models')
    except Exception:  # noqa: BLE001 - absent ament_index or package is normal off ROS
        pass
    dirs.append(Path(sys.prefix) / 'share' / 'baff_ros' / 'models')
    return dirs


def find_model(name_or_path: str) -> Path:
    """Resolve a checkpoint path or a bundled model name to an existing file."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if path.suffix != CHECKPOINT_SUFFIX and os.sep not in name_or_path:
        for d in model_dirs():
            candidate = d / f'{name_or_path}{CHECKPOINT_SUFFIX}'
            if candidate.is_file():
                return candidate
    raise CheckpointError(
        f'model {name_or_path!r} not found (not a file, and no bundled model of that name in '
        f'{", ".join(str(d) for d in model_dirs())})')


def parse_config_arg(text: Optional[str]) -> ModelConfig:
    """Parse a ModelConfig from a YAML/JSON file path or inline ``key=value,...`` text."""
    if not text:
        return ModelConfig()
    import yaml

    path = Path(text)
    if path.is_file():
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f'{path}: model config must be a mapping')
        data = data.get('model', data)
        return ModelConfig.from_dict(data)
    data = {}
    for item in text.split(','):
        if '=' not in item:
            raise ValueError(f'--config: expected a file or key=value pairs, got {item!r}')
        key, value = (part.strip() for part in item.split('=', 1))
        data[key] = yaml.safe_load(value)
    return ModelConfig.from_dict(data)


def checkpoint_path(model: Optional[str] = None, config: Optional[str] = None
                    ) -> Optional[Path]:
    """Return the checkpoint ``--model``/``--config`` name; None for an untrained model.

    No model and no config mean the bundled default, or an untrained default model if none is
    installed.
    """
    if model is None and config is None:
        try:
            return find_model(DEFAULT_MODEL)
        except CheckpointError:
            return None
    if model is not None:
        if config is not None:
            raise ValueError('give either --model or --config, not both')
        return find_model(model)
    return None


def load_model(model: Optional[str] = None, config: Optional[str] = None
               ) -> Tuple['BAFFSkipNet', CheckpointMeta, str]:
    """Load the model a command asked for.

    Args:
        model: checkpoint path or bundled name; None means the bundled default if present.
        config: with no checkpoint, the architecture of an untrained model (see
            :func:`parse_config_arg`).

    Returns:
        (model in eval mode, metadata, one line saying what was loaded).
    """
    from baff_ros.model.checkpoint import load_checkpoint
    from baff_ros.model.skipnet import build_model

    path = checkpoint_path(model, config)
    if path is not None:
        net, meta = load_checkpoint(path)
        fusion = ', '.join(net.fusion_points) or 'none'
        return net, meta, (f'model: checkpoint {path} ({meta.config.num_classes} classes, '
                           f'{meta.config.fusion} fusion, weight maps {fusion}, input '
                           f'{meta.input_size[0]}x{meta.input_size[1]})')
    cfg = parse_config_arg(config)
    net = build_model(cfg).eval()
    meta = CheckpointMeta.default(cfg, provenance={'trained': False})
    return net, meta, (f'model: UNTRAINED {cfg.fusion} model built from config ({cfg}); '
                       'no checkpoint given or found, so its outputs are meaningless')


def load_segmenter(model: Optional[str] = None, config: Optional[str] = None, *,
                   backend: str = 'auto', options: Optional['BackendOptions'] = None,
                   input_size: Optional[Tuple[int, int]] = None, output_size: str = 'input',
                   log: Optional[Callable[[str], None]] = None) -> 'Segmenter':
    """Load a model (checkpoint, exported model or untrained config) and wrap it in a Segmenter.

    Args:
        model: as for :func:`baff_ros.engine.artefacts.load_artefact` (None: the bundled
            default checkpoint).
        config: with no model, the architecture of an untrained model.
        backend: inference runtime, ``auto`` or a backend name.
        options: device, precision, threads, weight-map output (default: CPU, fp32).
        input_size: network input (H, W); None for the model's own.
        output_size: ``input`` (results at the frame's size) or ``network``.
        log: gets one line naming what was loaded (kind, path, summary of its metadata).
    """
    return load_segmenters(model, config, 1, backend=backend, options=options,
                           input_size=input_size, output_size=output_size, log=log)[0]


def load_segmenters(model: Optional[str], config: Optional[str], copies: int, *,
                    backend: str = 'auto', options: Optional['BackendOptions'] = None,
                    input_size: Optional[Tuple[int, int]] = None, output_size: str = 'input',
                    log: Optional[Callable[[str], None]] = None) -> List['Segmenter']:
    """Load ``copies`` Segmenters of one model, as :func:`load_segmenter` loads one.

    Each has a runtime session of its own, so they can run side by side; the model (checkpoint
    or export) is read once.
    """
    from baff_ros.engine.artefacts import load_artefact
    from baff_ros.engine.backends import BackendOptions
    from baff_ros.engine.segmenter import Segmenter

    artefact = load_artefact(model, config)
    if log:
        log(artefact.description)
    segmenters: List['Segmenter'] = []
    try:
        while len(segmenters) < copies:
            segmenters.append(Segmenter.from_artefact(
                artefact, backend=backend, options=options or BackendOptions(),
                input_size=input_size, output_size=output_size))
    except BaseException:
        for seg in segmenters:
            seg.close()
        raise
    return segmenters


def load_segmenter_for(params: Any, log: Optional[Callable[[str], None]] = None) -> 'Segmenter':
    """Load the Segmenter a node's parameters ask for (node, bag, demo) and size its threads.

    :func:`load_segmenter` with the weight maps on and, from ``params`` (the node's
    ``NodeParams`` or anything with these attributes): ``model`` ('' for the bundled default),
    ``model_config``, ``backend``, ``network_size`` ((H, W) or None), ``output_size``,
    ``device``, ``precision`` and ``threads``; then :func:`configure_threads` (whoever runs a
    node owns its process). ``log`` gets one line naming what was loaded.
    """
    return load_segmenters_for(params, 1, log)[0]


def load_segmenters_for(params: Any, copies: int,
                        log: Optional[Callable[[str], None]] = None) -> List['Segmenter']:
    """Load ``copies`` Segmenters of one model (:func:`load_segmenters`), as the node would one.

    The parameters map as for :func:`load_segmenter_for`; :func:`configure_threads` runs once.
    """
    from baff_ros.engine.backends import BackendOptions

    segmenters = load_segmenters(
        params.model or None, params.model_config or None, copies, backend=params.backend,
        input_size=params.network_size, output_size=params.output_size, log=log,
        options=BackendOptions(device=params.device, precision=params.precision,
                               threads=params.threads, with_weights=True))
    configure_threads(segmenters[0], params.threads)
    return segmenters


def configure_threads(segmenter: 'Segmenter', threads: int) -> None:
    """Size the process-wide thread pools for ``segmenter``.

    - torch has one intra-op pool per process (``torch.set_num_threads``), while onnxruntime
      and TensorRT size theirs per session from :class:`BackendOptions`: ``threads`` sizes
      torch's when ``segmenter`` runs on torch; 0 leaves torch's default.
    - OpenCV's pool (resize, LUT, split, gemm in pre- and post-processing) runs on one thread
      when inference runs on the CPU: the runtime already keeps every core busy, and OpenCV's
      idle workers busy-wait on the same cores between calls. Measured on the bundled model
      (256x512, onnxruntime, 2 cores): the Segmenter 67.7 -> 83.8 frames/s and the bag tool
      45.1 -> 54.5 frames/s (``scripts/bench_bag.py``, medians of 3 rounds). With a GPU
      backend the cores are free and OpenCV keeps its default.
    - The OpenBLAS libraries in the process (numpy's, and the copy bundled with OpenCV, behind
      ``cv2.gemm`` in the label head) likewise run on one thread on the CPU: after each call
      their idle worker spins in ``sched_yield`` for a long while, a whole core taken from
      inference (:func:`limit_blas_threads`).

    Being process-wide, these are set here, explicitly, by the entry points that own the
    process (the CLI commands, the node, bag processing, the benchmark) after loading.
    """
    import cv2

    options = getattr(segmenter.backend, 'options', None)
    if not getattr(options, 'is_cuda', False):
        cv2.setNumThreads(1)
        limit_blas_threads(1)
    if threads and getattr(segmenter.backend, 'name', '') == 'torch':
        import torch

        torch.set_num_threads(threads)


#: ``*_set_num_threads`` of the OpenBLAS builds found in wheels: plain, and scipy-openblas's
#: 64-bit-integer build that numpy ships (its symbols carry a prefix and a suffix).
_BLAS_SETTERS = ('openblas_set_num_threads', 'scipy_openblas_set_num_threads64_',
                 'scipy_openblas_set_num_threads', 'openblas_set_num_threads64_')


def limit_blas_threads(threads: int) -> List[str]:
    """Set the thread count of every OpenBLAS library loaded in this process; return their paths.

    numpy and OpenCV each load their own OpenBLAS; neither has a Python call for it. Found
    through ``/proc/self/maps`` (Linux; elsewhere nothing is found and nothing changes).
    """
    import ctypes

    done = []
    for path in _blas_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _BLAS_SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(threads))
                done.append(path)
                break
    return done


def _blas_paths() -> List[str]:
    """Paths of the OpenBLAS shared libraries mapped into this process (Linux; else none)."""
    try:
        with open('/proc/self/maps', encoding='utf-8', errors='replace') as maps:
            # address perms offset dev inode [path]: the path of each mapped file
            mapped = {fields[5].strip() for fields in (line.split(maxsplit=5) for line in maps)
                      if len(fields) == 6}
    except OSError:
        return []
    return sorted(path for path in mapped if 'openblas' in os.path.basename(path).lower()
                  and '.so' in os.path.basename(path))
