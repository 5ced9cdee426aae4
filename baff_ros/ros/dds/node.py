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
"""The segmentation node over Cyclone DDS: the pipeline plus DDS readers and writers.

What ``baff-ros node`` runs. It speaks the ROS 2 wire protocol (rmw_cyclonedds conventions), so
``ros2 topic echo``, rviz and Nav2 on the same ROS_DOMAIN_ID see its topics, but it has no ROS
graph presence (no node name in ``ros2 node list``, no parameter services).
"""

import logging
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from cyclonedds.core import Listener, Policy, Qos
from cyclonedds.domain import Domain, DomainParticipant
from cyclonedds.pub import DataWriter, Publisher
from cyclonedds.sub import DataReader, Subscriber
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from baff_ros.ros.dds import msgs
from baff_ros.ros.dds.config import domain_from_env
from baff_ros.ros.outputs import DIAGNOSTICS, LABEL_INFO, output_topic
from baff_ros.ros.params import NODE_NAME, NodeParams, resolve_name
from baff_ros.ros.pipeline import Pipeline

#: Message type of each output key that is not an Image.
OUTPUT_TYPES = {'camera_info': msgs.CameraInfo, 'obstacle_points': msgs.PointCloud2,
                'free_points': msgs.PointCloud2, 'ground_grid': msgs.OccupancyGrid}
#: XCDR1, as rmw_cyclonedds: without this policy cyclonedds-python would pick per type.
XCDR1 = Policy.DataRepresentation(use_cdrv0_representation=True)


def dds_topic_name(ros_name: str) -> str:
    """ROS 2 topic ``/a/b`` -> DDS topic ``rt/a/b`` (rmw's prefix for ROS topics)."""
    return 'rt' + ros_name


def qos(reliability: str = 'reliable', depth: int = 1, transient_local: bool = False) -> Qos:
    """Build a ROS-style QoS: keep-last ``depth``, XCDR1, optionally transient-local (latched)."""
    rel = (Policy.Reliability.Reliable(duration(milliseconds=100)) if reliability == 'reliable'
           else Policy.Reliability.BestEffort)
    dur = Policy.Durability.TransientLocal if transient_local else Policy.Durability.Volatile
    return Qos(rel, dur, Policy.History.KeepLast(int(depth)), XCDR1)


def with_type_hash(qos_: Qos, data_type: Any) -> Qos:
    """``qos_`` plus the USER_DATA ``typehash=RIHS01_...;`` that ROS 2 (Iron+) endpoints carry.

    Without it, every rmw_cyclonedds node of Jazzy logs "Failed to parse type hash" for each of
    our endpoints and ``ros2 topic info -v`` shows an invalid hash. A USER_DATA the caller set
    is kept as it is.
    """
    user_data = msgs.type_hash_user_data(data_type)
    if not user_data or Policy.Userdata in qos_:
        return qos_
    return Qos(*qos_, Policy.Userdata(data=user_data))


