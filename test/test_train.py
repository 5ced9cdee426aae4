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
"""Training: a tiny real run lowers the loss, writes loadable checkpoints and resumes exactly."""

import json

import numpy as np
import pytest
import torch

from baff_ros.cli import main
from baff_ros.model.checkpoint import load_checkpoint
from baff_ros.model.config import ModelConfig
from baff_ros.model.skipnet import build_model
from baff_ros.train import lr_at, SegmentationLoss, set_phase, train, TrainConfig

TINY = ['--config', 'width_mult=0.35', '--batch-size', '4', '--crop', '64x128',
        '--workers', '0', '--lr-warmup-iters', '2', '--no-progress', '--optimizer', 'adamw',
        '--lr', '0.005']


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('synth')
    assert main(['synth', '--out', str(root), '--n', '18', '--size', '128x256',
                 '--split-val', '2', '--seed', '1']) == 0
    return root


def test_tiny_training_lowers_loss_and_writes_checkpoints(data, tmp_path):
    out = tmp_path / 'run'
    rc = main(['train', '--root', str(data), '--out', str(out), '--epochs', '4',
               '--warmup-epochs', '1', *TINY])
    assert rc == 0
    history = json.loads((out / 'metrics.json').read_text())
    assert [h['phase'] for h in history] == [1, 2, 2, 2]
    assert history[-1]['train_loss'] < history[0]['train_loss'] - 0.3
    assert (out / 'metrics.csv').read_text().startswith('epoch,phase')
    assert (out / 'metrics.png').stat().st_size > 1000
    model, meta = load_checkpoint(out / 'final.safetensors')
    assert meta.config.width_mult == 0.35
    assert meta.provenance['epochs'] == 4 and meta.provenance['images_per_s'] > 0
    # Where it was trained on which machine stays out of a checkpoint that may be shipped.
    assert meta.provenance['data_root'] == data.name
    assert str(tmp_path) not in json.dumps(meta.provenance)
    assert str(data) not in json.dumps(meta.provenance)
    assert 'synthetic' in meta.provenance['data']
    assert meta.provenance['image_size'] == [64, 128]
    assert 0 <= meta.metrics['val_miou'] <= 1 and len(meta.metrics['val_class_iou']) == 19
    assert tuple(meta.input_size) == (128, 256)
    # the checkpoint is usable by the rest of the tool chain
    assert main(['eval', '--root', str(data), '--model', str(out / 'final.safetensors'),
                 '--json', str(tmp_path / 'e.json')]) == 0


def test_resume_continues_exactly(data, tmp_path):
    common = dict(root=str(data), model=ModelConfig(width_mult=0.35), batch_size=4,
                  crop=(64, 128), workers=0, lr_warmup_iters=2, optimizer='adamw', lr=0.005,
                  warmup_epochs=1, max_iters=6)
    full = train(TrainConfig(out=str(tmp_path / 'a'), epochs=3, **common), progress=False,
                 log=lambda m: None)
    first = train(TrainConfig(out=str(tmp_path / 'b'), epochs=3, **common), progress=False,
                  log=lambda m: None, stop_after=2)
    assert len(first['history']) == 2 and 'final' not in first
    resumed = train(TrainConfig(out=str(tmp_path / 'b'), epochs=3, **common),
                    resume=tmp_path / 'b' / 'last.safetensors', progress=False,
                    log=lambda m: None)
    assert len(resumed['history']) == 3 and resumed['iterations'] == full['iterations'] == 6
    a, _ = load_checkpoint(tmp_path / 'a' / 'final.safetensors')
    b, _ = load_checkpoint(tmp_path / 'b' / 'final.safetensors')
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    # nothing left to do is an error, not a silent no-op
    with pytest.raises(ValueError, match='nothing to do'):
        train(TrainConfig(out=str(tmp_path / 'b'), epochs=3, **common),
              resume=tmp_path / 'b' / 'last.safetensors', progress=False, log=lambda m: None)


def test_phase1_freezes_the_weight_nets():
    model = build_model(ModelConfig(width_mult=0.35))
    set_phase(model, 1)
    frozen = [p for f in model.fusions for p in f.parameters()]
    assert frozen and not any(p.requires_grad for p in frozen)
    assert all(p.requires_grad for p in model.encoder.parameters())
    set_phase(model, 2)
    assert all(p.requires_grad for p in model.parameters())


def test_lr_schedule_and_ohem():
    assert lr_at(0, 100, 1.0, 10, 0.9) == pytest.approx(0.1)
    assert lr_at(9, 100, 1.0, 10, 0.9) == pytest.approx(0.91 ** 0.9)
    assert lr_at(100, 100, 1.0, 10, 0.9) == 0.0
    torch.manual_seed(0)
    logits = torch.randn(2, 19, 8, 8)
    target = torch.randint(0, 19, (2, 8, 8))
    target[0, :4] = 255
    plain = SegmentationLoss()(logits, target)
    ohem = SegmentationLoss(ohem=True, thresh=0.7, min_kept=0.5)(logits, target)
    ref = torch.nn.functional.cross_entropy(logits, target, ignore_index=255)
    assert plain == pytest.approx(float(ref))
    assert ohem >= plain  # the hard pixels have the higher losses
    all_ignored = torch.full_like(target, 255)
    assert float(SegmentationLoss(ohem=True)(logits, all_ignored)) == 0.0


