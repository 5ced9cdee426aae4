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
"""A DDS camera and a DDS recorder: the other ends of the node, for tests and benchmarks."""

import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from baff_ros.ros.dds import msgs
from baff_ros.ros.dds.node import OUTPUT_TYPES, qos, RosDds
from baff_ros.ros.image_codec import array_to_image
from baff_ros.ros.outputs import DIAGNOSTICS, LABEL_INFO, output_topic

_TYPES = {**OUTPUT_TYPES, LABEL_INFO: msgs.LabelInfo, DIAGNOSTICS: msgs.DiagnosticArray}


def stamp_now(types: Any = msgs) -> Any:
    """Return a Time message for the current wall-clock time."""
    now = time.time_ns()
    return types.Time(sec=now // 1_000_000_000, nanosec=now % 1_000_000_000)


class Camera:
    """Publishes Image (and optional CameraInfo) frames the way a camera driver does."""

    def __init__(self, dds: RosDds, topic: str = 'image', info_topic: str = 'camera_info',
                 reliability: str = 'best_effort') -> None:
        self.dds = dds
        self.writer = dds.writer(topic, msgs.Image, qos(reliability, 1))
        self.info_writer = dds.writer(info_topic, msgs.CameraInfo, qos(reliability, 1))
        self.sent: List[Tuple[float, Any]] = []

    def matched(self) -> bool:
        """Whether the node's reader has been discovered."""
        return bool(self.writer.get_matched_subscriptions())

    def publish(self, image: np.ndarray, encoding: str = 'rgb8', frame_id: str = 'camera',
                stamp: Any = None, info: Any = None) -> Any:
        """Publish one frame now; returns the message."""
        header = msgs.Header(stamp=stamp or stamp_now(), frame_id=frame_id)
        msg = array_to_image(image, encoding, header, msgs.DDS_TYPES)
        return self.publish_msg(msg, info)

    def publish_msg(self, msg: Any, info: Any = None) -> Any:
        """Publish a prepared Image (possibly malformed on purpose)."""
        if info is not None:
            info.header = msg.header
            self.info_writer.write(info)
        self.writer.write(msg)
        self.sent.append((time.monotonic(), msg.header.stamp))
        return msg

    def stream(self, make_frame: Callable[[int], np.ndarray], rate_hz: float, duration_s: float,
               stop: Optional[threading.Event] = None, info: Any = None) -> int:
        """Publish frames at ``rate_hz`` for ``duration_s`` (on a fixed schedule, no drift)."""
        period = 1.0 / rate_hz
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < duration_s and not (stop and stop.is_set()):
            self.publish(make_frame(n), info=info)
            n += 1
            delay = start + n * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return n


class Recorder:
    """Subscribes to node outputs and records (wall-clock receive time, sample) per output key.

    Args:
        dds: the participant to use.
        keys: output keys (``'labels'``, ``'weights/stride8'``, ``'label_info'``,
            ``'diagnostics'``).
        keep: samples kept per key (older ones are dropped; counts keep growing).
    """

    def __init__(self, dds: RosDds, keys: Sequence[str], keep: int = 1000) -> None:
        self.lock = threading.Lock()
        self.samples: Dict[str, List[Tuple[float, Any]]] = {k: [] for k in keys}
        self.counts: Dict[str, int] = {k: 0 for k in keys}
        self.keep = keep
        self.readers = []
        from cyclonedds.core import Listener

        for key in keys:
            latched = key == LABEL_INFO
            self.readers.append(dds.reader(
                output_topic(key), _TYPES.get(key, msgs.Image),
                qos('reliable', 1 if latched else 10, transient_local=latched),
                Listener(on_data_available=self._callback(key))))

    def _callback(self, key: str) -> Callable[[Any], None]:
        def on_data(reader: Any) -> None:
            now = time.time()  # wall clock, comparable with the camera's header stamps
            if reader is None:  # a callback racing the participant's deletion
                return
            for sample in reader.take(N=32):
                if not hasattr(sample, 'header'):
                    continue
                with self.lock:
                    self.counts[key] += 1
                    store = self.samples[key]
                    store.append((now, sample))
                    if len(store) > self.keep:
                        del store[:len(store) - self.keep]
        return on_data

    def get(self, key: str) -> List[Tuple[float, Any]]:
        """Return a copy of the recorded (receive time, sample) pairs of ``key``."""
        with self.lock:
            return list(self.samples[key])

    def find(self, key: str, stamp: Any) -> Optional[Any]:
        """Return the sample of ``key`` whose header stamp equals ``stamp``, if received."""
        for _, s in self.get(key):
            if (s.header.stamp.sec, s.header.stamp.nanosec) == (stamp.sec, stamp.nanosec):
                return s
        return None

    def find_time(self, key: str, stamp: Any) -> Optional[float]:
        """Return the wall-clock receive time of ``key``'s sample with header ``stamp``."""
        for t, s in self.get(key):
            if (s.header.stamp.sec, s.header.stamp.nanosec) == (stamp.sec, stamp.nanosec):
                return t
        return None

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Poll ``predicate`` until true or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()

    def diagnostics(self) -> Dict[str, str]:
        """Return key -> value of the latest /diagnostics status (empty if none yet)."""
        got = self.get(DIAGNOSTICS)
        if not got:
            return {}
        status = got[-1][1].status[0]
        values = {kv.key: kv.value for kv in status.values}
        values['_level'] = str(status.level)
        values['_message'] = status.message
        return values
