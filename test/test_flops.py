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
"""FLOP counts (torch.utils.flop_counter): pinned per model, and checked against formulas."""

import math

import pytest
import torch
from torch import nn

from baff_ros.bench import build_models, count_flops
from baff_ros.model import build_model, ModelConfig
from baff_ros.model.flops import count_macs, model_summary, split_flops
from baff_ros.model.fusion import WeightNet

#: (model, HxW) -> (FLOPs, of which BAFF). The figures of README's "Measured" section and
#: docs/benchmarks.md; the hand-written hook counter this replaced gave the same numbers.
PINNED = {
    ('baff', (512, 1024)): (5_919_996_928, 56_949_760),
    ('baff', (1024, 2048)): (23_679_987_712, 227_799_040),
    ('skipnet', (512, 1024)): (5_863_047_168, 0),
    ('skipnet', (1024, 2048)): (23_452_188_672, 0),
    ('erfnet', (512, 1024)): (53_208_678_400, 0),
    ('erfnet', (1024, 2048)): (212_834_713_600, 0),
    ('enet', (512, 1024)): (7_844_134_912, 0),
    ('lraspp_mobilenetv3_large', (512, 1024)): (7_889_895_168, 0),
}


@pytest.fixture(scope='module')
def models():
    return build_models(sorted({name for name, _ in PINNED}))


@pytest.mark.parametrize('name,size', sorted(PINNED))
def test_pinned_counts(models, name, size):
    flops = split_flops(models[name], size)
    assert (flops['total'], flops['fusions']) == PINNED[name, size]
    assert count_flops(models[name], size) == flops['total']


def _conv(out_hw, in_ch, out_ch, k, groups=1):
    """FLOPs of a convolution: 2 x (output elements) x (inputs per output)."""
    return 2 * out_hw[0] * out_hw[1] * out_ch * (in_ch // groups) * k * k


def _weight_net(h, w, channels=19, hidden=8, block=8, compact_stride=1):
    """FLOPs of a WeightNet by hand: the folded 2x3x3 conv, the strided stages, the head."""
    if compact_stride == 2:
        h, w = (h + 1) // 2, (w + 1) // 2
    total = _conv((h, w), 2 * channels, hidden, 3)  # one 2D conv over cat(S, D)
    for _ in range(int(math.log2(block)) - (compact_stride - 1)):
        h, w = (h + 1) // 2, (w + 1) // 2
        total += _conv((h, w), hidden, hidden, 3, groups=hidden)  # depthwise 3x3, stride 2
        total += _conv((h, w), hidden, hidden, 1)  # pointwise
    return total + _conv((h, w), hidden, 1, 1)


@pytest.mark.parametrize('size', [(512, 1024), (1024, 2048)])
def test_baff_share_is_the_two_weight_nets_by_formula(models, size):
    h, w = size
    # BAFF fuses the 19-channel score maps at 1/16 and 1/8.
    expected = _weight_net(h // 16, w // 16) + _weight_net(h // 8, w // 8)
    assert split_flops(models['baff'], size)['fusions'] == expected
    # Same encoder and heads: the whole difference to plain SkipNet is the fusion.
    assert PINNED['baff', size][0] - PINNED['skipnet', size][0] == expected


def test_single_layers_by_formula():
    conv = nn.Conv2d(3, 16, 3, stride=2, padding=1)
    assert split_flops(conv, (64, 96))['total'] == _conv((32, 48), 3, 16, 3)
    depthwise = nn.Conv2d(3, 3, 3, padding=1, groups=3)
    assert split_flops(depthwise, (10, 12))['total'] == _conv((10, 12), 3, 3, 3, groups=3)
    # A 2x2 stride-2 transposed conv: each of the 8 x 16 x 16 outputs gets one tap per input
    # channel.
    deconv = nn.ConvTranspose2d(3, 8, 2, stride=2)
    assert split_flops(deconv, (8, 8))['total'] == 2 * (8 * 16 * 16) * 3
    # nn.Linear on (1, 3, H, W) maps the last dim: H x out x in multiply-adds.
    linear = nn.Linear(12, 5)
    assert split_flops(linear, (7, 12))['total'] == 2 * 3 * 7 * 5 * 12


def test_functional_conv_of_the_weight_net_is_counted():
    net = WeightNet(channels=3, hidden=8, block_size=8)

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = net

        def forward(self, x):
            return self.inner(x, x)

    flops = split_flops(Pair(), (32, 64), prefix_split='inner')
    assert flops['total'] == flops['inner'] == _weight_net(32, 64, channels=3)
    # No weight net inside: nothing attributed.
    assert split_flops(Pair(), (32, 64), prefix_split='other')['other'] == 0


def test_operators_without_a_meta_kernel_fall_back_to_the_cpu():
    class DataDependent(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            # .item() needs real data: it fails on the meta device.
            return self.conv(x) * float(x.abs().sum().item() + 1.0)

    assert split_flops(DataDependent(), (5, 6))['total'] == _conv((5, 6), 3, 4, 1)


def test_summary_and_macs_and_the_model_untouched():
    torch.manual_seed(0)
    model = build_model(ModelConfig(width_mult=0.35)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    s = model_summary(model, (256, 512))
    macs = count_macs(model, (256, 512))
    assert s['flops'] == 2 * s['macs'] == 2 * macs['total']
    assert s['fusion_flops'] == 2 * s['fusion_macs'] == 2 * macs['fusions']
    assert s['fusion_flops'] == _weight_net(16, 32) + _weight_net(32, 64)
    # Counted on a copy: the model keeps its mode, device and running statistics.
    assert model.training
    assert next(model.parameters()).device.type == 'cpu'
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


#: BAFF with ``compact_stride=2`` (the bundled model's weight nets): HxW -> (FLOPs, of which BAFF).
PINNED_CS2 = {(512, 1024): (5_877_275_648, 14_228_480), (1024, 2048): (23_509_102_592, 56_913_920)}


@pytest.mark.parametrize('size', sorted(PINNED_CS2))
def test_strided_compact_conv_counts(models, size):
    model = build_model(ModelConfig(compact_stride=2))
    flops = split_flops(model, size)
    assert (flops['total'], flops['fusions']) == PINNED_CS2[size]
    h, w = size
    expected = (_weight_net(h // 16, w // 16, compact_stride=2)
                + _weight_net(h // 8, w // 8, compact_stride=2))
    assert flops['fusions'] == expected
    assert flops['total'] - PINNED['skipnet', size][0] == expected
    # A quarter of the weight nets' FLOPs or less: 0.24 % of the network instead of 0.96 %.
    assert flops['fusions'] <= PINNED['baff', size][1] / 4
