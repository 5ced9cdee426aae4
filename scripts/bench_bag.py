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
       [--backend auto] [--outputs LIST] [--compressed-outputs] [--json bench_bag.json]

Each round runs (a) the Segmenter alone over the bag's frames, decoded beforehand, and (b) the
whole ``baff-ros bag`` processing of the same bag (read, decode, segment, encode, write), with
the same model and backend. Prints a table of medians and the ratio, writes JSON.
"""

import argparse
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
    p.add_argument('--outputs', help='outputs to write, as baff-ros bag --outputs')
    p.add_argument('--compressed-outputs', action='store_true',
                   help='image outputs as CompressedImage, as baff-ros bag --compressed-outputs')
    p.add_argument('-p', '--param', action='append', default=[], metavar='NAME:=VALUE',
                   help='node parameter for both sides, e.g. -p threads:=1 (repeatable)')
    p.add_argument('--json', default='bench_bag.json')
    args = p.parse_args(argv)

    from baff_ros.atomic import write_text
    from baff_ros.bag import BagInput
    from baff_ros.bag.process import process_bag
    from baff_ros.ros.image_codec import compressed_to_rgb, image_to_rgb
    from baff_ros.ros.params import NodeParams
    from baff_ros.engine.models import load_segmenter_for

    values = {'backend': args.backend, 'model': args.model}
    if args.outputs:
        from baff_ros.commands.bag import parse_outputs

        values.update(parse_outputs(args.outputs))
    for item in args.param:
        name, value = parse_param_override(item)
        values[name] = value
    params = NodeParams.from_dict(values)
    seg = load_segmenter_for(params)
    frames = []
    with BagInput(args.bag) as bag:
        topic = bag.streams[0].topic
        for conn, _, raw in bag.messages():
            if conn.topic == topic:
                msg = bag.deserialize(raw, conn.msgtype)
                frames.append(compressed_to_rgb(msg) if hasattr(msg, 'format')
                              else image_to_rgb(msg))
    seg(*frames[0])  # warm-up
    alone, whole = [], []
    # CPU time per frame (all threads of this process): what each side costs the machine,
    # whatever else runs on it. On cores that inference alone already keeps busy, the bag's
    # rate cannot exceed Segmenter CPU / bag CPU.
    alone_cpu, whole_cpu = [], []
    tmp = Path(tempfile.mkdtemp())
    try:
        for r in range(args.rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            for image, order in frames:
                seg(image, color_order=order)
            alone.append(len(frames) / (time.perf_counter() - t0))
            alone_cpu.append((time.process_time() - c0) * 1e3 / len(frames))
            c0 = time.process_time()
            report = process_bag(args.bag, tmp / f'out{r}', params, segmenter=seg,
                                 progress=False, compression=args.compression,
                                 compressed_outputs=args.compressed_outputs)
            whole_cpu.append((time.process_time() - c0) * 1e3 / max(report.frames, 1))
            size_mb = sum(f.stat().st_size for f in (tmp / f'out{r}').iterdir()) / 1e6
            whole.append(report.fps)
            print(f'round {r + 1}: Segmenter alone {alone[-1]:.2f} frames/s '
                  f'({alone_cpu[-1]:.1f} CPU ms/frame), bag {whole[-1]:.2f} frames/s '
                  f'({whole_cpu[-1]:.1f} CPU ms/frame)', file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        seg.close()
    result = {'bag': args.bag, 'frames': len(frames), 'rounds': args.rounds,
              'params': values, 'compression': args.compression, 'output_mb': size_mb,
              'compressed_outputs': args.compressed_outputs,
              'backend': seg.backend.description, 'network_size': list(seg.input_size),
              'segmenter_fps': alone, 'bag_fps': whole,
              'segmenter_fps_median': statistics.median(alone),
              'bag_fps_median': statistics.median(whole),
              'ratio': statistics.median(whole) / statistics.median(alone),
              'segmenter_cpu_ms_per_frame': alone_cpu, 'bag_cpu_ms_per_frame': whole_cpu,
              'cpu_ratio': statistics.median(alone_cpu) / statistics.median(whole_cpu)}
    print('| what | frames/s (median) |')
    print('|---|---:|')
    print(f"| Segmenter alone (decoded frames) | {result['segmenter_fps_median']:.2f} |")
    print(f"| baff-ros bag (read+decode+segment+encode+write) | {result['bag_fps_median']:.2f} |")
    print(f"| ratio | {result['ratio']:.2f} |")
    print(f"output bag: {size_mb:.1f} MB")
    print(f"CPU ms per frame (median): Segmenter alone "
          f"{statistics.median(alone_cpu):.1f}, bag {statistics.median(whole_cpu):.1f} "
          f"(Segmenter / bag {result['cpu_ratio']:.2f})")
    write_text(args.json, json.dumps(result, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
