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
"""Both middlewares in one ROS 2 graph, both directions, each side in a process of its own.

(a) an rclpy camera and listener (a child process running this file as a script) around the
Cyclone DDS node (``python -m baff_ros.cli node``); (b) a DDS camera and recorder (this process)
around the rclpy lifecycle node (``python -m baff_ros.ros.rclpy_node``). rclpy and
cyclonedds-python are never used in the same process: each brings its own Cyclone library.
Everything runs on loopback in a domain derived from the pid; every child is killed in
``finally``.
"""

import argparse
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import numpy as np
import pytest

from baff_ros.ros.dds.config import loopback_env

ROOT = Path(__file__).resolve().parents[1]
NET = '[64, 128]'
H, W = 96, 160
#: Parameters of a tiny untrained model: fast to build, outputs valid train IDs.
TINY = ['-p', 'model_config:=width_mult=0.35', '-p', f'input_size:={NET}', '-p', 'threads:=1',
        '-p', 'diagnostics_period:=0.3']
REMAPS = ['-r', '__ns:=/robot', '-r', 'image:=/camera/image_raw', '-r',
          'camera_info:=/camera/camera_info']
TYPE_HASH_WARNING = 'Failed to parse type hash'

if __name__ != '__main__':  # the test process (as a script it is the rclpy peer below)
    pytest.importorskip('rclpy')
    pytest.importorskip('cyclonedds')
    DOMAIN = 10 + os.getpid() % 80
    # Loopback only, before any participant exists in this process. ROS_DOMAIN_ID is left
    # alone (other modules' children inherit it): participants here name DOMAIN, and the
    # children get loopback_env(DOMAIN) explicitly.
    os.environ['CYCLONEDDS_URI'] = loopback_env(DOMAIN)['CYCLONEDDS_URI']


