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
"""rosbag2 interoperability, checked with the installed ROS 2 command line tools.

- ``ros2 bag info``, ``ros2 bag reindex`` and ``ros2 bag play`` read what ``baff-ros bag`` and
  ``baff-ros demo`` write (mcap, zstd mcap, sqlite3; metadata versions 9 and 8); an rclpy
  subscriber in this process receives the played labels.
- ``baff-ros bag`` segments what ``ros2 bag record`` recorded from an rclpy camera.
- Where ROS 2 Humble is installed (/opt/ros/humble), its ``ros2 bag`` plays ``--bag-version 8``
  bags (to an rclpy subscriber of its own) and its recordings are segmented.

Run as a script (``python test_rosbag2_interop.py camera|listen``) this file is the rclpy peer
of a Humble process. DDS traffic stays on loopback in a domain derived from the pid; every child
runs in a process group of its own, bounded by a timeout and killed in ``finally``.
"""

import argparse
import json
import os
from pathlib import Path
import re
import shutil
import signal
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import pytest

from baff_ros.ros.dds.config import loopback_env

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / 'models' / 'samples' / 'street_drive'
HUMBLE_SETUP = Path('/opt/ros/humble/setup.bash')
DOMAIN = 90 + os.getpid() % 80
#: A tiny untrained model at a small network size: quick to build and to run.
NET_H, NET_W = 64, 128
TINY = ['--config', 'width_mult=0.35', '--size', f'{NET_H}x{NET_W}', '--threads', '1']

LABELS = '/camera/segmentation/labels'
LABEL_INFO = '/camera/segmentation/label_info'
SAMPLE_IMAGE = '/camera/image_raw/compressed'
SAMPLE_INFO = '/camera/camera_info'
IMAGE = 'sensor_msgs/msg/Image'
#: What ``baff-ros bag`` writes for the sample drive: topic -> type (besides the input topics).
OUTPUT_TYPES = {
    f'/camera/segmentation/{key}': IMAGE
    for key in ('labels', 'confidence', 'color', 'overlay', 'weights/stride16',
                'weights/stride8')}
OUTPUT_TYPES['/camera/segmentation/camera_info'] = 'sensor_msgs/msg/CameraInfo'
OUTPUT_TYPES[LABEL_INFO] = 'vision_msgs/msg/LabelInfo'
OUTPUT_TYPES.update({'/camera/segmentation/obstacle_points': 'sensor_msgs/msg/PointCloud2',
                     '/camera/segmentation/free_points': 'sensor_msgs/msg/PointCloud2',
                     '/camera/segmentation/ground_grid': 'nav_msgs/msg/OccupancyGrid'})

#: The rclpy camera's topics and frames (``ros2 bag record`` tests).
CAM_IMAGE, CAM_COMPRESSED, CAM_INFO = ('/cam/image_raw', '/cam/image_raw/compressed',
                                       '/cam/camera_info')
CAM_H, CAM_W = 48, 64
CAM_FRAMES = 4
CAM_FRAME_ID = 'cam_optical'

#: ``baff-ros bag`` variants checked against ``ros2 bag``: name -> (storage, options).
VARIANTS = {
    'mcap-v9': ('mcap', []),
    'mcap-v8': ('mcap', ['--bag-version', '8']),
    'mcap-zstd': ('mcap', ['--compression', 'zstd']),
    'sqlite3-v9': ('sqlite3', ['--storage', 'sqlite3']),
    'sqlite3-v8': ('sqlite3', ['--storage', 'sqlite3', '--bag-version', '8']),
}

Stamp = Tuple[int, int, str]
Spin = Callable[[float], None]

if __name__ != '__main__':  # the test process (as a script this file is a Humble rclpy peer)
    pytest.importorskip('rclpy', reason='ROS 2 (rclpy) is not sourced')
    pytest.importorskip('rosbag2_py', reason='ROS 2 rosbag2 (rosbag2_py) is not sourced')
    if shutil.which('ros2') is None:
        pytest.skip('the ros2 command is not on PATH (source /opt/ros/<distro>/setup.bash)',
                    allow_module_level=True)


