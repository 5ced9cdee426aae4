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
"""A rosbag2 (mcap or sqlite3; Humble, Jazzy and newer) as rosbags reads it: image streams."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Generator, Iterator, List, Optional, Sequence, Tuple


IMAGE_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')
CAMERA_INFO_TYPE = 'sensor_msgs/msg/CameraInfo'
TYPESTORES = ('humble', 'jazzy', 'latest')


def _recovery_hint(error: str) -> str:
    """Return what to do about a storage file that ends early (a crashed or killed recorder)."""
    if 'end magic' in error.lower():
        return ('; the mcap file ends early (no footer), as a recorder that crashed or was '
                'killed leaves it: rebuild it with the mcap command-line tool, `mcap recover '
                'IN.mcap -o fixed.mcap`, then segment the recovered file')
    return ''


class BagError(ValueError):
    """A bag cannot be read or does not hold what was asked for."""


class UnreadableBagError(BagError):
    """The bag's storage cannot be opened (damaged, truncated, not a rosbag2)."""


@dataclass(frozen=True)
class ImageStream:
    """One image topic to segment and the CameraInfo topic that goes with it (if any).

    Attributes:
        topic: the image topic as recorded, e.g. ``/camera/image_raw``.
        msgtype: ``sensor_msgs/msg/Image`` or ``sensor_msgs/msg/CompressedImage``.
        camera_info: the paired CameraInfo topic, or None.
        base: the namespace outputs go under (the image topic's parent; ``/camera``).
        count: messages on the image topic.
    """

    topic: str
    msgtype: str
    camera_info: Optional[str]
    base: str
    count: int


def _typestore(name: str):
    from rosbags.typesys import get_typestore, Stores

    stores = {'humble': Stores.ROS2_HUMBLE, 'jazzy': Stores.ROS2_JAZZY,
              'latest': Stores.LATEST}
    if name not in stores:
        raise BagError(f'unknown typestore {name!r}; choose one of {", ".join(TYPESTORES)}')
    return get_typestore(stores[name])


def image_base(topic: str, compressed: bool) -> str:
    """Return the namespace of an image topic: ``/cam/image_raw[/compressed]`` -> /cam."""
    parts = topic.rstrip('/').split('/')
    if compressed and parts[-1] == 'compressed':
        parts = parts[:-1]
    base = '/'.join(parts[:-1])
    return base or '/'


def pair_camera_info(image_topic: str, base: str, info_topics: Sequence[str]) -> Optional[str]:
    """Find the CameraInfo topic of an image topic, by the image_transport convention."""
    candidates = [f'{base.rstrip("/")}/camera_info']
    for cand in candidates:
        if cand in info_topics:
            return cand
    return info_topics[0] if len(info_topics) == 1 else None


