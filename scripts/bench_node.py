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
"""Measure the segmentation node's overhead and its behaviour under a 30 Hz 720p stream.

Runs the node as a child process on a private loopback DDS domain, once per middleware
(``--middleware dds,rclpy``, both by default, one after the other, each on its own domain):

* ``dds``: ``baff-ros node`` (Cyclone DDS Python binding, ``baff_ros/ros/dds/``);
* ``rclpy``: the rclpy lifecycle node, ``python -m baff_ros.ros.rclpy_node --ros-args ...``
  (autostarts to active) on rmw_cyclonedds_cpp.

Both get the same ROS arguments (``--params-file config/segment.yaml`` plus the same ``-p``
overrides), so the same model, backend and network size; the Segmenter is built once in this
process first, so that one-time backend work (the ONNX export into the cache) does not fall on
whichever node starts first. The camera and the listener stay in this process on the
Cyclone DDS Python binding for both nodes: rmw_cyclonedds_cpp speaks the same wire format on the
same domain, so the measuring side is identical and only the node's middleware differs, which
is the fair comparison. The figures of the input transport therefore include this process's
serialisation of the frame in both columns, and, for rclpy, rmw's deserialisation plus the
conversion to a Python message (the node's receive time is when its callback runs).

For each middleware it reports:

* overhead (frames sent one at a time, so nothing waits), from the node's diagnostics:
  camera stamp -> first output (labels) published, split into the transport of the input frame
  (stamp -> node receive), the node's own work and the Segmenter's time (pre-process +
  inference + post-process); and receive -> last output published (all outputs);
* load: a ``--rate`` Hz stream for ``--duration`` s: processed rate vs 1 / Segmenter time,
  stamp -> listener latency p50/p99, frames dropped, node CPU and RSS growth;
* how the node stopped: SIGINT to its process group, a bounded wait, then SIGKILL; its exit
  code.

The table also sets the results against the node's targets (reported, not asserted): node
work before the labels <= 10 % of the Segmenter's time at 720p; processed rate within 10 % of
min(camera rate, 1 / idle Segmenter time); latency p99 <= 2x median; RSS growth < 5 % over
5 minutes (``--duration 300``). The diagnostics of both nodes come from the same
``Pipeline.diagnostics()``; the script checks that they carry the same keys.

``--outputs`` picks what the listener subscribes to (the node computes only those): ``all``,
or a comma list such as ``labels,camera_info`` (what a navigation consumer takes). The printed
table has one column per middleware; ``--json`` writes the settings plus one object per
middleware (``overhead``, ``load``, ``stop``, the node's command line and log).

    source /opt/ros/jazzy/setup.bash  # rclpy, for the rclpy node
    python scripts/bench_node.py --duration 10 --json bench_node.json --save-images docs/img
    python scripts/bench_node.py --middleware dds --duration 300  # the DDS node only
"""

import argparse
import gc
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIDDLEWARES = ('dds', 'rclpy')
ALL_OUTPUTS = ('labels', 'camera_info', 'obstacle_points', 'free_points', 'ground_grid',
               'confidence', 'color', 'overlay', 'weights/stride8', 'weights/stride16')
#: The camera of the benchmark for the ground projection: no TF here, static extrinsics (1.2 m,
#: pitched down 0.15 rad) for both nodes.
GROUND_ARGS = ['ground_pose_source:=static', 'camera_height:=1.2', 'camera_pitch:=0.15']
#: Seconds a stopped node gets to exit after SIGINT before it is killed.
STOP_TIMEOUT_S = 20.0