class RosDds:
    """A DDS participant with ROS 2 naming: readers and writers by ROS topic name.

    Args:
        domain_id: DDS domain; default ROS_DOMAIN_ID.
        namespace: ROS namespace relative names resolve in.
        remaps: ``from -> to`` topic remappings (as ``--ros-args -r``).
        config: Cyclone DDS XML configuration of the domain (e.g.
            :func:`baff_ros.ros.dds.config.loopback_config`); None: Cyclone's own, from
            ``CYCLONEDDS_URI``. Given, this must be the process's first participant in the
            domain (Cyclone configures a domain once).
    """

    def __init__(self, domain_id: Optional[int] = None, namespace: str = '/',
                 remaps: Optional[Mapping[str, str]] = None, config: Optional[str] = None
                 ) -> None:
        self.domain_id = domain_from_env() if domain_id is None else int(domain_id)
        self.namespace = namespace
        self.remaps = dict(remaps or {})
        # Kept while the participant lives: the domain's configuration is this object's.
        self.domain: Optional[Domain] = (Domain(self.domain_id, config) if config is not None
                                         else None)
        # None once closed (see close).
        self.participant: Optional[DomainParticipant] = DomainParticipant(self.domain_id)
        self.publisher: Optional[Publisher] = Publisher(self.participant)
        self.subscriber: Optional[Subscriber] = Subscriber(self.participant)
        self._topics: Dict[str, Topic] = {}

    def resolve(self, name: str) -> str:
        """Fully qualified ROS name after namespace and remapping."""
        return resolve_name(name, self.namespace, self.remaps)

    def _entities(self) -> Tuple[DomainParticipant, Publisher, Subscriber]:
        if self.participant is None or self.publisher is None or self.subscriber is None:
            raise RuntimeError('this DDS participant is closed')
        return self.participant, self.publisher, self.subscriber

    def _topic(self, name: str, data_type: Any) -> Topic:
        dds_name = dds_topic_name(self.resolve(name))
        if dds_name not in self._topics:
            self._topics[dds_name] = Topic(self._entities()[0], dds_name, data_type)
        return self._topics[dds_name]

    def writer(self, name: str, data_type: Any, qos_: Qos) -> DataWriter:
        """Create a DataWriter on ROS topic ``name`` (advertising the ROS type hash)."""
        return DataWriter(self._entities()[1], self._topic(name, data_type),
                          qos=with_type_hash(qos_, data_type))

    def reader(self, name: str, data_type: Any, qos_: Qos,
               listener: Optional[Listener] = None) -> DataReader:
        """Create a DataReader on ROS topic ``name`` (advertising the ROS type hash)."""
        return DataReader(self._entities()[2], self._topic(name, data_type),
                          qos=with_type_hash(qos_, data_type), listener=listener)

    def close(self) -> None:
        """Delete the participant and everything it owns, now.

        cyclonedds deletes an entity when its last Python reference goes; a reader or writer
        still referenced elsewhere would keep the whole participant alive, discoverable, with
        its listeners armed. Deleting the participant deletes its children in Cyclone; their
        Python objects then find nothing left to delete.
        """
        participant, self.participant = self.participant, None
        self._topics.clear()
        self.publisher = self.subscriber = None
        if participant is not None:
            participant.__del__()  # guarded: the later garbage collection does nothing more
        self.domain = None


