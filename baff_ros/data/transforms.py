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
"""Training augmentation and normalisation, vectorised (OpenCV/numpy) and seeded per sample.

Every random choice comes from a :class:`numpy.random.Generator` the caller passes in; the
dataset seeds one per sample from ``(seed, epoch, index)`` so a run is reproducible regardless of
the number of data-loader workers.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from baff_ros.data.labels import IGNORE_ID

#: Per-channel RGB mean and std of ImageNet (on 0..1 values): the normalisation the pretrained
#: encoder expects, and the default a checkpoint records (:class:`baff_ros.model.checkpoint`).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """Make the generator of one sample in one epoch (independent of worker count/order)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), int(index)]))


def normalize(rgb: np.ndarray, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> np.ndarray:
    """uint8 (H, W, 3) RGB -> float32 (3, H, W), ``(x / 255 - mean) / std`` per channel."""
    # One lookup table per channel: a gather is cheaper than float arithmetic on the image.
    v = np.arange(256, dtype=np.float32)[:, None] / 255.0
    table = (v - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    out = np.empty((3,) + rgb.shape[:2], np.float32)
    for c in range(3):
        out[c] = table[rgb[..., c], c]
    return out


@dataclass(frozen=True)
class TrainTransform:
    """Random scale, pad + random crop, horizontal flip and photometric jitter.

    Attributes:
        crop: (height, width) of the output; pads with ``IGNORE_ID`` labels (and the mean colour)
            when the scaled image is smaller.
        scale: (min, max) random scale factor, applied to both sides.
        flip: probability of a horizontal flip.
        brightness: maximum relative brightness change (0 disables).
        contrast: maximum relative contrast change.
        saturation: maximum relative saturation change.
        hue: maximum hue shift in OpenCV hue units (0..180).
        mean: normalisation mean (RGB, [0, 1]).
        std: normalisation std.
    """

    crop: Tuple[int, int] = (512, 1024)
    scale: Tuple[float, float] = (0.5, 2.0)
    flip: float = 0.5
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.25
    hue: float = 5.0
    mean: Tuple[float, float, float] = IMAGENET_MEAN
    std: Tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if len(self.crop) != 2 or min(self.crop) < 1:
            raise ValueError(f'crop must be (height, width) > 0, got {self.crop!r}')
        if len(self.scale) != 2 or not 0 < self.scale[0] <= self.scale[1] <= 8:
            raise ValueError(f'scale must be (min, max) with 0 < min <= max <= 8, '
                             f'got {self.scale!r}')
        if not 0 <= self.flip <= 1:
            raise ValueError(f'flip must be a probability, got {self.flip!r}')
        for name in ('brightness', 'contrast', 'saturation'):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f'{name} must be in [0, 1), got {getattr(self, name)!r}')
        if not 0 <= self.hue <= 90:
            raise ValueError(f'hue must be in [0, 90], got {self.hue!r}')

    def __call__(self, rgb: np.ndarray, labels: np.ndarray, rng: np.random.Generator
                 ) -> Tuple[np.ndarray, np.ndarray]:
        """Augment one sample.

        Args:
            rgb: uint8 (H, W, 3) RGB image.
            labels: uint8 (H, W) train IDs (255 = ignore).
            rng: this sample's generator (see :func:`sample_rng`).

        Returns:
            (float32 (3, h, w) normalised image, int64 (h, w) labels) at the crop size.
        """
        h, w = labels.shape
        s = float(rng.uniform(*self.scale))
        nh, nw = max(int(round(h * s)), 1), max(int(round(w * s)), 1)
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
        labels = cv2.resize(labels, (nw, nh), interpolation=cv2.INTER_NEAREST)
        ch, cw = self.crop
        ph, pw = max(ch - nh, 0), max(cw - nw, 0)
        if ph or pw:
            fill = tuple(int(round(m * 255)) for m in self.mean)
            rgb = cv2.copyMakeBorder(rgb, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=fill)
            labels = cv2.copyMakeBorder(labels, 0, ph, 0, pw, cv2.BORDER_CONSTANT,
                                        value=IGNORE_ID)
        y0 = int(rng.integers(0, rgb.shape[0] - ch + 1))
        x0 = int(rng.integers(0, rgb.shape[1] - cw + 1))
        rgb = rgb[y0:y0 + ch, x0:x0 + cw]
        labels = labels[y0:y0 + ch, x0:x0 + cw]
        if rng.random() < self.flip:
            rgb = rgb[:, ::-1]
            labels = labels[:, ::-1]
        rgb = self.jitter(np.ascontiguousarray(rgb), rng)
        return normalize(rgb, self.mean, self.std), np.ascontiguousarray(labels, np.int64)

    def jitter(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Photometric jitter: brightness, contrast, saturation, hue (uint8 in, uint8 out)."""
        b = 1 + rng.uniform(-self.brightness, self.brightness)
        c = 1 + rng.uniform(-self.contrast, self.contrast)
        sat = 1 + rng.uniform(-self.saturation, self.saturation)
        hue = rng.uniform(-self.hue, self.hue)
        if sat != 1 or hue != 0:
            hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
            # Hue is cyclic over 0..180 in OpenCV's 8-bit HSV.
            lut_h = ((np.arange(256) + hue) % 180).astype(np.uint8)
            lut_s = np.clip(np.arange(256) * sat, 0, 255).astype(np.uint8)
            hsv[..., 0] = lut_h[hsv[..., 0]]
            hsv[..., 1] = lut_s[hsv[..., 1]]
            rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        mean = float(rgb.mean())
        # Brightness and contrast in one affine lookup table.
        lut = np.clip((np.arange(256) - mean) * c + mean * b, 0, 255).astype(np.uint8)
        return lut[rgb]


@dataclass(frozen=True)
class EvalTransform:
    """Normalise, optionally resizing the image (labels stay at full resolution).

    Attributes:
        size: (height, width) the image is resized to, or None to keep it.
        mean: normalisation mean.
        std: normalisation std.
    """

    size: Optional[Tuple[int, int]] = None
    mean: Tuple[float, float, float] = IMAGENET_MEAN
    std: Tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise ValueError(f'size must be (height, width) > 0, got {self.size!r}')

    def __call__(self, rgb: np.ndarray, labels: np.ndarray, rng: Optional[np.random.Generator]
                 = None) -> Tuple[np.ndarray, np.ndarray]:
        """Return (float32 (3, h, w) image, int64 (H, W) labels at the original size)."""
        if self.size is not None and rgb.shape[:2] != tuple(self.size):
            rgb = cv2.resize(rgb, (self.size[1], self.size[0]), interpolation=cv2.INTER_LINEAR)
        return normalize(rgb, self.mean, self.std), labels.astype(np.int64)
