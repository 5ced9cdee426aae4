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
"""Latency benchmark: BAFF-SkipNet against SkipNet and peer networks, per backend and size.

Fairness on a shared, noisy machine: every (model, backend) runner is created first, then the
timed calls are interleaved round-robin (one call of each runner per round), so a burst of
outside load hits all of them alike; medians and ratios of medians are reported. The compute
floor is the model's FLOPs divided by a dense matrix-product rate measured in the same run with
the same thread count, also interleaved.
"""

import functools
import os
import platform
import sys
import time
from typing import Any, Callable, cast, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from baff_ros.atomic import replacing
from baff_ros.engine.backends import BackendError, BackendOptions, get_backend_class

DEFAULT_SIZES: Tuple[Tuple[int, int], ...] = ((512, 1024), (1024, 2048))
DEFAULT_BACKENDS: Tuple[str, ...] = ('torch', 'onnxruntime')
DEFAULT_MODELS: Tuple[str, ...] = ('baff', 'skipnet', 'erfnet', 'enet',
                                   'lraspp_mobilenetv3_large')
#: Target ratios the docs check (see docs/benchmarks.md).
TARGETS = {'label_agreement_min': 0.999, 'baff_over_skipnet_max': 1.05,
           'best_over_floor_max': 1.5, 'segmenter_over_bare_max': 1.10}


def count_flops(model: nn.Module, size: Tuple[int, int]) -> int:
    """Count FLOPs (2 x multiply-accumulates) of convolutions and matrix products."""
    from baff_ros.model.flops import split_flops

    return split_flops(model, size)['total']


def build_models(names: Sequence[str], num_classes: int = 19, seed: int = 0,
                 baff: Any = None) -> Dict[str, nn.Module]:
    """Build the benchmarked networks, untrained, deterministic; ``skipnet`` shares BAFF's.

    ``baff``: a trained BAFF-SkipNet to use instead of the untrained one (``skipnet`` is then
    its weights with additive fusion); the peers stay untrained.
    """
    from baff_ros.model.config import ModelConfig
    from baff_ros.model.skipnet import build_model, plain_skipnet
    from baff_ros.peers import build_peer

    torch.manual_seed(seed)
    out: Dict[str, nn.Module] = {}
    if baff is None:
        baff = build_model(ModelConfig(num_classes=num_classes)).eval()
    num_classes = baff.cfg.num_classes
    for name in names:
        if name == 'baff':
            out[name] = baff
        elif name == 'skipnet':
            out[name] = plain_skipnet(baff)
        else:
            out[name] = build_peer(name, num_classes)
    return out


def matmul_gflops(threads: int, n: int = 1024) -> Callable[[], float]:
    """Return a timed n x n fp32 matrix product; each call returns its GFLOP/s."""
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    c = torch.empty(n, n)

    def call() -> float:
        t = time.perf_counter()
        torch.mm(a, b, out=c)
        return 2.0 * n ** 3 / (time.perf_counter() - t) / 1e9
    return call


def _stats(times_s: List[float]) -> Dict[str, float]:
    ms = np.asarray(times_s) * 1e3
    med = float(np.median(ms))
    return {'median_ms': med, 'p90_ms': float(np.percentile(ms, 90)),
            'fps': 1000.0 / med if med > 0 else 0.0, 'n': int(ms.size)}