# -- rclpy peers: used in this process (Jazzy) and, run as a script, in Humble --------------------

def spin_for(spin: Spin, seconds: float) -> None:
    """Spin for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        spin(0.05)


def camera_frame(i: int) -> np.ndarray:
    """A small bgr8 frame: sky, road and a moving box."""
    img = np.zeros((CAM_H, CAM_W, 3), np.uint8)
    img[: CAM_H // 2] = (230, 160, 120)
    img[CAM_H // 2:] = (90, 90, 90)
    img[CAM_H // 3: 2 * CAM_H // 3, 4 + 5 * i: 20 + 5 * i] = (40, 40, 200)
    return img


def run_camera(node: Any, spin: Spin, frames: int, timeout: float = 30.0) -> List[Stamp]:
    """Publish ``frames`` frames (Image, CompressedImage, CameraInfo) once a recorder listens.

    Reliable QoS with a history as deep as the drive, so a matched recorder gets every frame.
    Each CameraInfo goes out one frame late (after the next image), as from a driver that
    publishes it from another thread: the recording then starts with two frames before any
    CameraInfo. Returns the headers sent, as (sec, nanosec, frame_id).
    """
    import cv2
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image

    qos = QoSProfile(depth=max(frames, 1), reliability=ReliabilityPolicy.RELIABLE)
    pubs = {CAM_IMAGE: node.create_publisher(Image, CAM_IMAGE, qos),
            CAM_COMPRESSED: node.create_publisher(CompressedImage, CAM_COMPRESSED, qos),
            CAM_INFO: node.create_publisher(CameraInfo, CAM_INFO, qos)}
    sent: List[Stamp] = []
    late = None
    try:
        deadline = time.monotonic() + timeout
        while min(p.get_subscription_count() for p in pubs.values()) < 1:
            if time.monotonic() > deadline:
                raise TimeoutError('no recorder subscribed to ' + ', '.join(
                    t for t, p in pubs.items() if p.get_subscription_count() < 1))
            spin(0.1)
        spin_for(spin, 0.5)  # the recorder's side of the match
        for i in range(frames):
            img = camera_frame(i)
            image = Image(height=CAM_H, width=CAM_W, encoding='bgr8', is_bigendian=0,
                          step=CAM_W * 3, data=img.tobytes())
            image.header.stamp.sec, image.header.stamp.nanosec = 1000 + i, 500
            image.header.frame_id = CAM_FRAME_ID
            ok, jpeg = cv2.imencode('.jpg', img)
            assert ok
            compressed = CompressedImage(format='bgr8; jpeg compressed bgr8',
                                         data=jpeg.tobytes())
            compressed.header = image.header
            info = CameraInfo(height=CAM_H, width=CAM_W, distortion_model='plumb_bob')
            info.header = image.header
            info.d = [0.0] * 5
            info.k = [50.0, 0.0, CAM_W / 2, 0.0, 50.0, CAM_H / 2, 0.0, 0.0, 1.0]
            info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
            info.p = [50.0, 0.0, CAM_W / 2, 0.0, 0.0, 50.0, CAM_H / 2, 0.0, 0.0, 0.0, 1.0, 0.0]
            pubs[CAM_IMAGE].publish(image)
            pubs[CAM_COMPRESSED].publish(compressed)
            sent.append((1000 + i, 500, CAM_FRAME_ID))
            spin_for(spin, 0.05)
            if late is not None:
                pubs[CAM_INFO].publish(late)
            late = info
            spin_for(spin, 0.05)
        if late is not None:
            pubs[CAM_INFO].publish(late)
        spin_for(spin, 1.0)  # reliable delivery of the last frames before the recorder stops
    finally:
        for pub in pubs.values():
            node.destroy_publisher(pub)
    return sent


def image_summary(msg: Any) -> Dict[str, Any]:
    """The fields of a received labels image that the tests check (JSON-able)."""
    data = np.frombuffer(bytes(msg.data), np.uint8)
    return {'stamp': [msg.header.stamp.sec, msg.header.stamp.nanosec],
            'frame_id': msg.header.frame_id, 'height': msg.height, 'width': msg.width,
            'encoding': msg.encoding, 'step': msg.step, 'data_len': int(data.size),
            'values': sorted(int(v) for v in np.unique(data))}


def listen_to_playback(node: Any, spin: Spin, timeout: float = 45.0,
                       alive: Optional[Callable[[], Optional[str]]] = None) -> Dict[str, Any]:
    """Receive what a paused ``ros2 bag play`` publishes on LABELS, from start to end.

    Waits until the player's labels publisher and resume service are seen, resumes playback
    (so no message is published before this subscription is matched), and collects until the
    player's publisher is gone (the player exits after the last message). After the first
    label, a transient-local subscriber joins late for label_info: only a latched publisher
    (the QoS recorded in the bag) can deliver it then.

    Args:
        alive: returns None while the player runs, else a reason to stop (its log).
    """
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from rosbag2_interfaces.srv import Resume
    from sensor_msgs.msg import Image
    from vision_msgs.msg import LabelInfo

    labels: List[Any] = []
    infos: List[Any] = []
    subs = [node.create_subscription(
        Image, LABELS, labels.append,
        QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))]
    client = node.create_client(Resume, '/rosbag2_player/resume')
    deadline = time.monotonic() + timeout

    def check() -> None:
        reason = alive() if alive is not None else None
        if reason is not None:
            raise AssertionError(f'ros2 bag play exited early:\n{reason}')
        if time.monotonic() > deadline:
            raise TimeoutError(f'playback not finished in {timeout} s ({len(labels)} labels)')

    try:
        while node.count_publishers(LABELS) < 1 or not client.service_is_ready():
            check()
            spin(0.1)
        spin_for(spin, 0.5)  # the player's side of the match
        future = client.call_async(Resume.Request())
        while not future.done():
            check()
            spin(0.05)
        while node.count_publishers(LABELS) > 0:
            check()
            spin(0.05)
            if labels and len(subs) == 1:
                subs.append(node.create_subscription(
                    LabelInfo, LABEL_INFO, infos.append,
                    QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                               durability=DurabilityPolicy.TRANSIENT_LOCAL)))
        spin_for(spin, 0.5)
    finally:
        for sub in subs:
            node.destroy_subscription(sub)
        node.destroy_client(client)
    return {'labels': [image_summary(m) for m in labels],
            'label_info': [{'stamp': [m.header.stamp.sec, m.header.stamp.nanosec],
                            'frame_id': m.header.frame_id,
                            'classes': {c.class_id: c.class_name for c in m.class_map}}
                           for m in infos]}


def peer_main(argv: Optional[List[str]] = None) -> int:
    """Script entry: ``camera --frames N`` or ``listen``; prints one JSON line."""
    import rclpy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('mode', choices=('camera', 'listen'))
    parser.add_argument('--frames', type=int, default=CAM_FRAMES)
    parser.add_argument('--timeout', type=float, default=45.0)
    args = parser.parse_args(argv)
    rclpy.init()
    node = rclpy.create_node(f'baff_bag_{args.mode}')
    try:
        def spin(t: float) -> None:
            rclpy.spin_once(node, timeout_sec=t)
        if args.mode == 'camera':
            result: Any = run_camera(node, spin, args.frames, args.timeout)
        else:
            result = listen_to_playback(node, spin, args.timeout)
        print(json.dumps(result), flush=True)
    finally:
        node.destroy_node()
        rclpy.shutdown()
    return 0


# -- child processes ------------------------------------------------------------------------------

def ros_env(tmp: Path) -> Dict[str, str]:
    """Loopback DDS in DOMAIN; ROS logs and caches under ``tmp``, never in the home directory."""
    env = loopback_env(DOMAIN)
    for name in ('ROS_HOME', 'ROS_LOG_DIR', 'BAFF_ROS_CACHE', 'XDG_CACHE_HOME'):
        env[name] = str(tmp / 'home' / name.lower())
    env['PYTHONUNBUFFERED'] = '1'
    return env


def humble_env(tmp: Path) -> Dict[str, str]:
    """:func:`ros_env` without this process's ROS 2 paths, for ``source`` of Humble's setup."""
    drop = ('AMENT_PREFIX_PATH', 'CMAKE_PREFIX_PATH', 'COLCON_PREFIX_PATH', 'PYTHONPATH',
            'LD_LIBRARY_PATH', 'PKG_CONFIG_PATH', 'ROS_DISTRO', 'ROS_VERSION',
            'ROS_PYTHON_VERSION', 'ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_STATIC_PEERS',
            'RMW_IMPLEMENTATION')
    env = {k: v for k, v in ros_env(tmp).items() if k not in drop}
    env['PATH'] = os.pathsep.join(p for p in env.get('PATH', '').split(os.pathsep)
                                  if not p.startswith('/opt/ros/'))
    return env


def humble(*cmd: str) -> List[str]:
    """``cmd`` in a shell that sourced Humble (never this process)."""
    return ['bash', '-c', f'source "{HUMBLE_SETUP}" && exec "$@"', 'humble', *cmd]


def baff_ros(*args: Any) -> List[str]:
    """The ``baff-ros`` command line (this interpreter, so this checkout)."""
    return [sys.executable, '-m', 'baff_ros.cli', *map(str, args)]


class Child:
    """A child in a process group of its own, SIGINT at default, output in a log file.

    SIGINT goes to the whole group (``ros2`` runs its verbs in-process, but a Humble command
    runs under a shell); leaving the ``with`` block kills the group if it still runs.
    """

    def __init__(self, cmd: List[str], env: Dict[str, str], log: Path) -> None:
        self.log_path = log
        self.log = open(log, 'w')
        self.proc = subprocess.Popen(['env', '--default-signal=INT', *cmd], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=log.parent,
                                     start_new_session=True)

    def text(self) -> str:
        return self.log_path.read_text(errors='replace')

    def exited(self) -> Optional[str]:
        """None while running, else the exit code and the log."""
        if self.proc.poll() is None:
            return None
        return f'rc {self.proc.returncode}:\n{self.text()}'

    def interrupt(self, timeout: float) -> int:
        """SIGINT to the group (as Ctrl-C would), then wait."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout)

    def __enter__(self) -> 'Child':
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        finally:
            self.log.close()


