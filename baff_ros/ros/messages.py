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
"""Plain-Python stand-ins for the ROS messages the node uses, and the type table adapters fill.

The node core builds every outgoing message through a :class:`MessageTypes` table, so one code
path serves rclpy (``sensor_msgs.msg.Image`` ...), Cyclone DDS (the IdlStructs in
``baff_ros.ros.dds.msgs``) and ROS-free tests (the dataclasses below). All three accept the same
keyword arguments, which are the ROS field names.
"""

from dataclasses import dataclass, field, fields
from typing import Any, Callable, List, Mapping


@dataclass
class Time:
    """builtin_interfaces/Time."""

    sec: int = 0
    nanosec: int = 0


@dataclass
class Header:
    """std_msgs/Header."""

    stamp: Time = field(default_factory=Time)
    frame_id: str = ''


@dataclass
class Image:
    """sensor_msgs/Image (``data`` is bytes-like)."""

    header: Header = field(default_factory=Header)
    height: int = 0
    width: int = 0
    encoding: str = ''
    is_bigendian: int = 0
    step: int = 0
    data: Any = b''


@dataclass
class CompressedImage:
    """sensor_msgs/CompressedImage."""

    header: Header = field(default_factory=Header)
    format: str = ''
    data: Any = b''


@dataclass
class RegionOfInterest:
    """sensor_msgs/RegionOfInterest."""

    x_offset: int = 0
    y_offset: int = 0
    height: int = 0
    width: int = 0
    do_rectify: bool = False


@dataclass
class CameraInfo:
    """sensor_msgs/CameraInfo."""

    header: Header = field(default_factory=Header)
    height: int = 0
    width: int = 0
    distortion_model: str = ''
    d: List[float] = field(default_factory=list)
    k: List[float] = field(default_factory=lambda: [0.0] * 9)
    r: List[float] = field(default_factory=lambda: [0.0] * 9)
    p: List[float] = field(default_factory=lambda: [0.0] * 12)
    binning_x: int = 0
    binning_y: int = 0
    roi: RegionOfInterest = field(default_factory=RegionOfInterest)


@dataclass
class PointField:
    """sensor_msgs/PointField."""

    name: str = ''
    offset: int = 0
    datatype: int = 0
    count: int = 0


@dataclass
class PointCloud2:
    """sensor_msgs/PointCloud2 (``data`` is bytes-like)."""

    header: Header = field(default_factory=Header)
    height: int = 0
    width: int = 0
    fields: List[PointField] = field(default_factory=list)
    is_bigendian: bool = False
    point_step: int = 0
    row_step: int = 0
    data: Any = b''
    is_dense: bool = False


@dataclass
class Point:
    """geometry_msgs/Point."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0


@dataclass
class Quaternion:
    """geometry_msgs/Quaternion."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    w: float = 1.0


@dataclass
class Pose:
    """geometry_msgs/Pose."""

    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@dataclass
class MapMetaData:
    """nav_msgs/MapMetaData."""

    map_load_time: Time = field(default_factory=Time)
    resolution: float = 0.0
    width: int = 0
    height: int = 0
    origin: Pose = field(default_factory=Pose)


@dataclass
class OccupancyGrid:
    """nav_msgs/OccupancyGrid (``data``: int8 cells, row-major, as the adapter's int8 type)."""

    header: Header = field(default_factory=Header)
    info: MapMetaData = field(default_factory=MapMetaData)
    data: Any = b''


@dataclass
class VisionClass:
    """vision_msgs/VisionClass."""

    class_id: int = 0
    class_name: str = ''


@dataclass
class LabelInfo:
    """vision_msgs/LabelInfo."""

    header: Header = field(default_factory=Header)
    class_map: List[VisionClass] = field(default_factory=list)
    threshold: float = 0.0


@dataclass
class KeyValue:
    """diagnostic_msgs/KeyValue."""

    key: str = ''
    value: str = ''


@dataclass
class DiagnosticStatus:
    """diagnostic_msgs/DiagnosticStatus (``level`` as the adapter's byte type)."""

    level: Any = 0
    name: str = ''
    message: str = ''
    hardware_id: str = ''
    values: List[KeyValue] = field(default_factory=list)


@dataclass
class DiagnosticArray:
    """diagnostic_msgs/DiagnosticArray."""

    header: Header = field(default_factory=Header)
    status: List[DiagnosticStatus] = field(default_factory=list)


# DiagnosticStatus levels (diagnostic_msgs/DiagnosticStatus constants).
OK, WARN, ERROR, STALE = 0, 1, 2, 3


@dataclass(frozen=True)
class MessageTypes:
    """The message classes of one middleware, constructed with ROS field names as keywords.

    Attributes:
        byte: converts an int to the middleware's representation of a ROS ``byte`` field
            (rclpy wants a one-byte ``bytes``; DDS and the plain types an int).
        data: converts image bytes to what the middleware's ``uint8[]`` field takes cheaply.
        int8_data: converts int8 cell bytes to what an ``int8[]`` field takes cheaply.
    """

    Time: Callable[..., Any] = Time
    Header: Callable[..., Any] = Header
    Image: Callable[..., Any] = Image
    CompressedImage: Callable[..., Any] = CompressedImage
    CameraInfo: Callable[..., Any] = CameraInfo
    RegionOfInterest: Callable[..., Any] = RegionOfInterest
    LabelInfo: Callable[..., Any] = LabelInfo
    VisionClass: Callable[..., Any] = VisionClass
    DiagnosticArray: Callable[..., Any] = DiagnosticArray
    DiagnosticStatus: Callable[..., Any] = DiagnosticStatus
    KeyValue: Callable[..., Any] = KeyValue
    PointField: Callable[..., Any] = PointField
    PointCloud2: Callable[..., Any] = PointCloud2
    Point: Callable[..., Any] = Point
    Quaternion: Callable[..., Any] = Quaternion
    Pose: Callable[..., Any] = Pose
    MapMetaData: Callable[..., Any] = MapMetaData
    OccupancyGrid: Callable[..., Any] = OccupancyGrid
    byte: Callable[[int], Any] = int
    data: Callable[[Any], Any] = bytes
    int8_data: Callable[[Any], Any] = bytes

    @classmethod
    def from_classes(cls, classes: Mapping[str, Any], **overrides: Any) -> 'MessageTypes':
        """Build a table from a middleware's message classes, looked up by their ROS names.

        Args:
            classes: message name -> class (``'Image'`` -> ``sensor_msgs.msg.Image``); a
                module's namespace where the classes are imported under their own names.
            overrides: entries to set instead (a wrapped constructor, the converters).
        """
        names = [f.name for f in fields(cls) if f.name[0].isupper()]
        values = {name: classes[name] for name in names if name not in overrides}
        return cls(**values, **overrides)

    def header(self, src: Any) -> Any:
        """Build a header of this middleware with ``src``'s stamp and frame_id (any duck type)."""
        return self.Header(stamp=self.Time(sec=int(src.stamp.sec), nanosec=int(src.stamp.nanosec)),
                           frame_id=str(src.frame_id))


#: The ROS-free message table (tests, tools).
PLAIN = MessageTypes()
