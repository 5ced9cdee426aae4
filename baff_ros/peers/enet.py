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
"""ENet, reimplemented from its paper.

Paszke et al., "ENet: A Deep Neural Network Architecture for Real-Time Semantic
Segmentation", 2016; reimplemented from the paper's Table 1 for benchmarking.

Initial block, five stages of bottlenecks (downsampling, regular, dilated, asymmetric 5x1/1x5,
upsampling), PReLU, and a final full convolution. About 0.36 M parameters for 19 classes.

Max unpooling: the paper's upsampling bottlenecks unpool with the indices of the matching max
pooling. ``max_unpool2d`` does not export to ONNX, so the indices are kept as a mask
(``x == nearest_upsample(max_pool(x))``) and unpooling is ``nearest_upsample(y) * mask``: the
same result wherever a 2x2 window has a unique maximum (all but measure-zero ties for float
activations), built only from ops every runtime fuses well.
"""

from typing import Optional, Tuple

import torch
from torch import nn
import torch.nn.functional as F


def _cbp(cin: int, cout: int, kernel, stride=1, padding=0, dilation=1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding, dilation, bias=False),
                         nn.BatchNorm2d(cout, eps=1e-3), nn.PReLU(cout))


class InitialBlock(nn.Module):
    """3x3 stride-2 conv (13 channels) concatenated with 2x2 max pooling (3 channels)."""

    def __init__(self, cout: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, cout - 3, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)
        self.act = nn.PReLU(cout)
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(torch.cat([self.conv(x), self.pool(x)], 1)))


class Bottleneck(nn.Module):
    """ENet bottleneck: 1x1 (or 2x2 stride 2) projection -> main conv -> 1x1 expansion.

    Args:
        cin: input channels; cout: output channels.
        kind: 'regular', 'dilated', 'asymmetric', 'down' or 'up'.
        dilation: for 'dilated'.
        dropout: spatial dropout of the extension branch.
    """

    def __init__(self, cin: int, cout: int, kind: str = 'regular', dilation: int = 1,
                 dropout: float = 0.1) -> None:
        super().__init__()
        mid = cin // 4
        self.kind = kind
        if kind == 'down':
            self.project = _cbp(cin, mid, 2, stride=2)
        else:
            self.project = _cbp(cin, mid, 1)
        if kind == 'asymmetric':
            self.main = nn.Sequential(
                nn.Conv2d(mid, mid, (5, 1), padding=(2, 0), bias=False),
                nn.Conv2d(mid, mid, (1, 5), padding=(0, 2), bias=False),
                nn.BatchNorm2d(mid, eps=1e-3), nn.PReLU(mid))
        elif kind == 'up':
            self.main = nn.Sequential(
                nn.ConvTranspose2d(mid, mid, 3, stride=2, padding=1, output_padding=1,
                                   bias=False),
                nn.BatchNorm2d(mid, eps=1e-3), nn.PReLU(mid))
        else:
            d = dilation if kind == 'dilated' else 1
            self.main = _cbp(mid, mid, 3, padding=d, dilation=d)
        self.expand = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False),
                                    nn.BatchNorm2d(cout, eps=1e-3))
        self.dropout = nn.Dropout2d(dropout)
        self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False),
                                   nn.BatchNorm2d(cout, eps=1e-3)) if kind == 'up' else None)
        self.out_act = nn.PReLU(cout)
        self.pad = cout - cin if kind == 'down' else 0

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        ext = self.dropout(self.expand(self.main(self.project(x))))
        new_mask = None
        if self.kind == 'down':
            main = F.max_pool2d(x, 2, 2)
            # The pooling "indices", as a mask of the window maxima (see the module docstring).
            new_mask = (x == F.interpolate(main, scale_factor=2.0, mode='nearest')).to(x.dtype)
            main = F.pad(main, (0, 0, 0, 0, 0, self.pad))
        elif self.kind == 'up':
            if self.skip is None or mask is None:
                raise ValueError('an upsampling bottleneck needs the mask of its downsampling one')
            main = F.interpolate(self.skip(x), scale_factor=2.0, mode='nearest') * mask
        else:
            main = x
        return self.out_act(main + ext), new_mask


class ENet(nn.Module):
    """ENet; input (N, 3, H, W) with H, W multiples of 8, logits at the input size."""

    def __init__(self, num_classes: int = 19) -> None:
        super().__init__()
        self.initial = InitialBlock(16)
        self.down1 = Bottleneck(16, 64, 'down', dropout=0.01)
        self.stage1 = nn.ModuleList(Bottleneck(64, 64, dropout=0.01) for _ in range(4))
        self.down2 = Bottleneck(64, 128, 'down')
        # Stages 2 and 3 share the pattern of Table 1 (stage 3 without its downsampling).
        pattern = [('regular', 1), ('dilated', 2), ('asymmetric', 1), ('dilated', 4),
                   ('regular', 1), ('dilated', 8), ('asymmetric', 1), ('dilated', 16)]
        self.stage23 = nn.ModuleList(Bottleneck(128, 128, k, d) for _ in range(2)
                                     for k, d in pattern)
        self.up4 = Bottleneck(128, 64, 'up')
        self.stage4 = nn.ModuleList(Bottleneck(64, 64) for _ in range(2))
        self.up5 = Bottleneck(64, 16, 'up')
        self.stage5 = Bottleneck(16, 16)
        self.fullconv = nn.ConvTranspose2d(16, num_classes, 2, stride=2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.initial(x)
        x, mask1 = self.down1(x)
        for block in self.stage1:
            x, _ = block(x)
        x, mask2 = self.down2(x)
        for block in self.stage23:
            x, _ = block(x)
        x, _ = self.up4(x, mask2)
        for block in self.stage4:
            x, _ = block(x)
        x, _ = self.up5(x, mask1)
        x, _ = self.stage5(x)
        return self.fullconv(x)
