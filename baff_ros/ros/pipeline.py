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
"""The node core, without any middleware: frames in, segmentation messages out.

Both adapters (``rclpy_node`` and ``dds``) are thin: they turn subscriptions into
:meth:`Pipeline.submit` / :meth:`Pipeline.set_camera_info` calls and implement
:class:`OutputSink` (subscriber counts and publishing). Everything else - scheduling,
decoding, which outputs to compute, headers, CameraInfo scaling, LabelInfo, diagnostics -
lives here once.

Scheduling is latest-frame-only, in two stages on two threads: one decodes and segments, the
other builds and publishes the outputs of the previous frame meanwhile. A frame arriving while
the first stage is busy waits in a single slot, and a newer frame replaces it (counted as
dropped); the first stage takes a new frame only once the second has picked up its last result.
There is never a queue: at most one frame waits, one is segmented and one is published, so
latency stays bounded however fast the camera is, and the processed rate is set by the slower
stage (normally inference) instead of by the sum of both.
"""

from collections import deque
from dataclasses import dataclass, field
import logging
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Protocol, Tuple

import cv2
import numpy as np

from baff_ros.engine import ground
from baff_ros.ros import messages
from baff_ros.ros.ground_codec import cloud_to_msg, grid_to_msg
from baff_ros.ros.image_codec import (array_to_image, compressed_to_rgb, ImageCodecError,
                                      image_to_rgb, scale_camera_info)
from baff_ros.ros.messages import MessageTypes, PLAIN
from baff_ros.ros.params import GROUND_OUTPUTS, NodeParams, OUTPUTS

#: Topic of each output key, relative to the node's namespace.
TOPIC_PREFIX = 'segmentation/'
#: Output key (and topic suffix) of a fusion point's weight map: ``weights/stride16``. ROS name
#: tokens must not start with a digit, so the fusion's stride alone ('16') is not a valid token.
WEIGHTS_PREFIX = 'weights/stride'
LABEL_INFO = 'label_info'
DIAGNOSTICS = 'diagnostics'
#: Label value of pixels with no class (Cityscapes ignore / unknown).
UNKNOWN_LABEL = 255
#: Seconds of history behind the input / processed rates.
RATE_WINDOW_S = 5.0


#: Publishing order of a frame's outputs: what navigation consumes first, pictures last.
PUBLISH_ORDER = ('labels', 'camera_info', 'obstacle_points', 'free_points', 'ground_grid',
                 'confidence', 'weights', 'color', 'overlay')

#: Looks up ``T_ground_camera`` (4x4) for an image header; None when there is none (yet).
PoseLookup = Callable[[Any], Optional[np.ndarray]]


def _publish_rank(key: str) -> int:
    return PUBLISH_ORDER.index(key.split('/')[0])


def weights_key(fusion: str) -> str:
    """Output key of a fusion point's weight map: ``'16'`` -> ``'weights/stride16'``."""
    return WEIGHTS_PREFIX + fusion


def fusion_of(key: str) -> str:
    """Fusion point of a weight-map output key: ``'weights/stride16'`` -> ``'16'``."""
    if not key.startswith(WEIGHTS_PREFIX):
        raise ValueError(f'not a weight-map output key: {key!r}')
    return key[len(WEIGHTS_PREFIX):]


def output_topic(key: str) -> str:
    """Relative topic of an output key: ``'color'`` -> ``'segmentation/color'``."""
    if key == DIAGNOSTICS:
        return '/diagnostics'
    return TOPIC_PREFIX + key


@dataclass
class Job:
    """One frame between the two stages: the input, its decoded image and the result."""

    msg: Any
    received: float  # monotonic time the frame arrived
    t0: float  # monotonic time processing started
    wanted: List[str] = field(default_factory=list)
    image: Optional[np.ndarray] = None
    order: str = 'rgb'
    camera_info: Any = None
    result: Any = None  # SegmentationResult; None when nobody listens