def run(cmd: List[str], env: Dict[str, str], cwd: Path, timeout: float) -> Tuple[int, str]:
    """Run ``cmd`` to its end (at most ``timeout`` s); return (exit code, stdout + stderr)."""
    log = cwd / f'run{time.monotonic_ns()}.log'
    with Child(cmd, env, log) as child:
        try:
            rc = child.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'{" ".join(cmd)} ran past {timeout} s:\n{child.text()}')
        return rc, child.text()


# -- reading bags with rosbag2 itself -------------------------------------------------------------

INFO_LINE = re.compile(r'Topic: (\S+) \| Type: (\S+) \| Count: (\d+) \| Serialization Format: '
                       r'(\S+)')


def parse_info(text: str) -> Dict[str, Tuple[str, int]]:
    """``ros2 bag info`` output -> topic: (type, count)."""
    topics = {m[1]: (m[2], int(m[3])) for m in INFO_LINE.finditer(text)}
    assert topics, text
    assert {m[4] for m in INFO_LINE.finditer(text)} == {'cdr'}, text
    return topics


def read_bag(path: Path) -> Tuple[Dict[str, str], Dict[str, List[Tuple[int, bytes]]]]:
    """Every message of a bag, read by rosbag2 (rosbag2_py): (topic types, topic -> messages)."""
    import rosbag2_py

    reader = rosbag2_py.SequentialReader()
    reader.open(rosbag2_py.StorageOptions(uri=str(path), storage_id=''),
                rosbag2_py.ConverterOptions('', ''))
    types = {t.name: t.type for t in reader.get_all_topics_and_types()}
    msgs: Dict[str, List[Tuple[int, bytes]]] = {}
    while reader.has_next():
        topic, data, stamp = reader.read_next()
        msgs.setdefault(topic, []).append((stamp, bytes(data)))
    del reader
    return types, msgs


