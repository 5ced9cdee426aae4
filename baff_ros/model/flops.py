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
"""Parameter and multiply-accumulate counts, measured by running the model once."""

from typing import Dict, Tuple

import torch
from torch import nn

from baff_ros.model.skipnet import BAFFSkipNet


def _conv_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    if isinstance(module, nn.ConvTranspose2d):
        # Each input element is scattered through the kernel to out_channels / groups.
        k = module.kernel_size[0] * module.kernel_size[1]
        return int(inp.numel() * k * module.out_channels // module.groups)
    if isinstance(module, (nn.Conv2d, nn.Conv3d)):
        kernel = 1
        for k in module.kernel_size:
            kernel *= k
        per_output = kernel * module.in_channels // module.groups
        return int(out.numel() * per_output)
    if isinstance(module, nn.Linear):
        return int(out.numel() * module.in_features)
    return 0


@torch.no_grad()
def count_macs(model: nn.Module, size: Tuple[int, int], prefix_split: str = 'fusions'
               ) -> Dict[str, int]:
    """Count multiply-accumulates of convolutions and linear layers for one (1, C, H, W) input.

    Returns:
        ``{'total': ..., '<prefix_split>': ...}``: all MACs, and those of modules whose
        qualified name starts with ``prefix_split`` (the BAFF weight nets by default).
        Element-wise work (BN at inference folds into convs, activations, interpolation,
        the fusion's multiply-add) is not counted, as is usual for FLOP tables.
    """
    from baff_ros.model.fusion import WeightNet

    totals = {'total': 0, prefix_split: 0}
    hooks = []
    for name, mod in model.named_modules():
        if isinstance(mod, WeightNet):
            # Its 3D conv runs as a functional 2D conv (see fusion.py), which module hooks do
            # not see: count it from the weight net's input, one output slice per position.
            def wn_hook(m, inp, _out, in_split=name.startswith(prefix_split)):
                n, _, h, w = inp[0].shape
                k = m.conv3d.kernel_size
                macs = n * h * w * m.conv3d.out_channels * m.conv3d.in_channels * (
                    k[0] * k[1] * k[2])
                totals['total'] += macs
                if in_split:
                    totals[prefix_split] += macs
            hooks.append(mod.register_forward_hook(wn_hook))
        if isinstance(mod, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)):
            in_split = name.startswith(prefix_split)

            def hook(m, inp, out, in_split=in_split):
                macs = _conv_macs(m, inp[0], out)
                totals['total'] += macs
                if in_split:
                    totals[prefix_split] += macs
            hooks.append(mod.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        in_ch = getattr(getattr(model, 'cfg', None), 'in_channels', 3)
        model(torch.zeros(1, in_ch, *size))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return totals


def model_summary(model: BAFFSkipNet, size: Tuple[int, int]) -> Dict[str, object]:
    """Parameter and FLOP figures for ``baff-ros info``. FLOPs = 2 x MACs."""
    params = sum(p.numel() for p in model.parameters())
    fusion_params = sum(p.numel() for p in model.fusions.parameters())
    macs = count_macs(model, size)
    return {
        'input_size': list(size),
        'params': params,
        'fusion_params': fusion_params,
        'fusion_params_share': fusion_params / params,
        'macs': macs['total'],
        'fusion_macs': macs['fusions'],
        'flops': 2 * macs['total'],
        'fusion_flops': 2 * macs['fusions'],
        'fusion_flops_share': macs['fusions'] / macs['total'] if macs['total'] else 0.0,
    }
