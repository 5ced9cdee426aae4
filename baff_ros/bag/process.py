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
"""Segment every frame of a rosbag2 with the node core and write its outputs to a new bag.

The live node and this tool share :class:`baff_ros.ros.pipeline.Pipeline`: the same decoding,
the same outputs, the same headers. Only the middleware differs: here messages are rosbags
typestore classes, published by writing them to the output bag at the input frame's log time.
"""

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
import logging
import os
import queue
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

import numpy as np

from baff_ros.bag.reader import BagError, ImageStream, open_bag
from baff_ros.bag.writer import BagOutput, check_output_apart
from baff_ros.ros.image_codec import COMPRESSIBLE_ENCODINGS, image_to_compressed
from baff_ros.ros.messages import MessageTypes

log = logging.getLogger('baff_ros.bag')


def _latched_qos() -> list:
    """Reliable + transient local, depth 1: ``ros2 bag play`` then latches label_info."""
    from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness,
                                    QosReliability, QosTime)

    zero = QosTime(sec=0, nsec=0)
    return [Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL,
                zero, zero, QosLiveliness.AUTOMATIC, zero, False)]


class SegmenterPool:
    """Segmenters that frames share, one call each at a time, keeping each call's own time.

    Called like a Segmenter from up to ``len(segmenters)`` threads at once: a call takes a free
    Segmenter and returns it after; attributes (meta, input_size, fusion_names) are the
    first's. :meth:`close` closes them all.
    """

    def __init__(self, segmenters: Sequence[Any]) -> None:
        self.segmenters = list(segmenters)
        self._free: 'queue.SimpleQueue[Any]' = queue.SimpleQueue()
        for seg in self.segmenters:
            self._free.put(seg)
        self.times_ms: List[float] = []

    def __call__(self, image: np.ndarray, color_order: str = 'rgb',
                 input_hw: Optional[Tuple[int, int]] = None) -> Any:
        seg = self._free.get()
        try:
            result = seg(image, color_order=color_order, input_hw=input_hw)
        finally:
            self._free.put(seg)
        self.times_ms.append(result.total_ms)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.segmenters[0], name)

    def close(self) -> None:
        """Close every Segmenter."""
        for seg in self.segmenters:
            seg.close()


