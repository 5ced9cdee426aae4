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
"""BAFF-SkipNet vs SkipNet: train a fair comparison, evaluate the runs, write the tables.

Usage:
  python scripts/ablation.py --root DATA --launch RUNS [--configs NAME ...] [--seeds 0 1] \\
      [--epochs N] [--warmup-epochs N] [--crop HxW] [--batch-size N] [--max-iters N] \\
      [--model-config K=V,...] [--dry-run]
  python scripts/ablation.py --root DATA --runs RUN_DIR [RUN_DIR ...] [--constant-w] \\
      [--out FILE.md] [--json docs/results.json] [--figure docs/img/ablation_weights.png]

``--launch RUNS`` trains every configuration of :data:`CONFIGS` (or those named by
``--configs``) with every seed into ``RUNS/<config>_s<seed>``, one after the other (every
configuration at the first seed, then at the next), all with the same data, schedule and budget
(the arguments above); only the configuration's own knobs differ.
A finished run (final.safetensors) is skipped and an interrupted one resumes from its
last.safetensors, so the same command continues a comparison across sessions. Then it reports
on all of them, as ``--runs`` does.

Each RUN_DIR is a ``baff-ros train`` output (final.safetensors + metrics.json). Every run is
evaluated on the val split with ``baff-ros eval`` (the official Cityscapes metrics, IoU per
object-size bucket, BAFF weight-map statistics), grouped by configuration (the ``<config>`` of
``<config>_s<seed>``; runs named otherwise by fusion), and reported per class side by side with
the seeds, then per configuration as mean ± standard deviation over seeds. The figure shows the
BAFF weight maps of the better run of the ``baff`` pair (the baseline, not the variants) on a
few val images, on the fixed 0-1 colour scale.

``--constant-w`` also evaluates every BAFF run with its weight maps replaced by constants (the
weight nets' head zeroed, its bias set to logit(c)): each fusion's mean w on the val split, 0.5,
the shallow map only (c = 0.999) and the deep map only (c = 0.001). If the learned maps did
anything beyond a fixed blend, their mIoU is above the per-fusion mean's.
"""

import argparse
import json
from pathlib import Path
import statistics
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from baff_ros.atomic import write_image, write_text

SMALL_THIN = ('pole', 'traffic light', 'traffic sign', 'person', 'rider', 'motorcycle', 'bicycle',
              'wall', 'fence')

#: The comparison: name -> (model architecture for ``--config``, extra ``baff-ros train``
#: arguments). ``skipnet`` and ``baff`` are the pair of the per-class table; the others try the
#: knobs one at a time: the weight nets' learning rate, their head initialisation, a finer block
#: grid (``block_size=4``) or a grid that follows the input (``block_grid=8``: 8 rows of
#: blocks at both fusion points, whatever the input size), and OHEM or class-balanced loss for
#: the rare classes (for both models). ``skipnet`` and ``baff`` come first: a launch with the
#: default ``--configs`` trains the pair before the variants.
CONFIGS: Dict[str, Tuple[str, List[str]]] = {
    'skipnet': ('fusion=add', []),
    'baff': ('fusion=baff', []),
    'baff_wlr10': ('fusion=baff', ['--weight-net-lr-mult', '10']),
    'baff_init_normal': ('fusion=baff', ['--weight-net-init', 'normal']),
    'baff_block4': ('fusion=baff,block_size=4', []),
    'baff_grid8': ('fusion=baff,block_grid=8', []),
    'skipnet_ohem': ('fusion=add', ['--ohem']),
    'baff_ohem': ('fusion=baff', ['--ohem']),
    'skipnet_cw': ('fusion=add', ['--class-weights']),
    'baff_cw': ('fusion=baff', ['--class-weights']),
    # The two knobs that helped, together: class weights (mIoU, small objects) and the weight
    # nets at 10x the learning rate (maps that vary). Its baseline is ``skipnet_cw``.
    'baff_cw_wlr10': ('fusion=baff', ['--class-weights', '--weight-net-lr-mult', '10']),
    # The same with the weight nets' compact 3D conv at stride 2 (one strided stage fewer, the
    # same block grid): what the weight nets cost at runtime, against what they give.
    'baff_cw_wlr10_cs2': ('fusion=baff,compact_stride=2',
                          ['--class-weights', '--weight-net-lr-mult', '10']),
}
BASELINES = ('baff', 'skipnet')


def train_command(name: str, seed: int, root: str, runs: Path, args: argparse.Namespace
                  ) -> List[str]:
    """``baff-ros train`` for one configuration and seed (resuming an interrupted run)."""
    arch, extra = CONFIGS[name]
    if args.model_config:
        arch = f'{arch},{args.model_config}'
    out = runs / f'{name}_s{seed}'
    cmd = [sys.executable, '-m', 'baff_ros.cli', 'train', '--root', root, '--out', str(out),
           '--config', arch, '--seed', str(seed), '--epochs', str(args.epochs),
           '--warmup-epochs', str(args.warmup_epochs), '--crop', args.crop,
           '--batch-size', str(args.batch_size), '--val-size', args.size,
           '--workers', str(args.workers), *extra]
    if args.max_iters:
        cmd += ['--max-iters', str(args.max_iters)]
    if args.lr_warmup_iters is not None:
        cmd += ['--lr-warmup-iters', str(args.lr_warmup_iters)]
    if (out / 'last.safetensors').is_file():
        cmd += ['--resume', str(out / 'last.safetensors')]
    return cmd


