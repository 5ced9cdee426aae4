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
:class:`OutputSink` (subscriber counts and publishing). Everything else lives here once:
scheduling, decoding and which outputs to compute in this module; the messages in
:mod:`~baff_ros.ros.outputs` (pictures from :class:`baff_ros.engine.visualize.Views`),
counters and ``/diagnostics`` in :mod:`~baff_ros.ros.diagnostics`, the ground projection step
in :mod:`~baff_ros.ros.ground_stage`.

Scheduling is latest-frame-only, in two stages on two threads: one decodes and segments, the
other builds and publishes the outputs of the previous frame meanwhile. A frame arriving while
the first stage is busy waits in a single slot, and a newer frame replaces it (counted as
dropped); the first stage takes a new frame only once the second has picked up its last result.
There is never a queue: at most one frame waits, one is segmented and one is published, so
latency stays bounded however fast the camera is, and the processed rate is set by the slower
stage (normally inference) instead of by the sum of both.
"""

from dataclasses import dataclass, field
import logging
import threading
import time
from typing import Any, Dict, List, NamedTuple, Optional, Protocol, Tuple

import numpy as np

from baff_ros.engine import ground
from baff_ros.engine.models import load_segmenter_for
from baff_ros.engine.visualize import Views
from baff_ros.ros.camera_info import scale_camera_info
from baff_ros.ros.compressed_image import compressed_size, compressed_to_rgb
from baff_ros.ros.diagnostics import diagnostics_array, RATE_WINDOW_S, Stats
from baff_ros.ros.ground_stage import GroundStage, PoseLookup
from baff_ros.ros.messages import MessageTypes, or_plain
from baff_ros.ros.outputs import (DIAGNOSTICS, fusion_of, ground_msg, image_output,
                                  label_info_msg, LABEL_INFO, output_keys, output_topic,
                                  publish_rank, PUBLISH_ORDER, TOPIC_PREFIX, UNKNOWN_LABEL,
                                  weights_key, WEIGHTS_PREFIX)
from baff_ros.ros.params import GROUND_OUTPUTS, NodeParams
from baff_ros.ros.raw_image import array_to_image, ImageCodecError, image_to_rgb

#: Names other modules import from here: the node core's public face.
__all__ = ['DIAGNOSTICS', 'fusion_of', 'Job', 'LABEL_INFO', 'output_topic',
           'OutputSink', 'Pipeline', 'PoseLookup', 'PUBLISH_ORDER', 'RATE_WINDOW_S', 'Stats',
           'TOPIC_PREFIX', 'UNKNOWN_LABEL', 'weights_key', 'WEIGHTS_PREFIX']


class Decoded(NamedTuple):
    """A decoded frame."""

    image: np.ndarray  #: HxWx3 uint8; a JPEG may be decoded at 1/2..1/8 of its size
    order: str  #: channel order, rgb or bgr
    size: Tuple[int, int]  #: (height, width) of the frame itself: what outputs are sized to


@dataclass
class Job:
    """One frame between the two stages: the input, its decoded image and the result."""

    msg: Any
    received: float  # monotonic time the frame arrived
    t0: float  # monotonic time processing started
    image: np.ndarray  # the decoded frame, HxWx3 uint8 (maybe at a reduced scale)
    order: str  # its channel order, rgb or bgr
    size: Tuple[int, int]  # (height, width) of the frame itself
    wanted: List[str] = field(default_factory=list)
    camera_info: Any = None
    result: Any = None  # SegmentationResult; None when nobody listens
    #: key -> the array each published image output was built from (filled by publish).
    arrays: Dict[str, np.ndarray] = field(default_factory=dict)


class OutputSink(Protocol):
    """What a middleware adapter provides to the pipeline."""

    def has_subscribers(self, key: str) -> bool:
        """Whether anyone listens to output ``key`` (computing it otherwise is wasted)."""

    def publish(self, key: str, msg: Any) -> None:
        """Publish ``msg`` (built from the adapter's MessageTypes) on output ``key``."""


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

    def __init__(self, params: NodeParams, sink: OutputSink, types: Optional[MessageTypes] = None,
                 segmenter: Any = None, logger: Any = None, name: str = 'baff_segmentation'
                 ) -> None:
        self.params = params
        self.sink = sink
        self.types = or_plain(types)
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
        self.ground = GroundStage(self.stats, self.log)
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
            self.segmenter = load_segmenter_for(self.params, self.log.info)
            self._owns_segmenter = True
        self._lut = palette_lut(self.segmenter.meta.palette)
        self.projector(self.params)  # unknown class names in the role lists fail here

    @property
    def fusion_names(self) -> Tuple[str, ...]:
        """Fusion points of the loaded model (one weights topic each)."""
        return tuple(self.segmenter.fusion_names) if self.segmenter is not None else ()

    def output_keys(self) -> List[str]:
        """Every output key of the loaded model (images, camera_info, ground clouds, grid)."""
        return output_keys(self.fusion_names)

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
                if not self._running or self._pending is None:
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
                job = self._ready
                if not self._running or job is None:
                    return
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

    def wanted_outputs(self) -> List[str]:
        """Return the output keys to compute for a frame now (enabled and subscribed)."""
        return [k for k in self.output_keys() if self.wants(k)]

    def decode(self, msg: Any, wanted: List[str]) -> Decoded:
        """Decode an incoming Image or CompressedImage.

        A JPEG is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's own scaling) when
        ``reduced_decode`` is on, the smaller image still covers the network input, and no
        wanted output needs the full picture (an overlay at the input size): the Segmenter
        resizes the frame to the network size anyway, and the outputs keep the frame's size
        (:attr:`Decoded.size`).

        Args:
            msg: the Image or CompressedImage.
            wanted: the output keys to compute (:meth:`wanted_outputs`).
        """
        if hasattr(msg, 'format') and not hasattr(msg, 'encoding'):
            floor = self._reduced_floor(wanted)
            image, order = compressed_to_rgb(msg, min_size=floor)
            size = (int(image.shape[0]), int(image.shape[1]))
            if floor is not None:
                size = compressed_size(msg) or size
            return Decoded(image, order, size)
        image, order = image_to_rgb(msg)
        return Decoded(image, order, (int(image.shape[0]), int(image.shape[1])))

    def _reduced_floor(self, wanted: List[str]) -> Optional[Tuple[int, int]]:
        """Return the smallest decode that serves ``wanted`` (the network input), or None."""
        if not self.params.reduced_decode or self.segmenter is None:
            return None
        if 'overlay' in wanted and self.params.output_size == 'input':
            return None  # the overlay blends the frame at its own size
        size = self.segmenter.input_size
        return int(size[0]), int(size[1])

    def infer(self, msg: Any, received: Optional[float] = None) -> 'Job':
        """Stage 1: decode and segment a frame (``job.result`` is None when nobody listens).

        :meth:`prepare` then :meth:`segment`.

        Args:
            msg: the Image or CompressedImage.
            received: monotonic arrival time (default: now).

        Raises:
            ImageCodecError: the frame is malformed.
        """
        return self.segment(self.prepare(msg, received))

    def prepare(self, msg: Any, received: Optional[float] = None) -> 'Job':
        """Decode a frame into a Job: the outputs wanted and the CameraInfo as of now.

        What :meth:`segment` and :meth:`publish` later do with the job depends only on the job,
        so frames prepared in input order may be segmented on other threads, several at once.

        Raises:
            ImageCodecError: the frame is malformed.
        """
        t0 = time.monotonic()
        wanted = self.wanted_outputs()
        image, order, size = self.decode(msg, wanted)
        return Job(msg, t0 if received is None else received, t0, image, order, size, wanted,
                   camera_info=self._camera_info if wanted else None)

    def segment(self, job: 'Job') -> 'Job':
        """Run the Segmenter on a prepared job (not when no output is wanted); return the job.

        With nobody listening, :meth:`prepare` has still validated the frame by decoding it, and
        inference is skipped entirely - the cheapest way to idle.
        """
        if job.wanted:
            job.result = self.segmenter(job.image, color_order=job.order, input_hw=job.size)
        return job

    def publish(self, job: 'Job') -> Dict[str, Any]:
        """Stage 2: build every wanted output of a segmented frame and publish it.

        Outputs go out in :data:`PUBLISH_ORDER`: labels and the scaled CameraInfo first (what
        navigation consumes), pictures for people last. Returns key -> message; ``job.arrays``
        then holds the array behind each image output (what a montage draws).
        """
        if job.result is None:
            self.stats.count_frame(job.msg.header.stamp, job.t0, job.received, None,
                                   time.monotonic())
            return {}
        if self._lut is None:
            raise RuntimeError('Pipeline.publish before load()')
        result, types, p = job.result, self.types, self.params
        header = types.header(job.msg.header)
        views = Views(result, job.image, self._lut, p.overlay_alpha, job.order, p.weights_scale)
        out: Dict[str, Any] = {}
        first = None
        scaled_info = None
        projection: Any = None
        for key in sorted(job.wanted, key=publish_rank):
            if key in ('camera_info',) + GROUND_OUTPUTS and scaled_info is None:
                scaled_info = scale_camera_info(job.camera_info, job.size,
                                                views.size, header, types)
            if key in GROUND_OUTPUTS:
                if projection is None:
                    projection = self.ground.project(
                        job.msg.header, result, scaled_info, p, self.projector(p),
                        self.pose_lookup) or False
                if projection is False:
                    continue
                m = ground_msg(key, projection, header, p, types)
            elif key == 'camera_info':
                m = scaled_info
            else:
                array, encoding = image_output(key, views, p)
                job.arrays[key] = array
                m = array_to_image(array, encoding, header, types)
            self.sink.publish(key, m)
            out[key] = m
            if first is None:
                first = time.monotonic()
        self.stats.count_frame(job.msg.header.stamp, job.t0, job.received, job.result,
                               time.monotonic(), first)
        return out

    # -- ground projection -----------------------------------------------------------------

    def projector(self, params: NodeParams) -> ground.GroundProjector:
        """Return the ground projector for ``params`` (rebuilt when its parameters change).

        Raises:
            ValueError: a role list names a class the model does not have.
        """
        names = tuple(self.segmenter.meta.class_names) if self.segmenter is not None else ()
        return self.ground.projector(params, names)

    # -- parameters and metadata -----------------------------------------------------------

    def label_info(self) -> Any:
        """vision_msgs/LabelInfo: train ID -> class name, 255 = unknown."""
        names = list(self.segmenter.meta.class_names) if self.segmenter is not None else []
        return label_info_msg(names, self.types)

    def diagnostics(self, hardware_id: str = '') -> Any:
        """diagnostic_msgs/DiagnosticArray with one status for this node."""
        return diagnostics_array(self.types, self.stats, self.segmenter, self.name,
                                 hardware_id or self.params.device)
