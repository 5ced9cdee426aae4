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
"""ROS 2 message types as Cyclone DDS IdlStructs, with the DDS names rmw_cyclonedds uses.

The structs are generated at import from the message definitions the rest of the package uses
(:func:`baff_ros.ros.messages.message_typestore`, rosbags' ROS 2 Jazzy store plus vision_msgs),
one per :data:`~baff_ros.ros.messages.ROS_NAMES` entry, and put in this module under their
message names (``msgs.Image``); :data:`DDS_TYPES` is the pipeline's table of them.

Every field gets the IDL type rosidl gives it (``uint8`` is not ``byte``: IDL ``octet``, a
different XTypes kind that type-checking peers refuse to match); test/test_dds_idl.py compares
the structs with the installed ``.idl`` files and :data:`TYPE_HASHES` with rosidl's ``.json``.

Image, CompressedImage, PointCloud2 and OccupancyGrid ``data`` is declared ``sequence[uint8]``
(``int8`` for the grid), so the XTypes type information is ROS's, but serialised by
cyclonedds-python's ``bytes`` machine: same wire format (uint32 length, then the raw bytes),
copied as one block and returned as ``bytes``. The stock path packs and unpacks a Python list
of ints; measured here for a 1280x720 rgb8 frame: bytes 8 ms serialise / 3 ms deserialise, the
list path ~50x slower (~2 ms per 100 kB, ~55 ms a frame) - the difference between keeping up
with 30 Hz and not.
"""

import dataclasses
import types as pytypes
from typing import Any, Callable, Dict, List

from cyclonedds.idl import IdlStruct
from cyclonedds.idl._machinery import BytesMachine
from cyclonedds.idl import types as cdt

from baff_ros.ros.messages import (base_default, field_specs, message_typestore, MessageTypes,
                                   ROS_NAMES)

#: cyclonedds IDL type of each ROS base type (as rosidl maps them: ``char`` is uint8).
IDL_TYPES: Dict[str, Any] = {
    'bool': bool, 'byte': cdt.byte, 'char': cdt.uint8, 'int8': cdt.int8, 'uint8': cdt.uint8,
    'int16': cdt.int16, 'uint16': cdt.uint16, 'int32': cdt.int32, 'uint32': cdt.uint32,
    'int64': cdt.int64, 'uint64': cdt.uint64, 'float32': cdt.float32, 'float64': cdt.float64,
    'string': str}

# cyclonedds' IDL generics (runtime descriptors that type checkers take for malformed ones).
_ARRAY: Any = cdt.array
_SEQUENCE: Any = cdt.sequence

#: Generated structs by ROS type name (nested ones first, each built once).
_BUILT: Dict[str, type] = {}


def _filled(fill: Any, n: int) -> Callable[[], list]:
    """Return the default factory of a fixed-size array: ``n`` values (``fill()`` for a struct)."""
    return lambda: [fill() if callable(fill) else fill for _ in range(n)]


def idl_struct(msgtype: str) -> type:
    """Build the IdlStruct of ``msgtype`` (``sensor_msgs/msg/Image``) with its rmw DDS name."""
    if msgtype in _BUILT:
        return _BUILT[msgtype]
    annotations: Dict[str, Any] = {}
    defaults: Dict[str, Any] = {}
    byte_members: List[str] = []
    for f in field_specs(message_typestore(), msgtype):
        element = idl_struct(f.type) if f.message else IDL_TYPES[f.type]
        if f.container == 'array':
            annotations[f.name] = _ARRAY[element, f.length]
            fill = element if f.message else base_default(f.type)
            defaults[f.name] = dataclasses.field(default_factory=_filled(fill, f.length))
        elif f.container == 'sequence':
            annotations[f.name] = (_SEQUENCE[element, f.length] if f.length else
                                   _SEQUENCE[element])
            if f.type in ('uint8', 'int8'):
                # Serialised from/to bytes in one block (below). int8[] has the same CDR as
                # uint8[] (uint32 length, then the octets), so grid cells go as bytes too.
                byte_members.append(f.name)
                defaults[f.name] = b''
            else:
                defaults[f.name] = dataclasses.field(default_factory=list)
        elif f.message:
            annotations[f.name] = element
            defaults[f.name] = dataclasses.field(default_factory=element)
        else:
            annotations[f.name] = element
            defaults[f.name] = base_default(f.type)
    pkg, sub, name = msgtype.split('/')

    def body(namespace: Dict[str, Any]) -> None:
        namespace.update(defaults, __annotations__=annotations, __module__=__name__,
                         __qualname__=name, __doc__=f'{msgtype}.')

    cls: type = dataclasses.dataclass(pytypes.new_class(
        name, (IdlStruct,), {'typename': f'{pkg}::{sub}::dds_::{name}_'}, body))
    for member in byte_members:
        _bytes_fast_path(cls, member)
    _BUILT[msgtype] = cls
    return cls


