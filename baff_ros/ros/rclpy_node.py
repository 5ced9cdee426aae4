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
"""The segmentation node as an rclpy lifecycle node (``ros2 run baff_ros segment``).

A thin adapter around :class:`baff_ros.ros.pipeline.Pipeline`:
configure declares nothing new but reads the parameters and creates the publishers,
activate loads the model and subscribes, deactivate frees the model, cleanup destroys the
publishers. With ``autostart: true`` the node walks itself to active on start, otherwise a
lifecycle manager (or ``ros2 lifecycle set``) drives it.
"""

import functools
import signal
import sys
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import OccupancyGrid
import numpy as np
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                ParameterType, SetParametersResult)
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
from vision_msgs.msg import LabelInfo

from baff_ros.engine.ground import pose_from_transform
from baff_ros.ros.ground_stage import no_transform, PoseUnavailable
from baff_ros.ros.outputs import DIAGNOSTICS, LABEL_INFO, output_topic, weights_key
from baff_ros.ros.params import NODE_NAME, NodeParams, ParamSpec, SCHEMA, SPECS
from baff_ros.ros.pipeline import Pipeline
from baff_ros.ros.rclpy_messages import RCLPY_TYPES

#: Message type of each output key that is not an Image.
OUTPUT_TYPES = {'camera_info': CameraInfo, 'obstacle_points': PointCloud2,
                'free_points': PointCloud2, 'ground_grid': OccupancyGrid}

_PARAM_TYPES = {'string': ParameterType.PARAMETER_STRING,
                'integer': ParameterType.PARAMETER_INTEGER,
                'double': ParameterType.PARAMETER_DOUBLE,
                'bool': ParameterType.PARAMETER_BOOL,
                'integer_array': ParameterType.PARAMETER_INTEGER_ARRAY}


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """Build the ParameterDescriptor of a schema entry (type, range, choices, read-only)."""
    d = ParameterDescriptor(name=spec.name, type=_PARAM_TYPES[spec.type],
                            description=spec.description, read_only=spec.read_only)
    if spec.choices:
        d.additional_constraints = f'one of: {", ".join(spec.choices)}'
    if spec.range is not None:
        if spec.type == 'double':
            d.floating_point_range = [FloatingPointRange(
                from_value=float(spec.range[0]), to_value=float(spec.range[1]), step=0.0)]
        else:
            d.integer_range = [IntegerRange(from_value=int(spec.range[0]),
                                            to_value=int(spec.range[1]), step=1)]
    return d


def _transition(callback: Callable[..., TransitionCallbackReturn]
                ) -> Callable[..., TransitionCallbackReturn]:
    """Log any exception of a lifecycle callback and turn it into FAILURE.

    rclpy's lifecycle catches exceptions raised in transition callbacks and returns ERROR
    without saying why; this logs the reason (with the traceback at debug level) and fails the
    transition instead, so the node stays in its previous state and can be retried.
    """
    @functools.wraps(callback)
    def wrapper(self: 'SegmentationNode', state: State) -> TransitionCallbackReturn:
        name = callback.__name__[3:]
        try:
            return callback(self, state)
        except Exception as exc:  # noqa: BLE001 - every failure must be reported
            self.get_logger().error(f'{name} failed: {type(exc).__name__}: {exc}')
            self.get_logger().debug(traceback.format_exc())
            try:
                # Undo what the failed transition did, so that it can be retried.
                self.release()
                if name == 'configure':
                    self._destroy_publishers()
            except Exception as cleanup_exc:  # noqa: BLE001
                self.get_logger().error(f'{name}: releasing after the failure also failed: '
                                        f'{cleanup_exc}')
            return TransitionCallbackReturn.FAILURE
    return wrapper


def _no_tf2(error: str, header: Any) -> Optional[np.ndarray]:
    """Pose lookup without tf2_ros: every frame's ground outputs are skipped, with the reason."""
    raise PoseUnavailable(f"tf2_ros does not import ({error}): no camera pose from TF; set "
                          "ground_pose_source:=static with the camera_* parameters")


def _reliability(name: str) -> ReliabilityPolicy:
    return ReliabilityPolicy.RELIABLE if name == 'reliable' else ReliabilityPolicy.BEST_EFFORT


