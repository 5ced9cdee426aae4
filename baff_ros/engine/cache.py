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
"""The on-disk cache of exported ONNX graphs, int8 models and TensorRT engines.

Location: ``$BAFF_ROS_CACHE``, else ``$XDG_CACHE_HOME/baff_ros`` (an absolute
``XDG_CACHE_HOME`` only, as the XDG spec says), else ``~/.cache/baff_ros``.

Entries are the files this cache writes, and only those: ``onnx/*.onnx`` (exports),
``int8/*.onnx`` (quantised models) and ``tensorrt/*.engine`` (engines), each with its sidecars
(files named ``<entry>.<more>`` beside it, such as ONNX external data). Writers write a
temporary sibling named after their process (``<entry>.<pid>.tmp``, ``<entry>.<pid>.pre.onnx``)
and rename it: such a file younger than :data:`STALE_SECONDS` may be in progress in another
process and is left alone; an older one is the leftover of a crashed writer and becomes an
entry of kind ``partial``. Anything else
in the folder is never listed, evicted or removed.

Size cap: ``$BAFF_ROS_CACHE_MAX_MB`` megabytes (1 MB = 2**20 bytes; default
:data:`DEFAULT_MAX_MB`; ``0`` = no limit). After each new entry is written
(:func:`added`), the least recently used entries are removed until the total is within the cap;
the entry just written is never removed, even if it alone exceeds the cap. Every cache hit
(:func:`mark_used`) sets the entry's modification time to now: that is its "last used" time
(access times are unreliable under relatime/noatime mounts).

Several processes may share the cache: an entry that another process removes while this one
lists or evicts is skipped, and files only ever appear by rename.
"""

from dataclasses import dataclass
import os
from pathlib import Path
import time
from typing import Dict, Iterable, List, Optional, Tuple

ENV_DIR = 'BAFF_ROS_CACHE'
ENV_MAX_MB = 'BAFF_ROS_CACHE_MAX_MB'
DEFAULT_MAX_MB = 1024
MB = 1 << 20
#: Sub-folder -> file suffix of its entries.
KINDS: Dict[str, str] = {'onnx': '.onnx', 'int8': '.onnx', 'tensorrt': '.engine'}
#: Name endings of the temporary files the cache's writers rename into place.
TEMP_ENDINGS = ('.tmp', '.pre.onnx')
#: A temporary file older than this is a crashed writer's leftover (an export takes seconds,
#: a TensorRT build minutes).
STALE_SECONDS = 3600.0


def location(override: Optional[str] = None) -> Tuple[Path, str]:
    """Return the cache folder and where it came from (``'$BAFF_ROS_CACHE'``, ...).

    Args:
        override: a folder given explicitly (``BackendOptions.cache_dir``): wins over all.
    """
    if override:
        return Path(override).expanduser(), 'cache_dir'
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser(), f'${ENV_DIR}'
    xdg = os.environ.get('XDG_CACHE_HOME')
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / 'baff_ros', '$XDG_CACHE_HOME/baff_ros'
    return Path(os.path.expanduser('~')) / '.cache' / 'baff_ros', '~/.cache/baff_ros'


def cache_dir(override: Optional[str] = None) -> Path:
    """Return the cache folder (created on demand by the writers)."""
    return location(override)[0]


def max_bytes() -> Optional[int]:
    """Return the size cap in bytes from ``$BAFF_ROS_CACHE_MAX_MB``; None = no limit.

    Raises:
        ValueError: the variable is not a number >= 0.
    """
    text = os.environ.get(ENV_MAX_MB, '').strip()
    if not text:
        return DEFAULT_MAX_MB * MB
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float('inf'):
        raise ValueError(f'{ENV_MAX_MB} must be a number of megabytes >= 0 (0 = no limit), '
                         f'got {text!r}')
    return None if value == 0 else int(value * MB)


@dataclass(frozen=True)
class Entry:
    """One cache entry: a file the cache wrote, with its sidecars.

    Attributes:
        kind: ``'onnx'``, ``'int8'``, ``'tensorrt'`` or ``'partial'`` (a crashed writer's file).
        path: the entry's file.
        size: bytes, sidecars included.
        last_used: modification time of ``path`` (set on every hit), seconds since the epoch.
        files: ``path`` and its sidecars.
    """

    kind: str
    path: Path
    size: int
    last_used: float
    files: Tuple[Path, ...]

    @property
    def name(self) -> str:
        """The file relative to the cache folder, e.g. ``onnx/<key>.onnx``."""
        return f'{self.path.parent.name}/{self.path.name}'


