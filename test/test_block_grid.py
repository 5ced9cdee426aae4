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
"""The block grid that follows the input (``block_grid``) and the fixed one it sits beside."""

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from baff_ros.engine.backends.base import BackendError
from baff_ros.engine.graph import export_onnx
from baff_ros.engine.models import parse_config_arg
from baff_ros.export import onnx_parity
from baff_ros.model import build_model, ModelConfig
from baff_ros.model.checkpoint import load_checkpoint, read_header
from baff_ros.model.fusion import WeightNet

BUNDLED = Path(__file__).resolve().parents[1] / 'models' / 'baff_skipnet_synth.safetensors'


def _grid_model(**kw):
    torch.manual_seed(0)
    model = build_model(ModelConfig(width_mult=0.35, **kw)).eval()
    g = torch.Generator().manual_seed(1)
    for fusion in model.fusions:  # a fresh weight net is exactly 0.5 everywhere
        for p in fusion.weight_net.parameters():
            p.data = torch.randn(p.shape, generator=g)
    return model


def _fixed_block_weights(net: WeightNet, s: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """The fixed-block weight net written out: strided stages, one logit per b x b block."""
    x = torch.cat((s, d), dim=1)
    k = net.conv3d.weight
    x = F.conv2d(x, k.transpose(1, 2).reshape(k.shape[0], -1, 3, 3), padding=1,
                 stride=net.compact_stride)
    bn = net.bn3d
    x = torch.relu(F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                                False, 0.0, bn.eps))
    for stage in net.down:
        assert stage.dw[0].stride == (2, 2)
        x = stage(x)
    b = net.block_size
    grid = torch.sigmoid(net.head(x))
    w = grid.repeat_interleave(b, dim=2).repeat_interleave(b, dim=3)
    return w[..., :s.shape[-2], :s.shape[-1]]


@pytest.mark.skipif(not BUNDLED.is_file(), reason='bundled model not installed')
def test_bundled_checkpoint_loads_unchanged():
    model, meta = load_checkpoint(BUNDLED)
    assert meta.config.block_grid == 0 and meta.config.block_size == 8
    assert meta.config.compact_stride == 2  # the 3D conv takes the first of the three steps
    # Its metadata round-trips to the very dict it was written with (no new key), so the
    # header, the model hash and the export cache keys of old models do not change.
    _, header = read_header(BUNDLED)
    assert json.dumps(header.config.to_dict(), sort_keys=True) == json.dumps(
        meta.config.to_dict(), sort_keys=True)
    assert 'block_grid' not in meta.config.to_dict()
    assert meta.config.to_dict()['compact_stride'] == 2
    torch.manual_seed(3)
    x = torch.randn(1, 3, 256, 512)
    with torch.no_grad():
        logits, weights = model(x, return_weights=True)
        feats = model.encoder(x)
        scores = [head(f) for head, f in zip(model.score, feats)]
        out = scores[-1]
        for fusion, shallow, w in zip(model.fusions, reversed(scores[:-1]), weights):
            deep = F.interpolate(out, size=shallow.shape[-2:], mode='bilinear',
                                 align_corners=False)
            ref_w = _fixed_block_weights(fusion.weight_net, shallow, deep)
            # 2x4 blocks at 1/16, 4x8 at 1/8: one weight per 8x8 block of the fused map
            torch.testing.assert_close(w, ref_w, rtol=0, atol=1e-6)
            out = w * shallow + (1 - w) * deep
        ref = F.interpolate(out, size=(256, 512), mode='bilinear', align_corners=False)
    torch.testing.assert_close(logits, ref, rtol=0, atol=1e-4)
    assert [tuple(torch.unique(w[0, 0], dim=0).shape) for w in weights] == [(2, 32), (4, 64)]


def test_block_grid_has_the_parameters_of_the_fixed_block_net():
    fixed = build_model(ModelConfig(width_mult=0.35)).state_dict()
    grid = build_model(ModelConfig(width_mult=0.35, block_grid=8))
    assert {k: v.shape for k, v in grid.state_dict().items()} == {
        k: v.shape for k, v in fixed.items()}
    grid.load_state_dict(fixed, strict=True)  # a fixed-block model's weights load as they are


