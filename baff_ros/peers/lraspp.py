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
"""LR-ASPP on MobileNetV3-Large, reimplemented from its paper.

Howard et al., "Searching for MobileNetV3", ICCV 2019; from the paper's Table 1 and Section
6.3, for benchmarking (torchvision is not used: it does not install alongside this project's
torch).

As in the paper's segmentation setup the last stage is dilated (output stride 16, rate 2). The
LR-ASPP head: 1x1 conv (128) + BN + ReLU on the 1/16 features, gated by a sigmoid of a pooled
branch, upsampled to 1/8, classified and added to a classifier of the 1/8 features. The paper
pools with a 49x49 kernel, stride (16, 20); like torchvision we pool globally, which is the same
at 512x1024-ish inputs up to border effects and does not depend on the input size. About 3.2 M
parameters for 19 classes.
"""

from typing import List, Tuple

import torch
from torch import nn
import torch.nn.functional as F

from baff_ros.model.layers import make_divisible


class SqueezeExcite(nn.Module):
    """Squeeze-and-excite with a hard-sigmoid gate, squeeze to 1/4 of the expanded channels."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        mid = make_divisible(channels // 4)
        self.fc1 = nn.Conv2d(channels, mid, 1)
        self.fc2 = nn.Conv2d(mid, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.fc2(torch.relu(self.fc1(s))))


def _cba(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, dilation: int = 1,
         act: str = 'RE') -> List[nn.Module]:
    pad = (k - 1) // 2 * dilation
    layers: List[nn.Module] = [nn.Conv2d(cin, cout, k, stride, pad, dilation, groups,
                                         bias=False),
                               nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)]
    if act == 'RE':
        layers.append(nn.ReLU(inplace=True))
    elif act == 'HS':
        layers.append(nn.Hardswish(inplace=True))
    return layers


class InvertedResidual(nn.Module):
    """MobileNetV3 bneck: 1x1 expand -> kxk depthwise (-> SE) -> 1x1 project, residual."""

    def __init__(self, cin: int, k: int, exp: int, cout: int, se: bool, act: str, stride: int,
                 dilation: int = 1) -> None:
        super().__init__()
        layers: List[nn.Module] = []
        if exp != cin:
            layers += _cba(cin, exp, 1, act=act)
        layers += _cba(exp, exp, k, stride, groups=exp, dilation=dilation, act=act)
        if se:
            layers.append(SqueezeExcite(exp))
        layers += _cba(exp, cout, 1, act='none')
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


#: MobileNetV3-Large, Table 1 of the paper: kernel, expansion, out, SE, activation, stride.
MOBILENETV3_LARGE = [
    (3, 16, 16, False, 'RE', 1),
    (3, 64, 24, False, 'RE', 2),
    (3, 72, 24, False, 'RE', 1),
    (5, 72, 40, True, 'RE', 2),
    (5, 120, 40, True, 'RE', 1),
    (5, 120, 40, True, 'RE', 1),
    (3, 240, 80, False, 'HS', 2),
    (3, 200, 80, False, 'HS', 1),
    (3, 184, 80, False, 'HS', 1),
    (3, 184, 80, False, 'HS', 1),
    (3, 480, 112, True, 'HS', 1),
    (3, 672, 112, True, 'HS', 1),
    (5, 672, 160, True, 'HS', 2),
    (5, 960, 160, True, 'HS', 1),
    (5, 960, 160, True, 'HS', 1),
]


class MobileNetV3Large(nn.Module):
    """MobileNetV3-Large feature extractor: returns the 1/8 (40 ch) and the last (960 ch) maps.

    Args:
        dilated: replace the last stride by dilation 2 (output stride 16), for segmentation.
    """

    def __init__(self, dilated: bool = True) -> None:
        super().__init__()
        layers: List[nn.Module] = [nn.Sequential(*_cba(3, 16, 3, stride=2, act='HS'))]
        cin, reduction, dilation = 16, 2, 1
        self.low_index = 0
        for i, (k, exp, cout, se, act, stride) in enumerate(MOBILENETV3_LARGE):
            if dilated and reduction == 16 and stride == 2:
                stride, dilation = 1, 2
            reduction *= stride
            layers.append(InvertedResidual(cin, k, exp, cout, se, act, stride, dilation))
            if reduction == 8:
                self.low_index = i + 1
            cin = cout
        layers.append(nn.Sequential(*_cba(cin, 6 * cin, 1, act='HS')))
        self.features = nn.Sequential(*layers)
        self.low_channels = MOBILENETV3_LARGE[self.low_index - 1][2]
        self.high_channels = 6 * cin

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        low = x
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i == self.low_index:
                low = x
        return low, x


class LRASPP(nn.Module):
    """LR-ASPP MobileNetV3-Large; input (N, 3, H, W), H and W multiples of 16."""

    def __init__(self, num_classes: int = 19, inter_channels: int = 128) -> None:
        super().__init__()
        self.backbone = MobileNetV3Large(dilated=True)
        high, low = self.backbone.high_channels, self.backbone.low_channels
        self.cbr = nn.Sequential(nn.Conv2d(high, inter_channels, 1, bias=False),
                                 nn.BatchNorm2d(inter_channels), nn.ReLU(inplace=True))
        self.scale = nn.Conv2d(high, inter_channels, 1, bias=False)
        self.low_classifier = nn.Conv2d(low, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        low, high = self.backbone(x)
        y = self.cbr(high) * torch.sigmoid(self.scale(F.adaptive_avg_pool2d(high, 1)))
        y = F.interpolate(y, size=low.shape[-2:], mode='bilinear', align_corners=False)
        y = self.low_classifier(low) + self.high_classifier(y)
        return F.interpolate(y, size=(h, w), mode='bilinear', align_corners=False)