def _bytes_fast_path(cls: type, member: str = 'data') -> None:
    """Serialise ``cls.member`` (a sequence<uint8>) from/to ``bytes`` in one block.

    Swaps the member's (de)serialiser for cyclonedds' BytesMachine, which writes the identical
    CDR (4-aligned uint32 length + octets) - checked against rosbags' CDR by
    test/test_dds_msgs.py, which also guards this use of cyclonedds internals.
    """
    idl = getattr(cls, '__idl__')  # set by IdlStruct's metaclass
    idl.populate()
    for machine in (idl.v1_machine, idl.v2_machine):
        machine.members_machines[member] = BytesMachine()


#: IdlStruct of every message the node uses, by its name (``'Image'``); also module attributes.
STRUCTS: Dict[str, type] = {name: idl_struct(msgtype) for name, msgtype in ROS_NAMES.items()}
globals().update(STRUCTS)
# The module attributes, declared for type checkers (test_dds_msgs checks they are all here).
Time: Any
Header: Any
Image: Any
CompressedImage: Any
CameraInfo: Any
RegionOfInterest: Any
LabelInfo: Any
VisionClass: Any
DiagnosticArray: Any
DiagnosticStatus: Any
KeyValue: Any
PointField: Any
PointCloud2: Any
Point: Any
Quaternion: Any
Pose: Any
MapMetaData: Any
OccupancyGrid: Any


#: REP-2011 type hashes (RIHS01) of these messages, as rosidl generates them for ROS 2 Jazzy
#: (``<prefix>/share/<pkg>/msg/<Type>.json``), computed from the same definitions. rmw_cyclonedds
#: (Iron and newer) announces ``typehash=<hash>;`` in every endpoint's USER_DATA QoS, lists it in
#: ``ros2 topic info -v`` and warns about each discovered endpoint without one.
TYPE_HASHES: Dict[str, str] = {msgtype: message_typestore().hash_rihs01(msgtype)
                               for msgtype in ROS_NAMES.values()}


def ros_type_name(data_type: Any) -> str:
    """ROS type name of an IdlStruct (``sensor_msgs::msg::dds_::Image_`` -> ``.../Image``).

    A type not named the rmw way (``<pkg>::<msg|srv>::dds_::<Type>_``) keeps its DDS name.
    """
    typename = data_type.__idl_typename__
    parts = typename.split('::')
    if len(parts) != 4 or parts[2] != 'dds_' or not parts[3].endswith('_'):
        return typename
    return f'{parts[0]}/{parts[1]}/{parts[3][:-1]}'


def type_hash_user_data(data_type: Any) -> bytes:
    """USER_DATA of an endpoint of ``data_type`` as rmw_cyclonedds writes it; b'' if unknown.

    The format is rmw_dds_common's: ``key=value;`` pairs, here the single ``typehash`` key.
    """
    type_hash = TYPE_HASHES.get(ros_type_name(data_type))
    return f'typehash={type_hash};'.encode() if type_hash else b''


#: The pipeline's message table for DDS: the IdlStructs above, by name.
DDS_TYPES = MessageTypes.from_classes(STRUCTS, byte=int, data=bytes, int8_data=bytes)

__all__: List[str] = [*STRUCTS, 'DDS_TYPES', 'idl_struct', 'STRUCTS', 'TYPE_HASHES',
                      'ros_type_name', 'type_hash_user_data']
