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
"""Where BAFF's time goes on onnxruntime: per-op profiles of BAFF-SkipNet and SkipNet.

Usage: python scripts/profile_fusion.py [--size 512x1024] [--runs 20] [--rounds 3]
       [--threads 2] [--spin] [--head logits] [--model NAME|FILE] [--json profile_fusion.json]

Exports the bundled BAFF-SkipNet and the same network with plain additive fusion (SkipNet: the
same weights without the weight nets), runs both in onnxruntime (CPU EP, the graph optimisation
level the backend uses) with its profiler on, alternating the two per round, and prints:
- the optimised graph's node count, in total and in the fusion blocks;
- per-op-type time (median over rounds of the per-run mean), for each model;
- the time spent in the fusion blocks' nodes vs the rest, and the wall-clock ratio.
"""

import argparse
from collections import defaultdict
import json
import os
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Dict, List


def _profile(path: Path, feed, runs: int, threads: int, spin: bool, workdir: str) -> Dict:
    """Run ``runs`` inferences with onnxruntime's profiler; aggregate its node events."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.add_session_config_entry('session.intra_op.allow_spinning', '1' if spin else '0')
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(workdir, path.stem)
    so.optimized_model_filepath = os.path.join(workdir, path.stem + '.opt.onnx')
    sess = ort.InferenceSession(str(path), so, providers=['CPUExecutionProvider'])
    name = sess.get_inputs()[0].name
    for _ in range(3):
        sess.run(None, {name: feed})
    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, {name: feed})
        walls.append((time.perf_counter() - t) * 1e3)
    trace = sess.end_profiling()
    events = json.loads(Path(trace).read_text())
    per_type: Dict[str, float] = defaultdict(float)
    fusion_us = other_us = 0.0
    nodes = set()
    for e in events:
        if e.get('cat') != 'Node' or not e['name'].endswith('_kernel_time'):
            continue
        node = e['name'][:-len('_kernel_time')]
        nodes.add(node)
        op = e['args'].get('op_name', '?')
        per_type[op] += e['dur']
        if 'fusion' in node:
            fusion_us += e['dur']
        else:
            other_us += e['dur']
    n = runs + 3  # the profile holds the warm-up runs too
    import onnx

    opt = onnx.load(so.optimized_model_filepath)
    fusion_nodes = [nd for nd in opt.graph.node if 'fusion' in nd.name]
    fusion_ops: Dict[str, int] = defaultdict(int)
    for nd in fusion_nodes:
        fusion_ops[nd.op_type] += 1
    return {'wall_ms': statistics.median(walls),
            'per_type_ms': {k: v / n / 1e3 for k, v in per_type.items()},
            'fusion_ms': fusion_us / n / 1e3, 'other_ms': other_us / n / 1e3,
            'nodes': len(opt.graph.node), 'fusion_nodes': len(fusion_nodes),
            'fusion_ops': dict(fusion_ops)}


def main(argv=None) -> int:
    """Profile, print the comparison, write JSON."""
    import numpy as np

    from baff_ros.commands.common import parse_size
    from baff_ros.engine.graph import export_onnx
    from baff_ros.engine.models import load_model
    from baff_ros.model.skipnet import plain_skipnet

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--size', type=parse_size, default=(512, 1024))
    ap.add_argument('--runs', type=int, default=20)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--head', default='logits', choices=('logits', 'cells', 'fast', 'exact'))
    ap.add_argument('--spin', action='store_true',
                    help='let idle onnxruntime threads spin (the backend default is off)')
    ap.add_argument('--model', default=None, metavar='NAME|FILE',
                    help='BAFF-SkipNet checkpoint (default: the bundled model)')
    ap.add_argument('--json', default='profile_fusion.json')
    args = ap.parse_args(argv)

    baff, meta, _ = load_model(args.model)
    skip = plain_skipnet(baff)
    feed = np.random.default_rng(0).standard_normal((1, 3, *args.size)).astype(np.float32)
    results: Dict[str, List[Dict]] = {'baff': [], 'skipnet': []}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, model in (('baff', baff), ('skipnet', skip)):
            paths[name] = Path(tmp) / f'{name}.onnx'
            export_onnx(model, paths[name], args.size, args.head, with_weights=True)
        for r in range(args.rounds):
            order = ('baff', 'skipnet') if r % 2 == 0 else ('skipnet', 'baff')
            for name in order:
                results[name].append(_profile(paths[name], feed, args.runs, args.threads,
                                              args.spin, tmp))
    summary = {}
    for name, rounds in results.items():
        types = sorted({t for r in rounds for t in r['per_type_ms']})
        summary[name] = {
            'wall_ms': statistics.median(r['wall_ms'] for r in rounds),
            'fusion_ms': statistics.median(r['fusion_ms'] for r in rounds),
            'other_ms': statistics.median(r['other_ms'] for r in rounds),
            'nodes': rounds[0]['nodes'], 'fusion_nodes': rounds[0]['fusion_nodes'],
            'fusion_ops': rounds[0]['fusion_ops'],
            'per_type_ms': {t: statistics.median(r['per_type_ms'].get(t, 0.0) for r in rounds)
                            for t in types}}
    b, s = summary['baff'], summary['skipnet']
    print(f'onnxruntime CPU, {args.size[0]}x{args.size[1]}, head {args.head}, '
          f'{args.threads} threads, spinning {"on" if args.spin else "off"}; medians of '
          f'{args.rounds} rounds x {args.runs} runs')
    print(f'{"":24}{"BAFF":>10}{"SkipNet":>10}')
    print(f'{"wall ms":24}{b["wall_ms"]:10.2f}{s["wall_ms"]:10.2f}   '
          f'ratio {b["wall_ms"] / s["wall_ms"]:.3f}')
    print(f'{"fusion-block nodes ms":24}{b["fusion_ms"]:10.2f}{s["fusion_ms"]:10.2f}')
    print(f'{"other nodes ms":24}{b["other_ms"]:10.2f}{s["other_ms"]:10.2f}')
    print(f'{"graph nodes (fusion)":24}{b["nodes"]:>6} ({b["fusion_nodes"]}){s["nodes"]:>6} '
          f'({s["fusion_nodes"]})')
    print(f'BAFF fusion-block ops: {dict(sorted(b["fusion_ops"].items()))}')
    print(f'{"op type ms":24}{"BAFF":>10}{"SkipNet":>10}')
    for t in sorted(b['per_type_ms'], key=lambda t: -b['per_type_ms'][t]):
        print(f'  {t:22}{b["per_type_ms"][t]:10.3f}{s["per_type_ms"].get(t, 0.0):10.3f}')
    Path(args.json).write_text(json.dumps({'size': list(args.size), 'head': args.head,
                                           'threads': args.threads, 'spin': args.spin,
                                           'runs': args.runs,
                                           'rounds': args.rounds, **summary}, indent=2) + '\n')
    print(f'wrote {args.json}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
