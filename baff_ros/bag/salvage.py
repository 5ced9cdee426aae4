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
"""The intact part of damaged mcap storage files (``--salvage``), read record by record."""

from collections import Counter
from io import BytesIO
from itertools import islice
import os
from pathlib import Path
import re
import struct
from typing import Any, Dict, Generator, List, Optional, Sequence, Tuple
import zlib


from baff_ros.bag.rosbag2 import BagError, BagInput

_MCAP_MAGIC = b'\x89MCAP0\r\n'


def _decompress(compression: str, data: bytes) -> bytes:
    """Decompress chunk records; of a chunk cut short, as much as its intact part gives."""
    try:
        if not compression:
            return data
        if compression == 'zstd':
            import zstandard
            return zstandard.ZstdDecompressor().decompressobj().decompress(data)
        if compression == 'lz4':
            import lz4.frame
            return lz4.frame.LZ4FrameDecompressor().decompress(data)
    except Exception:  # noqa: BLE001 - damaged data: nothing usable
        pass
    return b''


def _data_end(f) -> int:
    """Return where the data of file ``f`` ends, before a zero-filled tail; rewind ``f``.

    A crash can leave a file's last blocks allocated but never written: read as zeros, they
    would pass for the rest of a record cut there.
    """
    end = os.fstat(f.fileno()).st_size
    while end > 0:
        step = min(end, 1 << 16)
        f.seek(end - step)
        kept = len(f.read(step).rstrip(b'\0'))
        if kept:
            end -= step - kept
            break
        end -= step
    f.seek(0)
    return end


