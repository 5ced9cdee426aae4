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
"""ERFNet, reimplemented from its paper.

Romera et al., "ERFNet: Efficient Residual Factorized ConvNet for Real-time Semantic
Segmentation", T-ITS 2017; reimplemented from the paper's Table I for benchmarking.

Encoder: 3 downsampler blocks and 13 Non-bottleneck-1D (factorised 3x1/1x3) residual blocks with
dilations 2, 4, 8, 16; decoder: 2 deconvolution upsamplers, 4 Non-bottleneck-1D blocks and a final
2x2 transposed conv. About 2.06 M parameters for 19 classes.
"""

from typing import List

import torch
from torch import nn


class DownsamplerBlock(nn.Module):
    """3x3 stride-2 conv (out - in channels) concatenated with 2x2 max pooling, BN, ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout - cin, 3, stride=2, padding=1, bias=True)
        self.pool = nn.MaxPool2d(2, stride=2)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(torch.cat([self.conv(x), self.pool(x)], 1)))


class NonBottleneck1D(nn.Module):
    """Residual block of two factorised 3x3 convs (3x1 then 1x3), the second pair dilated."""

    def __init__(self, channels: int, dropout: float, dilation: int) -> None:
        super().__init__()
        c, d = channels, dilation
        self.conv3x1_1 = nn.Conv2d(c, c, (3, 1), padding=(1, 0), bias=True)
        self.conv1x3_1 = nn.Conv2d(c, c, (1, 3), padding=(0, 1), bias=True)
        self.bn1 = nn.BatchNorm2d(c, eps=1e-3)
        self.conv3x1_2 = nn.Conv2d(c, c, (3, 1), padding=(d, 0), dilation=(d, 1), bias=True)
        self.conv1x3_2 = nn.Conv2d(c, c, (1, 3), padding=(0, d), dilation=(1, d), bias=True)
        self.bn2 = nn.BatchNorm2d(c, eps=1e-3)
        self.dropout = nn.Dropout2d(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv3x1_1(x))
        y = torch.relu(self.bn1(self.conv1x3_1(y)))
        y = torch.relu(self.conv3x1_2(y))
        y = self.dropout(self.bn2(self.conv1x3_2(y)))
        return torch.relu(y + x)


class UpsamplerBlock(nn.Module):
    """3x3 stride-2 transposed conv, BN, ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1,
                                       bias=True)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class ERFNet(nn.Module):
    """ERFNet; input (N, 3, H, W) with H, W multiples of 8, logits at the input size."""

    def __init__(self, num_classes: int = 19) -> None:
        super().__init__()
        layers: List[nn.Module] = [DownsamplerBlock(3, 16), DownsamplerBlock(16, 64)]
        layers += [NonBottleneck1D(64, 0.03, 1) for _ in range(5)]
        layers.append(DownsamplerBlock(64, 128))
        for _ in range(2):
            layers += [NonBottleneck1D(128, 0.3, d) for d in (2, 4, 8, 16)]
        self.encoder = nn.Sequential(*layers)
        self.decoder = nn.Sequential(
            UpsamplerBlock(128, 64), NonBottleneck1D(64, 0.0, 1), NonBottleneck1D(64, 0.0, 1),
            UpsamplerBlock(64, 16), NonBottleneck1D(16, 0.0, 1), NonBottleneck1D(16, 0.0, 1),
            nn.ConvTranspose2d(16, num_classes, 2, stride=2, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