def launch(args: argparse.Namespace) -> List[Path]:
    """Train every configuration x seed that is not finished; return the run directories."""
    unknown = sorted(set(args.configs) - set(CONFIGS))
    if unknown:
        raise SystemExit(f'unknown configuration(s) {", ".join(unknown)}; known: '
                         f'{", ".join(CONFIGS)}')
    runs = []
    # Seed by seed: a comparison stopped half way has every configuration at the first seed.
    for seed in args.seeds:
        for name in args.configs:
            run = args.launch / f'{name}_s{seed}'
            runs.append(run)
            if (run / 'final.safetensors').is_file():
                print(f'{run.name}: finished, skipped', flush=True)
                continue
            cmd = train_command(name, seed, str(args.root), args.launch, args)
            print(' '.join(cmd), flush=True)
            if not args.dry_run:
                subprocess.run(cmd, check=True)
    return runs


def group_of(run: Path, fusion: str) -> str:
    """Configuration of a run directory ``<config>_s<seed>``; its fusion for other names."""
    name, _, seed = run.name.rpartition('_s')
    return name if name in CONFIGS and seed.isdigit() else fusion


def mean_std(values: List[Optional[float]]) -> Tuple[Optional[float], Optional[float]]:
    """Mean and sample standard deviation (0 for one value) of the values that are not None."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    return statistics.mean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def fmt_pm(values: List[Optional[float]], scale: float = 100.0, digits: int = 1) -> str:
    """``mean ± std`` of the values (times ``scale``), n/a if none."""
    m, sd = mean_std(values)
    return 'n/a' if m is None else f'{scale * m:.{digits}f} ± {scale * sd:.{digits}f}'


def config_table(runs: List[Dict]) -> str:
    """Per configuration: seeds, mIoU and size-bucket mIoU, weight-map statistics (mean ± std)."""
    groups: Dict[str, List[Dict]] = {}
    for r in runs:
        groups.setdefault(r['group'], []).append(r)
    lines = ['| config | seeds | mIoU | small | medium | large | w std 1/16 | w std 1/8 | '
             'corr(w, log area) 1/8 | corr(w, row) 1/8 |', '|---|---:|' + '---:|' * 8]
    for name, rs in groups.items():
        ev = [r['eval'] for r in rs]
        sizes = [e.get('size_buckets', {}) for e in ev]
        wm = [e.get('weight_maps', {}) for e in ev]

        def w(fusion: str, key: str) -> List[Optional[float]]:
            return [m.get(fusion, {}).get(key) for m in wm]
        cells = [fmt_pm([e['miou'] for e in ev])]
        cells += [fmt_pm([s.get(b, {}).get('miou') for s in sizes])
                  for b in ('small', 'medium', 'large')]
        cells += [fmt_pm(w('16', 'mean_spatial_std'), 1, 3),
                  fmt_pm(w('8', 'mean_spatial_std'), 1, 3),
                  fmt_pm(w('8', 'corr_log_area'), 1, 2), fmt_pm(w('8', 'corr_row'), 1, 2)]
        seeds = ','.join(str(r['seed']) for r in rs)
        lines.append(f'| {name} | {seeds} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def run_eval(model: Path, root: str, size: str, out: Path, quiet: bool = False) -> Dict:
    """Run ``baff-ros eval`` of ``model`` on the val split of ``root``; its JSON, from ``out``."""
    subprocess.run([sys.executable, '-m', 'baff_ros.cli', 'eval', '--root', root, '--split',
                    'val', '--model', str(model), '--size', size, '--json', str(out)],
                   check=True, capture_output=quiet)
    return json.loads(out.read_text())


def evaluate_run(run: Path, root: str, size: str) -> Dict:
    """Run ``baff-ros eval`` on a run's final checkpoint (cached in RUN/eval_val.json)."""
    out = run / 'eval_val.json'
    # An evaluation from before size buckets existed is redone.
    if not out.is_file() or 'size_buckets' not in json.loads(out.read_text()):
        return run_eval(run / 'final.safetensors', root, size, out)
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
        # The fixed 0-1 colour scale: the same colour is the same w in every run and image.
        rows.append(montage(overlay(rgb, colorize(res.labels, lut), 0.5), res.weights))
    seg.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_image(out, cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))


#: ``--constant-w``: label -> the constant w (None: the run's mean w per fusion on val).
CONSTANTS: Dict[str, Optional[float]] = {
    'mean w': None, 'w = 0.5': 0.5, 'shallow only': 0.999, 'deep only': 0.001}