def decode(types: Dict[str, str], msgs, topic: str) -> List[Any]:
    """Deserialise one topic's messages with the ROS 2 type support."""
    from rclpy.serialization import deserialize_message
    from rosidl_runtime_py.utilities import get_message

    cls = get_message(types[topic])
    return [deserialize_message(data, cls) for _, data in msgs.get(topic, [])]


def header(msg: Any) -> Stamp:
    return (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id)


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def ros(tmp_path_factory):
    """(node, spin) in an rclpy context of this module's own, on loopback in DOMAIN."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    tmp = tmp_path_factory.mktemp('rclpy')
    env = ros_env(tmp)
    names = ('ROS_DOMAIN_ID', 'CYCLONEDDS_URI', 'ROS_HOME', 'ROS_LOG_DIR')
    saved = {name: os.environ.get(name) for name in names}
    # Cyclone DDS reads its configuration when the domain's participant is created.
    os.environ.update({name: env[name] for name in names})
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=DOMAIN)
    node = rclpy.create_node('baff_bag_interop', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        yield node, lambda t: executor.spin_once(timeout_sec=t)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope='module')
def sample():
    """The sample drive as rosbag2 reads it: types, messages, image headers and size."""
    import cv2

    types, msgs = read_bag(SAMPLE)
    frames = decode(types, msgs, SAMPLE_IMAGE)
    assert len(frames) >= 10
    first = cv2.imdecode(np.frombuffer(bytes(frames[0].data), np.uint8), cv2.IMREAD_COLOR)
    return {'types': types, 'counts': {t: len(m) for t, m in msgs.items()},
            'headers': [header(f) for f in frames], 'size': first.shape[:2]}


@pytest.fixture(scope='module', params=sorted(VARIANTS))
def segmented(request, tmp_path_factory):
    """(variant, storage, bag): ``baff-ros bag`` of the sample drive, labels at network size."""
    storage, options = VARIANTS[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    bag = tmp / 'segmented'
    rc, out = run(baff_ros('bag', SAMPLE, bag, *TINY, '-p', 'output_size:=network', '--quiet',
                           '--outputs', 'all', *options), ros_env(tmp), tmp, timeout=180)
    assert rc == 0, out
    return request.param, storage, bag


def expected_topics(sample) -> Dict[str, Tuple[str, int]]:
    """topic: (type, count) of the sample drive segmented with every output on."""
    frames = len(sample['headers'])
    want = {t: (sample['types'][t], n) for t, n in sample['counts'].items()}
    want.update({t: (ty, 1 if t == LABEL_INFO else frames) for t, ty in OUTPUT_TYPES.items()})
    return want


def check_playback(got: Dict[str, Any], headers: List[Stamp], size: Tuple[int, int]) -> None:
    """Every label played, in order, with its frame's header, at ``size``, valid train IDs."""
    labels = got['labels']
    assert [(m['stamp'][0], m['stamp'][1], m['frame_id']) for m in labels] == headers
    for m in labels:
        assert (m['height'], m['width'], m['encoding'], m['step']) == (*size, 'mono8', size[1])
        assert m['data_len'] == size[0] * size[1]
        assert set(m['values']) <= set(range(19)) | {255}, m['values']
    assert len(got['label_info']) == 1, got['label_info']  # latched, so it reached a late joiner
    info = got['label_info'][0]
    assert (info['stamp'][0], info['stamp'][1], info['frame_id']) == headers[0]
    classes = {int(k): v for k, v in info['classes'].items()}
    assert classes[0] == 'road' and classes[18] == 'bicycle', classes