@pytest.mark.parametrize('size', [(256, 512), (512, 1024)])
def test_grid_follows_the_input(size):
    model = _grid_model(block_grid=8)
    with torch.no_grad():
        _, weights = model(torch.randn(1, 3, *size), return_weights=True)
    for reduction, w, fusion in zip((16, 8), weights, model.fusions):
        h, wd = size[0] // reduction, size[1] // reduction
        assert w.shape == (1, 1, h, wd)
        b = h // 8  # 8 rows of square blocks, 16 columns (the 1:2 aspect)
        assert fusion.weight_net.grid_shape(h, wd) == (8, 16)
        blocks = w[0, 0].reshape(8, b, 16, b)
        assert torch.equal(blocks.amax(dim=(1, 3)), blocks.amin(dim=(1, 3)))
        assert float(blocks.amax() - blocks.amin()) > 0  # and it varies across blocks


def test_a_fixed_block_grid_does_not_follow_the_input():
    model = _grid_model(block_size=8)
    for size, rows in (((256, 512), (2, 4)), ((512, 1024), (4, 8))):
        grids = [f.weight_net.grid_shape(size[0] // r, size[1] // r)
                 for f, r in zip(model.fusions, (16, 8))]
        assert [g[0] for g in grids] == list(rows)


def test_a_block_is_the_mean_of_its_pixels_partial_blocks_included():
    # 28x56 fused map, block_grid 8: blocks of 3 px, a 10x19 grid whose last row and column
    # are partial (1 row, 2 columns).
    net = WeightNet(channels=5, hidden=4, block_size=4, block_grid=8).eval()
    g = torch.Generator().manual_seed(2)
    for p in net.parameters():
        p.data = torch.randn(p.shape, generator=g)
    s, d = torch.randn(1, 5, 28, 56, generator=g), torch.randn(1, 5, 28, 56, generator=g)
    assert all(stage.dw[0].stride == (1, 1) for stage in net.down)
    with torch.no_grad():
        w = net(s, d)
        k = net.conv3d.weight
        x = F.conv2d(torch.cat((s, d), 1), k.transpose(1, 2).reshape(4, 10, 3, 3), padding=1)
        bn = net.bn3d
        x = net.down(torch.relu(F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight,
                                             bn.bias, False, 0.0, bn.eps)))
    assert net.grid_shape(28, 56) == (10, 19)
    assert w.shape == (1, 1, 28, 56)
    for (r0, r1) in ((0, 3), (24, 27), (27, 28)):
        for (c0, c1) in ((0, 3), (51, 54), (54, 56)):
            ref = torch.sigmoid(net.head(x[..., r0:r1, c0:c1].mean(dim=(2, 3), keepdim=True)))
            block = w[0, 0, r0:r1, c0:c1]
            assert torch.equal(block, block[0, 0].expand_as(block))
            torch.testing.assert_close(block[0, 0], ref[0, 0, 0, 0], rtol=0, atol=1e-6)


@pytest.mark.parametrize('size', [(256, 512), (224, 448)])
def test_onnx_export_matches_torch(tmp_path, size):
    model = _grid_model(block_grid=8)
    path = export_onnx(model, tmp_path / 'grid.onnx', size)
    parity = onnx_parity(model, path, size, threads=1)
    assert parity.max_abs_logit_diff <= 1e-3
    assert parity.max_abs_weight_diff <= 1e-5
    assert parity.ok()


def test_dynamic_export_is_refused_with_a_reason(tmp_path):
    with pytest.raises(BackendError, match='block_grid=8 cannot be exported with dynamic'):
        export_onnx(_grid_model(block_grid=8), tmp_path / 'dyn.onnx', (256, 512), dynamic=True)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize('value', [-1, True, 2.5, '8'])
def test_block_grid_validation_names_the_field(value):
    with pytest.raises(ValueError, match='block_grid'):
        ModelConfig(block_grid=value)


def test_config_text_and_round_trip():
    cfg = parse_config_arg('fusion=baff,block_grid=8')  # what ``baff-ros train --config`` uses
    assert cfg.block_grid == 8 and cfg.block_size == 8
    assert cfg.to_dict()['block_grid'] == 8
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match='block_grid'):
        parse_config_arg('block_grid=-2')
