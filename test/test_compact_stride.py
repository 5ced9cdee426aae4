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
"""The weight net whose compact 3D conv takes the first stride-2 step (``compact_stride=2``)."""

import pytest
import torch

from baff_ros.engine.graph import export_onnx
from baff_ros.engine.models import parse_config_arg
from baff_ros.export import onnx_parity
from baff_ros.model import build_model, ModelConfig
from baff_ros.model.checkpoint import load_checkpoint, save_checkpoint
from baff_ros.model.flops import split_flops
from baff_ros.model.fusion import WeightNet
# The weight net written out by hand (its 3x3 conv at the net's compact stride, then the
# stride-2 stages, one logit per block), shared with the block-grid tests.
from test_block_grid import _fixed_block_weights


def _randomised(net: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Random weight-net parameters (a fresh weight net is exactly 0.5 everywhere)."""
    g = torch.Generator().manual_seed(seed)
    for name, p in net.named_parameters():
        if 'weight_net' in name or isinstance(net, WeightNet):
            p.data = torch.randn(p.shape, generator=g)
    return net.eval()


@pytest.mark.parametrize('hw', [(32, 64), (36, 68), (16, 24)])
def test_same_block_grid_one_stage_fewer(hw):
    plain = WeightNet(channels=5, hidden=4, block_size=8)
    strided = _randomised(WeightNet(channels=5, hidden=4, block_size=8, compact_stride=2))
    assert len(plain.down) == 3 and len(strided.down) == 2
    assert all(stage.dw[0].stride == (2, 2) for stage in strided.down)
    assert strided.conv3d.stride == (1, 2, 2) and strided.compact_stride == 2
    g = torch.Generator().manual_seed(4)
    s, d = torch.randn(1, 5, *hw, generator=g), torch.randn(1, 5, *hw, generator=g)
    with torch.no_grad():
        w = strided(s, d)
        grid = strided.grid_logits(s, d)
        ref = _fixed_block_weights(strided, s, d)
    assert w.shape == (1, 1, *hw)
    # ceil(h / 8) x ceil(w / 8) blocks, as the unstrided net: the conv's stride is the first
    # of the three halvings.
    assert tuple(grid.shape[-2:]) == plain.grid_shape(*hw) == (-(-hw[0] // 8), -(-hw[1] // 8))
    torch.testing.assert_close(w, ref, rtol=0, atol=1e-6)
    assert float(w.amax() - w.amin()) > 0  # the blocks differ


def test_block_size_two_keeps_one_stage_at_stride_one():
    net = WeightNet(channels=3, hidden=4, block_size=2, compact_stride=2)
    assert len(net.down) == 1 and net.down[0].dw[0].stride == (1, 1)
    assert net(torch.randn(1, 3, 10, 14), torch.randn(1, 3, 10, 14)).shape == (1, 1, 10, 14)


def test_costs_less_and_has_fewer_parameters():
    size = (512, 1024)
    flops = {cs: split_flops(build_model(ModelConfig(compact_stride=cs)), size)
             for cs in (1, 2)}
    # The encoder, score heads and decoder are the same; the 3x3 conv over the stacked maps is
    # most of the weight nets' FLOPs, and at stride 2 it and every later stage run on a
    # quarter of the pixels.
    assert (flops[1]['total'] - flops[1]['fusions']
            == flops[2]['total'] - flops[2]['fusions'])
    assert 0 < flops[2]['fusions'] < 0.3 * flops[1]['fusions']
    n = {cs: sum(p.numel() for p in build_model(ModelConfig(compact_stride=cs)).parameters())
         for cs in (1, 2)}
    assert n[2] < n[1]


def test_checkpoint_round_trip(tmp_path):
    # (training: test_model.test_gradients_reach_the_weight_net covers this variant)
    model = _randomised(build_model(ModelConfig(width_mult=0.35, compact_stride=2)))
    x = torch.randn(2, 3, 64, 128)
    path = tmp_path / 'cs2.safetensors'
    save_checkpoint(model, path)
    loaded, meta = load_checkpoint(path)
    assert meta.config.compact_stride == 2
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


@pytest.mark.parametrize('dynamic', [False, True])
def test_onnx_export_matches_torch(tmp_path, dynamic):
    torch.manual_seed(0)
    model = _randomised(build_model(ModelConfig(width_mult=0.35, compact_stride=2)))
    path = export_onnx(model, tmp_path / 'cs2.onnx', (256, 512), dynamic=dynamic)
    for size in ((256, 512), (224, 480)) if dynamic else ((256, 512),):
        parity = onnx_parity(model, path, size, threads=1)
        assert parity.max_abs_logit_diff <= 1e-3, size
        assert parity.max_abs_weight_diff <= 1e-5, size
        assert parity.ok()


def test_config_text_validation_and_old_dicts():
    cfg = parse_config_arg('fusion=baff,compact_stride=2')  # ``baff-ros train --config``
    assert cfg.compact_stride == 2 and cfg.to_dict()['compact_stride'] == 2
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    # Written only when set: a model without it keeps the dict (hash, cache keys) it had.
    assert 'compact_stride' not in ModelConfig().to_dict()
    for bad in ('compact_stride=3', 'compact_stride=0', 'compact_stride=2,block_size=1',
                'compact_stride=2,block_grid=8'):
        with pytest.raises(ValueError, match='compact_stride'):
            parse_config_arg(bad)
    with pytest.raises(ValueError, match='compact_stride'):
        ModelConfig(compact_stride=True)
