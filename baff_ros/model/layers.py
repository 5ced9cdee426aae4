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
"""Building blocks shared by the encoder, the decoder and the BAFF weight net."""

from typing import Callable, Optional

from torch import nn


def make_divisible(value: float, divisor: int = 8, min_value: Optional[int] = None) -> int:
    """Round a channel count to a multiple of ``divisor`` (MobileNet convention).

    Never rounds down by more than 10 %, so narrow models keep their capacity.
    """
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


class ConvNormAct(nn.Sequential):
    """Convolution, batch norm and an optional activation, as one injectable block.

    The submodule names (``conv``, ``bn``, ``act``) are part of the checkpoint format.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        act_layer: Optional[Callable[..., nn.Module]] = nn.ReLU6,
    ) -> None:
        super().__init__()
        padding = (kernel_size - 1) // 2
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = act_layer(inplace=True) if act_layer is not None else nn.Identity()
        self.in_channels = in_channels
        self.out_channels = out_channels


class DepthwiseSeparable(nn.Sequential):
    """Depthwise 3x3 (optionally strided) followed by a pointwise 1x1, each with BN + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.dw = ConvNormAct(in_channels, in_channels, 3, stride, groups=in_channels,
                              act_layer=nn.ReLU)
        self.pw = ConvNormAct(in_channels, out_channels, 1, act_layer=nn.ReLU)
        self.out_channels = out_channels
