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
"""MobileNetV2 encoder (Sandler et al., CVPR 2018) with feature taps at 1/8, 1/16 and 1/32."""

from typing import List, Sequence, Tuple

import torch
from torch import nn

from baff_ros.model.layers import ConvNormAct, make_divisible

# t (expansion), c (output channels), n (repeats), s (stride of the first repeat)
INVERTED_RESIDUAL_SETTING: Tuple[Tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

#: Reductions at which the decoder taps the encoder (output of the last block at each).
TAP_REDUCTIONS: Tuple[int, ...] = (8, 16, 32)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 linear projection (+ residual)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 expand_ratio: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, got {stride}')
        hidden = int(round(in_channels * expand_ratio))
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: List[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvNormAct(in_channels, hidden, 1))
        layers.append(ConvNormAct(hidden, hidden, 3, stride, groups=hidden))
        layers.append(ConvNormAct(hidden, out_channels, 1, act_layer=None))
        self.conv = nn.Sequential(*layers)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2Encoder(nn.Module):
    """MobileNetV2 feature extractor without the 1280-channel head and classifier.

    Attributes:
        out_channels: channels of each tap, shallow to deep.
        reductions: spatial reduction of each tap (8, 16, 32).
    """

    def __init__(self, width_mult: float = 1.0, in_channels: int = 3,
                 taps: Sequence[int] = TAP_REDUCTIONS) -> None:
        super().__init__()
        stem_channels = make_divisible(32 * width_mult)
        self.stem = ConvNormAct(in_channels, stem_channels, 3, stride=2)
        blocks: List[InvertedResidual] = []
        reduction = 2
        channels = stem_channels
        # For each tap reduction, the index of the last block that runs at it.
        last_block_at: dict = {}
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            out = make_divisible(c * width_mult)
            for i in range(n):
                stride = s if i == 0 else 1
                blocks.append(InvertedResidual(channels, out, stride, t))
                reduction *= stride
                channels = out
                last_block_at[reduction] = len(blocks) - 1
        self.blocks = nn.Sequential(*blocks)
        missing = [r for r in taps if r not in last_block_at]
        if missing:
            raise ValueError(f'taps: the encoder has no stage at reduction(s) {missing}')
        self.tap_indices: Tuple[int, ...] = tuple(last_block_at[r] for r in taps)
        self.reductions: Tuple[int, ...] = tuple(taps)
        self.out_channels: Tuple[int, ...] = tuple(
            blocks[i].out_channels for i in self.tap_indices)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Return the tapped features, shallow (1/8) to deep (1/32)."""
        x = self.stem(x)
        feats: List[torch.Tensor] = []
        last = self.tap_indices[-1]
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.tap_indices:
                feats.append(x)
            if i == last:
                break
        return feats