class OutputSink(Protocol):
    """What a middleware adapter provides to the pipeline."""

    def has_subscribers(self, key: str) -> bool:
        """Whether anyone listens to output ``key`` (computing it otherwise is wasted)."""

    def publish(self, key: str, msg: Any) -> None:
        """Publish ``msg`` (built from the adapter's MessageTypes) on output ``key``."""


class _Rate:
    """Events per second over a sliding window (monotonic clock)."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self.times: Deque[float] = deque(maxlen=1000)

    def tick(self, now: float) -> None:
        self.times.append(now)

    def hz(self, now: float) -> float:
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
        self.input_rate = _Rate()
        self.output_rate = _Rate()
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
        #: fusion -> weight_stats() of the last segmented frame's BAFF weight map.
        self.weights: Dict[str, Dict[str, Any]] = {}

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
            for fusion, w in self.weights.items():
                # Strings: three decimals (a std of 0.010 must not read as 0.01 or 0.00);
                # hist: fraction of the map's pixels in each tenth of [0, 1], lowest first.
                key = f'weights_stride{fusion}'
                for stat in ('min', 'mean', 'max', 'std'):
                    snap[f'{key}_{stat}'] = f'{w[stat]:.3f}'
                snap[f'{key}_hist'] = ' '.join(f'{v:.3f}' for v in w['hist'])
        return snap


def make_segmenter(params: NodeParams, log: Optional[Callable[[str], None]] = None):
    """Load the Segmenter the node parameters ask for, through the engine's one entry point.

    ``log`` gets one line naming what was loaded (see
    :func:`baff_ros.engine.models.load_segmenter`).
    """
    from baff_ros.engine import BackendOptions
    from baff_ros.engine.models import load_segmenter

    return load_segmenter(params.model or None, params.model_config or None,
                          backend=params.backend, input_size=params.network_size,
                          output_size=params.output_size, log=log,
                          options=BackendOptions(device=params.device,
                                                 precision=params.precision,
                                                 threads=params.threads, with_weights=True))


class Pipeline:
    """The segmentation node's logic, shared by the rclpy and the DDS adapters.

    Args:
        params: validated parameters.
        sink: the adapter's publishing side.
        types: the adapter's message classes.
        segmenter: an existing Segmenter (tests); default: created by :meth:`load`.
        logger: where warnings go (anything with info/warning/error methods).
        name: node name, for diagnostics.
    """

    def __init__(self, params: NodeParams, sink: OutputSink, types: MessageTypes = PLAIN,
                 segmenter: Any = None, logger: Any = None, name: str = 'baff_segmentation'
                 ) -> None:
        self.params = params
        self.sink = sink
        self.types = types
        self.segmenter = segmenter
        # Only a Segmenter this pipeline created is closed by it; a given one is the caller's.
        self._owns_segmenter = segmenter is None
        self.log = logger or logging.getLogger('baff_ros.node')
        self.name = name
        self.stats = Stats()
        self._lut: Optional[np.ndarray] = None
        self._camera_info: Any = None
        #: Where the camera pose comes from; None: the static camera_* parameters.
        self.pose_lookup: Optional[PoseLookup] = None
        self._projector: Optional[ground.GroundProjector] = None
        self._projector_key: Optional[tuple] = None
        self._cond = threading.Condition()
        self._pending: Optional[Tuple[Any, float]] = None
        self._ready: Optional[Job] = None
        self._inferring = False
        self._publishing = False
        self._running = False
        self._skip_left = 0
        self._threads: List[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------

    def load(self) -> None:
        """Create the Segmenter (unless one was given) and the palette table."""
        from baff_ros.engine.visualize import palette_lut

        if self.segmenter is None:
            self.segmenter = make_segmenter(self.params, self.log.info)
            self._owns_segmenter = True
        self._lut = palette_lut(self.segmenter.meta.palette)
        self.projector(self.params)  # unknown class names in the role lists fail here

    @property
    def fusion_names(self) -> Tuple[str, ...]:
        """Fusion points of the loaded model (one weights topic each)."""
        return tuple(self.segmenter.fusion_names) if self.segmenter is not None else ()

    def output_keys(self) -> List[str]:
        """Every output key of the loaded model (images, camera_info, ground clouds, grid)."""
        keys = [k for k in OUTPUTS if k != 'weights']
        return keys + [weights_key(n) for n in self.fusion_names]

    def start(self) -> None:
        """Load if needed and start the two worker threads (segment, publish)."""
        if self.segmenter is None or self._lut is None:
            self.load()
        with self._cond:
            if self._running:
                return
            self._running = True
        self._threads = [
            threading.Thread(target=self._infer_worker, name='baff_segment', daemon=True),
            threading.Thread(target=self._publish_worker, name='baff_publish', daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers (after the frames in progress); waiting frames are discarded."""
        with self._cond:
            self._running = False
            self._pending = None
            self._ready = None
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def close(self) -> None:
        """Stop and free the model and backend (if this pipeline created them)."""
        self.stop()
        if self.segmenter is not None and self._owns_segmenter:
            self.segmenter.close()
            self.segmenter = None
        self._lut = None

    # -- input -----------------------------------------------------------------------------

    def submit(self, msg: Any) -> None:
        """Offer a frame (Image or CompressedImage); never blocks, never queues."""
        now = time.monotonic()
        with self.stats.lock:
            self.stats.received += 1
            self.stats.input_rate.tick(now)
            if self._skip_left > 0:
                self._skip_left -= 1
                self.stats.skipped += 1
                return
            self._skip_left = self.params.frame_skip
        with self._cond:
            if self._pending is not None:
                with self.stats.lock:
                    self.stats.dropped += 1
            self._pending = (msg, now)
            self._cond.notify_all()

    def set_camera_info(self, msg: Any) -> None:
        """Remember the latest CameraInfo; a scaled copy goes out with every result."""
        self._camera_info = msg

    def _in_flight(self) -> bool:
        return self._inferring or self._publishing or self._ready is not None

    def _idle(self) -> bool:
        return self._pending is None and not self._in_flight()

    @property
    def busy(self) -> bool:
        """Whether a frame is being segmented or published (or waits between the two)."""
        with self._cond:
            return self._in_flight()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no frame is pending, in progress or being published; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._idle():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _infer_worker(self) -> None:
        # Stage 1: decode + segment. It takes a new frame only once the publisher has picked
        # up the previous result, so the frame it segments is the freshest one, and under
        # overload the stages run side by side at the pace of the slower one.
        while True:
            with self._cond:
                while self._running and (self._pending is None or self._ready is not None):
                    self._cond.wait()
                if not self._running:
                    return
                msg, received = self._pending
                self._pending = None
                self._inferring = True
            job = None
            try:
                job = self.infer(msg, received)
            except ImageCodecError as exc:
                self._error(exc, decode=True)
            except Exception as exc:  # noqa: BLE001 - one bad frame must not stop the node
                self._error(exc, decode=False)
            with self._cond:
                self._inferring = False
                if job is not None:
                    self._ready = job  # stage 2 also counts frames nobody listens to
                self._cond.notify_all()

    def _publish_worker(self) -> None:
        # Stage 2: build and publish the outputs of the last segmented frame, while stage 1
        # already segments the next one.
        while True:
            with self._cond:
                while self._running and self._ready is None:
                    self._cond.wait()
                if not self._running:
                    return
                job = self._ready
                self._ready = None
                self._publishing = True
                self._cond.notify_all()
            try:
                self.publish(job)
            except Exception as exc:  # noqa: BLE001 - a failed publish must not stop the node
                self._error(exc, decode=False)
            finally:
                with self._cond:
                    self._publishing = False
                    self._cond.notify_all()

    def _error(self, exc: Exception, decode: bool) -> None:
        with self.stats.lock:
            if decode:
                self.stats.decode_errors += 1
            else:
                self.stats.errors += 1
            self.stats.last_error = f'{type(exc).__name__}: {exc}'
            count = self.stats.decode_errors + self.stats.errors
        # Log the first few and then every 100th: a broken camera must not flood the log.
        if count <= 5 or count % 100 == 0:
            what = 'malformed frame skipped' if decode else 'frame failed'
            self.log.warning(f'{what} ({count} so far): {exc}')

    # -- processing ------------------------------------------------------------------------

    def wants(self, key: str) -> bool:
        """Whether output ``key`` is enabled and has subscribers."""
        kind = key.split('/')[0]
        if not getattr(self.params, f'publish_{kind}'):
            return False
        if (kind == 'camera_info' or kind in GROUND_OUTPUTS) and self._camera_info is None:
            return False
        return self.sink.has_subscribers(key)

    def decode(self, msg: Any) -> Tuple[np.ndarray, str]:
        """Decode an incoming Image or CompressedImage to (HxWx3 uint8, color order)."""
        if hasattr(msg, 'format') and not hasattr(msg, 'encoding'):
            return compressed_to_rgb(msg)
        return image_to_rgb(msg)

    def infer(self, msg: Any, received: Optional[float] = None,
              decoded: Optional[Tuple[np.ndarray, str]] = None) -> 'Job':
        """Stage 1: decode and segment a frame (``job.result`` is None when nobody listens).

        Args:
            msg: the Image or CompressedImage.
            received: monotonic arrival time (default: now).
            decoded: ``decode(msg)`` if the caller already did it (e.g. on another thread).

        Raises:
            ImageCodecError: the frame is malformed.
        """
        t0 = time.monotonic()
        job = Job(msg, t0 if received is None else received, t0)
        job.wanted = [k for k in self.output_keys() if self.wants(k)]
        job.image, job.order = decoded if decoded is not None else self.decode(msg)
        # With nobody listening, decoding still validates (and counts) the frame and
        # inference is skipped entirely - the cheapest way to idle.
        if job.wanted:
            job.camera_info = self._camera_info
            job.result = self.segmenter(job.image, color_order=job.order)
        return job

    def publish(self, job: 'Job') -> Dict[str, Any]:
        """Stage 2: build every wanted output of a segmented frame and publish it.

        Outputs go out in :data:`PUBLISH_ORDER`: labels and the scaled CameraInfo first (what
        navigation consumes), pictures for people last. Returns key -> message.
        """
        if job.result is None:
            self._count(job, time.monotonic())
            return {}
        result, types, image, order = job.result, self.types, job.image, job.order
        header = types.header(job.msg.header)
        out_h, out_w = result.labels.shape
        out: Dict[str, Any] = {}
        color = None
        first = None
        scaled_info = None
        projection: Any = None
        for key in sorted(job.wanted, key=_publish_rank):
            if key in ('camera_info',) + GROUND_OUTPUTS and scaled_info is None:
                scaled_info = scale_camera_info(job.camera_info, image.shape[:2],
                                                (out_h, out_w), header, types)
            if key in GROUND_OUTPUTS:
                if projection is None:
                    projection = self._project(job, result, scaled_info) or False
                if projection is False:
                    continue
                m = self._ground_msg(key, projection, header)
            elif key == 'labels':
                m = array_to_image(result.labels, 'mono8', header, types)
            elif key == 'confidence':
                m = array_to_image(result.confidence, 'mono8', header, types)
            elif key in ('color', 'overlay'):
                if color is None:
                    from baff_ros.engine.visualize import colorize
                    color = colorize(result.labels, self._lut)
                if key == 'color':
                    m = array_to_image(color, 'rgb8', header, types)
                else:
                    m = array_to_image(self._overlay(image, order, color), 'rgb8', header,
                                       types)
            elif key == 'camera_info':
                m = scaled_info
            else:  # weights/stride<fusion>
                m = self._weights_msg(result.weights[fusion_of(key)], (out_h, out_w), header)
            self.sink.publish(key, m)
            out[key] = m
            if first is None:
                first = time.monotonic()
        self._count(job, time.monotonic(), first)
        return out

    def process(self, msg: Any, received: Optional[float] = None) -> Dict[str, Any]:
        """Segment one frame and publish every wanted output, in the calling thread.

        Returns key -> message, in publishing order.

        Raises:
            ImageCodecError: the frame is malformed (nothing is published).
        """
        return self.publish(self.infer(msg, received))

    # -- ground projection -----------------------------------------------------------------

    def projector(self, params: NodeParams) -> ground.GroundProjector:
        """Return the ground projector for ``params`` (rebuilt when its parameters change).

        Raises:
            ValueError: a role list names a class the model does not have.
        """
        names = tuple(self.segmenter.meta.class_names) if self.segmenter is not None else ()
        key = (names, params.ground_traversable, params.ground_ignore, params.ground_stride,
               params.ground_max_range, params.ground_min_confidence)
        if key != self._projector_key or self._projector is None:
            try:
                roles = ground.role_table(names, ground.parse_names(params.ground_traversable),
                                          ground.parse_names(params.ground_ignore))
            except ground.GroundError as exc:
                raise ValueError(f'parameters ground_traversable / ground_ignore: {exc}') \
                    from None
            config = ground.ProjectionConfig(params.ground_stride, params.ground_max_range,
                                             params.ground_min_confidence)
            self._projector, self._projector_key = ground.GroundProjector(roles, config), key
        return self._projector

    def static_pose(self) -> np.ndarray:
        """``T_ground_camera`` from the camera_* parameters."""
        p = self.params
        return ground.pose_from_extrinsics(p.camera_height, p.camera_roll, p.camera_pitch,
                                           p.camera_yaw, p.camera_x, p.camera_y)

    def _skip_ground(self, reason: str) -> None:
        with self.stats.lock:
            self.stats.ground_skipped += 1
            self.stats.ground_skip_reason = reason
            count = self.stats.ground_skipped
        if count <= 3 or count % 100 == 0:
            self.log.warning(f'ground projection skipped ({count} so far): {reason}')

    def _project(self, job: 'Job', result: Any, scaled_info: Any
                 ) -> Optional[ground.Projection]:
        """Project the labels onto the ground; None (counted) when there is no camera pose."""
        t0 = time.perf_counter()
        if self.pose_lookup is None:
            pose = self.static_pose()
        else:
            pose = self.pose_lookup(job.msg.header)
            if pose is None:
                frame = job.msg.header.frame_id or '(empty frame_id)'
                self._skip_ground(f'no transform from {frame} to {self.params.ground_frame} '
                                  'at the image stamp')
                return None
        try:
            camera = ground.CameraModel.from_camera_info(scaled_info)
            projection = self.projector(self.params).project(result.labels, camera, pose,
                                                             result.confidence)
        except ground.GroundError as exc:  # an uncalibrated CameraInfo, a camera below ground
            self._skip_ground(str(exc))
            return None
        with self.stats.lock:
            self.stats.ground_ms.append((time.perf_counter() - t0) * 1e3)
            self.stats.obstacle_points = len(projection.obstacle)
            self.stats.free_points = len(projection.free)
        return projection

    def _ground_msg(self, key: str, projection: ground.Projection, header: Any) -> Any:
        types = self.types
        gheader = types.Header(stamp=types.Time(sec=int(header.stamp.sec),
                                                nanosec=int(header.stamp.nanosec)),
                               frame_id=self.params.ground_frame)
        if key == 'obstacle_points':
            return cloud_to_msg(projection.obstacle, gheader, types)
        if key == 'free_points':
            return cloud_to_msg(projection.free, gheader, types)
        grid = ground.GridConfig(self.params.grid_resolution, self.params.grid_size)
        return grid_to_msg(ground.rasterise(projection, grid), grid, gheader, types)

    def _overlay(self, image: np.ndarray, order: str, color: np.ndarray) -> np.ndarray:
        from baff_ros.engine.visualize import overlay

        h, w = color.shape[:2]
        if image.shape[:2] != (h, w):
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        if order == 'bgr':
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return overlay(image, color, self.params.overlay_alpha)

    def _weights_msg(self, weight: np.ndarray, out_hw: Tuple[int, int], header: Any) -> Any:
        from baff_ros.engine.visualize import weight_to_mono8

        if self.params.weights_encoding == 'mono8':
            # fixed (default): w x 255, comparable across frames; stretch: this frame's
            # min..max over 0..255 (the range is in /diagnostics).
            array, encoding = weight_to_mono8(weight, self.params.weights_scale), 'mono8'
        else:
            array, encoding = np.ascontiguousarray(weight, np.float32), '32FC1'
        if self.params.weights_size == 'output' and array.shape != tuple(out_hw):
            # Nearest keeps one value per BAFF block, aligned with the labels image.
            array = cv2.resize(array, (out_hw[1], out_hw[0]), interpolation=cv2.INTER_NEAREST)
        return array_to_image(array, encoding, header, self.types)

    def _count(self, job: 'Job', now: float, first: Optional[float] = None) -> None:
        stamp = job.msg.header.stamp
        stamp_s = int(stamp.sec) + int(stamp.nanosec) * 1e-9
        weights = {}
        if job.result is not None:
            from baff_ros.engine.visualize import weight_stats
            # Per frame, on the native block grid: a few hundred values, microseconds.
            weights = {k: weight_stats(v) for k, v in job.result.weights.items()}
        s = self.stats
        with s.lock:
            s.processed += 1
            s.output_rate.tick(now)
            s.process_ms.append((now - job.t0) * 1e3)
            s.node_latency_ms.append((now - job.received) * 1e3)
            if job.result is not None:
                s.infer_ms.append(job.result.timings_ms.get('infer', 0.0))
                s.weights = weights
                s.segment_ms.append(job.result.total_ms)
            if first is not None:
                s.first_latency_ms.append((first - job.received) * 1e3)
            if stamp_s > 0:
                # Meaningful when the camera stamps with this machine's clock (not sim time).
                s.stamp_latency_ms.append((time.time() - stamp_s) * 1e3)

    # -- parameters and metadata -----------------------------------------------------------

    def update_params(self, changes: Dict[str, Any]) -> NodeParams:
        """Apply runtime-tunable parameter changes; ValueError (nothing changed) if invalid."""
        new = self.params.with_changes(changes, runtime=True)
        if self.segmenter is not None:
            self.projector(new)
        self.params = new
        return self.params

    def label_info(self) -> Any:
        """vision_msgs/LabelInfo: train ID -> class name, 255 = unknown."""
        t = self.types
        names = list(self.segmenter.meta.class_names) if self.segmenter is not None else []
        classes = [t.VisionClass(class_id=i, class_name=str(n)) for i, n in enumerate(names)]
        classes.append(t.VisionClass(class_id=UNKNOWN_LABEL, class_name='unknown'))
        now = time.time()
        header = t.Header(stamp=t.Time(sec=int(now), nanosec=int((now % 1) * 1e9)),
                          frame_id='')
        # threshold: no confidence threshold is applied to the labels (argmax everywhere).
        return t.LabelInfo(header=header, class_map=classes, threshold=0.0)

    def diagnostics(self, hardware_id: str = '') -> Any:
        """diagnostic_msgs/DiagnosticArray with one status for this node."""
        t = self.types
        snap = self.stats.snapshot()
        level, message = messages.OK, 'segmenting'
        if self.segmenter is None:
            level, message = messages.STALE, 'inactive (no model loaded)'
        elif snap['frames_received'] == 0:
            level, message = messages.WARN, 'no input frames yet'
        elif snap['input_hz'] == 0.0:
            level, message = messages.WARN, 'no recent input frames'
        elif snap['decode_errors'] or snap['errors']:
            level, message = messages.WARN, f'segmenting; last error: {snap["last_error"]}'
        values = {k: (f'{v:.2f}' if isinstance(v, float) else str(v)) for k, v in snap.items()}
        if self.segmenter is not None:
            h, w = self.segmenter.input_size
            values['network_size'] = f'{h}x{w}'
            values['backend'] = getattr(self.segmenter.backend, 'description', '')
        now = time.time()
        header = t.Header(stamp=t.Time(sec=int(now), nanosec=int((now % 1) * 1e9)),
                          frame_id='')
        status = t.DiagnosticStatus(
            level=t.byte(level), name=f'{self.name}: segmentation', message=message,
            hardware_id=hardware_id or self.params.device,
            values=[t.KeyValue(key=k, value=v) for k, v in values.items()])
        return t.DiagnosticArray(header=header, status=[status])
