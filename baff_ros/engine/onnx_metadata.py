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
"""An ONNX file's ``metadata_props``, read straight from the protobuf.

Neither the ``onnx`` package nor a runtime session is needed to inspect a file: only the
top-level ModelProto fields are walked, and only ``metadata_props`` entries are decoded.
"""

import os
from pathlib import Path
from typing import Any, BinaryIO, Dict, Optional

from baff_ros.engine.export_meta import ArtefactError


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
