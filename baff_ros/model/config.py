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
"""Frozen, validated model configuration (and the input size rule); imports no torch."""

from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, Mapping, Tuple

FUSIONS = ('baff', 'add')
WEIGHT_UPSAMPLE_MODES = ('nearest', 'bilinear')
#: Input height and width must be multiples of this (the deepest tap's reduction).
SIZE_DIVISOR = 32


def check_input_size(height: int, width: int) -> None:
    """Raise ValueError unless both sides are positive multiples of 32."""
    if height <= 0 or width <= 0 or height % SIZE_DIVISOR or width % SIZE_DIVISOR:
        raise ValueError(
            f'input size {height}x{width} is not supported: height and width must be '
            f'positive multiples of {SIZE_DIVISOR}')


def fusion_points(model: Any) -> Tuple[str, ...]:
    """Return the fusion points whose BAFF weight maps ``model`` computes, in output order.

    ``('16', '8')`` for a BAFF-SkipNet, ``()`` for a plain SkipNet (``fusion='add'``) and for any
    network without fusion points (the peers). The one answer to "is this BAFF?".
    """
    return tuple(getattr(model, 'fusion_points', ()))


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a BAFF-SkipNet (or plain SkipNet) model.

    Attributes:
        num_classes: output classes (19 Cityscapes train IDs by default).
        width_mult: MobileNetV2 width multiplier.
        fusion: ``'baff'`` (block adaptive weights) or ``'add'`` (plain SkipNet sum).
        block_size: side, in pixels of the fused map, of one block of the weight grid.
            A power of two; 1 gives a per-pixel weight map. Also sets the weight net's depth
            (log2(block_size) depthwise-separable stages, at least one).
        block_grid: 0 (default): blocks of ``block_size`` pixels. G > 0: the grid follows the
            input instead: about G blocks along the fused map's height at every fusion point
            (square blocks of ``max(1, H // G)`` pixels, so at least G rows, exactly G where G
            divides H; the columns follow the aspect). Same parameters either way.
        fusion_channels: channels of the BAFF weight net's hidden layers.
        weight_upsample: how the block grid is brought back to the fused map's size;
            ``'nearest'`` keeps one weight per block (the paper's blocks).
        compact_stride: in-plane stride of the weight net's compact 3D conv. 1 (default): the
            conv runs at the fused map's resolution and ``log2(block_size)`` strided stages
            follow. 2: the conv takes the first stride-2 step itself and one stage fewer
            follows: the same block grid at a quarter of the weight nets' FLOPs (their 3x3
            conv over the stacked maps is most of them). Needs ``block_size`` >= 2 and no
            ``block_grid``.
        in_channels: input image channels.
    """

    num_classes: int = 19
    width_mult: float = 1.0
    fusion: str = 'baff'
    block_size: int = 8
    block_grid: int = 0
    fusion_channels: int = 8
    weight_upsample: str = 'nearest'
    in_channels: int = 3
    compact_stride: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.num_classes, int) or self.num_classes < 1:
            raise ValueError(f'num_classes must be a positive integer, got {self.num_classes!r}')
        if not isinstance(self.width_mult, (int, float)) or not 0.1 <= self.width_mult <= 4.0:
            raise ValueError(f'width_mult must be in [0.1, 4.0], got {self.width_mult!r}')
        if self.fusion not in FUSIONS:
            raise ValueError(f'fusion must be one of {FUSIONS}, got {self.fusion!r}')
        bs = self.block_size
        if not isinstance(bs, int) or bs < 1 or bs & (bs - 1):
            raise ValueError(f'block_size must be a power of two >= 1, got {bs!r}')
        bg = self.block_grid
        if isinstance(bg, bool) or not isinstance(bg, int) or bg < 0:
            raise ValueError(f'block_grid must be an integer >= 0 (0: fixed block_size), '
                             f'got {bg!r}')
        if not isinstance(self.fusion_channels, int) or self.fusion_channels < 1:
            raise ValueError(
                f'fusion_channels must be a positive integer, got {self.fusion_channels!r}')
        if self.weight_upsample not in WEIGHT_UPSAMPLE_MODES:
            raise ValueError(f'weight_upsample must be one of {WEIGHT_UPSAMPLE_MODES}, '
                             f'got {self.weight_upsample!r}')
        if not isinstance(self.in_channels, int) or self.in_channels < 1:
            raise ValueError(f'in_channels must be a positive integer, got {self.in_channels!r}')
        cs = self.compact_stride
        if isinstance(cs, bool) or cs not in (1, 2):
            raise ValueError(f'compact_stride must be 1 or 2, got {cs!r}')
        if cs == 2 and (bs < 2 or bg):
            raise ValueError('compact_stride=2 needs block_size >= 2 and block_grid=0 (the '
                             'stride is the first step down to a fixed block grid), got '
                             f'block_size={bs}, block_grid={bg}')

    def to_dict(self) -> Dict[str, Any]:
        """Plain-dict form, as stored in checkpoint metadata.

        ``block_grid`` and ``compact_stride`` are written only when not at their defaults: a
        model without them has the dict earlier versions wrote (and read), so its checkpoints
        and export cache keys stay the same.
        """
        data = asdict(self)
        if not data['block_grid']:
            del data['block_grid']
        if data['compact_stride'] == 1:
            del data['compact_stride']
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'ModelConfig':
        """Build from a dict, rejecting unknown keys by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f'unknown model config key(s): {", ".join(unknown)}')
        return cls(**dict(data))

    def replace(self, **changes: Any) -> 'ModelConfig':
        """Return a copy with some fields changed (validated again)."""
        return self.from_dict({**self.to_dict(), **changes})