def play_here(bag: Path, ros, tmp: Path) -> Dict[str, Any]:
    """``ros2 bag play`` of ``bag``, listened to by the rclpy node of this process."""
    node, spin = ros
    deadline = time.monotonic() + 15
    while node.count_publishers(LABELS) > 0:  # an earlier player still leaving the graph
        assert time.monotonic() < deadline, 'a player of an earlier test is still seen'
        spin(0.1)
    with Child(['ros2', 'bag', 'play', '--start-paused', str(bag)], ros_env(tmp),
               tmp / 'play.log') as player:
        got = listen_to_playback(node, spin, alive=player.exited)
        assert player.proc.wait(20) == 0, player.text()
    return got


# -- 1. ros2 bag info / reindex / play read what baff-ros writes ----------------------------------

def test_ros2_bag_info_lists_every_topic_as_stored(segmented, sample, tmp_path):
    """``ros2 bag info`` shows every topic with its type and count, equal to the stored data."""
    name, storage, bag = segmented
    rc, out = run(['ros2', 'bag', 'info', str(bag)], ros_env(tmp_path), tmp_path, timeout=60)
    assert rc == 0, out
    assert re.search(rf'^Storage id:\s+{storage}$', out, re.M), out
    topics = parse_info(out)
    assert topics == expected_topics(sample), out
    total = int(re.search(r'^Messages:\s+(\d+)$', out, re.M)[1])
    assert total == sum(n for _, n in topics.values())
    # rosbag2 reading the storage itself agrees with the metadata that info printed
    types, msgs = read_bag(bag)
    assert {t: (types[t], len(m)) for t, m in msgs.items()} == topics
    assert [p.name for p in bag.iterdir() if p.name != 'metadata.yaml'] == [
        f'{bag.name}_0.{"mcap" if storage == "mcap" else "db3"}']


