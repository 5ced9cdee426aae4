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
"""Peer networks: output shapes, parameter counts from their papers, ENet unpooling, export."""

import pytest
import torch
import torch.nn.functional as F

from baff_ros.export import export_model
from baff_ros.peers import build_peer, PEERS
from baff_ros.peers.enet import Bottleneck

#: Parameters for 19 classes: ERFNet ~2.1 M (Romera et al.), ENet ~0.36 M (Paszke et al.),
#: LR-ASPP MobileNetV3-Large ~3.2 M (Howard et al. / torchvision's 3.22 M).
EXPECTED_PARAMS = {'erfnet': 2.06e6, 'enet': 0.36e6, 'lraspp_mobilenetv3_large': 3.22e6}


@pytest.mark.parametrize('name', list(PEERS))
def test_output_shape_and_params(name):
    torch.manual_seed(0)
    model = build_peer(name, 19)
    params = sum(p.numel() for p in model.parameters())
    assert abs(params - EXPECTED_PARAMS[name]) / EXPECTED_PARAMS[name] < 0.05, params
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 128))
    assert out.shape == (2, 19, 64, 128)
    assert torch.isfinite(out).all()


def test_unknown_peer():
    with pytest.raises(ValueError, match='unknown peer'):
        build_peer('segformer')


def test_enet_mask_unpooling_equals_max_unpool():
    torch.manual_seed(0)
    down = Bottleneck(16, 64, 'down').eval()
    up = Bottleneck(64, 16, 'up').eval()
    x = torch.randn(1, 16, 32, 48)
    with torch.no_grad():
        _, mask = down(x)
        y = torch.randn(1, 64, 16, 24)
        pooled, idx = F.max_pool2d(x, 2, 2, return_indices=True)
        skip = up.skip(y)
        ref = F.max_unpool2d(skip, idx, 2, 2, output_size=x.shape[-2:])
        ours = F.interpolate(skip, scale_factor=2.0, mode='nearest') * mask
    torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize('name', list(PEERS))
def test_peers_export_to_onnx_with_parity(name, tmp_path):
    torch.manual_seed(0)
    report = export_model(build_peer(name), tmp_path / f'{name}.onnx', 'onnx', (64, 128))
    assert report['outputs'] == ['logits']
    assert report['parity']['label_agreement'] >= 0.999
    assert report['parity']['max_abs_logit_diff'] < 1e-3
