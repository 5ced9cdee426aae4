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
"""Block Adaptive Feature Fusion (BAFF) and the plain additive fusion it replaces.

At a skip connection the decoder holds a shallow map S (fine detail, small receptive field) and
an upsampled deep map D (context, large receptive field) of the same shape. BAFF learns one weight
per block of the spatial grid and fuses ``w * S + (1 - w) * D``.
"""

import math
from typing import Tuple

import torch
from torch import nn
import torch.nn.functional as F

from baff_ros.model.layers import DepthwiseSeparable


class WeightNet(nn.Module):
    """The BAFF weight network: (S, D) -> w in [0, 1], one value per block.

    stack S and D as a depth-2 volume (N, C, 2, H, W) -> compact 3D conv collapsing the depth
    -> depthwise-separable convs, each with stride 2, down to the block grid (H/b, W/b)
    -> 1x1 to one channel -> upsample back to (H, W) -> sigmoid.

    With ``block_grid`` = G > 0 the grid follows the map instead: blocks are square with side
    ``max(1, H // G)`` pixels (at least G rows, exactly G where G divides H; the columns follow
    the aspect), the depthwise-separable convs run at stride 1 and each block is the average of
    their output over its pixels. The parameters are those of the ``block_size`` net (the
    number of stages is still ``log2(block_size)``, at least one): only strides and pooling
    depend on the map's size, never the weights.

    With ``compact_stride=2`` the 3D conv takes the first stride-2 step itself and one
    depthwise-separable stage fewer follows (at least one, at stride 1 for ``block_size=2``):
    the same block grid, and the costliest layer (the 3x3 conv over both stacked maps, most of
    the net's time at runtime) runs on a quarter of the pixels.

    With nearest upsampling (the default) the sigmoid runs on the block grid, before the
    upsample: nearest upsampling only repeats values, so the two commute, and the graph has
    fewer and smaller nodes. The result is the same.
    """

    def __init__(self, channels: int, hidden: int = 8, block_size: int = 8,
                 upsample: str = 'nearest', block_grid: int = 0, compact_stride: int = 1
                 ) -> None:
        super().__init__()
        if compact_stride not in (1, 2) or (compact_stride == 2 and
                                            (block_size < 2 or block_grid)):
            raise ValueError(f'compact_stride must be 1, or 2 with block_size >= 2 and no '
                             f'block_grid; got {compact_stride} (block_size {block_size}, '
                             f'block_grid {block_grid})')
        self.block_size = block_size
        self.block_grid = block_grid
        self.compact_stride = compact_stride
        self.upsample = upsample
        #: Crop the upsampled grid even where it already has the map's size. A graph traced
        #: for dynamic input sizes sets it: there the check below is decided once, at the
        #: traced size, and must hold for every size (see ``engine.graph.export_onnx``).
        self.always_crop = False
        # A 2x3x3 kernel sees both maps at once over a 3x3 neighbourhood: the comparison of
        # shallow and deep evidence is what decides the weight.
        self.conv3d = nn.Conv3d(channels, hidden, kernel_size=(2, 3, 3), padding=(0, 1, 1),
                                stride=(1, compact_stride, compact_stride), bias=False)
        self.bn3d = nn.BatchNorm3d(hidden)
        self.act3d = nn.ReLU(inplace=True)
        # The strided steps down to the block grid: the 3D conv takes the first with
        # compact_stride=2.
        steps = int(math.log2(block_size)) - (compact_stride - 1)
        # Always at least one depthwise-separable stage, strided or not, so block_size=1 still
        # has spatial context beyond the 3x3 of the 3D conv. With a block grid the stages keep
        # the map's resolution (a fixed stride cannot reach a grid that follows the input) and
        # the per-block average pool does the downsampling; stride has no parameters, so both
        # nets have the same state dict.
        stride = 1 if block_grid else 2
        self.down = nn.Sequential(*[
            DepthwiseSeparable(hidden, hidden, stride=stride) for _ in range(steps)
        ] or [DepthwiseSeparable(hidden, hidden, stride=1)])
        self.head = nn.Conv2d(hidden, 1, kernel_size=1)
        # Start unbiased between shallow and deep: w = sigmoid(0) = 0.5.
        nn.init.zeros_(self.head.weight)
        if self.head.bias is not None:
            nn.init.zeros_(self.head.bias)

    def grid_logits(self, shallow: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
        """Return the head's output on the block grid, before the upsample and the sigmoid."""
        # The 3D conv over the depth-2 volume stack(S, D) with a 2x3x3 kernel and no depth
        # padding has exactly one output slice: conv2d(S, W[:, :, 0]) + conv2d(D, W[:, :, 1]),
        # i.e. one 2D conv over cat(S, D) with the kernel's depth folded into its input
        # channels. Same parameters and result, and runtimes run it as a plain, fast 2D conv.
        k = self.conv3d.weight
        w2d = k.transpose(1, 2).reshape(k.shape[0], 2 * k.shape[1], k.shape[3], k.shape[4])
        x = F.conv2d(torch.cat((shallow, deep), dim=1), w2d, padding=1,
                     stride=self.compact_stride)
        # BatchNorm3d over a depth-1 volume is BatchNorm2d: apply it on the 4D tensor so
        # runtimes can fold it into the conv.
        bn = self.bn3d
        factor = 0.0 if bn.momentum is None else bn.momentum  # as nn.BatchNorm does
        if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
            bn.num_batches_tracked.add_(1)
            if bn.momentum is None:
                factor = 1.0 / float(bn.num_batches_tracked)
        x = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                         bn.training or bn.running_mean is None, factor, bn.eps)
        x = self.down(self.act3d(x))
        if self.block_grid:
            b = self.block_px(int(x.shape[-2]))
            if b > 1:
                # One value per block: the mean over its pixels (a partial last block averages
                # the pixels it has). The 1x1 head is linear, so pooling before it is the same
                # as pooling its output, on fewer values.
                x = F.avg_pool2d(x, b, b, ceil_mode=True)
        return self.head(x)

    def block_px(self, h: int) -> int:
        """Side, in pixels of a fused map ``h`` rows high, of one block of the weight grid."""
        return max(1, h // self.block_grid) if self.block_grid else self.block_size

    def grid_shape(self, h: int, w: int) -> Tuple[int, int]:
        """Rows and columns of the block grid on an (h, w) fused map (partial blocks count)."""
        b = self.block_px(h)
        return -(-h // b), -(-w // b)

    def expand(self, grid: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """Upsample block-grid values to (N, 1, h, w): nearest blocks, or bilinear."""
        b = self.block_px(h)
        if b == 1:
            return grid
        if self.upsample != 'nearest':
            return F.interpolate(grid, size=(h, w), mode='bilinear', align_corners=False)
        # Exact blocks: grid cell (i, j) covers rows i*b..(i+1)*b-1 of the fused map; the last
        # row/column of blocks is cropped when H or W is not a multiple of b.
        x = F.interpolate(grid, scale_factor=float(b), mode='nearest')
        exact = grid.shape[-2] * b == h and grid.shape[-1] * b == w
        return x if exact and not self.always_crop else x[..., :h, :w]

    def forward(self, shallow: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
        if self.block_grid and self.always_crop:
            # A dynamic-shape export traces the graph once: the block side (H // block_grid)
            # and the pooling window would be frozen at the traced size and be wrong at others.
            raise ValueError(
                f'a model with block_grid={self.block_grid} cannot be exported with dynamic '
                'height and width (its block side follows the input size); export at a '
                'fixed size instead')
        h, w = shallow.shape[-2:]
        grid = self.grid_logits(shallow, deep)
        if self.upsample == 'nearest':
            # Nearest upsampling only repeats values: the sigmoid commutes with it, and is
            # cheaper on the block grid.
            return self.expand(torch.sigmoid(grid), h, w)
        return torch.sigmoid(self.expand(grid, h, w))


class BAFFusion(nn.Module):
    """fused = w * shallow + (1 - w) * deep, with w from a :class:`WeightNet`."""

    def __init__(self, channels: int, hidden: int = 8, block_size: int = 8,
                 upsample: str = 'nearest', block_grid: int = 0, compact_stride: int = 1
                 ) -> None:
        super().__init__()
        self.weight_net = WeightNet(channels, hidden, block_size, upsample, block_grid,
                                    compact_stride)

    def forward(self, shallow: torch.Tensor, deep: torch.Tensor):
        """Return (fused, w); w has shape (N, 1, H, W)."""
        w = self.weight_net(shallow, deep)
        # w * S + (1 - w) * D, as three element-wise ops instead of four (same value up to
        # float rounding: measured max |difference| 2.4e-6 on the bundled model's logits).
        return deep + w * (shallow - deep), w


class AddFusion(nn.Module):
    """Plain SkipNet / FCN-8s fusion: fused = shallow + deep. Has no weights."""

    def forward(self, shallow: torch.Tensor, deep: torch.Tensor):
        """Return (fused, None)."""
        return shallow + deep, None