def test_ros2_bag_reindex_rebuilds_the_metadata(segmented, tmp_path):
    """``ros2 bag reindex`` finds the storage file (rosbag2's ``<bag>_0`` naming) and counts."""
    name, storage, bag = segmented
    env = ros_env(tmp_path)
    rc, original = run(['ros2', 'bag', 'info', str(bag)], env, tmp_path, timeout=60)
    assert rc == 0, original
    copy = tmp_path / 'copy' / bag.name
    shutil.copytree(bag, copy)
    (copy / 'metadata.yaml').unlink()
    rc, out = run(['ros2', 'bag', 'reindex', '-s', storage, str(copy)], env, tmp_path,
                  timeout=60)
    assert rc == 0 and 'Reindexing complete' in out, out
    rc, rebuilt = run(['ros2', 'bag', 'info', str(copy)], env, tmp_path, timeout=60)
    assert rc == 0, rebuilt
    assert parse_info(rebuilt) == parse_info(original)


def test_ros2_bag_play_delivers_every_label(segmented, sample, ros, tmp_path):
    """An rclpy subscriber gets every label from ``ros2 bag play``, header and size intact."""
    name, storage, bag = segmented
    rc, info = run(['ros2', 'bag', 'info', str(bag)], ros_env(tmp_path), tmp_path, timeout=60)
    assert rc == 0, info
    got = play_here(bag, ros, tmp_path)
    assert len(got['labels']) == parse_info(info)[LABELS][1]
    check_playback(got, sample['headers'], (NET_H, NET_W))


def test_demo_output_reads_and_plays(sample, ros, tmp_path):
    """``baff-ros demo``'s bag: ``ros2 bag info`` lists it, ``ros2 bag play`` plays it."""
    env = ros_env(tmp_path)
    out_dir = tmp_path / 'demo'
    rc, out = run(baff_ros('demo', '--out', out_dir, '--stills', '1', *TINY), env, tmp_path,
                  timeout=180)
    assert rc == 0, out
    bag = out_dir / f'{SAMPLE.name}_segmented'
    assert f'ros2 bag play {bag}' in out
    rc, info = run(['ros2', 'bag', 'info', str(bag)], env, tmp_path, timeout=60)
    assert rc == 0, info
    assert parse_info(info) == expected_topics(sample), info
    got = play_here(bag, ros, tmp_path)
    check_playback(got, sample['headers'], sample['size'])  # labels at the camera's size