def frame(n: int) -> np.ndarray:
    """A small street-like rgb8 test frame."""
    img = np.zeros((H, W, 3), np.uint8)
    img[: H // 2] = (120, 160, 230)
    img[H // 2:] = (90, 90, 90)
    img[H // 3: 2 * H // 3, 10 + 7 * (n % 10): W - 10] = (200, 40 + 20 * (n % 5), 40)
    return img


class Child:
    """A child process with its output in a log file; stopped with SIGINT, then killed."""

    def __init__(self, cmd: List[str], log_path: Path, env: Dict[str, str],
                 sigint: Any = signal.SIG_DFL) -> None:
        self.log_path = log_path
        self.log = open(log_path, 'w')
        # SIGINT's disposition in the child: at default unless asked otherwise, whatever this
        # process inherited (a test run in the background has it ignored).
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=ROOT,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))

    def text(self) -> str:
        return self.log_path.read_text(errors='replace')

    def wait_for(self, line: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if line in self.text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f'{line!r} never appeared:\n{self.text()}')

    def stop(self, timeout: float = 15.0) -> Optional[int]:
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    # The stacks of a stuck child go to its log (baff-ros node dumps them on
                    # SIGUSR1), then it is killed.
                    self.proc.send_signal(signal.SIGUSR1)
                    time.sleep(1.0)
                    self.proc.kill()
                    self.proc.wait(10)
        finally:
            self.log.close()
        return self.proc.returncode


def child_env(tmp_path: Path) -> Dict[str, str]:
    """This process's environment, on loopback in DOMAIN, with ROS logs under ``tmp_path``."""
    env = loopback_env(DOMAIN)
    env['ROS_HOME'] = str(tmp_path / 'ros_home')
    env['ROS_LOG_DIR'] = str(tmp_path / 'ros_log')
    env['PYTHONUNBUFFERED'] = '1'
    return env


def test_the_dds_node_stops_on_sigint_even_when_it_inherits_sigint_ignored(tmp_path):
    """As ros2 launch and supervisors stop it; a background shell leaves SIGINT ignored."""
    from baff_ros.commands.node import READY_LINE

    node = Child([sys.executable, '-m', 'baff_ros.cli', 'node', '--ros-args', *TINY, *REMAPS],
                 tmp_path / 'dds_node.log', child_env(tmp_path), sigint=signal.SIG_IGN)
    node.wait_for(READY_LINE, 90)
    assert node.stop() == 0, node.text()


def dds_node(tmp_path: Path) -> Child:
    """``baff-ros node`` (the Cyclone DDS node) as a child process."""
    # Static extrinsics (the DDS node has no TF); an untrained model is never confident, and
    # predicts whichever class its random weights favour (sky too): no class is left out, so
    # every pixel below the horizon becomes a point.
    ground = ['-p', 'ground_min_confidence:=0.0', '-p', 'camera_pitch:=0.2', '-p',
              'ground_ignore:=']
    return Child([sys.executable, '-m', 'baff_ros.cli', 'node', '--ros-args', *TINY, *ground,
                  *REMAPS], tmp_path / 'dds_node.log', child_env(tmp_path))


def rclpy_node(tmp_path: Path) -> Child:
    """The rclpy lifecycle node (autostart) as a child process."""
    return Child([sys.executable, '-m', 'baff_ros.ros.rclpy_node', '--ros-args', *TINY, *REMAPS],
                 tmp_path / 'rclpy_node.log', child_env(tmp_path))


def check_label_info(class_map: Dict[int, str]) -> None:
    assert class_map[0] == 'road' and class_map[18] == 'bicycle', class_map
    assert class_map[255] == 'unknown' and len(class_map) == 20, class_map


def check_labels(labels: np.ndarray) -> None:
    assert labels.shape == (H, W) and labels.dtype == np.uint8
    assert ((labels < 19) | (labels == 255)).all(), np.unique(labels)


# -- (a) rclpy camera and listener -> DDS node -------------------------------------------------

def test_rclpy_camera_and_listener_around_the_dds_node(tmp_path):
    from baff_ros.commands.node import READY_LINE
    from baff_ros.ros.dds import msgs

    node = dds_node(tmp_path)
    peer = None
    try:
        node.wait_for(READY_LINE, 90)
        out = tmp_path / 'peer.json'
        peer = Child([sys.executable, str(Path(__file__).resolve()), '--out', str(out),
                      '--timeout', '40'], tmp_path / 'peer.log', child_env(tmp_path))
        rc = peer.proc.wait(90)
        assert rc == 0, peer.text()
        got = json.loads(out.read_text())
        log = peer.text()
    finally:
        if peer is not None:
            peer.stop()
        assert node.stop() == 0, node.text()
    assert got['labels'], f'no labels reached the rclpy listener: {got}\n{log}'
    for lab in got['labels']:
        sent = got['sent'][lab['frame_id']]  # the header of a frame this camera sent
        assert lab['stamp'] == sent, lab
        assert (lab['encoding'], lab['height'], lab['width'], lab['step']) == \
            ('mono8', H, W, W), lab
        assert lab['is_bigendian'] == 0 and lab['data_len'] == H * W, lab
        assert set(lab['values']) <= set(range(19)) | {255}, lab
    # The node wrote its class map before printing READY_LINE, before this peer existed: only
    # transient local durability (on both ends) can have delivered it.
    assert got['label_info_subscribed_after_labels']
    check_label_info({int(k): v for k, v in got['label_info'].items()})
    diag = got['diagnostics']
    assert diag['name'].startswith('baff_segmentation') and diag['level'] in (0, 1), diag
    assert int(diag['values']['frames_processed']) >= 1, diag
    assert diag['values']['network_size'] == '64x128', diag
    # The DDS node's endpoints carry the type hash an rclpy publisher announces (Iron and
    # newer; on Humble rclpy reports none).
    hashes = got['type_hashes']
    if hashes['/robot/segmentation/labels'] != ['None']:
        assert hashes['/robot/segmentation/labels'] == \
            [msgs.TYPE_HASHES['sensor_msgs/msg/Image']], hashes
        assert hashes['/diagnostics'] == \
            [msgs.TYPE_HASHES['diagnostic_msgs/msg/DiagnosticArray']], hashes
    else:
        assert os.environ.get('ROS_DISTRO') == 'humble', hashes
    assert TYPE_HASH_WARNING not in log, log
    # The ground clouds and grid, read by rclpy and sensor_msgs_py.point_cloud2.
    for key in ('obstacle_points', 'free_points'):
        cloud = got[key]
        assert cloud and cloud['frame_id'] == 'base_footprint', (key, got)
        assert cloud['stamp'] in got['sent'].values(), cloud
        assert cloud['fields'] == ['x', 'y', 'z', 'confidence', 'label'], cloud
        assert cloud['z_max'] == 0.0 and cloud['x_min'] > 0, cloud
    assert got['obstacle_points']['n'] + got['free_points']['n'] > 0, got
    assert got['ground_grid']['size'] == [200, 200] and got['ground_grid']['seen'] > 0, got
    if hashes['/robot/segmentation/obstacle_points'] != ['None']:
        assert hashes['/robot/segmentation/obstacle_points'] == \
            [msgs.TYPE_HASHES['sensor_msgs/msg/PointCloud2']], hashes


def rclpy_peer(argv: List[str]) -> int:
    """The rclpy side of (a): publish frames, collect the DDS node's outputs, write JSON."""
    from diagnostic_msgs.msg import DiagnosticArray
    import rclpy
    from rclpy.qos import (DurabilityPolicy, qos_profile_sensor_data, QoSProfile,
                           ReliabilityPolicy)
    from nav_msgs.msg import OccupancyGrid
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2
    from sensor_msgs_py import point_cloud2
    from vision_msgs.msg import LabelInfo

    parser = argparse.ArgumentParser()
    parser.add_argument('--out', required=True)
    parser.add_argument('--timeout', type=float, default=40.0)
    args = parser.parse_args(argv)
    result: Dict[str, Any] = {'sent': {}, 'labels': [], 'label_info': {}, 'diagnostics': None,
                              'type_hashes': {}, 'label_info_subscribed_after_labels': False,
                              'obstacle_points': None, 'free_points': None, 'ground_grid': None}
    rclpy.init()
    try:
        node = rclpy.create_node('interop_peer')
        pub = node.create_publisher(Image, '/camera/image_raw', qos_profile_sensor_data)
        info_pub = node.create_publisher(CameraInfo, '/camera/camera_info',
                                         qos_profile_sensor_data)
        info = CameraInfo(height=H, width=W, distortion_model='plumb_bob', d=[0.0] * 5,
                          k=[100.0, 0.0, W / 2, 0.0, 100.0, H / 2, 0.0, 0.0, 1.0])

        def on_cloud(key: str, msg: PointCloud2) -> None:
            pts = point_cloud2.read_points(msg, field_names=('x', 'y', 'z', 'label'))
            result[key] = {'frame_id': msg.header.frame_id,
                           'stamp': [msg.header.stamp.sec, msg.header.stamp.nanosec],
                           'fields': [f.name for f in msg.fields], 'n': len(pts),
                           'z_max': float(pts['z'].max()) if len(pts) else 0.0,
                           'x_min': float(pts['x'].min()) if len(pts) else 1.0}

        def on_grid(msg: OccupancyGrid) -> None:
            cells = np.asarray(msg.data, np.int8)
            result['ground_grid'] = {'size': [msg.info.height, msg.info.width],
                                     'seen': int((cells >= 0).sum())}

        def on_labels(msg: Image) -> None:
            data = np.frombuffer(bytes(msg.data), np.uint8)
            result['labels'].append({
                'frame_id': msg.header.frame_id,
                'stamp': [msg.header.stamp.sec, msg.header.stamp.nanosec],
                'encoding': msg.encoding, 'height': msg.height, 'width': msg.width,
                'step': msg.step, 'is_bigendian': msg.is_bigendian, 'data_len': int(data.size),
                'values': sorted(int(v) for v in np.unique(data))})

        def on_label_info(msg: LabelInfo) -> None:
            result['label_info'] = {str(c.class_id): c.class_name for c in msg.class_map}

        def on_diagnostics(msg: DiagnosticArray) -> None:
            for status in msg.status:
                values = {kv.key: kv.value for kv in status.values}
                if int(values.get('frames_processed', 0)) > 0:
                    result['diagnostics'] = {'name': status.name, 'values': values,
                                             'level': int.from_bytes(status.level, 'little')}

        node.create_subscription(Image, '/robot/segmentation/labels', on_labels, 10)
        node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, 10)
        for key in ('obstacle_points', 'free_points'):
            node.create_subscription(PointCloud2, f'/robot/segmentation/{key}',
                                     lambda m, key=key: on_cloud(key, m), 10)
        node.create_subscription(OccupancyGrid, '/robot/segmentation/ground_grid', on_grid, 10)
        start = time.monotonic()
        late_sub = None
        n = 0
        next_frame = start
        while time.monotonic() - start < args.timeout:
            if time.monotonic() >= next_frame:
                msg = Image(height=H, width=W, encoding='rgb8', step=W * 3,
                            data=frame(n).tobytes())
                msg.header.stamp = node.get_clock().now().to_msg()
                msg.header.frame_id = f'cam_{n}'
                result['sent'][msg.header.frame_id] = [msg.header.stamp.sec,
                                                       msg.header.stamp.nanosec]
                info.header = msg.header
                info_pub.publish(info)
                pub.publish(msg)
                n += 1
                next_frame += 0.2
            if result['labels'] and late_sub is None:
                # A late subscriber: the node published the class map long before.
                latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
                late_sub = node.create_subscription(LabelInfo, '/robot/segmentation/label_info',
                                                    on_label_info, latched)
                result['label_info_subscribed_after_labels'] = not result['label_info']
            if len(result['labels']) >= 3 and result['label_info'] and result['diagnostics'] \
                    and result['obstacle_points'] and result['free_points'] \
                    and result['ground_grid']:
                break
            rclpy.spin_once(node, timeout_sec=0.05)
        for topic in ('/robot/segmentation/labels', '/diagnostics',
                      '/robot/segmentation/obstacle_points'):
            # Type hashes exist from Iron on; Humble's endpoint info has none.
            result['type_hashes'][topic] = [
                str(getattr(info, 'topic_type_hash', None))
                for info in node.get_publishers_info_by_topic(topic)
                if info.node_name == '_CREATED_BY_BARE_DDS_APP_']
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
    Path(args.out).write_text(json.dumps(result))
    return 0


