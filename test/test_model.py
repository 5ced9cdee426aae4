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
"""BAFF-SkipNet: shapes, weight maps, fusion semantics, gradients."""

import pytest
import torch
import torch.nn.functional as F

from baff_ros.model import build_model, ModelConfig
from baff_ros.model.config import fusion_points
from baff_ros.model.fusion import WeightNet


def _model(**kw):
    torch.manual_seed(0)
    return build_model(ModelConfig(**kw)).eval()


@pytest.mark.parametrize('width', [0.35, 0.5, 1.0])
@pytest.mark.parametrize('size', [(64, 128), (96, 160), (256, 512)])
def test_shapes_and_dtypes(width, size):
    model = _model(width_mult=width)
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        logits, weights = model(x, return_weights=True)
    assert logits.shape == (2, 19, *size)
    assert logits.dtype == torch.float32
    assert [tuple(w.shape) for w in weights] == [
        (2, 1, size[0] // 16, size[1] // 16), (2, 1, size[0] // 8, size[1] // 8)]
    assert model.fusion_names == ('16', '8')
    assert fusion_points(model) == ('16', '8')
    # A plain SkipNet fuses at the same points but has no weight maps.
    assert fusion_points(_model(width_mult=0.35, fusion='add')) == ()
    assert fusion_points(torch.nn.Conv2d(3, 3, 1)) == ()
    assert model.encoder.reductions == (8, 16, 32)


def test_encoder_channels_follow_width():
    assert build_model(ModelConfig()).encoder.out_channels == (32, 96, 320)
    assert build_model(ModelConfig(width_mult=0.5)).encoder.out_channels == (16, 48, 160)


@pytest.mark.parametrize('size', [(100, 128), (64, 100), (0, 64)])
def test_bad_input_size_is_a_clear_error(size):
    model = _model(width_mult=0.35)
    with pytest.raises(ValueError, match='multiples of 32'):
        model(torch.zeros(1, 3, *size))


def test_bad_channel_count_is_a_clear_error():
    with pytest.raises(ValueError, match='expected input of shape'):
        _model(width_mult=0.35)(torch.zeros(1, 4, 64, 64))


@pytest.mark.parametrize('field,value', [
    ('fusion', 'concat'), ('block_size', 6), ('block_size', 0), ('width_mult', 0.0),
    ('num_classes', 0), ('weight_upsample', 'cubic'), ('fusion_channels', 0)])
def test_config_validation_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**{field: value})


def test_config_round_trip_and_unknown_key():
    cfg = ModelConfig(width_mult=0.5, fusion='add')
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match='colour'):
        ModelConfig.from_dict({'colour': 1})


def _randomise_weight_net(model):
    # A fresh weight net outputs exactly 0.5 everywhere (zero-initialised head); give it
    # random weights so the maps carry structure.
    g = torch.Generator().manual_seed(1)
    for fusion in model.fusions:
        for p in fusion.weight_net.parameters():
            p.data = torch.randn(p.shape, generator=g)


