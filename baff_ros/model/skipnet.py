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
"""SkipNet (FCN-8s style) decoder on a MobileNetV2 encoder, with BAFF or additive fusion."""

from typing import List, Tuple, Union

import torch
from torch import nn
import torch.nn.functional as F

# check_input_size and SIZE_DIVISOR live in config.py (no torch) and are re-exported here.
from baff_ros.model.config import check_input_size, ModelConfig, SIZE_DIVISOR  # noqa: F401
from baff_ros.model.fusion import AddFusion, BAFFusion
from baff_ros.model.mobilenetv2 import MobileNetV2Encoder


class BAFFSkipNet(nn.Module):
    """MobileNetV2 encoder + SkipNet decoder whose skip fusions are BAFF (or plain sums).

    Scores are predicted by a 1x1 conv on each tap (1/8, 1/16, 1/32). Deep scores are upsampled x2
    and fused with the next shallower scores (1/32 -> 1/16 -> 1/8); the 1/8 result is upsampled to
    the input size. Fusion points are named by the reduction of the map they produce:
    ``'16'`` then ``'8'``.
    """

    def __init__(self, cfg: ModelConfig = ModelConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = MobileNetV2Encoder(cfg.width_mult, cfg.in_channels)
        self.score = nn.ModuleList(
            nn.Conv2d(c, cfg.num_classes, kernel_size=1) for c in self.encoder.out_channels)
        # One fusion per skip connection, from deep to shallow.
        n_fusions = len(self.encoder.reductions) - 1
        if cfg.fusion == 'baff':
            self.fusions = nn.ModuleList(
                BAFFusion(cfg.num_classes, cfg.fusion_channels, cfg.block_size,
                          cfg.weight_upsample, cfg.block_grid, cfg.compact_stride)
                for _ in range(n_fusions))
        else:
            self.fusions = nn.ModuleList(AddFusion() for _ in range(n_fusions))
        #: Every skip fusion, named by the reduction of the map it produces, deep to shallow.
        self.fusion_names: Tuple[str, ...] = tuple(
            str(r) for r in reversed(self.encoder.reductions[:-1]))
        #: The fusion points with a BAFF weight map: ``fusion_names``, or none for ``'add'``.
        self.fusion_points: Tuple[str, ...] = self.fusion_names if cfg.fusion == 'baff' else ()

    def forward_scores(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Run everything but the final upsample.

        Returns:
            the fused class scores at 1/8 of the input (N, num_classes, H/8, W/8) and the weight
            maps in fusion order (empty for ``fusion='add'``). Engines use this to compute
            low-resolution confidence without hooks.
        """
        if x.dim() != 4 or x.shape[1] != self.cfg.in_channels:
            raise ValueError(f'expected input of shape (N, {self.cfg.in_channels}, H, W), '
                             f'got {tuple(x.shape)}')
        if not torch.jit.is_tracing() and not torch.compiler.is_compiling():
            check_input_size(int(x.shape[-2]), int(x.shape[-1]))
        feats = self.encoder(x)
        scores = [head(f) for head, f in zip(self.score, feats)]
        out = scores[-1]
        weights: List[torch.Tensor] = []
        for fusion, shallow in zip(self.fusions, reversed(scores[:-1])):
            deep = F.interpolate(out, size=shallow.shape[-2:], mode='bilinear',
                                 align_corners=False)
            out, wmap = fusion(shallow, deep)
            if wmap is not None:
                weights.append(wmap)
        return out, weights

    def forward(self, x: torch.Tensor, return_weights: bool = False
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, List[torch.Tensor]]]:
        """Segment a batch.

        Args:
            x: (N, C, H, W) normalised images, H and W multiples of 32.
            return_weights: also return the BAFF weight maps.

        Returns:
            logits (N, num_classes, H, W), and with ``return_weights`` the list of weight maps
            (N, 1, H/r, W/r) in fusion order (``fusion_names``); empty for ``fusion='add'``.
        """
        out, weights = self.forward_scores(x)
        # size from x.shape (not ints) so a traced/exported graph keeps dynamic H and W.
        logits = F.interpolate(out, size=x.shape[-2:], mode='bilinear', align_corners=False)
        if return_weights:
            return logits, weights
        return logits


def build_model(cfg: ModelConfig = ModelConfig()) -> BAFFSkipNet:
    """Build a BAFF-SkipNet (or SkipNet with ``fusion='add'``) from its config."""
    return BAFFSkipNet(cfg)


def plain_skipnet(model: BAFFSkipNet) -> BAFFSkipNet:
    """Return the SkipNet baseline of ``model``: its weights with additive fusion, in eval mode.

    Same encoder and score heads, so the only difference between the two is the fusion (the
    BAFF weight nets, ``fusions.*``, are left out).
    """
    plain = build_model(ModelConfig.from_dict({**model.cfg.to_dict(), 'fusion': 'add'})).eval()
    plain.load_state_dict({k: v for k, v in model.state_dict().items()
                           if not k.startswith('fusions.')}, strict=True)
    return plain