@pytest.mark.parametrize('argv, message', [
    (['--crop', '60x128'], 'multiples of 32'),
    (['--warmup-epochs', '5', '--epochs', '2'], 'warmup_epochs'),
    (['--batch-size', '64'], 'fewer than one batch'),
    (['--lr', '-1'], 'lr must be'),
    (['--resume', 'nowhere.safetensors'], 'no such checkpoint'),
])
def test_bad_arguments(data, tmp_path, capsys, argv, message):
    base = ['train', '--root', str(data), '--out', str(tmp_path / 'x'), '--config',
            'width_mult=0.35', '--workers', '0', '--no-progress', '--epochs', '2',
            '--warmup-epochs', '1']
    assert main(base + argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count('\n') == 0, err


def test_class_weights_and_ohem_flags_run(data, tmp_path):
    out = tmp_path / 'w'
    rc = main(['train', '--root', str(data), '--out', str(out), '--epochs', '1',
               '--warmup-epochs', '0', '--max-iters', '2', '--class-weights', '--ohem', *TINY])
    assert rc == 0
    assert np.isfinite(json.loads((out / 'metrics.json').read_text())[0]['train_loss'])


@pytest.mark.slow
def test_longer_training_learns_the_synthetic_scenes(tmp_path):
    root = tmp_path / 'data'
    assert main(['synth', '--out', str(root), '--n', '72', '--size', '128x256',
                 '--split-val', '8']) == 0
    out = tmp_path / 'run'
    rc = main(['train', '--root', str(root), '--out', str(out), '--epochs', '12',
               '--warmup-epochs', '3', '--config', 'width_mult=0.5', '--batch-size', '8',
               '--crop', '128x256', '--workers', '0', '--optimizer', 'adamw', '--lr', '0.003',
               '--lr-warmup-iters', '10', '--no-progress'])
    assert rc == 0
    history = json.loads((out / 'metrics.json').read_text())
    assert history[-1]['val_miou'] > 0.15, history[-1]


def test_weight_net_head_init_and_lr_multiplier(data, tmp_path):
    from baff_ros.train import init_weight_net_heads, param_groups

    torch.manual_seed(0)
    model = build_model(ModelConfig(width_mult=0.35))
    heads = [f.weight_net.head for f in model.fusions]
    assert all(not h.weight.any() and not h.bias.any() for h in heads)  # the model's zero init
    assert init_weight_net_heads(model, 'zero') == 2
    assert all(not h.weight.any() for h in heads)
    init_weight_net_heads(model, 'normal', std=0.5)
    for h in heads:
        assert 0.2 < float(h.weight.detach().std()) < 0.8 and not h.bias.any()
    with torch.no_grad():  # as in the first training step (batch statistics)
        _, weights = model.train()(torch.randn(2, 3, 64, 128), return_weights=True)
    assert min(float(w.std()) for w in weights) > 0.01  # w varies by block from the start
    assert init_weight_net_heads(build_model(ModelConfig(width_mult=0.35, fusion='add')),
                                 'normal') == 0
    with pytest.raises(ValueError, match='weight_net_init'):
        init_weight_net_heads(model, 'ones')
    # lr multiplier: the weight nets in groups of their own, the rest as before.
    fusion_ids = {id(p) for f in model.fusions for p in f.parameters()}
    plain = param_groups(model, 5e-4)
    assert [g['lr_mult'] for g in plain] == [1.0, 1.0]
    split = param_groups(model, 5e-4, 10.0)
    assert [g['lr_mult'] for g in split] == [1.0, 1.0, 10.0, 10.0]
    assert {id(p) for g in split[2:] for p in g['params']} == fusion_ids
    assert sum(len(g['params']) for g in split) == len(list(model.parameters()))
    # Trained with both knobs: the weight nets move further from their start than at 1x.
    moved = {}
    for mult in (1, 50):
        out = tmp_path / f'm{mult}'
        assert main(['train', '--root', str(data), '--out', str(out), '--epochs', '1',
                     '--warmup-epochs', '0', '--max-iters', '2', '--weight-net-init', 'normal',
                     '--weight-net-lr-mult', str(mult), '--seed', '3', *TINY]) == 0
        trained, meta = load_checkpoint(out / 'final.safetensors')
        torch.manual_seed(3)
        start = build_model(meta.config)
        init_weight_net_heads(start, 'normal', 0.1)
        moved[mult] = sum(float((a - b).detach().abs().sum()) for a, b in zip(
            [p for f in trained.fusions for p in f.parameters()],
            [p for f in start.fusions for p in f.parameters()]))
        cfg = meta.provenance['train_config']
        assert cfg['weight_net_lr_mult'] == mult and cfg['weight_net_init'] == 'normal'
    assert moved[50] > 5 * moved[1] > 0
    assert main(['train', '--root', str(data), '--out', str(tmp_path / 'bad'),
                 '--weight-net-lr-mult', '0', *TINY]) == 2