# -- 2. baff-ros bag segments what ros2 bag record recorded ---------------------------------------

def record_camera(tmp: Path, camera: Callable[[], List[Stamp]], record: List[str],
                  env: Dict[str, str]) -> Tuple[Path, List[Stamp]]:
    """Run ``record`` (``ros2 bag record ...``) around ``camera``; stop it with SIGINT."""
    bag = tmp / 'recording'
    with Child([*record, '-o', str(bag), CAM_IMAGE, CAM_COMPRESSED, CAM_INFO], env,
               tmp / 'record.log') as recorder:
        sent = camera()
        assert recorder.exited() is None, recorder.text()
        rc = recorder.interrupt(timeout=30)
        assert rc == 0, recorder.text()
    return bag, sent


def check_segmented_recording(recording: Path, sent: List[Stamp], tmp: Path,
                              env: Dict[str, str]) -> None:
    """Segment both image topics of a camera recording; check what rosbag2 reads back."""
    rec_types, rec_msgs = read_bag(recording)
    assert {t: len(m) for t, m in rec_msgs.items()} == {
        CAM_IMAGE: len(sent), CAM_COMPRESSED: len(sent), CAM_INFO: len(sent)}
    # A camera's raw and compressed topics would share /cam/segmentation/: one per run.
    rc, out = run(baff_ros('bag', recording, tmp / 'both', '--topic', CAM_IMAGE, '--topic',
                           CAM_COMPRESSED, *TINY, '--quiet'), env, tmp, timeout=120)
    assert rc == 2 and 'would both write their outputs under /cam/segmentation/' in out, out
    assert not (tmp / 'both').exists()
    for topic in (CAM_IMAGE, CAM_COMPRESSED):
        out_bag = tmp / ('from_' + topic.rsplit('/', 1)[-1])
        rc, out = run(baff_ros('bag', recording, out_bag, '--topic', topic, *TINY, '--quiet',
                               '--outputs', 'all'), env, tmp, timeout=120)
        assert rc == 0, out
        rc, info = run(['ros2', 'bag', 'info', str(out_bag)], env, tmp, timeout=60)
        assert rc == 0, info
        types, msgs = read_bag(out_bag)
        assert parse_info(info) == {t: (types[t], len(m)) for t, m in msgs.items()}
        # the recording, copied byte for byte
        for t in rec_msgs:
            assert msgs[t] == rec_msgs[t], t
        labels = decode(types, msgs, '/cam/segmentation/labels')
        assert [header(m) for m in labels] == sent
        for m in labels:
            assert (m.height, m.width, m.encoding, m.step) == (CAM_H, CAM_W, 'mono8', CAM_W)
            assert set(np.unique(np.frombuffer(bytes(m.data), np.uint8))) <= \
                set(range(19)) | {255}
        # each output logged at its frame's receive time
        stamps = [s for s, _ in rec_msgs[topic]]
        assert [s for s, _ in msgs['/cam/segmentation/labels']] == stamps
        # The recording's first CameraInfo comes after two frames: every frame still gets its
        # scaled camera_info, with the frame's header.
        assert [header(m) for m in decode(rec_types, rec_msgs, CAM_INFO)] == sent
        order = [t for _, t in sorted((s, t) for t in rec_msgs for s, _ in rec_msgs[t])]
        assert order.index(CAM_INFO) > order.index(CAM_IMAGE, order.index(CAM_IMAGE) + 1)
        infos = decode(types, msgs, '/cam/segmentation/camera_info')
        assert [header(m) for m in infos] == sent
        assert (infos[0].height, infos[0].width) == (CAM_H, CAM_W)
        assert list(infos[0].k) == pytest.approx([50, 0, CAM_W / 2, 0, 50, CAM_H / 2, 0, 0, 1])
        (label_info,) = decode(types, msgs, '/cam/segmentation/label_info')
        assert header(label_info) == sent[0]
        for key in ('confidence', 'color', 'overlay', 'weights/stride16', 'weights/stride8'):
            assert len(msgs[f'/cam/segmentation/{key}']) == len(sent), key


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_ros2_bag_record_of_an_rclpy_camera_is_segmented(storage, ros, tmp_path):
    """``ros2 bag record -s STORAGE`` of Image + CompressedImage + CameraInfo -> baff-ros bag."""
    node, spin = ros
    env = ros_env(tmp_path)
    recording, sent = record_camera(
        tmp_path, lambda: run_camera(node, spin, CAM_FRAMES),
        ['ros2', 'bag', 'record', '-s', storage], env)
    assert (recording / 'metadata.yaml').is_file()
    check_segmented_recording(recording, sent, tmp_path, env)