def test_weight_maps_in_unit_interval_with_block_structure():
    model = _model(width_mult=0.35, block_size=4)
    _randomise_weight_net(model)
    with torch.no_grad():
        _, weights = model(torch.randn(1, 3, 256, 320), return_weights=True)
    for w in weights:
        assert float(w.min()) >= 0.0 and float(w.max()) <= 1.0
        h, wd = w.shape[-2:]
        blocks = w[0, 0].reshape(h // 4, 4, wd // 4, 4)
        # constant inside every 4x4 block ...
        assert torch.equal(blocks.amax(dim=(1, 3)), blocks.amin(dim=(1, 3)))
        # ... and not constant across blocks
        assert float(blocks.amax() - blocks.amin()) > 1e-3


def test_block_grid_crops_partial_blocks():
    # 1/16 map of a 96x160 input is 6x10: blocks of 8 leave a partial last row/column.
    net = WeightNet(channels=5, hidden=4, block_size=8).eval()
    for p in net.parameters():
        p.data.normal_()
    with torch.no_grad():
        w = net(torch.randn(1, 5, 6, 10), torch.randn(1, 5, 6, 10))
    assert w.shape == (1, 1, 6, 10)
    assert torch.equal(w[..., :6, :8], w[..., :1, :1].expand(1, 1, 6, 8))
    assert torch.equal(w[..., :, 8:], w[..., :1, 8:9].expand(1, 1, 6, 2))


@pytest.mark.parametrize('hw', [(8, 16), (6, 10)])
def test_sigmoid_on_the_block_grid_equals_sigmoid_after_the_upsample(hw):
    # The weight net applies the sigmoid before the nearest upsample (fewer, smaller nodes);
    # the paper's order (upsample, then sigmoid) gives the same map.
    net = WeightNet(channels=5, hidden=4, block_size=4).eval()
    for p in net.parameters():
        p.data.normal_()
    s, d = torch.randn(1, 5, *hw), torch.randn(1, 5, *hw)
    with torch.no_grad():
        grid = net.grid_logits(s, d)
        up = F.interpolate(grid, scale_factor=4.0, mode='nearest')[..., :hw[0], :hw[1]]
        torch.testing.assert_close(net(s, d), torch.sigmoid(up), rtol=0, atol=0)


def test_fresh_weight_net_is_neutral():
    model = _model(width_mult=0.35)
    with torch.no_grad():
        _, weights = model(torch.randn(1, 3, 64, 64), return_weights=True)
    assert all(torch.all(w == 0.5) for w in weights)


def test_bilinear_weight_upsample_is_smooth_not_blocky():
    model = _model(width_mult=0.35, weight_upsample='bilinear', block_size=4)
    _randomise_weight_net(model)
    with torch.no_grad():
        _, weights = model(torch.randn(1, 3, 256, 256), return_weights=True)
    w = weights[1][0, 0]
    blocks = w.reshape(8, 4, 8, 4)
    assert not torch.equal(blocks.amax(dim=(1, 3)), blocks.amin(dim=(1, 3)))


def test_add_fusion_is_the_plain_sum():
    add = _model(width_mult=0.35, fusion='add')
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        logits, weights = add(x, return_weights=True)
        feats = add.encoder(x)
        s8, s16, s32 = (head(f) for head, f in zip(add.score, feats))
        up = dict(mode='bilinear', align_corners=False)
        f16 = s16 + F.interpolate(s32, size=s16.shape[-2:], **up)
        f8 = s8 + F.interpolate(f16, size=s8.shape[-2:], **up)
        expected = F.interpolate(f8, size=(128, 128), **up)
    assert weights == []
    torch.testing.assert_close(logits, expected, rtol=0, atol=0)


def test_baff_fusion_is_the_weighted_blend():
    model = _model(width_mult=0.35)
    _randomise_weight_net(model)
    fusion = model.fusions[0]
    s, d = torch.randn(1, 19, 8, 8), torch.randn(1, 19, 8, 8)
    with torch.no_grad():
        fused, w = fusion(s, d)
        torch.testing.assert_close(fused, w * s + (1 - w) * d)
        assert w.shape == (1, 1, 8, 8)


def test_add_and_baff_share_all_non_fusion_weights():
    baff = build_model(ModelConfig(width_mult=0.35)).state_dict()
    add = build_model(ModelConfig(width_mult=0.35, fusion='add')).state_dict()
    assert set(add) == {k for k in baff if not k.startswith('fusions.')}


@pytest.mark.parametrize('variant', [{}, {'block_grid': 4}, {'compact_stride': 2}])
def test_gradients_reach_the_weight_net(variant):
    model = build_model(ModelConfig(width_mult=0.35, **variant)).train()
    x = torch.randn(2, 3, 64, 128)
    target = torch.randint(0, 19, (2, 64, 128))
    F.cross_entropy(model(x), target).backward()
    for fusion in model.fusions:
        grads = [p.grad for p in fusion.weight_net.parameters()]
        assert all(g is not None for g in grads)
        # the zero-initialised head gets a non-zero gradient, so the weights can learn
        assert float(fusion.weight_net.head.weight.grad.abs().sum()) > 0


def test_overhead_is_near_zero():
    from baff_ros.model.flops import model_summary
    s = model_summary(build_model(ModelConfig()), (1024, 2048))
    assert 0 < s['fusion_params_share'] <= 0.01
    assert 0 < s['fusion_flops_share'] <= 0.02
    add = model_summary(build_model(ModelConfig(fusion='add')), (1024, 2048))
    assert s['params'] - add['params'] == s['fusion_params']
    assert s['macs'] - add['macs'] == s['fusion_macs']


@pytest.mark.parametrize('training', [False, True])
def test_weight_net_3d_conv_equals_a_real_conv3d(training):
    """The folded 2D form computes exactly nn.Conv3d over stack(S, D) + BatchNorm3d + ReLU."""
    torch.manual_seed(5)
    net = WeightNet(channels=6, hidden=4, block_size=2)
    ref_bn = torch.nn.BatchNorm3d(4)
    for p in list(net.parameters()):
        p.data.normal_()
    net.bn3d.running_mean.normal_()
    net.bn3d.running_var.uniform_(0.5, 2.0)
    ref_bn.load_state_dict(net.bn3d.state_dict())
    net.train(training)
    ref_bn.train(training)
    s, d = torch.randn(2, 6, 10, 12), torch.randn(2, 6, 10, 12)
    ref = torch.relu(ref_bn(net.conv3d(torch.stack((s, d), dim=2)))).squeeze(2)
    net.down = torch.nn.Identity()
    net.head = torch.nn.Identity()
    net.block_size = 1
    # with the rest of the net cut out, what is left is sigmoid(relu(bn(conv3d)))
    torch.testing.assert_close(net(s, d), torch.sigmoid(ref), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(net.bn3d.running_mean, ref_bn.running_mean)
    assert int(net.bn3d.num_batches_tracked) == int(ref_bn.num_batches_tracked)


def test_forward_scores_is_forward_without_the_last_upsample():
    model = _model(width_mult=0.35)
    _randomise_weight_net(model)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        low, w1 = model.forward_scores(x)
        logits, w2 = model(x, return_weights=True)
    assert low.shape == (1, 19, 8, 12)
    torch.testing.assert_close(
        F.interpolate(low, size=(64, 96), mode='bilinear', align_corners=False), logits)
    assert all(torch.equal(a, b) for a, b in zip(w1, w2))


def test_flop_count_includes_the_folded_3d_conv():
    from baff_ros.model.flops import count_macs
    macs = count_macs(build_model(ModelConfig()), (256, 512))
    # The 2x3x3 conv over 19 score channels into 8, on the 1/16 and 1/8 maps.
    conv3d = (16 * 32 + 32 * 64) * 8 * 19 * 2 * 3 * 3
    assert macs['fusions'] > conv3d
