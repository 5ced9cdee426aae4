#!/usr/bin/env python3
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
"""Bag throughput vs the Segmenter's own frame rate, measured side by side in one run.

Usage: python scripts/bench_bag.py [--bag models/samples/street_drive] [--rounds 3]
       [--backend auto] [--outputs LIST] [--compressed-outputs] [--workers N]
       [--json bench_bag.json]

Each round runs, with the same model and backend:

(a) the Segmenter alone over the bag's frames, decoded beforehand, one frame after the other
    with the node's parameters (what the live node does): the rate the bag's is compared with.
    At most ``--decoded`` frames (120) are held decoded and repeated up to the bag's count: a
    long drive's decoded frames (1.9 GB for 1,200 frames of 1024x512) would otherwise slow
    the bag run sharing their process (69 -> 63 frames/s measured);
(b) the bag run's Segmenters (``baff-ros bag`` segments several frames at once on a CPU, see
    ``baff_ros.bag.process.bag_workers``) alone over the same decoded frames, side by side:
    what the bag's I/O costs on top of its own way of segmenting;
(c) the whole ``baff-ros bag`` processing of the same bag (read, decode, segment, encode,
    write).

The order of (a), (b), (c) rotates each round. Prints a table of medians and the ratios, writes
JSON.
"""

import argparse
from concurrent.futures import ThreadPoolExecutor
import json
from pathlib import Path
import shutil
import statistics
import sys
import tempfile
import time