class DdsNode:
    """The segmentation node on DDS.

    Args:
        params: validated parameters.
        namespace: ROS namespace of the node's topics.
        remaps: topic remappings, e.g. ``{'image': '/camera/image_raw'}``.
        domain_id: DDS domain; default ROS_DOMAIN_ID.
        name: node name (diagnostics).
        logger: a logging.Logger; default ``baff_ros.node``.
        segmenter: an existing Segmenter; default: loaded from ``params`` by :meth:`start`.
        dds_config: Cyclone DDS XML for the domain (see :class:`RosDds`); None: Cyclone's own.
    """

    def __init__(self, params: NodeParams, namespace: str = '/',
                 remaps: Optional[Mapping[str, str]] = None, domain_id: Optional[int] = None,
                 name: str = NODE_NAME, logger: Optional[logging.Logger] = None,
                 segmenter: Any = None, dds_config: Optional[str] = None) -> None:
        self.params = params
        self.log = logger or logging.getLogger('baff_ros.node')
        self.dds = RosDds(domain_id, namespace, remaps, dds_config)
        self.pipeline = Pipeline(params, self, msgs.DDS_TYPES, segmenter, self.log, name)
        self._writers: Dict[str, DataWriter] = {}
        self._readers: List[DataReader] = []
        self._stop = threading.Event()
        self._diag_thread: Optional[threading.Thread] = None

    # OutputSink ----------------------------------------------------------------------------

    def has_subscribers(self, key: str) -> bool:
        """Whether a reader matches the output's writer."""
        writer = self._writers.get(key)
        return writer is not None and bool(writer.get_matched_subscriptions())

    def publish(self, key: str, msg: Any) -> None:
        """Write a sample on the output's writer."""
        self._writers[key].write(msg)

    # lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Load the model, create every reader and writer, start processing."""
        p = self.params
        self.pipeline.load()
        out_qos = qos(p.output_qos_reliability, p.output_qos_depth)
        if p.ground_pose_source == 'tf':
            # No TF listener here: the static camera_* parameters place the camera.
            self.log.info('ground projection: no TF in the DDS node, using the static camera_* '
                          'parameters')
        for key in self.pipeline.output_keys():
            data_type = OUTPUT_TYPES.get(key, msgs.Image)
            self._writers[key] = self.dds.writer(output_topic(key), data_type, out_qos)
        # Latched: a late rviz or a restarted consumer still gets the class map.
        self._writers[LABEL_INFO] = self.dds.writer(
            output_topic(LABEL_INFO), msgs.LabelInfo, qos('reliable', 1, transient_local=True))
        self._writers[DIAGNOSTICS] = self.dds.writer(
            output_topic(DIAGNOSTICS), msgs.DiagnosticArray, qos('reliable', 10))
        self._writers[LABEL_INFO].write(self.pipeline.label_info())
        self.pipeline.start()
        in_qos = qos(p.image_qos_reliability, p.image_qos_depth)
        image_type: Any
        if p.input_transport == 'compressed':
            image_topic, image_type = 'image/compressed', msgs.CompressedImage
        else:
            image_topic, image_type = 'image', msgs.Image
        self._readers.append(self.dds.reader(
            image_topic, image_type, in_qos, Listener(on_data_available=self._on_image)))
        self._readers.append(self.dds.reader(
            'camera_info', msgs.CameraInfo, qos('best_effort', 1),
            Listener(on_data_available=self._on_camera_info)))
        self._diag_thread = threading.Thread(target=self._diagnostics_loop,
                                             name='baff_diagnostics', daemon=True)
        self._diag_thread.start()
        self.log.info(f'listening on {self.dds.resolve(image_topic)} (domain '
                      f'{self.dds.domain_id}), publishing under '
                      f'{self.dds.resolve("segmentation")}/; outputs: '
                      f'{", ".join(self.pipeline.output_keys())}')

    def _on_image(self, reader: DataReader) -> None:
        # Runs on a Cyclone receive thread: take and hand over, never process here.
        if reader is None:  # a callback racing the reader's deletion
            return
        for sample in reader.take(N=8):
            if hasattr(sample, 'header'):  # skip invalid samples (instance state changes)
                self.pipeline.submit(sample)

    def _on_camera_info(self, reader: DataReader) -> None:
        if reader is None:
            return
        for sample in reader.take(N=8):
            if hasattr(sample, 'header'):
                self.pipeline.set_camera_info(sample)

    def _diagnostics_loop(self) -> None:
        while not self._stop.wait(self.params.diagnostics_period):
            try:
                self._writers[DIAGNOSTICS].write(self.pipeline.diagnostics())
            except Exception as exc:  # noqa: BLE001 - diagnostics must not kill the node
                self.log.warning(f'diagnostics failed: {exc}')

    def spin(self, stop: Optional[threading.Event] = None,
             timeout: Optional[float] = None) -> None:
        """Serve until ``stop`` is set, ``timeout`` seconds have passed or :meth:`close` is called.

        Waits in slices of at most half a second, so that a signal handler of the main thread
        (Ctrl-C, SIGTERM) runs promptly.
        """
        stop = stop or self._stop
        deadline = None if timeout is None else time.monotonic() + timeout
        while not (stop.is_set() or self._stop.is_set()):
            left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if left <= 0:
                return
            stop.wait(left)

    def close(self) -> None:
        """Stop processing and release DDS entities and the model."""
        self._stop.set()
        self._readers.clear()  # no more callbacks into the pipeline
        self.pipeline.close()
        if self._diag_thread is not None:
            self._diag_thread.join(5)
        self._writers.clear()
        self.dds.close()