def _regular_files(folder: Path) -> Dict[str, os.stat_result]:
    """Name -> stat of the regular files (not links) in ``folder``; gone or unreadable: none."""
    out: Dict[str, os.stat_result] = {}
    try:
        with os.scandir(folder) as it:
            for item in it:
                try:
                    if item.is_file(follow_symlinks=False):
                        out[item.name] = item.stat(follow_symlinks=False)
                except OSError:  # removed meanwhile
                    continue
    except OSError:
        pass
    return out


def entries(root: Optional[Path] = None, now: Optional[float] = None) -> List[Entry]:
    """List the cache's entries, least recently used first."""
    root = Path(root) if root is not None else cache_dir()
    now = time.time() if now is None else now
    found: List[Entry] = []
    for sub, suffix in KINDS.items():
        folder = root / sub
        files = _regular_files(folder)
        derived: Dict[str, List[str]] = {}
        for name, st in files.items():
            cut = name.find(suffix + '.')
            if cut > 0:  # '<entry><suffix>.<more>': a temporary file or a sidecar
                derived.setdefault(name[:cut + len(suffix)], []).append(name)
            elif name.endswith(suffix) and len(name) > len(suffix):
                derived.setdefault(name, [])
        for main, others in derived.items():
            sidecars = [n for n in others if not n.endswith(TEMP_ENDINGS)]
            leftovers = [n for n in others if n.endswith(TEMP_ENDINGS)]
            if main in files:
                names = [main] + sidecars
                found.append(Entry(sub, folder / main, sum(files[n].st_size for n in names),
                                   files[main].st_mtime, tuple(folder / n for n in names)))
            else:  # an entry's sidecars without the entry: a removal that was cut short
                leftovers += sidecars
            for name in leftovers:
                if now - files[name].st_mtime > STALE_SECONDS:
                    found.append(Entry('partial', folder / name, files[name].st_size,
                                       files[name].st_mtime, (folder / name,)))
    return sorted(found, key=lambda e: (e.last_used, e.name))


def mark_used(path: os.PathLike) -> bool:
    """Record a cache hit on ``path`` (its mtime becomes now); False if it does not exist.

    Call it instead of checking that the file exists: the answer and the refresh are one step,
    so an entry evicted by another process a moment earlier is simply a miss.
    """
    try:
        os.utime(path)
        return True
    except FileNotFoundError:
        return False
    except OSError:  # a shared cache written by another user: still a hit, just not refreshed
        return os.path.isfile(path)


def remove(entry: Entry) -> bool:
    """Delete an entry's files (the entry first); False if none of them could be deleted."""
    removed = False
    for f in entry.files:
        try:
            f.unlink()
            removed = True
        except FileNotFoundError:
            removed = True  # another process was first: gone all the same
        except OSError:
            if f == entry.path:
                return False  # not ours to delete (permissions): keep its sidecars too
    return removed


def evict(root: Path, limit: Optional[int], keep: Iterable[os.PathLike] = ()) -> List[Entry]:
    """Remove least recently used entries until the total is at most ``limit`` bytes.

    Args:
        root: the cache folder.
        limit: bytes; None = no limit (nothing is removed).
        keep: entry paths never removed (the entry just written).

    Returns:
        The removed entries, oldest first.
    """
    if limit is None:
        return []
    keep_paths = {Path(p) for p in keep}
    listed = entries(root)
    total = sum(e.size for e in listed)
    removed: List[Entry] = []
    for entry in listed:
        if total <= limit:
            break
        if entry.path in keep_paths:
            continue
        if remove(entry):
            removed.append(entry)
            total -= entry.size
    return removed


def added(path: os.PathLike) -> List[Entry]:
    """Enforce the cap after ``path`` (``<cache>/<kind>/<file>``) was written; never removes it.

    Returns:
        The entries evicted to make room.
    """
    path = Path(path)
    if path.parent.name not in KINDS:
        return []
    return evict(path.parent.parent, max_bytes(), keep=[path])


def clear(root: Optional[Path] = None, older_than_days: Optional[float] = None) -> List[Entry]:
    """Remove every entry, or those last used more than ``older_than_days`` days ago.

    Returns:
        The removed entries, oldest first.
    """
    if older_than_days is not None and not older_than_days >= 0:
        raise ValueError(f'older_than_days must be >= 0, got {older_than_days}')
    now = time.time()
    cutoff = now - older_than_days * 86400.0 if older_than_days is not None else None
    return [e for e in entries(root, now)
            if (cutoff is None or e.last_used < cutoff) and remove(e)]