class SegmentationNode(LifecycleNode):
    """rclpy lifecycle node: parameters from the schema, the pipeline does the work."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        for spec in SCHEMA:
            self.declare_parameter(spec.name, spec.default, descriptor(spec))
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.params: Optional[NodeParams] = None
        self.pipeline: Optional[Pipeline] = None
        self._pubs: Dict[str, Any] = {}
        self._subs: List[Any] = []
        self._timer: Optional[Any] = None
        self._tf_buffer = None
        self._tf_listener = None

    # OutputSink --------------------------------------------------------------------------

    def has_subscribers(self, key: str) -> bool:
        """Whether the output's publisher has subscribers (and is activated)."""
        pub = self._pubs.get(key)
        return pub is not None and pub.get_subscription_count() > 0

    def publish(self, key: str, msg: Any) -> None:
        """Publish on the output's lifecycle publisher."""
        self._pubs[key].publish(msg)

    # parameters --------------------------------------------------------------------------

    def _read_params(self) -> NodeParams:
        values = {}
        for spec in SCHEMA:
            value = self.get_parameter(spec.name).value
            values[spec.name] = list(value) if spec.type == 'integer_array' else value
        return NodeParams.from_dict(values)

    def _on_set_parameters(self, parameters) -> SetParametersResult:
        # rclpy has already refused read-only ones; here ranges, choices and types. Parameters
        # that are not the node's own (use_sim_time, qos_overrides.* that rclpy declares for
        # publishers created with QoSOverridingOptions, ...) are rclpy's to check.
        changes = {p.name: (list(p.value) if isinstance(p.value, (list, tuple)) or
                            hasattr(p.value, 'tolist') else p.value)
                   for p in parameters if p.name in SPECS}
        if not changes:
            return SetParametersResult(successful=True)
        try:
            base = self.params or self._read_params()
            new = base.with_changes(changes, runtime=self.params is not None)
            if self.pipeline is not None and self.pipeline.segmenter is not None:
                self.pipeline.projector(new)  # class names in the ground role lists
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        if self.params is not None:
            self.params = new
            if self.pipeline is not None:
                self.pipeline.params = new
        return SetParametersResult(successful=True)

    # QoS: a new profile for every endpoint, because rclpy applies qos_overrides.* by
    # changing the profile object it is given - a shared one would carry one topic's overrides
    # over to every topic created after it.

    def _checked_params(self) -> NodeParams:
        """Return the parameters on_configure read (RuntimeError before it ran)."""
        if self.params is None:
            raise RuntimeError('the node has no parameters yet (not configured)')
        return self.params

    def _configured(self) -> Tuple[NodeParams, Pipeline]:
        """Return the parameters and pipeline that on_configure made (RuntimeError before)."""
        if self.pipeline is None:
            raise RuntimeError('the node is not configured')
        return self._checked_params(), self.pipeline

    def _output_qos(self) -> QoSProfile:
        p = self._checked_params()
        return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=p.output_qos_depth,
                          reliability=_reliability(p.output_qos_reliability))

    def _input_qos(self) -> QoSProfile:
        # REP-2003: sensor data QoS for camera input (best effort, keep last, small depth).
        p = self._checked_params()
        return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=p.image_qos_depth,
                          reliability=_reliability(p.image_qos_reliability))

    # lifecycle ---------------------------------------------------------------------------

    @_transition
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Validate parameters, create the publishers."""
        self.params = self._read_params()  # ValueError naming the parameter -> FAILURE
        p = self.params
        opts = QoSOverridingOptions.with_default_policies()
        for key in ('labels', 'confidence', 'color', 'overlay', 'camera_info', 'obstacle_points',
                    'free_points', 'ground_grid'):
            msg_type = OUTPUT_TYPES.get(key, Image)
            self._pubs[key] = self.create_lifecycle_publisher(
                msg_type, output_topic(key), self._output_qos(), qos_overriding_options=opts)
        latched = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                             reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self._pubs[LABEL_INFO] = self.create_lifecycle_publisher(
            LabelInfo, output_topic(LABEL_INFO), latched)
        self._pubs[DIAGNOSTICS] = self.create_lifecycle_publisher(
            DiagnosticArray, '/diagnostics', 10)
        self.pipeline = Pipeline(p, self, RCLPY_TYPES, logger=self.get_logger(),
                                 name=self.get_name())
        self.get_logger().info('configured')
        return TransitionCallbackReturn.SUCCESS

    @_transition
    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Load the model, subscribe, start the worker and diagnostics."""
        p, pipeline = self._configured()
        pipeline.load()  # a missing or corrupt model -> FAILURE, logged with the reason
        opts = QoSOverridingOptions.with_default_policies()
        for name in pipeline.fusion_names:
            key = weights_key(name)
            if key not in self._pubs:  # one topic per fusion point: known once loaded
                self._pubs[key] = self.create_lifecycle_publisher(
                    Image, output_topic(key), self._output_qos(), qos_overriding_options=opts)
        if p.ground_pose_source == 'tf':
            self._start_tf()
        pipeline.start()
        if p.input_transport == 'compressed':
            topic, msg_type = 'image/compressed', CompressedImage
        else:
            topic, msg_type = 'image', Image
        self._subs.append(self.create_subscription(
            msg_type, topic, pipeline.submit, self._input_qos(), qos_overriding_options=opts))
        self._subs.append(self.create_subscription(
            CameraInfo, 'camera_info', pipeline.set_camera_info, self._input_qos()))
        self._timer = self.create_timer(
            p.diagnostics_period,
            lambda: self._pubs[DIAGNOSTICS].publish(pipeline.diagnostics()))
        # Last: activating the publishers cannot fail, so a failed activate leaves them inactive.
        result = super().on_activate(state)
        self._pubs[LABEL_INFO].publish(pipeline.label_info())
        outputs = ', '.join(pipeline.output_keys())
        self.get_logger().info(f'active: {self.resolve_topic_name(topic)} -> {outputs}')
        return result

    @_transition
    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Unsubscribe, stop and free the model."""
        self.release()
        return super().on_deactivate(state)

    @_transition
    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Destroy the publishers."""
        self.release()
        self._destroy_publishers()
        return TransitionCallbackReturn.SUCCESS

    @_transition
    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Free everything."""
        self.release()
        return TransitionCallbackReturn.SUCCESS

    # TF -----------------------------------------------------------------------------------

    def _start_tf(self) -> None:
        """Listen to /tf and /tf_static; the pipeline asks for the camera pose per frame.

        Without tf2_ros (a minimal ROS install) the node still activates and serves every other
        output; the ground outputs are skipped, counted in /diagnostics, and the reason logged.
        """
        try:
            from tf2_ros import Buffer, TransformListener
        except ImportError as exc:
            self.get_logger().error(
                f"ground_pose_source 'tf' needs tf2_ros, which does not import ({exc}): the "
                'ground outputs are skipped. Install tf2_ros (ros-$ROS_DISTRO-tf2-ros), or set '
                "ground_pose_source:=static with the camera_* parameters.")
            self._configured()[1].pose_lookup = functools.partial(_no_tf2, f'{exc}')
            return
        # The listener's subscriptions are served by the node's executor; lookups wait (polling)
        # on the publishing thread, which is not one of the executor's.
        self._tf_buffer = Buffer()
        self._tf_listener = TransformListener(self._tf_buffer, self)
        self._configured()[1].pose_lookup = self._lookup_pose

    def _lookup_pose(self, header: Any) -> Optional[np.ndarray]:
        """``T_ground_camera`` at the image stamp (waits ground_tf_timeout).

        Raises :class:`PoseUnavailable` with tf2's reason when there is none; returns None only
        while the node holds no TF buffer (not configured).
        """
        from rclpy.duration import Duration
        from rclpy.time import Time as RclTime

        buffer, p = self._tf_buffer, self.params
        if buffer is None or p is None:
            return None
        stamp = RclTime.from_msg(header.stamp)
        try:
            t = buffer.lookup_transform(p.ground_frame, header.frame_id, stamp,
                                        Duration(seconds=p.ground_tf_timeout)).transform
        except Exception as exc:  # noqa: BLE001 - tf2 raises several kinds; all mean "none"
            raise PoseUnavailable(f'{no_transform(header, p.ground_frame)}: {exc}') from exc
        return pose_from_transform((t.translation.x, t.translation.y, t.translation.z),
                                   (t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w))

    def _stop_tf(self) -> None:
        if self.pipeline is not None:
            self.pipeline.pose_lookup = None
        if self._tf_listener is not None:
            self._tf_listener.unregister()
        self._tf_listener = self._tf_buffer = None

    def _destroy_publishers(self) -> None:
        for pub in self._pubs.values():
            self.destroy_publisher(pub)
        self._pubs.clear()
        self.pipeline = None
        self.params = None

    def release(self) -> None:
        """Unsubscribe, stop processing and free the model (any lifecycle state; node exit)."""
        for sub in self._subs:
            self.destroy_subscription(sub)
        self._subs.clear()
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None
        if self.pipeline is not None:
            self.pipeline.close()
        self._stop_tf()


class _ShutdownOnExit:
    """On Humble: shut rclpy down on exit, as newer rclpy.init context managers do."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        rclpy.try_shutdown()