class McapFile:
    """Read one mcap file record by record from its start, up to its first damaged record.

    What a recorder that crashed or was killed leaves: no footer or summary, a last chunk cut
    short, or a zero-filled tail (read as a cut). The mcap library parses the records; the
    framing is read here so that a chunk cut short still gives its whole messages (the bytes of
    each are all there; a chunk whose checksum fails is dropped whole) and the damage has a byte
    offset.

    Attributes:
        damaged_at: byte offset of the first record that cannot be read (of a compressed chunk
            cut short: the chunk's), or None when the file is whole (footer and end magic);
            set once :meth:`messages` has run to its end.
        schemas, channels: the records read so far, by id.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.damaged_at: Optional[int] = None
        self.schemas: Dict[int, Any] = {}
        self.channels: Dict[int, Any] = {}

    def messages(self) -> Generator[Any, None, None]:
        """Yield the intact mcap ``Message`` records in file order, by log time per chunk."""
        from mcap.opcode import Opcode

        self.schemas, self.channels = {}, {}
        with self.path.open('rb') as f:
            size = _data_end(f)
            if f.read(8) != _MCAP_MAGIC:
                self.damaged_at = 0
                return
            offset = 8
            while offset + 9 <= size:
                opcode, length = struct.unpack('<BQ', f.read(9))
                body = f.read(min(length, size - offset - 9))
                whole = len(body) == length
                if opcode == Opcode.CHUNK:
                    found, damage = self._chunk(body, whole)
                    yield from found
                    if damage is not None:
                        self.damaged_at = offset + damage
                        return
                elif opcode == 0 or not whole:  # 0: not an mcap record
                    break
                elif opcode == Opcode.FOOTER:
                    self.damaged_at = None if f.read(8) == _MCAP_MAGIC else offset + 9 + length
                    return
                else:
                    try:
                        message = self._record(opcode, body)
                    except Exception:  # noqa: BLE001 - a damaged record
                        break
                    if message is not None:
                        yield message
                offset += 9 + length
            self.damaged_at = min(offset, size)

    def _record(self, opcode: int, body: bytes):
        """Parse a Schema, Channel or Message record (returned) with the mcap library."""
        from mcap.data_stream import ReadDataStream
        from mcap.opcode import Opcode
        from mcap.records import Channel, Message, Schema

        stream = ReadDataStream(BytesIO(body))
        if opcode == Opcode.SCHEMA:
            schema = Schema.read(stream)
            self.schemas[schema.id] = schema
        elif opcode == Opcode.CHANNEL:
            channel = Channel.read(stream)
            self.channels[channel.id] = channel
        elif opcode == Opcode.MESSAGE:
            if len(body) < 22:
                raise ValueError('message record too short')
            message = Message.read(stream, len(body))
            if message.channel_id not in self.channels:
                raise ValueError(f'message on unknown channel {message.channel_id}')
            return message
        return None

    def _chunk(self, body: bytes, whole: bool) -> Tuple[List[Any], Optional[int]]:
        """Return a chunk's intact messages and where its damage starts (None: it is whole).

        The damage offset counts from the chunk record's start: the first record cut short in
        an uncompressed chunk, else 0 (the whole chunk, or its tail past what decompresses).
        """
        try:
            size, crc, name_len = struct.unpack_from('<QII', body, 16)
            compression = body[32:32 + name_len].decode()
            (length,) = struct.unpack_from('<Q', body, 32 + name_len)
        except (struct.error, UnicodeDecodeError):
            return [], 0
        start = 40 + name_len
        data = body[start:start + length]
        complete = whole and len(data) == length
        records = _decompress(compression, data)
        if complete and (len(records) != size or crc and zlib.crc32(records) != crc):
            return [], 0
        found, pos = [], 0
        while pos + 9 <= len(records):
            opcode, length = struct.unpack_from('<BQ', records, pos)
            if opcode == 0 or length > len(records) - pos - 9:
                break
            try:
                message = self._record(opcode, records[pos + 9:pos + 9 + length])
            except Exception:  # noqa: BLE001 - a damaged record
                break
            if message is not None:
                found.append(message)
            pos += 9 + length
        found.sort(key=lambda m: m.log_time)
        if complete and pos == len(records):
            return found, None
        return found, (9 + start + pos if not compression else 0)


def _definitions_typestore(connections: Sequence, default):
    """Build a typestore from the connections' definitions (``default``'s if none has one)."""
    from rosbags.interfaces import MessageDefinitionFormat
    from rosbags.typesys import get_types_from_idl, get_types_from_msg, get_typestore, Stores

    types: Dict[str, Any] = {}
    defined = [c for c in connections if c.msgdef.format != MessageDefinitionFormat.NONE]
    for c in defined:
        if c.msgdef.format == MessageDefinitionFormat.MSG:
            types.update(get_types_from_msg(c.msgdef.data, c.msgtype))
            continue
        # rosbag2 joins the IDL files a type needs, each as sep + 'IDL: <name>\n' + text.
        sep, idl = '=' * 80 + '\n', c.msgdef.data
        texts = [part.split('\n', 1)[1] for part in idl.split(sep)[1:]] \
            if idl.startswith(f'{sep}IDL: ') else [idl]
        for text in texts:
            types.update(get_types_from_idl(text))
    if not defined:
        types.update(default.fielddefs)
    store = get_typestore(Stores.EMPTY)
    store.register(types)
    return store


class SalvagedBag(BagInput):
    """The intact messages of damaged mcap storage files (``--salvage``), as a :class:`BagInput`.

    Messages come in file order (by log time within a chunk; a recorder writes in log order),
    files in their split order; CDR is decoded with the definitions the files carry, as usual.

    Args:
        path: the bag (directory or file), as the user named it.
        files: its mcap storage files, in order.
        topics, typestore: as for :class:`BagInput`.

    Attributes:
        files: the :class:`McapFile` read, with where each is damaged.
        counts: messages read from each file.
    """

    def __init__(self, path, files: Sequence[Path], topics: Sequence[str] = (),
                 typestore: str = 'humble') -> None:
        self.files = [McapFile(f) for f in files]
        self.counts: List[int] = []
        super().__init__(path, topics, typestore)

    @property
    def damaged(self) -> bool:
        """Say whether some file is damaged; if none is, every message was read."""
        return any(f.damaged_at is not None for f in self.files)

    def _open(self) -> list:
        from rosbags.interfaces import (Connection, ConnectionExtRosbag2, MessageDefinition,
                                        MessageDefinitionFormat)
        from rosbags.rosbag2.metadata import parse_qos

        formats = {'ros2msg': MessageDefinitionFormat.MSG, 'ros2idl': MessageDefinitionFormat.IDL,
                   'omgidl': MessageDefinitionFormat.IDL}
        self._connection: Dict[Tuple[int, int], Any] = {}
        notes = []
        for i, mcap in enumerate(self.files):
            counts = Counter(m.channel_id for m in mcap.messages())
            self.counts.append(sum(counts.values()))
            for cid, channel in mcap.channels.items():
                schema = mcap.schemas.get(channel.schema_id)
                fmt = formats.get(schema.encoding) if schema else None
                try:
                    qos = parse_qos(channel.metadata.get('offered_qos_profiles', ''))
                except Exception:  # noqa: BLE001 - unparsable QoS: none offered
                    qos = []
                self._connection[i, cid] = Connection(
                    len(self._connection), channel.topic,
                    schema.name if schema else '__schemaless__',
                    MessageDefinition(fmt, schema.data.decode(errors='replace'))
                    if fmt and schema else MessageDefinition(MessageDefinitionFormat.NONE, ''),
                    '', counts[cid], ConnectionExtRosbag2(channel.message_encoding, qos), self)
            notes.append(
                f'read all {self.counts[-1]} messages of {mcap.path} (intact)'
                if mcap.damaged_at is None else
                f'salvaged {self.counts[-1]} messages from {mcap.path} (damaged from byte '
                f'{mcap.damaged_at} of {mcap.path.stat().st_size})')
        self.notes = tuple(notes)
        if not sum(self.counts):
            raise BagError(f'{self.path}: nothing to salvage: no intact message before the '
                           'damage (' + '; '.join(notes) + ')')
        connections = list(self._connection.values())
        try:
            self._types = _definitions_typestore(connections, self.typestore)
        except Exception as exc:  # noqa: BLE001 - rosbags raises many types for bad definitions
            raise BagError(f'{self.path}: unreadable message definitions in the salvaged data '
                           f'({type(exc).__name__}: {exc})') from exc
        return connections

    def _read(self, connections: Sequence = ()
              ) -> Generator[Tuple[Any, int, bytes], None, None]:
        wanted = {c.id for c in connections}
        for i, (mcap, count) in enumerate(zip(self.files, self.counts)):
            # Read again from the start; stop where the first pass did.
            messages = McapFile(mcap.path).messages()
            try:
                for message in islice(messages, count):
                    conn = self._connection[i, message.channel_id]
                    if not wanted or conn.id in wanted:
                        yield conn, message.log_time, message.data
            finally:
                messages.close()

    def _decode(self, raw: bytes, msgtype: str):
        return self._types.deserialize_cdr(raw, msgtype)

    def close(self) -> None:
        """Nothing to close: each read opens and closes its files."""


def _split_order(path: Path) -> Tuple[int, str]:
    """Sort key of rosbag2 split files: ``x_2.mcap`` before ``x_10.mcap``."""
    m = re.search(r'_(\d+)$', path.stem)
    return (int(m.group(1)) if m else -1, path.name)


def storage_files(path: Path, suffix: str) -> List[Path]:
    """List the bag's storage files with ``suffix``: the file itself, or those in the folder."""
    if path.is_dir():
        return sorted(path.glob(f'*{suffix}'), key=_split_order)
    return [path] if path.suffix == suffix and path.exists() else []


def ends_early(path: Path) -> bool:
    """Say whether an mcap file lacks its closing magic (a recording cut short)."""
    with path.open('rb') as f:
        f.seek(max(0, path.stat().st_size - 8))
        return f.read() != _MCAP_MAGIC


def readable(path: Path) -> bool:
    """Say whether the mcap library reads at least one message of ``path``."""
    messages = McapFile(path).messages()
    try:
        return next(messages, None) is not None
    except OSError:
        return False
    finally:
        messages.close()
