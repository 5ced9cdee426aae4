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
"""Writing rosbag2 files atomically: the output appears under its name only when complete."""

import os
from pathlib import Path
import queue
import re
import shutil
import tempfile
import threading
from typing import Any, Callable, cast, Dict, Literal, Optional, Tuple

from baff_ros.ros.messages import register_vision_msgs

STORAGES = ('mcap', 'sqlite3')
#: Output compression: none, or zstd chunk compression (mcap only: MCAP's own chunk
#: compression, which every MCAP reader - ros2 bag, Foxglove, the mcap libraries - decodes).
COMPRESSIONS = ('none', 'zstd')
#: rosbag2 metadata versions that can be written: 9 (Jazzy and later: QoS profiles as a YAML
#: list) and 8 (QoS profiles as one YAML string, the form older rosbag2 releases parse).
BAG_VERSIONS = (8, 9)
#: The files a rosbag2 directory holds: its metadata and storage files (sqlite3's side files and
#: rosbag2's file-compressed storage included). ``--overwrite`` replaces nothing else.
_BAG_FILE = re.compile(r'^(metadata\.yaml|.+\.(mcap|db3|db3-shm|db3-wal|db3-journal)(\.zstd)?)$')


def check_replaceable(path) -> None:
    """Raise ValueError unless ``path`` is absent or a rosbag2 directory and nothing more.

    ``--overwrite`` must never delete a user's other files: a folder is replaced only when it
    holds ``metadata.yaml`` and storage files, nothing else (no subfolders, no notes).
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_dir():
        raise ValueError(f'{path}: exists and is not a bag directory; --overwrite replaces only '
                         'a rosbag2 bag')
    names = sorted(p.name for p in path.iterdir())
    others = [n for n in names if not _BAG_FILE.match(n) or not (path / n).is_file()]
    if others or 'metadata.yaml' not in names:
        what = ', '.join(others[:5]) + (' ...' if len(others) > 5 else '') if others else \
            'no metadata.yaml'
        raise ValueError(f'{path}: not replaced, it is not only a rosbag2 bag ({what}); '
                         '--overwrite replaces only a bag (metadata.yaml and storage files)')


def check_output_apart(src, dst) -> None:
    """Raise ValueError when output ``dst`` is input ``src``, contains it or lies inside it."""
    s, d = Path(src).resolve(), Path(dst).resolve()
    if s == d:
        raise ValueError(f'{dst}: the output is the input bag')
    if s in d.parents:
        raise ValueError(f'{dst}: the output lies inside the input bag {src}')
    if d in s.parents:
        raise ValueError(f'{dst}: the output contains the input bag {src}')


class BagOutput:
    """A rosbag2 writer that works in a hidden ``.OUT.*.partial/`` and renames it to ``OUT``.

    A crash or an exception leaves no ``OUT`` (only a hidden ``.OUT.*.partial`` directory of that
    run, which no later run touches), so a bag that exists is a complete bag. ``overwrite``
    replaces only a rosbag2 directory (:func:`check_replaceable`), and the old one is deleted
    only after the new one is in place. The storage file is named as ``ros2 bag record`` names
    it, ``OUT/OUT_0.mcap`` (or ``.db3``): the bag is written as ``.OUT.<random>.partial/OUT_0``
    and that directory becomes ``OUT``, so ``metadata.yaml`` (and the copy inside a sqlite3
    file) name the file as it ends up, and ``ros2 bag reindex``, which only looks for
    ``<bag>_<n>.<ext>`` files, finds it.

    Args:
        path: output bag directory; must not exist unless ``overwrite``.
        typestore: rosbags typestore used to serialise new messages.
        storage: ``mcap`` (default) or ``sqlite3``.
        overwrite: replace an existing output.
        compression: ``none`` or ``zstd`` (mcap chunk compression; label, colour and weight
            images shrink ~100x, the overlay ~2x; costs CPU time).
        version: rosbag2 metadata version, one of :data:`BAG_VERSIONS`.
        background: (mcap) serialise and write on a worker thread, so a caller that segments frames
            overlaps its inference with the previous frame's encoding and disk I/O (messages
            keep their order; a write error surfaces at the next call or at commit).
    """

    #: Messages the background writer may hold before ``write`` blocks (bounded memory).
    QUEUE_SIZE = 32

    def __init__(self, path, typestore, storage: str = 'mcap', overwrite: bool = False,
                 background: bool = False, compression: str = 'none', version: int = 9) -> None:
        from rosbags.rosbag2 import StoragePlugin

        from baff_ros.bag.mcap_lean import lean_writer

        if storage not in STORAGES:
            raise ValueError(f'storage must be one of {STORAGES}, got {storage!r}')
        if compression not in COMPRESSIONS:
            raise ValueError(f'compression must be one of {COMPRESSIONS}, got {compression!r}')
        if compression != 'none' and storage != 'mcap':
            raise ValueError(f'{compression} compression needs mcap storage, not {storage}')
        if version not in BAG_VERSIONS:
            raise ValueError(f'bag version must be one of {BAG_VERSIONS}, got {version!r}')
        self.path = Path(path)
        if self.path.exists() or self.path.is_symlink():
            if not overwrite:
                raise ValueError(f'{self.path}: output exists (use --overwrite)')
            check_replaceable(self.path)
        # A staging directory of this run's own, beside OUT (same file system: the final
        # rename is atomic); one left by a crashed run is never touched.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.partial = Path(tempfile.mkdtemp(prefix=f'.{self.path.name}.', suffix='.partial',
                                             dir=self.path.parent))
        self.typestore = typestore
        register_vision_msgs(typestore)
        plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
        self._staged = self.partial / f'{self.path.name}_0'
        # (checked against BAG_VERSIONS above; rosbags types the argument as Literal[8, 9])
        # rosbags' writer; for mcap with fewer copies of each message (same bytes, mcap_lean).
        self.writer = lean_writer(self._staged, cast(Literal[8, 9], version), plugin)
        if compression == 'zstd':
            # STORAGE mode = compressed MCAP chunks (not rosbag2's file/message compression,
            # which plain MCAP readers cannot open).
            from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
            self.writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self.writer.open()
        self.overwrite = overwrite
        self._connections: Dict[str, object] = {}
        self.counts: Dict[str, int] = {}
        self._queue: Optional[queue.Queue] = None
        self._error: Optional[BaseException] = None
        self._thread: Optional[threading.Thread] = None
        # sqlite3 connections are bound to the thread that opened them: sqlite3 bags are
        # written in the caller's thread.
        if background and storage == 'mcap':
            self._queue = queue.Queue(self.QUEUE_SIZE)
            self._thread = threading.Thread(target=self._drain, args=(self._queue,),
                                            name='bag-writer', daemon=True)
            self._thread.start()

    def _drain(self, jobs: queue.Queue) -> None:
        while True:
            job: Optional[Tuple[Callable[..., None], tuple]] = jobs.get()
            if job is None:
                return
            if self._error is None:
                try:
                    job[0](*job[1])
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    self._error = exc

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        if self._error is not None:
            raise self._error
        if self._queue is None:
            fn(*args)
        else:
            self._queue.put((fn, args))

    def _finish_queue(self) -> None:
        if self._thread is not None and self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def connection(self, topic: str, msgtype: str, like=None, qos: Optional[list] = None):
        """Return the connection for ``topic``, created on first use.

        Args:
            like: an input connection to copy (definition, serialisation, QoS) verbatim.
            qos: offered QoS profiles (rosbags Qos objects) for a new topic.
        """
        conn = self._connections.get(topic)
        if conn is None:
            msgdef = getattr(getattr(like, 'msgdef', None), 'data', None) or None
            if like is not None and msgdef and like.digest:
                conn = self.writer.add_connection(
                    topic, like.msgtype, msgdef=msgdef, rihs01=like.digest,
                    serialization_format=like.ext.serialization_format,
                    offered_qos_profiles=like.ext.offered_qos_profiles)
            elif like is not None:
                # Older bags carry no definitions: generate them from the typestore.
                conn = self.writer.add_connection(
                    topic, like.msgtype, typestore=self.typestore,
                    serialization_format=like.ext.serialization_format,
                    offered_qos_profiles=like.ext.offered_qos_profiles)
            else:
                conn = self.writer.add_connection(topic, msgtype, typestore=self.typestore,
                                                  offered_qos_profiles=qos or [])
            self._connections[topic] = conn
            self.counts[topic] = 0
        return conn

    def write_raw(self, topic: str, msgtype: str, stamp_ns: int, raw: bytes, like=None) -> None:
        """Write already-serialised CDR bytes."""
        self._submit(self._write_raw, topic, msgtype, stamp_ns, raw, like)

    def write(self, topic: str, msg, stamp_ns: int, qos: Optional[list] = None) -> None:
        """Serialise a typestore message and write it."""
        self._submit(self._write, topic, msg, stamp_ns, qos)

    def write_converted(self, topic: str, msg, stamp_ns: int,
                        convert: Callable[[Any], Any]) -> None:
        """Write ``convert(msg)`` (e.g. an image compressed), converting in the writer's thread."""
        self._submit(self._write_converted, topic, msg, stamp_ns, convert)

    def _write_converted(self, topic: str, msg, stamp_ns: int, convert) -> None:
        self._write(topic, convert(msg), stamp_ns, None)

    def _write_raw(self, topic: str, msgtype: str, stamp_ns: int, raw: bytes, like) -> None:
        self.writer.write(self.connection(topic, msgtype, like), stamp_ns, raw)
        self.counts[topic] += 1

    def _write(self, topic: str, msg, stamp_ns: int, qos: Optional[list]) -> None:
        conn = self.connection(topic, msg.__msgtype__, qos=qos)
        self.writer.write(conn, stamp_ns, self.typestore.serialize_cdr(msg, msg.__msgtype__))
        self.counts[topic] += 1

    def commit(self) -> Path:
        """Finish the bag and move it to its final name."""
        self._finish_queue()
        if self._error is not None:
            self.abort()
            raise self._error
        self.writer.close()
        if self.path.exists() or self.path.is_symlink():
            check_replaceable(self.path)  # again: it may have changed while we wrote
            old = self.partial / 'replaced'
            os.replace(self.path, old)  # moved aside, deleted only once the new bag is in place
        os.replace(self._staged, self.path)
        shutil.rmtree(self.partial, ignore_errors=True)
        return self.path

    def abort(self) -> None:
        """Drop everything written so far."""
        if self._error is None:
            self._error = RuntimeError('aborted')  # the worker skips what is still queued
        self._finish_queue()
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - already failing; the directory goes anyway
            pass
        shutil.rmtree(self.partial, ignore_errors=True)

    def __enter__(self) -> 'BagOutput':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