# -- 3. ROS 2 Humble's ros2 bag -------------------------------------------------------------------

humble_only = pytest.mark.skipif(not HUMBLE_SETUP.is_file(),
                                 reason=f'no ROS 2 Humble install ({HUMBLE_SETUP} missing)')


def run_humble_peer(mode: str, tmp: Path, *args: str, timeout: float = 90) -> Any:
    """This file as a Humble rclpy peer; returns the JSON it printed."""
    rc, out = run(humble(sys.executable, str(Path(__file__).resolve()), mode, *args),
                  humble_env(tmp), tmp, timeout=timeout)
    assert rc == 0, out
    return json.loads([line for line in out.splitlines() if line.startswith(('{', '['))][-1])


@humble_only
@pytest.mark.parametrize('segmented', ['mcap-v8', 'sqlite3-v8'], indirect=True)
def test_humble_ros2_bag_reads_bag_version_8(segmented, sample, tmp_path):
    """Humble's ``ros2 bag info`` and ``play`` read ``--bag-version 8`` bags."""
    name, storage, bag = segmented
    env = humble_env(tmp_path)
    rc, info = run(humble('ros2', 'bag', 'info', str(bag)), env, tmp_path, timeout=60)
    assert rc == 0, info
    assert parse_info(info) == expected_topics(sample), info
    with Child(humble('ros2', 'bag', 'play', '--start-paused', str(bag)), env,
               tmp_path / 'play.log') as player:
        got = run_humble_peer('listen', tmp_path, '--timeout', '45')
        assert player.proc.wait(20) == 0, player.text()
    check_playback(got, sample['headers'], (NET_H, NET_W))


@humble_only
@pytest.mark.parametrize('segmented', ['mcap-v9'], indirect=True)
def test_humble_ros2_bag_cannot_parse_bag_version_9(segmented, tmp_path):
    """Why ``--bag-version 8`` exists: Humble cannot parse version 9's QoS profiles."""
    name, storage, bag = segmented
    rc, info = run(humble('ros2', 'bag', 'info', str(bag)), humble_env(tmp_path), tmp_path,
                   timeout=60)
    assert 'Exception on parsing info file' in info and 'bad conversion' in info, info


@humble_only
@pytest.mark.parametrize('storage', ['sqlite3', 'mcap'])
def test_humble_ros2_bag_record_is_segmented(storage, tmp_path):
    """A Humble recording (sqlite3 ones carry no message definitions) -> baff-ros bag."""
    env = humble_env(tmp_path)
    recording, sent = record_camera(
        tmp_path, lambda: [tuple(s) for s in run_humble_peer(
            'camera', tmp_path, '--frames', str(CAM_FRAMES), '--timeout', '30')],
        humble('ros2', 'bag', 'record', '-s', storage), env)
    check_segmented_recording(recording, sent, tmp_path, ros_env(tmp_path))


if __name__ == '__main__':
    sys.exit(peer_main())
