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

Runs ``baff-ros node`` as a child process on a private loopback DDS domain, a camera and a
listener in this process, and reports:

* overhead (frames sent one at a time, so nothing waits), from the node's diagnostics:
  camera stamp -> first output (labels) published, split into the DDS transport of the input
  frame (stamp -> node receive), the node's own work and the Segmenter's time (pre-process +
  inference + post-process); and receive -> last output published (all outputs);
* load: a ``--rate`` Hz stream for ``--duration`` s: processed rate vs 1 / Segmenter time,
  stamp -> listener latency p50/p99, frames dropped, node RSS growth.

``--outputs`` picks what the listener subscribes to (the node computes only those): ``all``,
or a comma list such as ``labels,camera_info`` (what a navigation consumer takes).

    python scripts/bench_node.py --duration 10 --json bench_node.json --save-images docs/img
"""

import argparse
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


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


def main() -> int:
    """Run the benchmark; print a table and optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
                    help='save one received colour mask and weight map as PNG')
    args = ap.parse_args()
    ih, iw = (int(v) for v in args.image.split('x'))
    nh, nw = (int(v) for v in args.size.split('x'))

    from baff_ros.ros.dds.config import loopback_env
    domain = 100 + os.getpid() % 120
    os.environ.update(loopback_env(domain))
    import psutil

    from baff_ros.commands.node import READY_LINE
    from baff_ros.ros.dds.node import RosDds
    from baff_ros.ros.dds.tools import Camera, Recorder

    tmp = Path(tempfile.mkdtemp(prefix='bench_node_'))
    model = args.model
    if model is None:
        from baff_ros.engine.models import load_model
        from baff_ros.model.checkpoint import save_checkpoint
        net, meta, _ = load_model(None, 'width_mult=0.35')
        model = str(save_checkpoint(net, tmp / 'untrained.safetensors', meta))
    log_path = tmp / 'node.log'
    cmd = [sys.executable, '-m', 'baff_ros.cli', 'node', '--params',
           str(ROOT / 'config' / 'segment.yaml'), '--ros-args', '-p', f'model:={model}',
           '-p', f'input_size:=[{nh}, {nw}]', '-p', 'diagnostics_period:=0.5']
    for item in args.param:
        cmd += ['-p', item]
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    results = {'image': [ih, iw], 'network': [nh, nw], 'rate_hz': args.rate,
               'duration_s': args.duration, 'model': model, 'cpu_count': os.cpu_count(),
               'outputs': args.outputs, 'params': args.param}
    try:
        deadline = time.monotonic() + 120
        while READY_LINE not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f'node did not start:\n{log_path.read_text()}')
            time.sleep(0.1)
        dds = RosDds(domain)
        camera = Camera(dds)
        if args.outputs == 'all':
            keys = ['labels', 'camera_info', 'confidence', 'color', 'overlay', 'weights/stride8',
                    'weights/stride16']
        else:
            keys = [k.strip() for k in args.outputs.split(',')]
            if 'labels' not in keys:
                raise SystemExit('--outputs must include labels (latency is measured on it)')
        rec = Recorder(dds, keys + ['diagnostics'], keep=50)
        info = camera_info(ih, iw)
        if not rec.wait(camera.matched, 30):
            raise SystemExit('the node never subscribed')
        frames = [street(ih, iw, 24 * i) for i in range(8)]

        # Phase 1: one frame at a time; the node is idle when each arrives.
        e2e = []
        for i in range(args.frames):
            msg = camera.publish(frames[i % 8], info=info)
            stamp = msg.header.stamp
            if rec.wait(lambda: rec.find('labels', stamp), 10):
                t = rec.find_time('labels', stamp)
                e2e.append((t - (stamp.sec + stamp.nanosec * 1e-9)) * 1e3)
            time.sleep(0.05)
        time.sleep(1.0)
        d = rec.diagnostics()
        seg_ms, first = float(d['segment_ms']), float(d['first_output_latency_ms'])
        transport = float(d['stamp_latency_ms']) - float(d['node_latency_ms'])
        results['overhead'] = {
            'infer_ms_p50': float(d['infer_ms']), 'segment_ms_p50': seg_ms,
            'transport_in_ms_p50': transport,
            'receive_to_first_publish_ms_p50': first,
            'node_work_before_first_publish_ms': first - seg_ms,
            'stamp_to_first_publish_ms': transport + first,
            'stamp_to_first_publish_minus_segment_ms': transport + first - seg_ms,
            'receive_to_last_publish_ms_p50': float(d['node_latency_ms']),
            'node_work_all_outputs_ms': float(d['node_latency_ms']) - seg_ms,
            'stamp_to_listener_labels_ms_p50': float(np.median(e2e)) if e2e else None,
            'diagnostics': d}
        if args.save_images:
            import cv2
            out = Path(args.save_images)
            out.mkdir(parents=True, exist_ok=True)
            from baff_ros.ros.image_codec import image_to_array
            for key, name in (('color', 'node_color.png'), ('overlay', 'node_overlay.png'),
                              ('weights/stride8', 'node_weights_8.png'),
                              ('weights/stride16', 'node_weights_16.png')):
                arr = image_to_array(rec.get(key)[-1][1])
                if arr.ndim == 3:
                    arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
                cv2.imwrite(str(out / name), arr)

        # Phase 2: the stream.
        node_ps = psutil.Process(proc.pid)
        rss = [node_ps.memory_info().rss / 2**20]
        count0 = rec.counts['labels']
        d0 = rec.diagnostics()
        stop = threading.Event()

        def sample():
            while not stop.wait(0.5):
                rss.append(node_ps.memory_info().rss / 2**20)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.time()
        sent = camera.stream(lambda n: frames[n % 8], args.rate, args.duration, info=info)
        elapsed = time.time() - t0
        stop.set()
        sampler.join()
        time.sleep(1.0)
        lat = [(t - (s.header.stamp.sec + s.header.stamp.nanosec * 1e-9)) * 1e3
               for t, s in rec.get('labels')
               if s.header.stamp.sec + s.header.stamp.nanosec * 1e-9 >= t0]
        d1 = rec.diagnostics()
        processed = rec.counts['labels'] - count0
        seg_load = float(d1['segment_ms'])
        results['load'] = {
            'sent': sent, 'sent_hz': sent / elapsed, 'processed': processed,
            'processed_hz': processed / elapsed,
            'hz_from_segment_idle': 1e3 / seg_ms, 'hz_from_segment_under_load': 1e3 / seg_load,
            'processed_vs_idle_segment_rate': processed / elapsed * seg_ms / 1e3,
            'processed_vs_loaded_segment_rate': processed / elapsed * seg_load / 1e3,
            'segment_ms_p50': seg_load, 'infer_ms_p50': float(d1['infer_ms']),
            'process_ms_p50': float(d1['process_ms']),
            'latency_ms_p50': float(np.percentile(lat, 50)) if lat else None,
            'latency_ms_p99': float(np.percentile(lat, 99)) if lat else None,
            'dropped': int(d1['frames_dropped']) - int(d0['frames_dropped']),
            'decode_errors': int(d1['decode_errors']),
            'rss_mb_start': rss[0], 'rss_mb_end': rss[-1], 'rss_mb_max': max(rss),
            'rss_growth_mb': rss[-1] - rss[0], 'rss_mb_series': [round(v, 1) for v in rss]}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    o, ld = results['overhead'], results['load']
    rows = [
        ('Segmenter p50 (pre + inference + post), idle (ms)', f'{o["segment_ms_p50"]:.1f}'),
        ('  of which inference (ms)', f'{o["infer_ms_p50"]:.1f}'),
        ('DDS transport of the input, stamp -> node receive (ms)',
         f'{o["transport_in_ms_p50"]:.1f}'),
        ('node receive -> labels published (ms)', f'{o["receive_to_first_publish_ms_p50"]:.1f}'),
        ('node work before labels published (ms)',
         f'{o["node_work_before_first_publish_ms"]:.1f}'),
        ('stamp -> labels published - Segmenter (ms)',
         f'{o["stamp_to_first_publish_minus_segment_ms"]:.1f}'),
        ('node receive -> last output published (ms)',
         f'{o["receive_to_last_publish_ms_p50"]:.1f}'),
        ('camera stamp -> listener has labels (ms)',
         f'{o["stamp_to_listener_labels_ms_p50"]:.1f}'),
        (f'stream: sent Hz ({args.rate:g} asked)', f'{ld["sent_hz"]:.1f}'),
        ('stream: processed Hz', f'{ld["processed_hz"]:.1f}'),
        ('stream: 1 / Segmenter idle, under load (Hz)',
         f'{ld["hz_from_segment_idle"]:.1f}, {ld["hz_from_segment_under_load"]:.1f}'),
        ('stream: latency p50 / p99 (ms)',
         f'{ld["latency_ms_p50"]:.0f} / {ld["latency_ms_p99"]:.0f}'),
        ('stream: dropped frames', str(ld['dropped'])),
        ('stream: node RSS start -> end (MB)', f'{ld["rss_mb_start"]:.0f} -> '
                                               f'{ld["rss_mb_end"]:.0f}'),
    ]
    print(f'node benchmark: {iw}x{ih} rgb8 input, network {nh}x{nw}, outputs {args.outputs}, '
          f'{os.cpu_count()} CPUs')
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f'  {name:<{width}}  {value:>12}')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
