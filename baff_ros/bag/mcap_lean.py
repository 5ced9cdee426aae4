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
"""rosbags' MCAP writer with fewer copies of each message: the same bytes, less CPU.

rosbags writes a message into a record buffer, copies that into the chunk buffer, then copies
the chunk out of its buffer, into a record buffer and into the file: five copies of every byte.
For the node's image outputs (1-3 MB per frame) that was 1.3 ms of CPU per 1.5 MB image here.
:class:`LeanMcapWriter` writes each message record straight into the chunk buffer and an
uncompressed chunk straight from its buffer into the file: two copies. Everything else (schemas,
channels, indexes, summary, footer, zstd chunks) is rosbags' own code.

It relies on the layout of rosbags' ``McapWriter`` (its ``chunk``, ``bio``, ``chunks`` and
``channel_stats``), so it is used only with the rosbags releases it was checked against
(:data:`CHECKED_ROSBAGS`, by a test that compares its files byte for byte with rosbags' own);
with any other release the bag is written by rosbags' writer unchanged.
"""

from functools import lru_cache
from importlib.metadata import version
import struct
from typing import Any, Literal, Optional, Type

#: rosbags releases (major, minor) whose ``McapWriter`` this was checked against.
CHECKED_ROSBAGS = ((0, 10), (0, 11))

#: Message record (op 0x05): op, record length, channel id, sequence, log time, publish time.
_MESSAGE = struct.Struct('<BQHIQQ')
#: Chunk record (op 0x06) up to its data, uncompressed: op, record length, start time, end
#: time, uncompressed size, CRC (0: none), compression name length (0: none), data size.
_CHUNK = struct.Struct('<BQQQQIIQ')


def rosbags_release() -> Optional[tuple]:
    """(major, minor) of the installed rosbags, None if unknown."""
    try:
        return tuple(int(x) for x in version('rosbags').split('.')[:2])
    except Exception:  # noqa: BLE001 - not installed, or an unusual version string
        return None


@lru_cache(maxsize=1)
def lean_writer_class() -> Optional[Type[Any]]:
    """Return the lean MCAP writer class for this rosbags, or None to use rosbags' own."""
    if rosbags_release() not in CHECKED_ROSBAGS:
        return None
    try:
        from rosbags.rosbag2 import storage_mcap
    except ImportError:
        return None
    base = getattr(storage_mcap, 'McapWriter', None)
    pending = getattr(storage_mcap, 'PendingChunk', None)
    if base is None or pending is None:
        return None
    return _make_class(base, pending, storage_mcap)


def _make_class(base: Type[Any], pending: Type[Any], mod: Any) -> Type[Any]:
    from collections import defaultdict
    from io import BytesIO

    class LeanMcapWriter(base):
        """rosbags' ``McapWriter``, with message and uncompressed chunk records written once."""

        def write(self: Any, connection: Any, timestamp: int, data: Any) -> None:
            self.message_start_time = min(timestamp, self.message_start_time)
            self.message_end_time = max(timestamp, self.message_end_time)
            self.channel_stats[connection.id] += 1
            chunk = self.chunk
            chunk.message_start_time = min(timestamp, chunk.message_start_time)
            chunk.message_end_time = max(timestamp, chunk.message_end_time)
            chunk.msgs[connection.id].append((timestamp, chunk.bio.tell()))
            size = memoryview(data).nbytes
            chunk.bio.write(_MESSAGE.pack(0x05, 22 + size, connection.id, 0, timestamp,
                                          timestamp))
            chunk.bio.write(data)
            if chunk.bio.tell() > 2**20:
                self.close_chunk()

        def close_chunk(self: Any) -> None:
            if self.compression:
                super().close_chunk()
                return
            chunk = self.chunk
            size = chunk.bio.tell()
            chunk_start = self.bio.tell()
            self.bio.write(_CHUNK.pack(0x06, 40 + size, chunk.message_start_time,
                                       chunk.message_end_time, size, 0, 0, size))
            with chunk.bio.getbuffer() as data:
                self.bio.write(data)
            chunk_end = self.bio.tell()

            offsets = []
            for cid, msgs in chunk.msgs.items():
                offsets.append((cid, self.bio.tell()))
                rec = BytesIO()
                mod.write_uint16(rec, cid)
                mod.write_uint32(rec, len(msgs) * 16)
                for ts, offset in msgs:
                    mod.write_uint64(rec, ts)
                    mod.write_uint64(rec, offset)
                mod.write_record(self.bio, 0x07, rec)

            rec = BytesIO()
            mod.write_uint64(rec, chunk.message_start_time)
            mod.write_uint64(rec, chunk.message_end_time)
            mod.write_uint64(rec, chunk_start)
            mod.write_uint64(rec, chunk_end - chunk_start)
            mod.write_uint32(rec, len(offsets) * 10)
            for cid, offset in offsets:
                mod.write_uint16(rec, cid)
                mod.write_uint64(rec, offset)
            mod.write_uint64(rec, self.bio.tell() - chunk_end)
            mod.write_string(rec, self.compression)
            mod.write_uint64(rec, size)
            mod.write_uint64(rec, size)
            self.chunks.append(rec)

            self.chunk = pending(2**63 - 1, 0, BytesIO(), defaultdict(list))

    return LeanMcapWriter


def lean_writer(path: Any, bag_version: Literal[8, 9], storage_plugin: Any) -> Any:
    """Return a rosbags ``Writer``, its MCAP storage :func:`lean_writer_class`'s if checked."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    lean: Any = lean_writer_class() if storage_plugin == StoragePlugin.MCAP else None
    if lean is None:
        return Writer(path, version=bag_version, storage_plugin=storage_plugin)

    class _Writer(Writer):
        STORAGE_PLUGINS = {**Writer.STORAGE_PLUGINS, StoragePlugin.MCAP: lean}

    return _Writer(path, version=bag_version, storage_plugin=storage_plugin)
