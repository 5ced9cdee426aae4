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
"""The ROS messages the node uses: one definition (rosbags' typestore) and per-middleware tables.

The node core builds every outgoing message through a :class:`MessageTypes` table, so one code
path serves rclpy (``sensor_msgs.msg.Image`` ...), Cyclone DDS (IdlStructs generated from the
same definitions in ``baff_ros.ros.dds.msgs``) and ROS-free use: tools, bags and tests, with the
classes of the ``rosbags`` typestore (:func:`plain_types`), which also serialise to CDR. All of
them take the ROS field names as keywords and fill omitted fields with zeros and empty values.

The definitions are ROS 2 Jazzy's as rosbags ships them, plus vision_msgs (not in rosbags'
stores), registered from :data:`VISION_MSGS_DEFS`. test/test_dds_idl.py checks the generated
IdlStructs and their type hashes against the ``.idl`` and ``.json`` files of the installed ROS.
"""

from dataclasses import dataclass, fields
import functools
from typing import Any, Callable, Dict, Iterator, Mapping, NamedTuple, Optional

import numpy as np

#: Table entry -> ROS type name of every message the node builds (nested ones included).
ROS_NAMES: Dict[str, str] = {
    'Time': 'builtin_interfaces/msg/Time',
    'Header': 'std_msgs/msg/Header',
    'Image': 'sensor_msgs/msg/Image',
    'CompressedImage': 'sensor_msgs/msg/CompressedImage',
    'CameraInfo': 'sensor_msgs/msg/CameraInfo',
    'RegionOfInterest': 'sensor_msgs/msg/RegionOfInterest',
    'LabelInfo': 'vision_msgs/msg/LabelInfo',
    'VisionClass': 'vision_msgs/msg/VisionClass',
    'DiagnosticArray': 'diagnostic_msgs/msg/DiagnosticArray',
    'DiagnosticStatus': 'diagnostic_msgs/msg/DiagnosticStatus',
    'KeyValue': 'diagnostic_msgs/msg/KeyValue',
    'PointField': 'sensor_msgs/msg/PointField',
    'PointCloud2': 'sensor_msgs/msg/PointCloud2',
    'Point': 'geometry_msgs/msg/Point',
    'Quaternion': 'geometry_msgs/msg/Quaternion',
    'Pose': 'geometry_msgs/msg/Pose',
    'MapMetaData': 'nav_msgs/msg/MapMetaData',
    'OccupancyGrid': 'nav_msgs/msg/OccupancyGrid',
}

#: vision_msgs 4.x (Humble and later) definitions: rosbags' built-in stores lack vision_msgs.
VISION_MSGS_DEFS = {
    'vision_msgs/msg/VisionClass': 'uint16 class_id\nstring class_name\n',
    'vision_msgs/msg/LabelInfo': ('std_msgs/Header header\n'
                                  'vision_msgs/VisionClass[] class_map\n'
                                  'float32 threshold\n'),
}

# DiagnosticStatus levels (diagnostic_msgs/DiagnosticStatus constants).
OK, WARN, ERROR, STALE = 0, 1, 2, 3

#: numpy dtype of each numeric ROS base type (rosbags keeps numeric arrays as numpy arrays).
NUMPY_DTYPES: Dict[str, Any] = {
    'bool': np.bool_, 'byte': np.uint8, 'char': np.uint8, 'int8': np.int8, 'uint8': np.uint8,
    'int16': np.int16, 'uint16': np.uint16, 'int32': np.int32, 'uint32': np.uint32,
    'int64': np.int64, 'uint64': np.uint64, 'float32': np.float32, 'float64': np.float64}


def register_vision_msgs(typestore: Any) -> None:
    """Add vision_msgs VisionClass and LabelInfo to a rosbags typestore (idempotent)."""
    from rosbags.typesys import get_types_from_msg

    types: Dict[str, Any] = {}
    for name, text in VISION_MSGS_DEFS.items():
        if name not in typestore.types:
            types.update(get_types_from_msg(text, name))
    if types:
        typestore.register(types)


@functools.lru_cache(maxsize=None)
def message_typestore() -> Any:
    """Return the rosbags typestore that defines the messages: ROS 2 Jazzy's, plus vision_msgs."""
    from rosbags.typesys import get_typestore, Stores

    store = get_typestore(Stores.ROS2_JAZZY)
    register_vision_msgs(store)
    return store


class FieldSpec(NamedTuple):
    """One field of a message definition.

    Attributes:
        name: field name.
        type: a base type (``uint32``, ``string``, ...) or a message's ROS type name.
        message: whether ``type`` is a message.
        container: ``''`` (a single value), ``'array'`` (fixed ``length``) or ``'sequence'``
            (``length`` 0: unbounded, else its bound).
        length: see ``container``.
    """

    name: str
    type: str
    message: bool
    container: str
    length: int


def field_specs(typestore: Any, msgtype: str) -> Iterator[FieldSpec]:
    """Yield the fields of ``msgtype`` (a ROS type name) in the typestore, in order."""
    from rosbags.typesys.base import Nodetype

    for name, (kind, spec) in typestore.fielddefs[msgtype][1]:
        container, length = '', 0
        if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
            container = 'array' if kind == Nodetype.ARRAY else 'sequence'
            (kind, spec), length = spec
        message = kind == Nodetype.NAME
        yield FieldSpec(name, spec if message else spec[0], message, container, length)


def base_default(base: str) -> Any:
    """Return the default value ROS gives a base type: 0, 0.0, False or ''."""
    if base == 'string':
        return ''
    if base == 'bool':
        return False
    return 0.0 if base.startswith('float') else 0


