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
"""Validation during training: the Cityscapes pixel scores, computed on the device."""

from typing import cast, Sized

import torch
from torch import nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from baff_ros.data.labels import NUM_CLASSES
from baff_ros.evaluate import Evaluator, EvalResult
from baff_ros.model.config import SIZE_DIVISOR
from baff_ros.progress import progress_bar


def confusion_torch(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C, C + 1) confusion matrix on the device; same layout as baff_ros.evaluate."""
    valid = target < num_classes
    p = pred[valid]
    p = torch.where(p < num_classes, p, torch.full_like(p, num_classes))
    idx = target[valid] * (num_classes + 1) + p
    return torch.bincount(idx, minlength=num_classes * (num_classes + 1)).reshape(
        num_classes, num_classes + 1)


@torch.no_grad()
def validate(model: nn.Module, loader: DataLoader, device: torch.device,
             num_classes: int = NUM_CLASSES, amp: bool = False, progress: bool = False
             ) -> EvalResult:
    """Fast path: logits upsampled to the label size, argmax, confusion matrix on the device.

    Returns:
        a :class:`baff_ros.evaluate.EvalResult` (pixel scores; no instance scores).
    """
    was_training = model.training
    model.eval()
    cm = torch.zeros(num_classes, num_classes + 1, dtype=torch.int64, device=device)
    for image, target in progress_bar(loader, desc='val', unit='img', leave=False,
                                      disable=not progress):
        image = image.to(device, non_blocking=True)
        target = target.to(device, non_blocking=True)
        h, w = image.shape[-2:]
        ph, pw = (-h) % SIZE_DIVISOR, (-w) % SIZE_DIVISOR
        x = F.pad(image, (0, pw, 0, ph)) if ph or pw else image
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            logits = model(x)[..., :h, :w]
        logits = F.interpolate(logits.float(), size=target.shape[-2:], mode='bilinear',
                               align_corners=False)
        cm += confusion_torch(logits.argmax(1), target, num_classes)
    model.train(was_training)
    ev = Evaluator(num_classes)
    ev.add_confusion(cm.cpu().numpy())
    ev.num_images = len(cast(Sized, loader.dataset))
    return ev.result()