class _StopOnce:
    """SIGINT/SIGTERM handler: the first signal stops the node, later ones are ignored.

    Ctrl-C in a terminal reaches the node twice - from the terminal (the whole foreground
    process group) and again from ``ros2 launch``, which forwards it. Python's default
    handler would raise a second KeyboardInterrupt in the middle of the shutdown and end
    the process by the signal, with a traceback. Installed before ``rclpy.init``, this handler
    is also the one rclpy's own signal handler chains to.
    """

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.count == 1:
            raise KeyboardInterrupt

    def ignore_more(self) -> None:
        """Ignore SIGINT/SIGTERM from now on (rclpy's shutdown may restore other handlers)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)


def main(args: Optional[List[str]] = None) -> None:
    """Entry point of ``ros2 run baff_ros segment``."""
    stop = _StopOnce()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        # rclpy.init returns a context manager from Jazzy on, None on Humble.
        init: Any = rclpy.init  # typed as returning None on some distributions
        with init(args=args) or _ShutdownOnExit():
            node = SegmentationNode()
            try:
                if node.get_parameter('autostart').value:
                    node.trigger_configure()
                    node.trigger_activate()
                rclpy.spin(node)
            except (KeyboardInterrupt, ExternalShutdownException):
                stop.ignore_more()
            finally:
                # Stop the worker threads before the context goes away under them.
                node.release()
                node.destroy_node()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        stop.ignore_more()


if __name__ == '__main__':
    main(sys.argv)