def as_numpy(value: Any, dtype: Any) -> np.ndarray:
    """``value`` as a 1-D numpy array of ``dtype``: bytes-likes of 1-byte types as a view."""
    if isinstance(value, (bytes, bytearray, memoryview)) and np.dtype(dtype).itemsize == 1:
        return np.frombuffer(value, dtype)
    return np.asarray(value, dtype)


def typestore_constructor(typestore: Any, msgtype: str) -> Callable[..., Any]:
    """Return a constructor of the typestore class of ``msgtype`` taking ROS field names.

    Omitted fields get zeros and empty values (rosbags' classes want every field; defaults written
    in .msg files, such as Quaternion's w = 1, are not in the typestore's definitions and not
    applied). Numeric arrays and sequences become numpy arrays of the field's dtype (what rosbags
    serialises), without a copy where they already are one.
    """
    cls = typestore.types[msgtype]
    defaults: Dict[str, Callable[[], Any]] = {}
    dtypes: Dict[str, Any] = {}
    for f in field_specs(typestore, msgtype):
        if f.message:
            nested = typestore_constructor(typestore, f.type)
            defaults[f.name] = (nested if not f.container else
                                functools.partial(lambda c, n: [c() for _ in range(n)], nested,
                                                  f.length if f.container == 'array' else 0))
        elif not f.container:
            defaults[f.name] = functools.partial(base_default, f.type)
        elif f.type in NUMPY_DTYPES:
            dtypes[f.name] = NUMPY_DTYPES[f.type]
            defaults[f.name] = functools.partial(
                np.zeros, f.length if f.container == 'array' else 0, dtypes[f.name])
        else:  # strings
            defaults[f.name] = functools.partial(
                lambda n: [''] * n, f.length if f.container == 'array' else 0)

    def make(**values: Any) -> Any:
        for name, dtype in dtypes.items():
            if name in values:
                values[name] = as_numpy(values[name], dtype)
        for name, default in defaults.items():
            if name not in values:
                values[name] = default()
        return cls(**values)

    make.__name__ = make.__qualname__ = msgtype.rsplit('/', 1)[-1]
    make.__doc__ = f'{msgtype} (rosbags typestore class).'
    return make


@dataclass(frozen=True)
class MessageTypes:
    """The message classes of one middleware, constructed with ROS field names as keywords.

    One entry per :data:`ROS_NAMES` key, plus converters:

    Attributes:
        byte: converts an int to the middleware's representation of a ROS ``byte`` field
            (rclpy wants a one-byte ``bytes``; DDS and rosbags an int).
        data: converts image bytes to what the middleware's ``uint8[]`` field takes cheaply.
        int8_data: converts int8 cell bytes to what an ``int8[]`` field takes cheaply.
    """

    Time: Callable[..., Any]
    Header: Callable[..., Any]
    Image: Callable[..., Any]
    CompressedImage: Callable[..., Any]
    CameraInfo: Callable[..., Any]
    RegionOfInterest: Callable[..., Any]
    LabelInfo: Callable[..., Any]
    VisionClass: Callable[..., Any]
    DiagnosticArray: Callable[..., Any]
    DiagnosticStatus: Callable[..., Any]
    KeyValue: Callable[..., Any]
    PointField: Callable[..., Any]
    PointCloud2: Callable[..., Any]
    Point: Callable[..., Any]
    Quaternion: Callable[..., Any]
    Pose: Callable[..., Any]
    MapMetaData: Callable[..., Any]
    OccupancyGrid: Callable[..., Any]
    byte: Callable[[int], Any] = int
    data: Callable[[Any], Any] = bytes
    int8_data: Callable[[Any], Any] = bytes

    @classmethod
    def from_classes(cls, classes: Mapping[str, Any], **overrides: Any) -> 'MessageTypes':
        """Build a table from a middleware's message classes, looked up by their table names.

        Args:
            classes: message name -> class (``'Image'`` -> ``sensor_msgs.msg.Image``); a
                module's namespace where the classes are imported under their own names.
            overrides: entries to set instead (a wrapped constructor, the converters).
        """
        names = [f.name for f in fields(cls) if f.name[0].isupper()]
        values = {name: classes[name] for name in names if name not in overrides}
        return cls(**values, **overrides)

    @classmethod
    def from_typestore(cls, typestore: Any) -> 'MessageTypes':
        """Build a table of a rosbags typestore's classes (they serialise to CDR, for bags)."""
        register_vision_msgs(typestore)
        return cls.from_classes(
            {name: typestore_constructor(typestore, msgtype)
             for name, msgtype in ROS_NAMES.items()},
            # uint8[] / int8[] fields are numpy arrays in rosbags: a view, no copy.
            byte=int, data=lambda b: np.frombuffer(b, np.uint8),
            int8_data=lambda b: np.frombuffer(b, np.int8))

    def header(self, src: Any) -> Any:
        """Build a header of this middleware with ``src``'s stamp and frame_id (any duck type)."""
        return self.Header(stamp=self.Time(sec=int(src.stamp.sec), nanosec=int(src.stamp.nanosec)),
                           frame_id=str(src.frame_id))


@functools.lru_cache(maxsize=None)
def plain_types() -> MessageTypes:
    """Return the ROS-free message table: :func:`message_typestore`'s classes (tools, tests)."""
    return MessageTypes.from_typestore(message_typestore())


def or_plain(types: Optional[MessageTypes]) -> MessageTypes:
    """``types``, or the ROS-free table where it is None."""
    return plain_types() if types is None else types