def main(argv=None) -> int:
    """Measure and report."""
    from baff_ros.bag.writer import COMPRESSIONS
    from baff_ros.ros.params import parse_param_override

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--bag', default='models/samples/street_drive')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--backend', default='auto')
    p.add_argument('--model', default='')
    p.add_argument('--compression', default='none', choices=COMPRESSIONS)
    p.add_argument('--outputs', help='outputs to write, as baff-ros bag --outputs (default: '
                   'its default)')
    p.add_argument('--compressed-outputs', action='store_true',
                   help='image outputs as CompressedImage, as baff-ros bag --compressed-outputs')
    p.add_argument('-p', '--param', action='append', default=[], metavar='NAME:=VALUE',
                   help='node parameter for both sides, e.g. -p threads:=1 (repeatable)')
    p.add_argument('--workers', type=int, default=0,
                   help='frames the bag run segments at once, as baff-ros bag --workers '
                        '(default 0: auto)')
    p.add_argument('--decoded', type=int, default=120,
                   help='frames held decoded for (a) and (b), repeated up to the bag\'s count '
                        '(default: %(default)s)')
    p.add_argument('--json', default='bench_bag.json')
    args = p.parse_args(argv)

    from baff_ros.atomic import write_text
    from baff_ros.bag import BagInput
    from baff_ros.bag.process import load_bag_segmenters, process_bag, SegmenterPool
    from baff_ros.engine.models import load_segmenter_for
    from baff_ros.ros.image_codec import compressed_to_rgb, image_to_rgb
    from baff_ros.ros.params import NodeParams

    from baff_ros.commands.bag import DEFAULT_OUTPUTS, parse_outputs

    values = {'backend': args.backend, 'model': args.model}
    values.update(parse_outputs(args.outputs or ','.join(DEFAULT_OUTPUTS)))
    for item in args.param:
        name, value = parse_param_override(item)
        values[name] = value
    params = NodeParams.from_dict(values)
    seg = load_segmenter_for(params)
    workers = load_bag_segmenters(params, args.workers)
    decoded, count = [], 0
    with BagInput(args.bag) as bag:
        topic = bag.streams[0].topic
        for conn, _, raw in bag.messages():
            if conn.topic == topic:
                count += 1
                if len(decoded) < args.decoded:
                    msg = bag.deserialize(raw, conn.msgtype)
                    decoded.append(compressed_to_rgb(msg) if hasattr(msg, 'format')
                                   else image_to_rgb(msg))
    frames = [decoded[i % len(decoded)] for i in range(count)]
    seg(*frames[0])  # warm-up (load_bag_segmenters warms its own)

    def alone() -> None:
        for image, order in frames:
            seg(image, color_order=order)

    def side_by_side() -> None:
        shared = SegmenterPool(workers)  # as the bag run shares them
        with ThreadPoolExecutor(len(workers)) as pool:
            list(pool.map(lambda frame: shared(frame[0], color_order=frame[1]), frames))

    # Frames/s and CPU time per frame (all threads of this process): what each side costs the
    # machine, whatever else runs on it.
    rates = {'alone': [], 'workers': [], 'bag': []}
    cpu = {'alone': [], 'workers': [], 'bag': []}
    tmp = Path(tempfile.mkdtemp())
    size_mb = 0.0
    try:
        for r in range(args.rounds):
            order = ['alone', 'workers', 'bag']
            order = order[r % 3:] + order[:r % 3]
            for what in order:
                t0, c0 = time.perf_counter(), time.process_time()
                if what == 'bag':
                    report = process_bag(args.bag, tmp / f'out{r}', params, segmenter=workers,
                                         progress=False, compression=args.compression,
                                         compressed_outputs=args.compressed_outputs)
                    n, rate = report.frames, report.fps
                    size_mb = sum(f.stat().st_size for f in (tmp / f'out{r}').iterdir()) / 1e6
                    # Deleted at once: the kernel writing a round's output back to disk (after
                    # 30 s, or past its dirty-page threshold) must not load the later rounds.
                    shutil.rmtree(tmp / f'out{r}')
                else:
                    (alone if what == 'alone' else side_by_side)()
                    n = len(frames)
                    rate = n / (time.perf_counter() - t0)
                rates[what].append(rate)
                cpu[what].append((time.process_time() - c0) * 1e3 / max(n, 1))
            print(f'round {r + 1}: ' + ', '.join(
                f'{what} {rates[what][-1]:.2f} frames/s ({cpu[what][-1]:.1f} CPU ms/frame)'
                for what in rates), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        seg.close()
        for s in workers:
            s.close()
    med = {what: statistics.median(v) for what, v in rates.items()}
    cpu_med = {what: statistics.median(v) for what, v in cpu.items()}
    result = {'bag': args.bag, 'frames': len(frames), 'rounds': args.rounds,
              'params': values, 'compression': args.compression, 'output_mb': size_mb,
              'compressed_outputs': args.compressed_outputs,
              'backend': seg.backend.description, 'network_size': list(seg.input_size),
              'workers': len(workers),
              'segmenter_fps': rates['alone'], 'workers_fps': rates['workers'],
              'bag_fps': rates['bag'],
              'segmenter_fps_median': med['alone'], 'workers_fps_median': med['workers'],
              'bag_fps_median': med['bag'],
              'ratio': med['bag'] / med['alone'],
              'ratio_to_workers': med['bag'] / med['workers'],
              'segmenter_cpu_ms_per_frame': cpu['alone'], 'workers_cpu_ms_per_frame':
              cpu['workers'], 'bag_cpu_ms_per_frame': cpu['bag'],
              'cpu_ratio': cpu_med['alone'] / cpu_med['bag']}
    print('| what | frames/s (median) | CPU ms/frame (median) |')
    print('|---|---:|---:|')
    print(f"| Segmenter alone, one frame at a time (decoded frames) | {med['alone']:.2f} | "
          f"{cpu_med['alone']:.1f} |")
    print(f"| the bag's {len(workers)} Segmenter(s) side by side (decoded frames) | "
          f"{med['workers']:.2f} | {cpu_med['workers']:.1f} |")
    print(f"| baff-ros bag (read+decode+segment+encode+write) | {med['bag']:.2f} | "
          f"{cpu_med['bag']:.1f} |")
    print(f"| ratio bag / Segmenter alone | {result['ratio']:.2f} | |")
    print(f"| ratio bag / its Segmenters side by side | {result['ratio_to_workers']:.2f} | |")
    print(f"output bag: {size_mb:.1f} MB")
    write_text(args.json, json.dumps(result, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
