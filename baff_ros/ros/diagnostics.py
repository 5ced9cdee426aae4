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
"""The node's health: counters and timings, and the DiagnosticArray built from them.

The scheduling threads of :class:`baff_ros.ros.pipeline.Pipeline` update a :class:`Stats`;
:func:`diagnostics_array` turns one consistent snapshot of it into the ``/diagnostics``
message, through the adapter's message table.
"""

from collections import deque
import threading
import time
from typing import Any, Deque, Dict, Optional

import numpy as np

from baff_ros.ros import messages
from baff_ros.ros.messages import MessageTypes

#: Seconds of history behind the input / processed rates.
RATE_WINDOW_S = 5.0


class Rate:
    """Events per second over a sliding window (monotonic clock)."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self.times: Deque[float] = deque(maxlen=1000)

    def tick(self, now: float) -> None:
        """Record one event at monotonic time ``now``."""
        self.times.append(now)

    def hz(self, now: float) -> float:
        """Return the events per second over the window ending at ``now``."""
        while self.times and now - self.times[0] > self.window_s:
            self.times.popleft()
        if len(self.times) < 2:
            return 0.0
        span = max(now - self.times[0], self.times[-1] - self.times[0])
        return (len(self.times) - 1) / span if span > 0 else 0.0


class Stats:
    """Diagnostics counters and timings; updated by the callbacks and the worker thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.skipped = 0
        self.decode_errors = 0
        self.errors = 0
        self.last_error = ''
        self.input_rate = Rate()
        self.output_rate = Rate()
        self.infer_ms: Deque[float] = deque(maxlen=100)
        self.process_ms: Deque[float] = deque(maxlen=100)
        self.node_latency_ms: Deque[float] = deque(maxlen=100)
        self.stamp_latency_ms: Deque[float] = deque(maxlen=100)
        self.segment_ms: Deque[float] = deque(maxlen=100)
        self.first_latency_ms: Deque[float] = deque(maxlen=100)
        self.ground_ms: Deque[float] = deque(maxlen=100)
        self.ground_skipped = 0
        self.ground_skip_reason = ''
        self.obstacle_points = 0
        self.free_points = 0
        #: fusion -> the last segmented frame's BAFF weight map (native resolution).
        self.weights: Dict[str, np.ndarray] = {}

    def count_frame(self, stamp: Any, t0: float, received: float, result: Any, now: float,
                    first: Optional[float] = None) -> None:
        """Count a processed frame.

        Args:
            stamp: the input's header stamp.
            t0, received: monotonic times processing started and the frame arrived.
            result: its SegmentationResult, None when nobody listened.
            now: monotonic time its last output went out.
            first: monotonic time its first output went out, where known.
        """
        stamp_s = int(stamp.sec) + int(stamp.nanosec) * 1e-9
        with self.lock:
            self.processed += 1
            self.output_rate.tick(now)
            self.process_ms.append((now - t0) * 1e3)
            self.node_latency_ms.append((now - received) * 1e3)
            if result is not None:
                self.infer_ms.append(result.timings_ms.get('infer', 0.0))
                # The maps themselves (the result is not reused): their statistics are taken
                # when a diagnostics message is built, not for every frame.
                self.weights = dict(result.weights)
                self.segment_ms.append(result.total_ms)
            if first is not None:
                self.first_latency_ms.append((first - received) * 1e3)
            if stamp_s > 0:
                # Meaningful when the camera stamps with this machine's clock (not sim time).
                self.stamp_latency_ms.append((time.time() - stamp_s) * 1e3)

    def snapshot(self) -> Dict[str, Any]:
        """Return a consistent copy of the counters plus rates and median/p99 timings."""
        now = time.monotonic()
        with self.lock:
            snap: Dict[str, Any] = {
                'frames_received': self.received, 'frames_processed': self.processed,
                'frames_dropped': self.dropped, 'frames_skipped': self.skipped,
                'decode_errors': self.decode_errors, 'errors': self.errors,
                'last_error': self.last_error,
                'input_hz': self.input_rate.hz(now), 'processed_hz': self.output_rate.hz(now),
                'ground_skipped': self.ground_skipped,
                'ground_skip_reason': self.ground_skip_reason,
                'obstacle_points': self.obstacle_points, 'free_points': self.free_points,
            }
            series = {'infer_ms': self.infer_ms, 'segment_ms': self.segment_ms,
                      'process_ms': self.process_ms,
                      'first_output_latency_ms': self.first_latency_ms,
                      'node_latency_ms': self.node_latency_ms,
                      'stamp_latency_ms': self.stamp_latency_ms, 'ground_ms': self.ground_ms}
            for name, values in series.items():
                arr = np.asarray(values, np.float64)
                snap[name] = float(np.median(arr)) if arr.size else 0.0
                snap[name.replace('_ms', '_p99_ms')] = (float(np.percentile(arr, 99))
                                                        if arr.size else 0.0)
            maps = dict(self.weights)
        if maps:
            from baff_ros.engine.visualize import weight_stats

            for fusion, weight in maps.items():
                w = weight_stats(weight)
                # Strings: three decimals (a std of 0.010 must not read as 0.01 or 0.00);
                # hist: fraction of the map's pixels in each tenth of [0, 1], lowest first.
                key = f'weights_stride{fusion}'
                for stat in ('min', 'mean', 'max', 'std'):
                    snap[f'{key}_{stat}'] = f'{w[stat]:.3f}'
                snap[f'{key}_hist'] = ' '.join(f'{v:.3f}' for v in w['hist'])  # type: ignore
        return snap


def header_now(types: MessageTypes) -> Any:
    """Return a Header stamped with the wall clock now and no frame (LabelInfo, diagnostics)."""
    now = time.time()
    return types.Header(stamp=types.Time(sec=int(now), nanosec=int((now % 1) * 1e9)),
                        frame_id='')


def diagnostics_array(types: MessageTypes, stats: Stats, segmenter: Any, name: str,
                      hardware_id: str) -> Any:
    """diagnostic_msgs/DiagnosticArray with one status: ``segmenter`` None = inactive node."""
    snap = stats.snapshot()
    level, message = messages.OK, 'segmenting'
    if segmenter is None:
        level, message = messages.STALE, 'inactive (no model loaded)'
    elif snap['frames_received'] == 0:
        level, message = messages.WARN, 'no input frames yet'
    elif snap['input_hz'] == 0.0:
        level, message = messages.WARN, 'no recent input frames'
    elif snap['decode_errors'] or snap['errors']:
        level, message = messages.WARN, f'segmenting; last error: {snap["last_error"]}'
    values = {k: (f'{v:.2f}' if isinstance(v, float) else str(v)) for k, v in snap.items()}
    if segmenter is not None:
        h, w = segmenter.input_size
        values['network_size'] = f'{h}x{w}'
        values['backend'] = getattr(segmenter.backend, 'description', '')
    status = types.DiagnosticStatus(
        level=types.byte(level), name=f'{name}: segmentation', message=message,
        hardware_id=hardware_id, values=[types.KeyValue(key=k, value=v)
                                         for k, v in values.items()])
    return types.DiagnosticArray(header=header_now(types), status=[status])