# -- (b) DDS camera and recorder -> rclpy node ------------------------------------------------

def test_dds_camera_and_recorder_around_the_rclpy_node(tmp_path):
    from baff_ros.ros.dds.node import RosDds
    from baff_ros.ros.dds.tools import Camera, Recorder
    from baff_ros.ros.image_codec import image_to_array

    node = rclpy_node(tmp_path)
    cam_dds = RosDds(DOMAIN, '/')
    out_dds = None
    try:
        node.wait_for('active:', 90)
        camera = Camera(cam_dds, '/camera/image_raw', '/camera/camera_info')
        out_dds = RosDds(DOMAIN, '/robot')
        # Created after the node went active: label_info must come from the latched sample.
        recorder = Recorder(out_dds, ['labels', 'label_info', 'diagnostics'])
        assert recorder.wait(camera.matched, 30), f'never matched the node:\n{node.text()}'
        answered = None
        deadline = time.monotonic() + 30
        n = 0
        while answered is None and time.monotonic() < deadline:
            sent = camera.publish(frame(n), frame_id=f'cam_{n}')
            n += 1
            if recorder.wait(lambda: recorder.find('labels', sent.header.stamp), 1.0):
                answered = sent
        assert answered is not None, f'no labels from the rclpy node:\n{node.text()}'
        labels = recorder.find('labels', answered.header.stamp)
        assert labels.header.frame_id == answered.header.frame_id
        assert (labels.encoding, labels.height, labels.width, labels.step) == ('mono8', H, W, W)
        assert labels.is_bigendian == 0
        check_labels(image_to_array(labels))
        assert recorder.wait(lambda: recorder.get('label_info'), 10), node.text()
        check_label_info({c.class_id: c.class_name
                          for c in recorder.get('label_info')[-1][1].class_map})
        assert recorder.wait(
            lambda: int(recorder.diagnostics().get('frames_processed', 0)) >= 1, 10)
        assert recorder.diagnostics()['network_size'] == '64x128'
        # Our endpoints announce their type hash, so the Jazzy node has nothing to warn about.
        assert TYPE_HASH_WARNING not in node.text(), node.text()
    finally:
        try:
            assert node.stop() == 0, node.text()
        finally:
            if out_dds is not None:
                out_dds.close()
            cam_dds.close()


if __name__ == '__main__':
    sys.exit(rclpy_peer(sys.argv[1:]))
