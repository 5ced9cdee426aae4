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
"""A tiny benchmark run: JSON fields, FLOP counting, table, plot and the CLI."""

import json

import pytest
import torch

from baff_ros.bench import count_flops, evaluate_targets, format_table, plot, run_bench
from baff_ros.cli import main
from baff_ros.model import build_model, ModelConfig
from baff_ros.model.flops import count_macs

SIZE = (64, 128)


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    cache = tmp_path_factory.mktemp('cache')
    return run_bench([SIZE], ['torch', 'onnxruntime'], ['baff', 'skipnet', 'enet'], repeats=2,
                     warmup=1, threads=1, int8=True, segmenter=True, cache_dir=str(cache),
                     quiet=True)


def test_report_fields(report):
    json.dumps(report)  # JSON-ready
    assert report['matmul_gflops'] > 0
    rows = report['results']
    keys = {(r['model'], r['backend'], r['precision']) for r in rows}
    for model in ('baff', 'skipnet', 'enet'):
        for backend in ('torch', 'onnxruntime'):
            assert (model, backend, 'fp32') in keys
    assert ('baff', 'onnxruntime', 'int8') in keys
    for r in rows + report['segmenter']:
        assert r['n'] == 2 and r['median_ms'] > 0 and r['p90_ms'] >= r['median_ms']
        assert r['fps'] == pytest.approx(1000.0 / r['median_ms'])
        assert r['floor_ms'] > 0 and r['over_floor'] == pytest.approx(
            r['median_ms'] / r['floor_ms'])
    assert {s['backend'] for s in report['segmenter']} == {'torch', 'onnxruntime'}
    assert all('over_bare' in s for s in report['segmenter'])
    parity = {p['model']: p for p in report['parity']}
    assert set(parity) == {'baff', 'skipnet', 'enet'}
    assert all(p['label_agreement'] >= 0.999 for p in parity.values())
    q = report['int8'][0]
    assert 0.0 <= q['label_agreement_vs_fp32'] <= 1.0 and q['max_abs_logit_diff_vs_fp32'] > 0


def test_checks_table_and_plot(report, tmp_path):
    checks = evaluate_targets(report)
    names = ' '.join(c['check'] for c in checks)
    for needle in ('labels agree', 'BAFF / SkipNet', 'compute floor', 'int8 / compute floor',
                   'Segmenter end-to-end'):
        assert needle in names
    table = format_table(report)
    assert '| 64x128 | baff (Segmenter e2e) | onnxruntime |' in table
    plot(report, tmp_path / 'b.png')
    assert (tmp_path / 'b.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_flops_agree_with_model_counter():
    torch.manual_seed(0)
    model = build_model(ModelConfig(width_mult=0.35)).eval()
    assert count_flops(model, SIZE) == 2 * count_macs(model, SIZE)['total']
    # A 2x2 stride-2 transposed conv touches each output once per input channel:
    # MACs = out.numel() * in_channels = (8 * 16 * 16) * 3.
    deconv = torch.nn.ConvTranspose2d(3, 8, 2, stride=2)
    assert count_flops(deconv, (8, 8)) == 2 * (8 * 16 * 16) * 3


def test_cli_bench_writes_json(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    rc = main(['bench', '--size', '64x128', '--backend', 'onnxruntime', '--models', 'baff',
               'skipnet', '--repeats', '1', '--warmup', '0', '--threads', '1', '--no-int8',
               '--json', str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert data['settings']['sizes'] == [[64, 128]]
    assert 'BAFF / SkipNet latency (onnxruntime, 64x128)' in capsys.readouterr().out
    assert main(['bench', '--size', '60x128']) == 2


def test_a_trained_checkpoint_benchmarks_on_a_street_scene(tmp_path):
    from baff_ros.engine.models import load_model

    model = load_model('baff_skipnet_synth')
    report = run_bench([SIZE], ['onnxruntime'], ['baff', 'skipnet'], repeats=1, warmup=0,
                       threads=1, int8=False, segmenter=True, cache_dir=str(tmp_path),
                       quiet=True, model=model)
    assert report['settings']['model'] == model[2]
    assert 'baff_skipnet_synth' in format_table(report).splitlines()[0]
    assert {(r['model'], r['kind']) for r in report['results'] + report['segmenter']} == {
        ('baff', 'bare'), ('skipnet', 'bare'), ('baff', 'segmenter')}
    # The end-to-end runner is the node's default path: the cells head.
    assert 'head cells' in report['segmenter'][0]['description']