class BagInput:
    """Open a rosbag2 and iterate over the frames of its image topic(s).

    Args:
        path: the bag directory (or a single .mcap/.db3 file).
        topics: image topics to segment; empty means auto-detect (exactly one image topic).
        typestore: message definitions used when the bag carries none (``humble``, ``jazzy``).

    Attributes:
        notes: lines to show the user about how the bag was read (none for an intact bag).
    """

    def __init__(self, path, topics: Sequence[str] = (), typestore: str = 'humble') -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f'{self.path}: no such bag')
        self.typestore = _typestore(typestore)
        self.notes: Tuple[str, ...] = ()
        self.connections = self._open()
        by_topic: Dict[str, List] = {}
        for c in self.connections:
            by_topic.setdefault(c.topic, []).append(c)
        self.topic_types = {t: cs[0].msgtype for t, cs in by_topic.items()}
        info_topics = sorted(t for t, ty in self.topic_types.items() if ty == CAMERA_INFO_TYPE)
        images = sorted(t for t, ty in self.topic_types.items() if ty in IMAGE_TYPES)
        if topics:
            unknown = [t for t in topics if t not in self.topic_types]
            if unknown:
                raise BagError(f'{self.path}: topic(s) {", ".join(unknown)} not in the bag '
                               f'(image topics: {", ".join(images) or "none"})')
            wrong = [t for t in topics if self.topic_types[t] not in IMAGE_TYPES]
            if wrong:
                raise BagError(f'{self.path}: topic(s) {", ".join(wrong)} are not images '
                               f'({", ".join(self.topic_types[t] for t in wrong)})')
            chosen = list(topics)
        elif len(images) == 1:
            chosen = images
        elif not images:
            raise BagError(f'{self.path}: no sensor_msgs Image or CompressedImage topic in the '
                           'bag')
        else:
            raise BagError(f'{self.path}: several image topics ({", ".join(images)}); choose '
                           'with --topic')
        self.streams: Tuple[ImageStream, ...] = tuple(self._stream(t, info_topics, by_topic)
                                                      for t in chosen)
        # Outputs go under <base>/segmentation/: two streams with one base (a camera's raw and
        # compressed transports, say) would interleave their frames on the same topics.
        owner: Dict[str, str] = {}
        for s in self.streams:
            if s.base in owner:
                raise BagError(f'{self.path}: {owner[s.base]} and {s.topic} would both write '
                               f'their outputs under {s.base.rstrip("/")}/segmentation/; '
                               'segment one of them per run (--topic)')
            owner[s.base] = s.topic

    def _open(self) -> list:
        """Open the storage with rosbags and return its connections."""
        from rosbags.highlevel import AnyReader

        try:
            self.reader = AnyReader([self.path], default_typestore=self.typestore)
            self.reader.open()
        except Exception as exc:  # noqa: BLE001 - rosbags raises many types for bad files
            first = str(exc).splitlines()[0] if str(exc) else ''
            raise UnreadableBagError(f'{self.path}: not a readable rosbag2 '
                                     f'({type(exc).__name__}: {first}){_recovery_hint(first)}'
                                     ) from exc
        return list(self.reader.connections)

    def _read(self, connections: Sequence = ()
              ) -> Generator[Tuple[Any, int, bytes], None, None]:
        """Raw messages (connection, timestamp ns, CDR) of ``connections`` (all if empty)."""
        return self.reader.messages(connections=connections)

    def _decode(self, raw: bytes, msgtype: str):
        return self.reader.deserialize(raw, msgtype)

    def _stream(self, topic: str, info_topics: Sequence[str], by_topic) -> ImageStream:
        msgtype = self.topic_types[topic]
        base = image_base(topic, msgtype.endswith('CompressedImage'))
        count = sum(c.msgcount for c in by_topic[topic])
        return ImageStream(topic, msgtype, pair_camera_info(topic, base, info_topics), base,
                           count)

    @property
    def frame_count(self) -> int:
        """Number of image messages that will be segmented."""
        return sum(s.count for s in self.streams)

    def messages(self) -> Iterator[Tuple[Any, int, bytes]]:
        """Every message of the bag in log-time order: (connection, timestamp ns, raw CDR)."""
        try:
            yield from self._read()
        except Exception as exc:  # noqa: BLE001
            raise BagError(f'{self.path}: corrupt bag data ({type(exc).__name__}: {exc})') \
                from exc

    def first_message(self, topic: str):
        """Return the first message of ``topic`` in log-time order, decoded (None if none)."""
        conns = [c for c in self.connections if c.topic == topic]
        if not conns:
            return None
        found = None
        messages = self._read(conns)
        try:
            for conn, _, raw in messages:
                found = (raw, conn.msgtype)
                break
        except Exception as exc:  # noqa: BLE001
            raise BagError(f'{self.path}: corrupt bag data ({type(exc).__name__}: {exc})') \
                from exc
        finally:
            messages.close()
        return None if found is None else self.deserialize(*found)

    def deserialize(self, raw: bytes, msgtype: str):
        """Decode one raw message with the bag's own definitions."""
        try:
            return self._decode(raw, msgtype)
        except Exception as exc:  # noqa: BLE001
            raise BagError(f'{self.path}: cannot decode a {msgtype} message: {exc}') from exc

    def close(self) -> None:
        """Close the underlying reader."""
        self.reader.close()

    def __enter__(self) -> 'BagInput':
        return self

    def __exit__(self, *exc) -> None:
        self.close()