def street(h: int, w: int, shift: int = 0) -> np.ndarray:
    """Draw a crude street picture: sky, buildings, road, a car; shifted per frame."""
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 3] = (135, 180, 235)
    img[h // 3: h // 2] = (120, 110, 100)
    for x in range(0, w, w // 8):
        img[h // 5: h // 2, x: x + w // 12] = (150, 140, 130)
    img[h // 2:] = (85, 85, 90)
    img[int(h * 0.75): int(h * 0.77), :] = (230, 230, 230)
    x0 = (w // 3 + shift) % w
    img[int(h * 0.5): int(h * 0.68), x0: x0 + w // 6] = (30, 50, 160)
    return img


def camera_info(h: int, w: int):
    """Return a pinhole CameraInfo for an h x w camera (so camera_info is an output too)."""
    from baff_ros.ros.dds import msgs
    f = 0.8 * w
    return msgs.CameraInfo(height=h, width=w, distortion_model='plumb_bob', d=[0.0] * 5,
                           k=[f, 0.0, w / 2, 0.0, f, h / 2, 0.0, 0.0, 1.0],
                           r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                           p=[f, 0.0, w / 2, 0.0, 0.0, f, h / 2, 0.0, 0.0, 0.0, 1.0, 0.0])


def node_ros_args(model: str, size: Tuple[int, int], extra: List[str]) -> List[str]:
    """Return the nodes' ROS arguments (the same for both middlewares): file, overrides."""
    args = ['--params-file', str(ROOT / 'config' / 'segment.yaml'), '-p', f'model:={model}',
            '-p', f'input_size:=[{size[0]}, {size[1]}]', '-p', 'diagnostics_period:=0.5']
    for item in GROUND_ARGS + list(extra):
        args += ['-p', item]
    return args


def node_command(middleware: str, ros_args: List[str]) -> List[str]:
    """Command line of one middleware's node."""
    if middleware == 'dds':
        return [sys.executable, '-m', 'baff_ros.cli', 'node', '--ros-args', *ros_args]
    return [sys.executable, '-m', 'baff_ros.ros.rclpy_node', '--ros-args', *ros_args]


def prepare_backend(ros_args: List[str]) -> str:
    """Build the nodes' Segmenter once in this process and close it again.

    One-time work of the backend (the ONNX export into the cache, an engine build) then
    happens here, before any node starts, instead of in whichever node runs first, so that
    every node starts alike (start-up time, RSS). Returns the backend's description.
    """
    from baff_ros.ros.params import load_params_file, NodeParams, parse_ros_args
    from baff_ros.engine.models import load_segmenter_for

    ros = parse_ros_args(ros_args)
    values: Dict[str, Any] = {}
    for path in ros.params_files:
        values.update(load_params_file(path, ros.node_name))
    values.update(ros.params)
    segmenter = load_segmenter_for(NodeParams.from_dict(values))
    try:
        return getattr(segmenter.backend, 'description', '')
    finally:
        segmenter.close()
        gc.collect()


def node_env(middleware: str, domain: int) -> Dict[str, str]:
    """Environment of the node: its domain on loopback; rclpy on rmw_cyclonedds_cpp."""
    from baff_ros.ros.dds.config import loopback_env

    env = loopback_env(domain)
    if middleware == 'rclpy':
        # The loopback CYCLONEDDS_URI only applies to Cyclone DDS, and the comparison is of
        # the node's middleware layer over the same DDS implementation.
        env['RMW_IMPLEMENTATION'] = 'rmw_cyclonedds_cpp'
    return env


def stop_node(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT_S) -> Dict[str, Any]:
    """Stop the node: SIGINT to its process group, wait up to ``timeout`` s, then SIGKILL."""
    if proc.poll() is not None:
        return {'stopped_by': 'exited before the stop', 'exit_code': proc.returncode,
                'stop_s': 0.0}
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    try:
        code = proc.wait(timeout)
        how = 'SIGINT'
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
        how = f'SIGKILL after {timeout:g} s without exiting on SIGINT'
    return {'stopped_by': how, 'exit_code': code, 'stop_s': time.monotonic() - t0}


def stamp_s(stamp: Any) -> float:
    """Seconds of a builtin_interfaces/Time."""
    return stamp.sec + stamp.nanosec * 1e-9


def bench_one(middleware: str, args: argparse.Namespace, ros_args: List[str], domain: int,
              keys: List[str], tmp: Path, save_images: Optional[str]) -> Dict[str, Any]:
    """Start one middleware's node, run both phases against it, stop it; return the results."""
    import psutil

    from baff_ros.ros.dds.node import RosDds
    from baff_ros.ros.dds.tools import Camera, Recorder
    from baff_ros.ros.pipeline import LABEL_INFO

    ih, iw = args.image_hw
    cmd = node_command(middleware, ros_args)
    log_path = tmp / f'node_{middleware}.log'
    out: Dict[str, Any] = {'command': cmd, 'domain': domain, 'log': str(log_path)}
    dds = camera = rec = None
    with open(log_path, 'w') as log:
        # Own process group: the stop signal reaches the node (and anything it starts) only.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                env=node_env(middleware, domain), start_new_session=True)
    try:
        dds = RosDds(domain)
        camera = Camera(dds)
        rec = Recorder(dds, keys + ['diagnostics', LABEL_INFO], keep=50)
        # Ready: the node's image reader is matched, and its latched LabelInfo and first
        # diagnostics have arrived (so its writers see this process's readers).
        deadline = time.monotonic() + 120
        while not (camera.matched() and rec.counts[LABEL_INFO] and rec.counts['diagnostics']):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f'{middleware} node did not start:\n{log_path.read_text()}')
            time.sleep(0.1)
        node_ps = psutil.Process(proc.pid)
        out['startup_s'] = time.time() - node_ps.create_time()
        info = camera_info(ih, iw)
        frames = [street(ih, iw, 24 * i) for i in range(8)]

        # Warm-up: frames until every subscribed output has come back at least once, so
        # discovery and the backend's first runs are behind us.
        deadline = time.monotonic() + 60
        warm = 0
        while warm < 3 or not all(rec.counts[k] for k in keys):
            if proc.poll() is not None or time.monotonic() > deadline:
                missing = [k for k in keys if not rec.counts[k]]
                raise SystemExit(f'{middleware} node: no {", ".join(missing)} after warm-up:\n'
                                 f'{log_path.read_text()}')
            stamp = camera.publish(frames[warm % 8], info=info).header.stamp
            rec.wait(lambda: rec.find('labels', stamp), 5)
            warm += 1
            time.sleep(0.2)
        out['warmup_frames'] = warm

        # Phase 1: one frame at a time; the node is idle when each arrives.
        e2e = []
        for i in range(args.frames):
            stamp = camera.publish(frames[i % 8], info=info).header.stamp
            if rec.wait(lambda: rec.find('labels', stamp), 10):
                e2e.append((rec.find_time('labels', stamp) - stamp_s(stamp)) * 1e3)
            time.sleep(0.05)
        time.sleep(1.0)
        d = rec.diagnostics()
        seg_ms, first = float(d['segment_ms']), float(d['first_output_latency_ms'])
        transport = float(d['stamp_latency_ms']) - float(d['node_latency_ms'])
        out['overhead'] = {
            'infer_ms_p50': float(d['infer_ms']), 'segment_ms_p50': seg_ms,
            'transport_in_ms_p50': transport,
            'receive_to_first_publish_ms_p50': first,
            'node_work_before_first_publish_ms': first - seg_ms,
            'node_work_vs_segment': (first - seg_ms) / seg_ms,
            'stamp_to_first_publish_ms': transport + first,
            'stamp_to_first_publish_minus_segment_ms': transport + first - seg_ms,
            'receive_to_last_publish_ms_p50': float(d['node_latency_ms']),
            'node_work_all_outputs_ms': float(d['node_latency_ms']) - seg_ms,
            'stamp_to_listener_labels_ms_p50': float(np.median(e2e)) if e2e else None,
            'frames_answered': len(e2e), 'diagnostics': d}
        # Ground projection (published only when a cloud or the grid is subscribed).
        out['ground'] = {'ground_ms_p50': float(d.get('ground_ms', 'nan')),
                         'ground_ms_p99': float(d.get('ground_p99_ms', 'nan')),
                         'obstacle_points': int(d.get('obstacle_points', 0)),
                         'free_points': int(d.get('free_points', 0)),
                         'ground_skipped': int(d.get('ground_skipped', 0))}
        if save_images:
            import cv2

            from baff_ros.ros.image_codec import image_to_array
            folder = Path(save_images)
            folder.mkdir(parents=True, exist_ok=True)
            for key, name in (('color', 'node_color.png'), ('overlay', 'node_overlay.png'),
                              ('weights/stride8', 'node_weights_8.png'),
                              ('weights/stride16', 'node_weights_16.png')):
                if key not in keys:
                    continue
                arr = image_to_array(rec.get(key)[-1][1])
                if arr.ndim == 3:
                    arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
                cv2.imwrite(str(folder / name), arr)

        # Phase 2: the stream.
        rss = [node_ps.memory_info().rss / 2**20]
        count0 = rec.counts['labels']
        d0 = rec.diagnostics()
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                rss.append(node_ps.memory_info().rss / 2**20)

        sampler = threading.Thread(target=sample, daemon=True)
        cpu0 = node_ps.cpu_times()
        sampler.start()
        t0 = time.time()
        sent = camera.stream(lambda n: frames[n % 8], args.rate, args.duration, info=info)
        elapsed = time.time() - t0
        cpu1 = node_ps.cpu_times()
        stop.set()
        sampler.join()
        time.sleep(1.0)
        lat = [(t - stamp_s(s.header.stamp)) * 1e3 for t, s in rec.get('labels')
               if stamp_s(s.header.stamp) >= t0]
        d1 = rec.diagnostics()
        processed = rec.counts['labels'] - count0
        seg_load = float(d1['segment_ms'])
        sent_hz = sent / elapsed
        best_hz = min(sent_hz, 1e3 / seg_ms)
        p50 = float(np.percentile(lat, 50)) if lat else None
        p99 = float(np.percentile(lat, 99)) if lat else None
        # RSS once warm: the sample at 10 % of the stream (at least 1 s in); the step from the
        # idle node to the first frames in flight is reported separately.
        warm_rss = rss[min(len(rss) - 1, max(2, len(rss) // 10))]
        out['load'] = {
            'sent': sent, 'sent_hz': sent_hz, 'processed': processed,
            'processed_hz': processed / elapsed,
            'hz_from_segment_idle': 1e3 / seg_ms, 'hz_from_segment_under_load': 1e3 / seg_load,
            'best_possible_hz': best_hz,
            'processed_vs_best_possible': processed / elapsed / best_hz,
            'processed_vs_idle_segment_rate': processed / elapsed * seg_ms / 1e3,
            'processed_vs_loaded_segment_rate': processed / elapsed * seg_load / 1e3,
            'segment_ms_p50': seg_load, 'infer_ms_p50': float(d1['infer_ms']),
            'process_ms_p50': float(d1['process_ms']),
            'latency_ms_p50': p50, 'latency_ms_p99': p99,
            'latency_p99_vs_p50': p99 / p50 if lat else None,
            'dropped': int(d1['frames_dropped']) - int(d0['frames_dropped']),
            'decode_errors': int(d1['decode_errors']), 'errors': int(d1['errors']),
            'node_cpu_pct': ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system))
            / elapsed * 100,
            'rss_mb_start': rss[0], 'rss_mb_warm': warm_rss, 'rss_mb_end': rss[-1],
            'rss_mb_max': max(rss), 'rss_growth_mb': rss[-1] - rss[0],
            'rss_growth_pct': (rss[-1] - rss[0]) / rss[0] * 100,
            'rss_growth_after_warm_pct': (rss[-1] - warm_rss) / warm_rss * 100,
            'rss_mb_series': [round(v, 1) for v in rss], 'diagnostics': d1}
    finally:
        out['stop'] = stop_node(proc)
        # Delete this run's DDS entities now, in this thread. The recorder's readers sit in
        # reference cycles (reader -> listener -> callback -> recorder); left to the garbage
        # collector, they would be deleted in whichever thread triggers a collection, possibly
        # a Cyclone listener thread of the next run, and deleting a DDS entity from inside a
        # listener callback deadlocks both runs' DDS threads.
        camera = rec = None
        if dds is not None:
            dds.close()
        dds = None
        gc.collect()
    text = log_path.read_text()
    out['log_has_traceback'] = 'Traceback' in text
    out['log_tail'] = text.splitlines()[-15:]
    return out


def _fmt(value: Optional[float], spec: str, suffix: str = '') -> str:
    return 'n/a' if value is None else f'{value:{spec}}{suffix}'


def _field(section: str, key: str, spec: str = '.1f',
           suffix: str = '') -> Callable[[Dict[str, Any]], str]:
    """Return a table cell: results[section][key] formatted with ``spec`` (n/a if None)."""
    return lambda r: _fmt(r[section][key], spec, suffix)


#: (row label, value of one middleware's results) of the printed table.
ROWS: List[Tuple[str, Callable[[Dict[str, Any]], str]]] = [
    ('node start -> ready (s)', lambda r: _fmt(r['startup_s'], '.1f')),
    ('Segmenter p50 (pre + inference + post), idle (ms)',
     _field('overhead', 'segment_ms_p50')),
    ('  of which inference (ms)', _field('overhead', 'infer_ms_p50')),
    ('input transport, stamp -> node receive (ms)',
     _field('overhead', 'transport_in_ms_p50')),
    ('node receive -> labels published (ms)',
     _field('overhead', 'receive_to_first_publish_ms_p50')),
    ('node work before labels published (ms)',
     _field('overhead', 'node_work_before_first_publish_ms')),
    ('  / Segmenter (target <= 10 %)',
     lambda r: _fmt(r['overhead']['node_work_vs_segment'] * 100, '.1f', ' %')),
    ('stamp -> labels published - Segmenter (ms)',
     _field('overhead', 'stamp_to_first_publish_minus_segment_ms')),
    ('ground projection p50 / p99 (ms; target <= 2 at 720p, stride 4)',
     lambda r: f'{_fmt(r["ground"]["ground_ms_p50"], ".2f")} / '
               f'{_fmt(r["ground"]["ground_ms_p99"], ".2f")}'),
    ('ground clouds: obstacle / free points',
     lambda r: f'{r["ground"]["obstacle_points"]} / {r["ground"]["free_points"]}'),
    ('node receive -> last output published (ms)',
     _field('overhead', 'receive_to_last_publish_ms_p50')),
    ('camera stamp -> listener has labels (ms)',
     _field('overhead', 'stamp_to_listener_labels_ms_p50')),
    ('stream: sent Hz', _field('load', 'sent_hz')),
    ('stream: processed Hz', _field('load', 'processed_hz')),
    ('stream: 1 / Segmenter idle, under load (Hz)',
     lambda r: f'{r["load"]["hz_from_segment_idle"]:.1f}, '
               f'{r["load"]["hz_from_segment_under_load"]:.1f}'),
    ('stream: processed / min(sent, 1 / Segmenter) (target >= 90 %)',
     lambda r: _fmt(r['load']['processed_vs_best_possible'] * 100, '.0f', ' %')),
    ('stream: latency p50 / p99 (ms)',
     lambda r: f'{_fmt(r["load"]["latency_ms_p50"], ".0f")} / '
               f'{_fmt(r["load"]["latency_ms_p99"], ".0f")}'),
    ('stream: p99 / p50 (target <= 2)',
     _field('load', 'latency_p99_vs_p50', '.2f')),
    ('stream: dropped frames', lambda r: str(r['load']['dropped'])),
    ('stream: node CPU (% of one core)', _field('load', 'node_cpu_pct', '.0f')),
    ('stream: node RSS start -> end (MB)',
     lambda r: f'{r["load"]["rss_mb_start"]:.0f} -> {r["load"]["rss_mb_end"]:.0f}'),
    ('stream: RSS growth (target < 5 % over 300 s)',
     _field('load', 'rss_growth_pct', '+.1f', ' %')),
    ('stream: RSS growth once warm',
     _field('load', 'rss_growth_after_warm_pct', '+.1f', ' %')),
    ('node stop: exit code (signal)',
     lambda r: f'{r["stop"]["exit_code"]} ({r["stop"]["stopped_by"].split()[0]})'),
]


def diagnostics_keys(results: Dict[str, Any], middlewares: List[str]) -> Dict[str, Any]:
    """Compare the diagnostics keys the nodes published (they share Pipeline.diagnostics())."""
    found = {mw: sorted(k for k in results[mw]['overhead']['diagnostics']
                        if not k.startswith('_')) for mw in middlewares}
    union = sorted(set().union(*found.values()))
    return {'same': all(v == union for v in found.values()), 'keys': union,
            'missing': {mw: [k for k in union if k not in v] for mw, v in found.items()}}


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(f'stopped by signal {signum}')


def parse_middlewares(text: str) -> List[str]:
    """Parse ``--middleware``: a comma list of dds and rclpy, in the order given."""
    names = [n.strip() for n in text.split(',') if n.strip()]
    bad = [n for n in names if n not in MIDDLEWARES]
    if bad or not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f'a comma list of distinct names from {", ".join(MIDDLEWARES)}, got {text!r}')
    return names


def main() -> int:
    """Run the benchmark; print a table and optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--middleware', type=parse_middlewares, default=list(MIDDLEWARES),
                    help='nodes to measure, in this order (default: dds,rclpy)')
    ap.add_argument('--duration', type=float, default=10.0, help='stream seconds')
    ap.add_argument('--rate', type=float, default=30.0, help='camera rate (Hz)')
    ap.add_argument('--image', default='720x1280', help='camera image HxW')
    ap.add_argument('--size', default='352x640', help='network input HxW')
    ap.add_argument('--model', help='checkpoint (default: an untrained width_mult=0.35 model)')
    ap.add_argument('--frames', type=int, default=30, help='frames for the overhead phase')
    ap.add_argument('--outputs', default='all',
                    help="outputs to subscribe to: 'all' or a comma list of keys")
    ap.add_argument('-p', '--param', action='append', default=[], metavar='NAME:=VALUE',
                    help='extra node parameter (repeatable), e.g. -p threads:=1')
    ap.add_argument('--json', help='write the results here')
    ap.add_argument('--save-images', metavar='DIR',
                    help='save one received colour mask and weight map as PNG (from the '
                         'first middleware measured)')
    args = ap.parse_args()
    args.image_hw = tuple(int(v) for v in args.image.split('x'))
    args.size_hw = tuple(int(v) for v in args.size.split('x'))
    if args.outputs == 'all':
        keys = list(ALL_OUTPUTS)
    else:
        keys = [k.strip() for k in args.outputs.split(',')]
        if 'labels' not in keys:
            raise SystemExit('--outputs must include labels (latency is measured on it)')
    if 'rclpy' in args.middleware:
        import importlib.util
        if importlib.util.find_spec('rclpy') is None:
            raise SystemExit('--middleware rclpy: rclpy does not import; source a ROS 2 '
                             'install (e.g. /opt/ros/jazzy/setup.bash) or measure dds only')
    # A child inherits an ignored SIGINT (a background job of a non-interactive shell starts
    # so) and would then not stop on it; with a handler here, exec gives it the default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the running node is stopped too.
    signal.signal(signal.SIGTERM, _exit_on_signal)

    from baff_ros.ros.dds.config import loopback_config
    # This process's camera and listener: loopback too (the domain is given per node).
    os.environ['CYCLONEDDS_URI'] = loopback_config()
    base_domain = 100 + os.getpid() % 110

    tmp = Path(tempfile.mkdtemp(prefix='bench_node_'))
    model = args.model
    if model is None:
        from baff_ros.engine.models import load_model
        from baff_ros.model.checkpoint import save_checkpoint
        net, meta, _ = load_model(None, 'width_mult=0.35')
        model = str(save_checkpoint(net, tmp / 'untrained.safetensors', meta))
    ih, iw = args.image_hw
    nh, nw = args.size_hw
    results: Dict[str, Any] = {
        'image': [ih, iw], 'network': [nh, nw], 'rate_hz': args.rate,
        'duration_s': args.duration, 'model': model, 'cpu_count': os.cpu_count(),
        'outputs': args.outputs, 'params': args.param, 'middlewares': args.middleware,
        'measuring_side': 'camera and listener on the Cyclone DDS Python binding for every '
                          'node'}
    ros_args = node_ros_args(model, args.size_hw, args.param)
    t0 = time.monotonic()
    results['backend'] = prepare_backend(ros_args)
    results['backend_prepare_s'] = time.monotonic() - t0
    for i, middleware in enumerate(args.middleware):
        results[middleware] = bench_one(middleware, args, ros_args, base_domain + i, keys, tmp,
                                        args.save_images if i == 0 else None)
    results['diagnostics_keys'] = diagnostics_keys(results, args.middleware)

    print(f'node benchmark: {iw}x{ih} rgb8 input at {args.rate:g} Hz for {args.duration:g} s, '
          f'network {nh}x{nw}, outputs {args.outputs}, {os.cpu_count()} CPUs')
    print(f'  backend: {results["backend"]}')
    width = max(len(label) for label, _ in ROWS)
    print(f'  {"":<{width}}' + ''.join(f'  {mw:>14}' for mw in args.middleware))
    for label, value in ROWS:
        cells = ''.join(f'  {value(results[mw]):>14}' for mw in args.middleware)
        print(f'  {label:<{width}}{cells}')
    dk = results['diagnostics_keys']
    if dk['same']:
        print(f'  /diagnostics: the same {len(dk["keys"])} keys from '
              f'{" and ".join(args.middleware)}')
    else:
        print('  /diagnostics keys differ; missing: '
              + '; '.join(f'{mw}: {", ".join(v) or "-"}' for mw, v in dk['missing'].items()))
    for middleware in args.middleware:
        r = results[middleware]
        if r['stop']['exit_code'] != 0 or r['log_has_traceback']:
            print(f'  {middleware} node: {r["stop"]["stopped_by"]}, exit code '
                  f'{r["stop"]["exit_code"]}; end of its log ({r["log"]}):')
            for line in r['log_tail']:
                print(f'    {line}')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