def _note(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def run_bench(sizes: Sequence[Tuple[int, int]] = DEFAULT_SIZES,
              backends: Sequence[str] = DEFAULT_BACKENDS,
              models: Sequence[str] = DEFAULT_MODELS, repeats: int = 10, warmup: int = 2,
              threads: int = 0, int8: bool = True, segmenter: bool = True,
              cache_dir: Optional[str] = None, quiet: bool = False,
              model: Optional[Tuple[nn.Module, Any, str]] = None) -> Dict[str, Any]:
    """Measure every (model, backend) at every size; see the module docstring for method.

    Args:
        sizes: network input sizes (height, width), multiples of 32.
        backends: backend names ('torch', 'onnxruntime', 'tensorrt', 'auto').
        models: names from :data:`DEFAULT_MODELS`.
        repeats: timed rounds; warmup: untimed rounds first.
        threads: CPU threads for every runtime and the matrix product (0 = all cores).
        int8: add onnxruntime int8 (static QDQ) runners for BAFF, with its accuracy delta.
        segmenter: add the end-to-end Segmenter (BAFF, each backend) next to its bare backend.
        cache_dir: ONNX/engine cache; quiet: no progress lines.
        model: (BAFF-SkipNet, metadata, description) of a trained checkpoint; default: an
            untrained one. With it, every runner sees a synthetic street scene
            (:func:`baff_ros.data.synth.render_scene`, seed 0) normalised with the checkpoint's
            mean/std, so the Segmenter's labels have real class boundaries (an untrained network
            predicts one class everywhere, which flatters any label head).

    Returns:
        A JSON-ready dict (see docs/benchmarks.md for the fields).
    """
    from baff_ros.engine.models import configure_threads
    from baff_ros.engine.segmenter import Segmenter
    from baff_ros.export import parity_input
    from baff_ros.model.checkpoint import CheckpointMeta
    from baff_ros.model.config import ModelConfig

    if repeats < 1 or warmup < 0:
        raise ValueError(f'repeats must be >= 1 and warmup >= 0, got {repeats}, {warmup}')
    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    nets = build_models(models, baff=model[0] if model else None)
    device = 'cpu'
    mm = matmul_gflops(threads)
    report: Dict[str, Any] = {
        'machine': {'cpu': platform.processor() or platform.machine(),
                    'cores': os.cpu_count(), 'threads': threads,
                    'python': platform.python_version(),
                    'torch': torch.__version__, 'gpu': None},
        'settings': {'sizes': [list(s) for s in sizes], 'backends': list(backends),
                     'models': list(models), 'repeats': repeats, 'warmup': warmup,
                     'model': model[2] if model else 'untrained (seed 0)'},
        'targets': dict(TARGETS),
        'results': [], 'segmenter': [], 'parity': [], 'int8': [], 'skipped': [],
    }
    try:
        import onnxruntime
        report['machine']['onnxruntime'] = onnxruntime.__version__
    except ImportError:
        pass
    if torch.cuda.is_available():
        report['machine']['gpu'] = torch.cuda.get_device_name(0)
    gflops_samples: List[float] = []
    for size in sizes:
        _note(f'bench {size[0]}x{size[1]}: creating runners ...', quiet)
        if model:
            from baff_ros.data.synth import render_scene
            from baff_ros.data.transforms import normalize

            image = np.ascontiguousarray(render_scene((size[0], size[1]), 0)[0])
            batch = normalize(image, model[1].mean, model[1].std)[None]
        else:
            batch = parity_input(size)
            image = np.ascontiguousarray(
                ((batch[0].transpose(1, 2, 0) * 0.25 + 0.45).clip(0, 1) * 255).astype(np.uint8))
        runners: List[Tuple[Dict[str, Any], Callable[[], object]]] = []
        outputs: Dict[Tuple[str, str], np.ndarray] = {}
        created = []
        for mname, net in nets.items():
            flops = count_flops(net, size)
            params = sum(p.numel() for p in net.parameters())
            for bname in backends:
                opts = BackendOptions(device=device, threads=threads, head='logits',
                                      with_weights=mname == 'baff', cache_dir=cache_dir)
                try:
                    be = get_backend_class(bname)(net, opts, input_size=tuple(size))
                except BackendError as exc:
                    report['skipped'].append({'size': list(size), 'model': mname,
                                              'backend': bname, 'reason': str(exc)})
                    continue
                created.append(be)
                outputs[(mname, bname)] = be.infer(batch)[0]
                info: Dict[str, Any] = {
                    'size': list(size), 'model': mname, 'backend': bname, 'precision': 'fp32',
                    'description': be.description, 'flops': flops, 'params': params,
                    'kind': 'bare'}
                runners.append((info, functools.partial(be.infer, batch)))
                if mname == 'baff' and segmenter:
                    meta = (model[1] if model else
                            CheckpointMeta.default(cast(ModelConfig, net.cfg)))
                    sopts = BackendOptions(device=device, threads=threads, cache_dir=cache_dir)
                    seg = Segmenter.from_model(net, meta, bname, sopts, input_size=tuple(size))
                    configure_threads(seg, threads)  # as the CLI and the node do
                    created.append(seg.backend)
                    runners.append(({**info, 'kind': 'segmenter', 'description':
                                     seg.backend.description},
                                    functools.partial(seg, image)))
            if mname == 'baff' and int8 and (mname, 'onnxruntime') in outputs:
                opts = BackendOptions(device=device, threads=threads, head='logits',
                                      precision='int8', cache_dir=cache_dir)
                try:
                    _note('  quantising BAFF to int8 (static, calibrated) ...', quiet)
                    be = get_backend_class('onnxruntime')(net, opts, input_size=tuple(size))
                except BackendError as exc:
                    report['skipped'].append({'size': list(size), 'model': mname,
                                              'backend': 'onnxruntime-int8',
                                              'reason': str(exc)})
                else:
                    created.append(be)
                    q = be.infer(batch)[0]
                    fp32 = outputs[(mname, 'onnxruntime')]
                    report['int8'].append({
                        'size': list(size), 'model': mname,
                        'label_agreement_vs_fp32': float((q.argmax(1) == fp32.argmax(1)).mean()),
                        'max_abs_logit_diff_vs_fp32': float(np.abs(q - fp32).max())})
                    runners.append(({'size': list(size), 'model': mname,
                                     'backend': 'onnxruntime', 'precision': 'int8',
                                     'description': be.description, 'flops': flops,
                                     'params': params, 'kind': 'bare'},
                                    functools.partial(be.infer, batch)))
        for mname in nets:
            ref = outputs.get((mname, 'torch'))
            for bname in backends:
                if bname == 'torch' or ref is None or (mname, bname) not in outputs:
                    continue
                other = outputs[(mname, bname)]
                report['parity'].append({
                    'size': list(size), 'model': mname, 'backends': ['torch', bname],
                    'max_abs_logit_diff': float(np.abs(other - ref).max()),
                    'label_agreement': float((other.argmax(1) == ref.argmax(1)).mean())})
        outputs.clear()
        times: List[List[float]] = [[] for _ in runners]
        rounds = warmup + repeats
        for r in range(rounds):
            _note(f'  round {r + 1}/{rounds} ({"warm-up" if r < warmup else "timed"})', quiet)
            # Each round starts with the next runner: every runner follows every other (and
            # the matrix-product probe, whose threads may still be spinning) equally often, so
            # no runner pays for a fixed place in the order.
            shift = r % len(runners) if runners else 0
            for i in [*range(shift, len(runners)), *range(shift)]:
                call = runners[i][1]
                t = time.perf_counter()
                call()
                if r >= warmup:
                    times[i].append(time.perf_counter() - t)
            g = mm()
            if r >= warmup:
                gflops_samples.append(g)
        gflops = float(np.median(gflops_samples)) if gflops_samples else float('nan')
        for (info, _), ts in zip(runners, times):
            entry: Dict[str, Any] = {**info, **_stats(ts)}
            entry['floor_ms'] = info['flops'] / (gflops * 1e9) * 1e3
            entry['over_floor'] = entry['median_ms'] / entry['floor_ms']
            target = report['segmenter'] if info['kind'] == 'segmenter' else report['results']
            target.append(entry)
        for be in created:
            be.close()
    report['matmul_gflops'] = (float(np.median(gflops_samples)) if gflops_samples
                               else float('nan'))
    report['checks'] = evaluate_targets(report)
    return report


def _find(rows: List[dict], **match) -> Optional[dict]:
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def evaluate_targets(report: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Check the targets of docs/benchmarks.md against a report; one row per check."""
    checks: List[Dict[str, Any]] = []
    results = report['results']
    for p in report['parity']:
        checks.append({'check': f"labels agree {p['backends'][0]} vs {p['backends'][1]} "
                                f"({p['model']}, {p['size'][0]}x{p['size'][1]})",
                       'value': p['label_agreement'],
                       'target': f">= {TARGETS['label_agreement_min']}",
                       'met': p['label_agreement'] >= TARGETS['label_agreement_min']})
    for row in results:
        if row['model'] != 'baff' or row['precision'] != 'fp32':
            continue
        plain = _find(results, model='skipnet', backend=row['backend'], size=row['size'],
                      precision='fp32')
        if plain:
            ratio = row['median_ms'] / plain['median_ms']
            checks.append({'check': f"BAFF / SkipNet latency ({row['backend']}, "
                                    f"{row['size'][0]}x{row['size'][1]})",
                           'value': ratio, 'target': f"<= {TARGETS['baff_over_skipnet_max']}",
                           'met': ratio <= TARGETS['baff_over_skipnet_max']})
    sizes = sorted({tuple(r['size']) for r in results})
    for size in sizes:
        fp32 = [r for r in results if r['model'] == 'baff' and tuple(r['size']) == size
                and r['precision'] == 'fp32']
        if fp32:
            best = min(fp32, key=lambda r: r['median_ms'])
            checks.append({'check': f'best fp32 backend ({best["backend"]}) / compute floor '
                                    f'({size[0]}x{size[1]})',
                           'value': best['over_floor'],
                           'target': f"<= {TARGETS['best_over_floor_max']}",
                           'met': best['over_floor'] <= TARGETS['best_over_floor_max']})
        q = _find(results, model='baff', precision='int8', size=list(size))
        if q:
            checks.append({'check': f'int8 / compute floor ({size[0]}x{size[1]})',
                           'value': q['over_floor'], 'target': '< 1.0',
                           'met': q['over_floor'] < 1.0})
    for seg in report['segmenter']:
        bare = _find(results, model=seg['model'], backend=seg['backend'], size=seg['size'],
                     precision='fp32')
        if bare:
            ratio = seg['median_ms'] / bare['median_ms']
            seg['over_bare'] = ratio
            checks.append({'check': f"Segmenter end-to-end / bare backend ({seg['backend']}, "
                                    f"{seg['size'][0]}x{seg['size'][1]})",
                           'value': ratio, 'target': f"<= {TARGETS['segmenter_over_bare_max']}",
                           'met': ratio <= TARGETS['segmenter_over_bare_max']})
    return checks


def format_table(report: Dict[str, Any]) -> str:
    """Markdown table of the results, the Segmenter rows and the checks."""
    lines = [f"matrix product: {report['matmul_gflops']:.1f} GFLOP/s fp32 on "
             f"{report['machine']['threads']} thread(s); BAFF weights: "
             f"{report['settings'].get('model', 'untrained (seed 0)')}", '',
             '| size | model | backend | prec | GFLOPs | median ms | p90 ms | FPS | floor ms '
             '| x floor |', '|---|---|---|---|---:|---:|---:|---:|---:|---:|']
    rows = sorted(report['results'] + report['segmenter'],
                  key=lambda r: (r['size'], r['model'], r['backend'], r['precision'],
                                 r['kind']))
    for r in rows:
        model = r['model'] + (' (Segmenter e2e)' if r['kind'] == 'segmenter' else '')
        lines.append(f"| {r['size'][0]}x{r['size'][1]} | {model} | {r['backend']} | "
                     f"{r['precision']} | {r['flops'] / 1e9:.1f} | {r['median_ms']:.1f} | "
                     f"{r['p90_ms']:.1f} | {r['fps']:.2f} | {r['floor_ms']:.1f} | "
                     f"{r['over_floor']:.2f} |")
    lines += ['', '| check | value | target | met |', '|---|---:|---|---|']
    for c in report['checks']:
        lines.append(f"| {c['check']} | {c['value']:.4f} | {c['target']} | "
                     f"{'yes' if c['met'] else 'NO'} |")
    return '\n'.join(lines)


def plot(report: Dict[str, Any], path: os.PathLike) -> None:
    """Bar chart of median latency per model and backend, one panel per size (Agg)."""
    from baff_ros.plotting import pyplot

    plt = pyplot()

    sizes = sorted({tuple(r['size']) for r in report['results']})
    fig, axes = plt.subplots(1, max(1, len(sizes)), figsize=(6.5 * max(1, len(sizes)), 4.5),
                             squeeze=False)
    for ax, size in zip(axes[0], sizes):
        rows = [r for r in report['results'] + report['segmenter'] if tuple(r['size']) == size]
        labels = []
        for r in rows:
            parts = [r['model'], r['backend'] + ('-int8' if r['precision'] == 'int8' else '')]
            if r['kind'] == 'segmenter':
                parts.append('(e2e)')
            labels.append('\n'.join(parts))
        ax.bar(range(len(rows)), [r['median_ms'] for r in rows], color='tab:blue',
               label='median latency')
        ax.scatter(range(len(rows)), [r['floor_ms'] for r in rows], color='tab:red',
                   marker='_', s=300, label='compute floor', zorder=3)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, rotation=90, fontsize=7)
        ax.set_ylabel('ms')
        ax.set_title(f'{size[0]}x{size[1]}, {report["machine"]["threads"]} CPU threads')
        ax.legend(fontsize=8)
    fig.tight_layout()
    with replacing(path) as tmp:
        fig.savefig(str(tmp), dpi=110)
    plt.close(fig)
