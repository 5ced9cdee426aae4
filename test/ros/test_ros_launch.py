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
"""``ros2 launch baff_ros segment.launch.py`` as a user runs it, on a real ROS 2.

The package is built in a temporary colcon workspace (``ros_workspace`` in conftest.py), the
launch file runs as a child process (``ros2 launch ...``), and an rclpy camera and listener in
this process check what the node publishes. ``ros2 param`` and ``ros2 lifecycle`` are run as
commands, as a user types them. Everything stays on loopback, in this run's own DDS domain.
"""

import os
from pathlib import Path
import signal
import subprocess
import threading
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSProfile,  # noqa: E402
                       ReliabilityPolicy)
from sensor_msgs.msg import CameraInfo, CompressedImage, Image  # noqa: E402

pytestmark = pytest.mark.rclpy

NET = [64, 128]
CAM_HW = (96, 160)
IMAGE_OUTPUTS = ['labels', 'confidence', 'color', 'overlay', 'weights/stride16',
                 'weights/stride8']
RELIABLE = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                      reliability=ReliabilityPolicy.RELIABLE)
BEST_EFFORT = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                         reliability=ReliabilityPolicy.BEST_EFFORT)
LATCHED = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str,
             log: Optional['Launch'] = None) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` (with the launch log) otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    tail = f'\nlaunch log:\n{log.text()[-3000:]}' if log else ''
    pytest.fail(f'timed out after {timeout:.0f} s waiting for {what}{tail}')


def picture(seed: int) -> np.ndarray:
    """A reproducible street-ish RGB picture of the camera's size."""
    rng = np.random.default_rng(seed)
    h, w = CAM_HW
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 3] = (135, 180, 235)
    img[h // 2:] = (85, 85, 90)
    img[h // 3: h // 2] = rng.integers(60, 200, (h // 2 - h // 3, w, 3), dtype=np.uint8)
    x = int(rng.integers(0, w - 30))
    img[h // 2: h // 2 + 20, x: x + 30] = (30, 50, 160)
    return img


def image_msg(rgb: np.ndarray, stamp_ns: int, frame_id: str = 'cam_optical') -> Image:
    """sensor_msgs/Image rgb8 of an array."""
    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding='rgb8',
                step=rgb.shape[1] * 3, data=rgb.tobytes())
    msg.header.frame_id = frame_id
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 10 ** 9)
    return msg


def info_msg() -> CameraInfo:
    """A pinhole CameraInfo of the camera's size."""
    h, w = CAM_HW
    f = 0.8 * w
    msg = CameraInfo(height=h, width=w, distortion_model='plumb_bob', d=[0.0] * 5,
                     k=[f, 0.0, w / 2, 0.0, f, h / 2, 0.0, 0.0, 1.0],
                     r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                     p=[f, 0.0, w / 2, 0.0, 0.0, f, h / 2, 0.0, 0.0, 0.0, 1.0, 0.0])
    msg.header.frame_id = 'cam_optical'
    return msg


def stamp_ns(msg) -> int:
    """Header stamp in nanoseconds."""
    return msg.header.stamp.sec * 10 ** 9 + msg.header.stamp.nanosec


def as_array(msg: Image) -> np.ndarray:
    """Image (mono8 / rgb8) to an array."""
    channels = 3 if msg.encoding == 'rgb8' else 1
    arr = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    return arr[:, : msg.width * channels].reshape(msg.height, msg.width, channels).squeeze()


class Launch:
    """``ros2 launch baff_ros segment.launch.py ARGS`` in its own process group."""

    def __init__(self, env: Dict[str, str], log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self._log = open(log_path, 'w')
        self.proc = subprocess.Popen(
            ['ros2', 'launch', 'baff_ros', 'segment.launch.py', *args], env=env,
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def text(self) -> str:
        """The launch output so far."""
        return self.log_path.read_text(errors='replace')

    def interrupt(self, timeout: float) -> Optional[int]:
        """Ctrl-C as a terminal sends it (SIGINT to the group); the exit code, None on timeout."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """Make sure nothing is left running: the launch process and every process under it."""
        import psutil

        try:
            procs = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            procs = []
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        for proc in procs:  # a node that left the launch's process group
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        self._log.close()


class Peer:
    """The test's side of the graph: an rclpy node with a camera and listeners."""

    def __init__(self, ns: str, image_topic: str, compressed: bool = False) -> None:
        self.ns = ns
        self.node = rclpy.create_node('launch_test_peer')
        self.got: Dict[str, List] = {k: [] for k in IMAGE_OUTPUTS + ['camera_info',
                                                                     'diagnostics']}
        self.lock = threading.Lock()
        for key in IMAGE_OUTPUTS:
            # Best effort matches both offers: tests override the labels' QoS to best effort.
            self.node.create_subscription(Image, f'{ns}/segmentation/{key}', self._store(key),
                                          BEST_EFFORT if key == 'labels' else RELIABLE)
        self.node.create_subscription(CameraInfo, f'{ns}/segmentation/camera_info',
                                      self._store('camera_info'), RELIABLE)
        from diagnostic_msgs.msg import DiagnosticArray

        self.node.create_subscription(DiagnosticArray, '/diagnostics',
                                      self._store('diagnostics'), RELIABLE)
        if compressed:
            self.camera = self.node.create_publisher(CompressedImage,
                                                     image_topic + '/compressed', RELIABLE)
        else:
            self.camera = self.node.create_publisher(Image, image_topic, RELIABLE)
        self.info_pub = self.node.create_publisher(CameraInfo, '/cam/camera_info', RELIABLE)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _store(self, key: str):
        def callback(msg) -> None:
            with self.lock:
                self.got[key].append(msg)
        return callback

    def clear(self) -> None:
        """Forget everything received so far."""
        with self.lock:
            for values in self.got.values():
                values.clear()

    def find(self, key: str, stamp: int):
        """The message of output ``key`` with header stamp ``stamp`` (None if not received)."""
        with self.lock:
            return next((m for m in self.got[key] if stamp_ns(m) == stamp), None)

    def send_until(self, make: Callable[[int], object], keys: List[str], timeout: float,
                   log: 'Launch') -> int:
        """Publish frames (new stamps) until one came back on every output in ``keys``."""
        result: List[int] = []
        sent: List[int] = []  # only frames of this call count

        def done() -> bool:
            stamp = time.time_ns()
            sent.append(stamp)
            self.camera.publish(make(stamp))
            time.sleep(0.15)
            with self.lock:
                for m in self.got[keys[0]]:
                    s = stamp_ns(m)
                    if s in sent and all(any(stamp_ns(x) == s for x in self.got[k])
                                         for k in keys):
                        result.append(s)
                        return True
            return False
        wait_for(done, timeout, f'outputs {keys}', log)
        return result[0]

    def close(self) -> None:
        """Stop spinning and destroy the node."""
        self.executor.shutdown()
        self.thread.join(10)
        self.node.destroy_node()


@pytest.fixture(scope='module')
def ros():
    """rclpy for this module (loopback DDS, this run's domain: set up by conftest)."""
    rclpy.init()
    try:
        yield
    finally:
        rclpy.try_shutdown()


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A small untrained checkpoint, fast enough for tests."""
    from baff_ros.engine.models import load_model
    from baff_ros.model.checkpoint import save_checkpoint

    model, meta, _ = load_model(None, 'width_mult=0.35')
    return save_checkpoint(model, tmp_path_factory.mktemp('model') / 'tiny.safetensors', meta)


def ros2(env: Dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a ``ros2`` command as a user would; its output as text.

    ``param`` and ``lifecycle`` run without the ros2 daemon: a daemon outlives the test, and
    one started earlier on the same domain with other DDS settings would not see the node.
    """
    cmd = ['ros2', *args]
    if args[0] in ('param', 'lifecycle'):
        cmd[3:3] = ['--no-daemon', '--spin-time', '2']
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def write_params(path: Path, ns: str, extra: Dict[str, object]) -> Path:
    """A params file: the package's config/segment.yaml plus ``extra`` (QoS overrides ...)."""
    import yaml

    root = Path(__file__).resolve().parents[2]
    data = yaml.safe_load((root / 'config' / 'segment.yaml').read_text())
    data['/**/baff_segmentation']['ros__parameters'].update(extra)
    path.write_text(yaml.safe_dump(data))
    return path


def interrupt_cleanly(launch: Launch) -> None:
    """Ctrl-C ends the launch and the node within 5 s, exit code 0, no traceback."""
    t0 = time.monotonic()
    code = launch.interrupt(timeout=5.0)
    elapsed = time.monotonic() - t0
    text = launch.text()
    assert code == 0, f'exit code {code} after {elapsed:.1f} s:\n{text[-3000:]}'
    assert 'Traceback' not in text, text[-3000:]
    assert 'process has finished cleanly' in text, text[-3000:]


def test_launch_autostart_outputs_params_qos_and_sigint(ros, ros_workspace, checkpoint,
                                                        tmp_path):
    """Autostart with namespace and remapping; every output, params, QoS, diagnostics, Ctrl-C."""
    from baff_ros.ros.params import NodeParams
    from baff_ros.engine.models import load_segmenter_for

    ns = '/robot'
    params = write_params(tmp_path / 'params.yaml', ns, {
        'output_size': 'network', 'threads': 1, 'diagnostics_period': 0.3,
        # QoS overrides as rclpy reads them from a params file.
        'qos_overrides': {f'{ns}/segmentation/labels': {'publisher': {
            'reliability': 'best_effort', 'depth': 3}}}})
    launch = Launch(ros_workspace, tmp_path / 'launch.log', f'params_file:={params}',
                    'namespace:=robot', 'image:=/cam/image_raw', 'camera_info:=/cam/camera_info',
                    f'model:={checkpoint}', f'input_size:={NET}', 'backend:=onnxruntime')
    peer = Peer(ns, '/cam/image_raw')
    node = f'{ns}/baff_segmentation'
    try:
        wait_for(lambda: peer.node.count_publishers(f'{ns}/segmentation/labels') > 0, 60,
                 'the node to come up', launch)
        # Every output, header passed through, sizes of the network (output_size: network).
        peer.info_pub.publish(info_msg())
        rgb = picture(1)
        wait_for(lambda: peer.node.count_subscribers('/cam/camera_info') > 0, 30,
                 'the camera_info subscription', launch)
        for _ in range(20):
            peer.info_pub.publish(info_msg())
            time.sleep(0.05)
        stamp = peer.send_until(lambda s: image_msg(rgb, s), IMAGE_OUTPUTS + ['camera_info'],
                                60, launch)
        for key in IMAGE_OUTPUTS:
            msg = peer.find(key, stamp)
            assert msg.header.frame_id == 'cam_optical', key
            assert (msg.height, msg.width) == tuple(NET), key
            assert msg.encoding == ('rgb8' if key in ('color', 'overlay') else 'mono8'), key
        # Labels equal to the Segmenter's on the same frame.
        seg = load_segmenter_for(NodeParams(model=str(checkpoint), input_size=NET, threads=1,
                                            output_size='network', backend='onnxruntime'))
        try:
            expected = seg(rgb).labels
        finally:
            seg.close()
        np.testing.assert_array_equal(as_array(peer.find('labels', stamp)), expected)
        # CameraInfo scaled from 96x160 to the 64x128 labels.
        info = peer.find('camera_info', stamp)
        sent = info_msg()
        sx, sy = NET[1] / CAM_HW[1], NET[0] / CAM_HW[0]
        assert (info.height, info.width) == tuple(NET)
        np.testing.assert_allclose(info.k, [sent.k[0] * sx, 0, sent.k[2] * sx,
                                            0, sent.k[4] * sy, sent.k[5] * sy, 0, 0, 1])
        assert info.header.frame_id == 'cam_optical'

        # LabelInfo latched: a subscriber that arrives late still gets it.
        from vision_msgs.msg import LabelInfo

        label_info: List = []
        peer.node.create_subscription(LabelInfo, f'{ns}/segmentation/label_info',
                                      label_info.append, LATCHED)
        wait_for(lambda: bool(label_info), 20, 'latched label_info', launch)
        names = {c.class_id: c.class_name for c in label_info[0].class_map}
        assert names[0] == 'road' and names[255] == 'unknown' and len(names) == 20

        # QoS overrides from the params file took effect (and only where asked).
        labels_qos = [i.qos_profile for i in
                      peer.node.get_publishers_info_by_topic(f'{ns}/segmentation/labels')]
        color_qos = [i.qos_profile for i in
                     peer.node.get_publishers_info_by_topic(f'{ns}/segmentation/color')]
        assert [q.reliability for q in labels_qos] == [ReliabilityPolicy.BEST_EFFORT]
        assert [q.reliability for q in color_qos] == [ReliabilityPolicy.RELIABLE]
        got = ros2(ros_workspace, 'param', 'get', node,
                   f'qos_overrides.{ns}/segmentation/labels.publisher.depth')
        assert got.returncode == 0 and '3' in got.stdout, got.stdout + got.stderr

        # Malformed frames are counted in diagnostics; the node keeps serving.
        bad = image_msg(rgb, time.time_ns())
        bad.data = bad.data[:100]
        for _ in range(3):
            peer.camera.publish(bad)
            time.sleep(0.2)
        peer.send_until(lambda s: image_msg(picture(2), s), ['labels'], 30, launch)

        def statuses() -> List[Dict[str, str]]:
            with peer.lock:
                arrays = list(peer.got['diagnostics'])
            return [dict([(kv.key, kv.value) for kv in st.values], name=st.name)
                    for a in arrays for st in a.status]

        def counted() -> List[Dict[str, str]]:
            return [v for v in statuses() if v['name'] == 'baff_segmentation: segmentation'
                    and int(v['decode_errors']) >= 1 and int(v['frames_processed']) >= 2]
        wait_for(lambda: bool(counted()), 20, 'decode_errors in /diagnostics', launch)
        values = counted()[-1]
        assert values['network_size'] == '64x128'
        assert 'onnxruntime' in values['backend']
        assert 'data has 100 bytes' in values['last_error'], values

        # ros2 param set: runtime parameters take effect ...
        res = ros2(ros_workspace, 'param', 'set', node, 'overlay_alpha', '1.0')
        assert res.returncode == 0 and 'successful' in res.stdout, res.stdout + res.stderr
        stamp = peer.send_until(lambda s: image_msg(rgb, s), ['overlay', 'color'], 30, launch)
        np.testing.assert_array_equal(as_array(peer.find('overlay', stamp)),
                                      as_array(peer.find('color', stamp)))
        res = ros2(ros_workspace, 'param', 'set', node, 'publish_color', 'false')
        assert 'successful' in res.stdout, res.stdout + res.stderr
        peer.clear()
        peer.send_until(lambda s: image_msg(rgb, s), ['labels', 'overlay'], 30, launch)
        time.sleep(0.5)
        assert peer.got['color'] == []
        # ... read-only and out-of-range values are refused with a reason (on stderr).

        def refused(name: str, value: str) -> str:
            res = ros2(ros_workspace, 'param', 'set', node, name, value)
            out = res.stdout + res.stderr
            assert 'Setting parameter failed' in out, out
            return out
        assert 'out of range' in refused('overlay_alpha', '2.0')
        assert 'read-only' in refused('backend', 'torch')
        out = refused('weights_encoding', 'rgb8')
        assert 'weights_encoding' in out and 'mono8' in out, out
        assert ros2(ros_workspace, 'param', 'get', node, 'overlay_alpha').stdout.strip() \
            .endswith('1.0')

        interrupt_cleanly(launch)
    finally:
        peer.close()
        launch.kill()


def test_launch_lifecycle_managed_compressed_input(ros, ros_workspace, checkpoint, tmp_path):
    """autostart:=false, driven with ``ros2 lifecycle set``; compressed input; torch backend."""
    import cv2

    params = write_params(tmp_path / 'params.yaml', '', {
        'input_transport': 'compressed', 'threads': 1,
        'publish_overlay': False, 'publish_color': False})
    launch = Launch(ros_workspace, tmp_path / 'launch.log', f'params_file:={params}',
                    'image:=/cam/image_raw', f'model:={checkpoint}', f'input_size:={NET}',
                    'backend:=torch', 'autostart:=false')
    peer = Peer('', '/cam/image_raw', compressed=True)
    node = '/baff_segmentation'
    rgb = picture(3)
    ok, jpeg = cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok

    def frame(stamp: int) -> CompressedImage:
        msg = CompressedImage(format='rgb8; jpeg compressed bgr8', data=jpeg.tobytes())
        msg.header.frame_id = 'cam_optical'
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 10 ** 9)
        return msg

    def lifecycle_cli(transition: str, state: str) -> None:
        res = ros2(launch_env, 'lifecycle', 'set', node, transition)
        assert res.returncode == 0 and 'successful' in res.stdout.lower(), (
            f'{transition}: {res.stdout}{res.stderr}\n{launch.text()[-3000:]}')
        got = ros2(launch_env, 'lifecycle', 'get', node).stdout
        assert got.startswith(state), got

    # The later transitions go through the same lifecycle services that `ros2 lifecycle`
    # calls, from the peer: each CLI call costs about 4 s (a process, --spin-time 2).
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    change = peer.node.create_client(ChangeState, f'{node}/change_state')
    get_state = peer.node.create_client(GetState, f'{node}/get_state')
    transitions = {'configure': Transition.TRANSITION_CONFIGURE,
                   'cleanup': Transition.TRANSITION_CLEANUP,
                   'activate': Transition.TRANSITION_ACTIVATE,
                   'deactivate': Transition.TRANSITION_DEACTIVATE}

    def call(client, request):
        assert client.wait_for_service(timeout_sec=30), client.srv_name
        future = client.call_async(request)  # the peer's executor thread completes it
        wait_for(future.done, 60, f'{client.srv_name} to answer', launch)
        return future.result()

    def lifecycle(transition: str, state: str) -> None:
        request = ChangeState.Request()
        request.transition.id = transitions[transition]
        assert call(change, request).success, f'{transition}\n{launch.text()[-3000:]}'
        assert call(get_state, GetState.Request()).current_state.label == state

    launch_env = ros_workspace
    try:
        wait_for(lambda: ros2(launch_env, 'lifecycle', 'get', node).stdout.startswith(
            'unconfigured'), 60, 'the node to wait unconfigured', launch)
        assert peer.node.count_publishers('/segmentation/labels') == 0
        lifecycle_cli('configure', 'inactive')
        lifecycle_cli('activate', 'active')
        stamp = peer.send_until(frame, ['labels', 'confidence', 'weights/stride8'], 60, launch)
        labels = peer.find('labels', stamp)
        assert (labels.height, labels.width) == CAM_HW  # output_size: input (the default)
        for _cycle in range(2):
            lifecycle('deactivate', 'inactive')
            peer.clear()
            for _ in range(5):
                peer.camera.publish(frame(time.time_ns()))
                time.sleep(0.1)
            assert peer.got['labels'] == []  # inactive: nothing is published
            lifecycle('activate', 'active')
            peer.send_until(frame, ['labels'], 60, launch)
        lifecycle('deactivate', 'inactive')
        lifecycle('cleanup', 'unconfigured')
        lifecycle('configure', 'inactive')
        lifecycle('activate', 'active')
        peer.send_until(frame, ['labels'], 60, launch)
        assert 'failed' not in launch.text().lower(), launch.text()[-3000:]
        interrupt_cleanly(launch)
    finally:
        peer.close()
        launch.kill()


def test_launch_arguments_reach_the_node(ros_workspace, checkpoint, tmp_path):
    """A bad argument value fails the configure transition with a logged reason."""
    launch = Launch(ros_workspace, tmp_path / 'launch.log', f'model:={checkpoint}',
                    'device:=gpu0')
    try:
        wait_for(lambda: 'configure failed' in launch.text(), 60,
                 'the configure failure to be logged', launch)
        assert "parameter device: expected 'cpu', 'cuda' or 'cuda:N'" in launch.text()
        interrupt_cleanly(launch)
    finally:
        launch.kill()


def test_launch_arguments_are_shown(ros_workspace):
    """``ros2 launch ... --show-args`` lists every deployment argument of the launch file."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / 'launch' / 'segment.launch.py'
    spec = importlib.util.spec_from_file_location('segment_launch', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    res = ros2(ros_workspace, 'launch', 'baff_ros', 'segment.launch.py', '--show-args')
    assert res.returncode == 0, res.stdout + res.stderr
    for name in module.ARGUMENTS:
        assert f"'{name}'" in res.stdout, name