def constant_w_row(run: Path, root: str, size: str, learned: Dict) -> Dict[str, float]:
    """mIoU of a BAFF run with its weight maps replaced by each of :data:`CONSTANTS`."""
    import math
    import tempfile

    import torch

    from baff_ros.model.checkpoint import load_checkpoint, save_checkpoint
    from baff_ros.model.config import fusion_points

    row = {'learned': learned['miou']}
    with tempfile.TemporaryDirectory(prefix='constant_w_') as tmp:
        for label, c in CONSTANTS.items():
            model, meta = load_checkpoint(run / 'final.safetensors')
            for name, fusion in zip(fusion_points(model), model.fusions):
                w = learned['weight_maps'][name]['mean'] if c is None else c
                with torch.no_grad():
                    fusion.weight_net.head.weight.zero_()
                    fusion.weight_net.head.bias.fill_(math.log(w / (1 - w)))
            path = Path(tmp) / 'model.safetensors'
            save_checkpoint(model, path, meta)
            row[label] = run_eval(path, root, size, Path(tmp) / 'eval.json', quiet=True)['miou']
    return row


def fmt(v) -> str:
    """Format an IoU in per cent; missing as n/a."""
    return 'n/a' if v is None else f'{100 * v:.1f}'


def main(argv=None) -> int:
    """Evaluate the runs, print and write the comparison."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--root', required=True)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument('--runs', nargs='+', type=Path, help='finished runs to report on')
    what.add_argument('--launch', type=Path, metavar='RUNS',
                      help='train the comparison into RUNS/<config>_s<seed>, then report')
    p.add_argument('--configs', nargs='+', default=list(CONFIGS), metavar='NAME',
                   help=f'configurations to train (default: all: {", ".join(CONFIGS)})')
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--warmup-epochs', type=int, default=2)
    p.add_argument('--crop', default='256x512')
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--max-iters', type=int)
    p.add_argument('--lr-warmup-iters', type=int)
    p.add_argument('--workers', type=int, default=2)
    p.add_argument('--model-config', metavar='K=V,...',
                   help='appended to every configuration\'s architecture (e.g. width_mult=0.35)')
    p.add_argument('--dry-run', action='store_true', help='print the training commands only')
    p.add_argument('--size', default='256x512', help='network input for evaluation')
    p.add_argument('--constant-w', action='store_true',
                   help='also evaluate each BAFF run with constant weight maps (see above)')
    p.add_argument('--out', type=Path, metavar='FILE.md',
                   help='also write the tables printed here to FILE.md (default: print only)')
    p.add_argument('--json', default='docs/results.json', type=Path)
    p.add_argument('--figure', default='docs/img/ablation_weights.png', type=Path)
    args = p.parse_args(argv)

    if args.launch is not None:
        if len(args.seeds) < 2 and not args.dry_run:
            print('note: fewer than 2 seeds per configuration; the spread is not measured',
                  flush=True)
        args.runs = launch(args)
        if args.dry_run:
            return 0
    runs: List[Dict] = []
    for run in args.runs:
        facts = run_facts(run)
        facts['group'] = group_of(run, facts['fusion'])
        facts['eval'] = evaluate_run(run, args.root, args.size)
        runs.append(facts)
    classes = runs[0]['eval']['class_names']
    # The per-class table compares BAFF with SkipNet: the baseline configurations of a launch,
    # or the runs grouped by fusion.
    by_fusion: Dict[str, List[Dict]] = {}
    baseline = {'baff': 'baff', 'skipnet': 'add'}
    for r in sorted(runs, key=lambda r: (r['fusion'], r['seed'])):
        if r['group'] in baseline or r['group'] == r['fusion']:
            by_fusion.setdefault(baseline.get(r['group'], r['fusion']), []).append(r)

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
        'class_iou': r['eval']['class_iou'], 'size_buckets': r['eval'].get('size_buckets'),
        'weight_maps': r['eval'].get('weight_maps')} for r in runs],
        'mean_miou': {f: mean(f) for f in by_fusion}}
    parts = [table, '',
             '| run | fusion | seed | epochs | img/s | train min | val mIoU | val iIoU |',
             '|---|---|---:|---:|---:|---:|---:|---:|', facts, '', config_table(runs)]
    if args.constant_w:
        rows = {r['run']: constant_w_row(run, args.root, args.size, r['eval'])
                for run, r in zip(args.runs, runs) if r['fusion'] == 'baff'}
        summary['constant_w'] = rows
        labels = ['learned', *CONSTANTS]
        parts += ['', '| run (mIoU %) | ' + ' | '.join(labels) + ' |',
                  '|---|' + '---:|' * len(labels)]
        parts += [f'| {name} | ' + ' | '.join(fmt(row[k]) for k in labels) + ' |'
                  for name, row in rows.items()]
    report = '\n'.join(parts)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.json, json.dumps(summary, indent=2) + '\n')
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_text(args.out, report + '\n')
    if figure:
        print(f'\nfigure: {figure}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
