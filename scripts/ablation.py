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
"""BAFF-SkipNet vs SkipNet: evaluate finished training runs and write docs/results.md.

Usage:
  python scripts/ablation.py --root DATA --runs RUN_DIR [RUN_DIR ...] \\
      [--out docs/results.md] [--json docs/results.json] [--figure docs/img/ablation_weights.png]

Each RUN_DIR is a ``baff-ros train`` output (final.safetensors + metrics.json). Every run is
evaluated on the val split with ``baff-ros eval`` (the official Cityscapes metrics), grouped by
fusion, and reported per class side by side with the seeds. The figure shows the BAFF weight maps
of the best BAFF run on a few val images.
"""

import argparse
import json
from pathlib import Path
import statistics
import subprocess
import sys
from typing import Dict, List

import cv2
import numpy as np

SMALL_THIN = ('pole', 'traffic light', 'traffic sign', 'person', 'rider', 'motorcycle', 'bicycle',
              'wall', 'fence')


def evaluate_run(run: Path, root: str, size: str) -> Dict:
    """Run ``baff-ros eval`` on a run's final checkpoint (cached in RUN/eval_val.json)."""
    out = run / 'eval_val.json'
    if not out.is_file():
        cmd = [sys.executable, '-m', 'baff_ros.cli', 'eval', '--root', root, '--split', 'val',
               '--model', str(run / 'final.safetensors'), '--size', size, '--json', str(out)]
        subprocess.run(cmd, check=True)
    return json.loads(out.read_text())


def run_facts(run: Path) -> Dict:
    """Fusion, seed, epochs and throughput of a run, from its checkpoint and metrics."""
    from baff_ros.model.checkpoint import read_header

    _, meta = read_header(run / 'final.safetensors')
    history = json.loads((run / 'metrics.json').read_text())
    prov = meta.provenance
    return {'run': run.name, 'fusion': meta.config.fusion,
            'seed': prov.get('schedule', {}).get('seed', prov.get('seed')),
            'epochs': len(history),
            'images_per_s': statistics.median(h['images_per_s'] for h in history),
            'train_minutes': sum(h['epoch_time_s'] for h in history) / 60}


def weights_figure(run: Path, root: str, out: Path, n: int = 3, size=(256, 512)) -> Path:
    """Overlay + BAFF weight maps of a few val images, stacked, as one PNG."""
    from baff_ros.bag.video import montage
    from baff_ros.data.cityscapes import list_samples, read_rgb
    from baff_ros.engine import BackendOptions, Segmenter
    from baff_ros.engine.visualize import colorize, overlay, palette_lut
    from baff_ros.model import load_checkpoint

    model, meta = load_checkpoint(run / 'final.safetensors')
    seg = Segmenter.from_model(model, meta, backend='torch', options=BackendOptions(),
                               input_size=size)
    lut = palette_lut(meta.palette)
    rows = []
    samples = list_samples(root, 'val')
    for s in samples[:: max(1, len(samples) // n)][:n]:
        rgb = read_rgb(s.image)
        res = seg(rgb)
        rows.append(montage(overlay(rgb, colorize(res.labels, lut), 0.5), res.weights))
    seg.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
    return out


def fmt(v) -> str:
    """Format an IoU in per cent; missing as n/a."""
    return 'n/a' if v is None else f'{100 * v:.1f}'


def main(argv=None) -> int:
    """Evaluate the runs, print and write the comparison."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--root', required=True)
    p.add_argument('--runs', nargs='+', required=True, type=Path)
    p.add_argument('--size', default='256x512', help='network input for evaluation')
    p.add_argument('--out', default='docs/results.md', type=Path)
    p.add_argument('--json', default='docs/results.json', type=Path)
    p.add_argument('--figure', default='docs/img/ablation_weights.png', type=Path)
    args = p.parse_args(argv)

    runs: List[Dict] = []
    for run in args.runs:
        facts = run_facts(run)
        facts['eval'] = evaluate_run(run, args.root, args.size)
        runs.append(facts)
    classes = runs[0]['eval']['class_names']
    by_fusion: Dict[str, List[Dict]] = {}
    for r in sorted(runs, key=lambda r: (r['fusion'], r['seed'])):
        by_fusion.setdefault(r['fusion'], []).append(r)

    def mean(fusion: str, cls: str = None) -> float:
        vals = [r['eval']['miou'] if cls is None else r['eval']['class_iou'][cls]
                for r in by_fusion.get(fusion, [])]
        vals = [v for v in vals if v is not None]
        return sum(vals) / len(vals) if vals else None

    cols = [(f, r) for f in ('baff', 'add') for r in by_fusion.get(f, [])]
    head = ' | '.join(f"{'BAFF' if f == 'baff' else 'SkipNet'} s{r['seed']}" for f, r in cols)
    lines = [f'| class | {head} | BAFF mean | SkipNet mean | Δ (BAFF − SkipNet) |',
             '|---|' + '---:|' * (len(cols) + 3)]
    for cls in classes + ['mIoU']:
        key = None if cls == 'mIoU' else cls
        cells = [fmt(r['eval']['miou'] if key is None else r['eval']['class_iou'][key])
                 for _, r in cols]
        b, a = mean('baff', key), mean('add', key)
        delta = 'n/a' if b is None or a is None else f'{100 * (b - a):+.1f}'
        name = f'**{cls}**' if cls == 'mIoU' else (f'{cls} *' if cls in SMALL_THIN else cls)
        lines.append(f'| {name} | ' + ' | '.join(cells) + f' | {fmt(b)} | {fmt(a)} | {delta} |')
    table = '\n'.join(lines)
    facts = '\n'.join(
        f"| {r['run']} | {r['fusion']} | {r['seed']} | {r['epochs']} | {r['images_per_s']:.1f} | "
        f"{r['train_minutes']:.1f} | {fmt(r['eval']['miou'])} | {fmt(r['eval']['iiou'])} |"
        for _, r in cols)
    best = max(by_fusion.get('baff', []), key=lambda r: r['eval']['miou'], default=None)
    figure = None
    if best is not None:
        figure = weights_figure(next(run for run in args.runs if run.name == best['run']),
                                args.root, args.figure)
    summary = {'runs': [{k: v for k, v in r.items() if k != 'eval'} | {
        'miou': r['eval']['miou'], 'iiou': r['eval']['iiou'],
        'class_iou': r['eval']['class_iou']} for r in runs],
        'mean_miou': {f: mean(f) for f in by_fusion}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + '\n')
    print(table)
    print()
    print('| run | fusion | seed | epochs | img/s | train min | val mIoU | val iIoU |')
    print('|---|---|---:|---:|---:|---:|---:|---:|')
    print(facts)
    if figure:
        print(f'\nfigure: {figure}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
