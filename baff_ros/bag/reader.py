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
"""Reading camera frames out of rosbag2 files (mcap or sqlite3; Humble, Jazzy and newer).

:func:`open_bag` is the way in: an intact bag is read by :class:`BagInput`
(:mod:`baff_ros.bag.rosbag2`), what is intact of a damaged mcap one by :class:`SalvagedBag`
(:mod:`baff_ros.bag.salvage`); both are importable from here too.
"""

from pathlib import Path
from typing import Sequence

from baff_ros.bag.rosbag2 import (  # noqa: F401
    _typestore, BagError, BagInput, CAMERA_INFO_TYPE, IMAGE_TYPES, image_base, ImageStream,
    pair_camera_info, TYPESTORES, UnreadableBagError)
from baff_ros.bag.salvage import (  # noqa: F401
    ends_early, readable, storage_files, McapFile, SalvagedBag)


def open_bag(path, topics: Sequence[str] = (), typestore: str = 'humble',
             salvage: bool = False) -> BagInput:
    """Open a bag as :class:`BagInput`; with ``salvage``, what is intact of a damaged mcap one.

    ``salvage`` changes nothing for a bag that rosbags reads. For one that it cannot read, or a
    directory without metadata.yaml, it reads the mcap storage files with :class:`SalvagedBag`
    (see its ``notes``); sqlite3 bags are not salvaged (the error says so).
    """
    path = Path(path)
    mcaps = storage_files(path, '.mcap')
    if path.is_dir() and not (path / 'metadata.yaml').exists():
        if salvage and mcaps:
            return SalvagedBag(path, mcaps, topics, typestore)
        raise BagError(_no_metadata_message(path, mcaps, salvage))
    try:
        return BagInput(path, topics, typestore)
    except UnreadableBagError as exc:
        if salvage and mcaps:
            bag = SalvagedBag(path, mcaps, topics, typestore)
            if bag.damaged:
                return bag
            raise  # whole files that rosbags cannot read: no damage that --salvage undoes
        if salvage:
            raise BagError(f'{exc}; --salvage reads mcap storage files only') from exc
        if any(ends_early(f) and readable(f) for f in mcaps):
            raise BagError(f'{exc}; or segment the messages before the damage with '
                           '--salvage') from exc
        raise


def _no_metadata_message(path: Path, mcaps: Sequence[Path], salvage: bool) -> str:
    """Explain a bag directory without metadata.yaml and what to do about it."""
    files = list(mcaps) or storage_files(path, '.db3')
    if not files:
        return f'{path}: not a rosbag2 (no metadata.yaml, no .mcap or .db3 file in it)'
    message = (f'{path}: no metadata.yaml beside {", ".join(f.name for f in files)}; rosbag2 '
               'writes it when a recording ends, so a recorder that crashed or was killed '
               'leaves only its storage files: rebuild it with `ros2 bag reindex '
               f'{path} -s {"mcap" if mcaps else "sqlite3"}`')
    cut = [f.name for f in mcaps if ends_early(f)]
    if cut:
        message += (f' ({", ".join(cut)} also ends early, which reindex does not repair: '
                    '`mcap recover` it)')
    if any(readable(f) for f in mcaps):
        return message + ', or read the .mcap files directly with --salvage'
    if salvage and not mcaps:
        return message + '; --salvage reads mcap storage files only'
    return message