def cpu_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def bag_workers(params: Any, workers: int = 0, cores: Optional[int] = None) -> Tuple[int, int]:
    """Return (frames segmented at once, inference threads of each) for bag processing.

    ``workers`` 0 (auto): two on a CPU with at least two cores and a runtime that sizes its
    threads per session (onnxruntime, the CPU default), each with half the cores unless the
    ``threads`` parameter says otherwise; one on a GPU, or with torch (one thread pool per
    process). A network that runs on two cores but does not use both all the time
    (one-thread stretches between its layers, pre- and post-processing) gets through more
    frames as two single-threaded copies side by side; a live node cannot do that without
    delaying the frame it is about to publish, an offline run can.
    """
    cores = cores or cpu_cores()
    per_session = params.device == 'cpu' and params.backend != 'torch'
    if workers < 0:
        raise ValueError(f'workers must be 0 (auto) or more, got {workers}')
    if workers == 0:
        workers = 2 if per_session and cores >= 2 else 1
    threads = params.threads
    if not threads and params.device == 'cpu' and workers > 1:
        threads = max(1, cores // workers)
    return workers, threads


def load_bag_segmenters(params: Any, workers: int = 0,
                        log_fn: Optional[Callable[[str], None]] = None) -> List[Any]:
    """Load the Segmenters a bag run uses (:func:`bag_workers`), each warmed up on one frame.

    When ``auto`` picks torch after all (onnxruntime cannot start), one Segmenter runs with the
    ``threads`` parameter as given.
    """
    from dataclasses import replace

    from baff_ros.engine.models import configure_threads, load_segmenters_for

    count, threads = bag_workers(params, workers)
    segmenters = load_segmenters_for(replace(params, threads=threads), count, log_fn)
    try:
        first = segmenters[0]
        if workers == 0 and getattr(first.backend, 'name', '') == 'torch':
            count = 1  # torch's one pool per process: all cores, or the threads asked for
            extra, segmenters = segmenters[1:], [first]
            for seg in extra:
                seg.close()
            configure_threads(first, params.threads or cpu_cores())
        h, w = first.input_size
        for seg in segmenters:
            seg(np.zeros((h, w, 3), np.uint8))  # a session's first run allocates
    except BaseException:
        for seg in segmenters:
            seg.close()
        raise
    if log_fn is not None and count > 1:
        log_fn(f'segmenting {count} frames at once, {threads} inference thread(s) each')
    return segmenters


#: ``--compressed-outputs``: the format of each image output's ``<topic>/compressed`` (labels,
#: confidence and weight maps lossless; colour and overlay as photographs).
COMPRESSED_FORMATS = {'labels': 'png', 'confidence': 'png', 'color': 'jpeg', 'overlay': 'jpeg',
                      'weights': 'png'}


class _BagSink:
    """OutputSink that writes each published message under the stream's namespace.

    With ``types`` (compressed outputs), 8-bit image outputs are written as CompressedImage on
    ``<topic>/compressed`` instead, encoded in the writer's thread.
    """

    def __init__(self, out: BagOutput, base: str, types: Any = None) -> None:
        self.out = out
        self.prefix = base.rstrip('/')
        self.stamp_ns = 0
        self.types = types

    def topic(self, key: str) -> str:
        from baff_ros.ros.outputs import output_topic
        return f'{self.prefix}/{output_topic(key)}'

    def has_subscribers(self, key: str) -> bool:
        return True

    def publish(self, key: str, msg: Any) -> None:
        fmt = COMPRESSED_FORMATS.get(key.split('/')[0]) if self.types is not None else None
        if fmt and getattr(msg, 'encoding', None) in COMPRESSIBLE_ENCODINGS:
            self.out.write_converted(f'{self.topic(key)}/compressed', msg, self.stamp_ns,
                                     partial(image_to_compressed, fmt=fmt, types=self.types))
        else:
            self.out.write(self.topic(key), msg, self.stamp_ns)


@dataclass
class BagReport:
    """What a bag run did.

    Attributes:
        output: the output bag.
        frames: frames segmented.
        errors: frames that could not be decoded or segmented (logged, skipped).
        first_error: the first such error's message.
        seconds: wall time of the frame loop (read, decode, segment, encode, write), from the
            first message to the finished bag; model loading is in ``setup_seconds``.
        setup_seconds: opening the bag and loading (and warming up) the model/backend.
        segment_ms: per frame, the Segmenter's own time (pre + infer + post).
        workers: Segmenters that ran side by side (frames segmented at once).
        topics: output topic -> messages written.
    """

    output: Any
    frames: int = 0
    errors: int = 0
    first_error: str = ''
    seconds: float = 0.0
    setup_seconds: float = 0.0
    segment_ms: List[float] = field(default_factory=list)
    workers: int = 1
    topics: Dict[str, int] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """Frames per second of the whole run."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def segmenter_fps(self) -> float:
        """Frames per second the Segmenters could keep up, from their median time in this run.

        ``workers`` x 1000 / median ms: what they would do if never kept waiting for frames.
        Measured while the run's I/O shares the machine, so usually below the Segmenter's rate
        on an otherwise idle machine (``scripts/bench_bag.py`` measures that side by side).
        """
        return (self.workers * 1e3 / float(np.median(self.segment_ms)) if self.segment_ms
                else 0.0)


#: ``on_frame(stream, input message, key -> output message, key -> output array)``: the arrays
#: are what each image output was built from (:attr:`baff_ros.ros.pipeline.Job.arrays`).
FrameCallback = Callable[[ImageStream, Any, Dict[str, Any], Dict[str, np.ndarray]], None]


def process_bag(src, dst, params, topics: Sequence[str] = (), storage: str = 'mcap',
                typestore: str = 'humble', copy_inputs: bool = True, overwrite: bool = False,
                segmenter: Any = None, on_frame: Optional[FrameCallback] = None,
                progress: bool = True, compression: str = 'none', bag_version: int = 9,
                salvage: bool = False, compressed_outputs: bool = False,
                workers: int = 0) -> BagReport:
    """Segment the image topic(s) of ``src`` and write ``dst``.

    Args:
        src: input bag.
        dst: output bag directory (written atomically).
        params: :class:`baff_ros.ros.params.NodeParams` (model, backend, outputs, sizes).
        topics: image topics; empty = the bag's only image topic.
        storage: output storage, ``mcap`` or ``sqlite3``.
        typestore: definitions for bags that carry none (``humble``, ``jazzy``, ``latest``).
        copy_inputs: also copy every input topic into the output bag.
        overwrite: replace an existing output bag.
        segmenter: an existing Segmenter, or a list of them to segment as many frames at
            once (the caller's: not closed here); default: :func:`load_bag_segmenters`.
        workers: with no ``segmenter``, frames segmented at once (0: :func:`bag_workers`).
        on_frame: called after each frame with (stream, input message, key -> output message,
            key -> the array behind each image output).
        progress: show a progress bar.
        compression: output compression, ``none`` or ``zstd`` (mcap chunks).
        bag_version: rosbag2 metadata version of the output, 9 or 8.
        salvage: read what is intact of a damaged mcap recording (no footer, a chunk cut
            short, no metadata.yaml); a bag that reads normally is read as usual. Logs one
            warning per storage file read so (how many messages, where the damage starts).
        compressed_outputs: write the 8-bit image outputs as CompressedImage on
            ``<topic>/compressed`` (:data:`COMPRESSED_FORMATS`: png for labels, confidence and
            weights, jpeg for colour and overlay).

    Raises:
        BagError: unreadable bag, unknown topic, or no frame could be segmented.
    """
    from baff_ros.progress import progress_bar

    from baff_ros.ros.image_codec import ImageCodecError
    from baff_ros.ros.pipeline import LABEL_INFO, Pipeline

    try:
        check_output_apart(src, dst)
    except ValueError as exc:
        raise BagError(str(exc)) from None
    t_start = time.perf_counter()
    with open_bag(src, topics, typestore, salvage=salvage) as bag:
        for line in bag.notes:
            log.warning(line)
        streams = {s.topic: s for s in bag.streams}
        # One CameraInfo topic may pair with several image topics (a bag's only one does).
        info_topics: Dict[str, List[str]] = {}
        for s in bag.streams:
            if s.camera_info:
                info_topics.setdefault(s.camera_info, []).append(s.topic)
        out = BagOutput(dst, bag.typestore, storage=storage, overwrite=overwrite,
                        background=True, compression=compression, version=bag_version)
        report = BagReport(output=out.path)
        seg: Optional[SegmenterPool] = None
        stage1: Optional[ThreadPoolExecutor] = None
        try:
            if segmenter is None:
                seg = SegmenterPool(load_bag_segmenters(params, workers, log.info))
            else:
                seg = SegmenterPool(segmenter if isinstance(segmenter, (list, tuple))
                                    else [segmenter])
            stage1 = ThreadPoolExecutor(len(seg.segmenters), thread_name_prefix='baff_segment')
            types = MessageTypes.from_typestore(bag.typestore)
            pipes: Dict[str, Pipeline] = {}
            sinks: Dict[str, _BagSink] = {}
            for topic, stream in streams.items():
                sinks[topic] = _BagSink(out, stream.base, types if compressed_outputs else None)
                pipes[topic] = Pipeline(params, sinks[topic], types, segmenter=seg, logger=log)
                pipes[topic].load()
            # Topics are received independently, so a recording may log a camera's first
            # CameraInfo just after its first frame(s): start from it, so that every frame
            # gets its camera_info output (later ones follow the log as the node does).
            for info_topic, image_topics in info_topics.items():
                first_info = bag.first_message(info_topic)
                if first_info is not None:
                    for image_topic in image_topics:
                        pipes[image_topic].set_camera_info(first_info)
            bar = progress_bar(total=bag.frame_count, unit='frame', disable=not progress)
            t_loop = time.perf_counter()
            report.setup_seconds = t_loop - t_start
            latched = set()
            # Overlapping stages, as in the live node: worker threads segment frames i ..
            # i + n - 1 (n Segmenters) while this thread reads and decodes frame i + n and
            # builds and writes the outputs of frame i - 1. Writes stay in this thread and in
            # input order: a FIFO of write actions, where a frame's action first waits for its
            # segmentation.
            actions: Deque[Tuple[bool, Callable[[], None]]] = deque()
            in_flight = 0

            def finish_frame(future: Future, topic: str, stamp_ns: int, msg: Any) -> None:
                try:
                    job = future.result()
                except (ImageCodecError, ValueError) as exc:
                    report.errors += 1
                    report.first_error = report.first_error or f'{topic}: {exc}'
                    if report.errors <= 5:
                        log.warning('frame at %d ns on %s skipped: %s', stamp_ns, topic, exc)
                else:
                    sinks[topic].stamp_ns = stamp_ns
                    outputs = pipes[topic].publish(job)
                    report.frames += 1
                    if on_frame is not None:
                        on_frame(streams[topic], msg, outputs, job.arrays)
                bar.update(1)

            def drain(max_in_flight: int) -> None:
                nonlocal in_flight
                while actions and (in_flight > max_in_flight or not actions[0][0]):
                    is_frame, action = actions.popleft()
                    in_flight -= is_frame
                    action()

            for conn, stamp_ns, raw in bag.messages():
                if copy_inputs:
                    actions.append((False, partial(out.write_raw, conn.topic, conn.msgtype,
                                                   stamp_ns, raw, like=conn)))
                if conn.topic in info_topics:
                    info_msg = bag.deserialize(raw, conn.msgtype)
                    for image_topic in info_topics[conn.topic]:
                        pipes[image_topic].set_camera_info(info_msg)
                elif conn.topic in streams:
                    msg = bag.deserialize(raw, conn.msgtype)
                    pipe = pipes[conn.topic]
                    if conn.topic not in latched:
                        info = pipe.label_info()
                        info.header = types.header(msg.header)
                        actions.append((False, partial(
                            out.write, sinks[conn.topic].topic(LABEL_INFO), info, stamp_ns,
                            qos=_latched_qos())))
                        latched.add(conn.topic)
                    # A frame that does not decode becomes a failed future, reported in order.
                    # The job holds the outputs wanted and the CameraInfo as of this frame.
                    try:
                        future = stage1.submit(pipe.segment, pipe.prepare(msg))
                    except ImageCodecError as exc:
                        future = Future()
                        future.set_exception(exc)
                    actions.append((True, partial(finish_frame, future, conn.topic, stamp_ns,
                                                  msg)))
                    in_flight += 1
                drain(len(seg.segmenters))
            drain(0)
            bar.close()
            if report.frames == 0:
                raise BagError(f'{src}: no frame could be segmented'
                               + (f' (first error: {report.first_error})'
                                  if report.first_error else ''))
            report.segment_ms = seg.times_ms
            report.workers = len(seg.segmenters)
        except BaseException:
            out.abort()
            raise
        finally:
            if stage1 is not None:
                stage1.shutdown(wait=True, cancel_futures=True)
            if seg is not None and segmenter is None:
                seg.close()
        out.commit()
        report.topics = dict(out.counts)
    report.seconds = time.perf_counter() - t_loop
    return report
