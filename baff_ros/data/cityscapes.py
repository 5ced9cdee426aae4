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
"""Cityscapes dataset over the official directory layout (also written by ``baff-ros synth``).

``leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png`` with ground truth in
``gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png``; where the train-ID file is
absent (a fresh download, before ``csCreateTrainIdLabelImgs``) ``_gtFine_labelIds.png`` is mapped
to train IDs on the fly with :func:`baff_ros.data.labels.id_to_train_id_lut`.
"""

from dataclasses import dataclass
import os
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from baff_ros.data.labels import id_to_train_id_lut
from baff_ros.data.transforms import sample_rng

IMAGE_SUFFIX = '_leftImg8bit.png'
SPLITS = ('train', 'val', 'test', 'train_extra')


@dataclass(frozen=True)
class Sample:
    """File paths of one image and its ground truth (the GT paths may be missing)."""

    image: Path
    train_ids: Path
    label_ids: Path
    instance_ids: Path

    @property
    def stem(self) -> str:
        """The image file's stem, e.g. ``aachen_000000_000019_leftImg8bit``."""
        return self.image.stem


def list_samples(root: os.PathLike, split: str = 'train', gt: str = 'gtFine') -> List[Sample]:
    """All images of a split, sorted, with their ground-truth paths.

    Raises:
        ValueError: unknown split, missing directory, no images, or images without labels.
    """
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    root = Path(root)
    img_root = root / 'leftImg8bit' / split
    if not img_root.is_dir():
        raise ValueError(f'{img_root}: no such directory; expected the Cityscapes layout '
                         f'ROOT/leftImg8bit/{split}/<city>/*{IMAGE_SUFFIX}')
    samples = []
    for img in sorted(img_root.glob(f'*/*{IMAGE_SUFFIX}')):
        base = img.name[:-len(IMAGE_SUFFIX)]
        gt_dir = root / gt / split / img.parent.name
        samples.append(Sample(img, gt_dir / f'{base}_{gt}_labelTrainIds.png',
                              gt_dir / f'{base}_{gt}_labelIds.png',
                              gt_dir / f'{base}_{gt}_instanceIds.png'))
    if not samples:
        raise ValueError(f'{img_root}: no *{IMAGE_SUFFIX} images found')
    return samples


def read_rgb(path: os.PathLike) -> np.ndarray:
    """Read an image file as uint8 RGB; raises ValueError if unreadable."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f'{path}: not a readable image')
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_train_ids(sample: Sample, lut: Optional[np.ndarray] = None) -> np.ndarray:
    """Read the uint8 train-ID map of a sample (labelTrainIds, else labelIds via the LUT)."""
    if sample.train_ids.is_file():
        lab = cv2.imread(str(sample.train_ids), cv2.IMREAD_UNCHANGED)
        if lab is None or lab.ndim != 2:
            raise ValueError(f'{sample.train_ids}: not a single-channel label image')
        return lab.astype(np.uint8)
    if sample.label_ids.is_file():
        lab = cv2.imread(str(sample.label_ids), cv2.IMREAD_UNCHANGED)
        if lab is None or lab.ndim != 2:
            raise ValueError(f'{sample.label_ids}: not a single-channel label image')
        return (lut if lut is not None else id_to_train_id_lut())[lab.astype(np.uint8)]
    raise ValueError(f'{sample.image}: no ground truth ({sample.train_ids.name} or '
                     f'{sample.label_ids.name}) in {sample.train_ids.parent}')


class CityscapesDataset(Dataset):
    """Images and train-ID labels of one split.

    ``dataset[i]`` returns ``(image, labels)``: the transform's output as tensors (float32
    (3, H, W) and int64 (H, W)). Augmentation randomness is seeded from ``(seed, epoch, i)``;
    call :meth:`set_epoch` before each epoch.

    Args:
        root: dataset root (holding ``leftImg8bit/`` and ``gtFine/``).
        split: ``'train'``, ``'val'``, ...
        transform: callable ``(rgb, labels, rng) -> (image, labels)`` as in
            :mod:`baff_ros.data.transforms`; None returns the raw uint8 arrays as tensors.
        seed: base seed of the augmentation.
    """

    def __init__(self, root: os.PathLike, split: str = 'train',
                 transform: Optional[Callable] = None, seed: int = 0) -> None:
        self.root = Path(root)
        self.split = split
        self.samples = list_samples(root, split)
        missing = [s for s in self.samples
                   if not s.train_ids.is_file() and not s.label_ids.is_file()]
        if missing:
            raise ValueError(f'{len(missing)} of {len(self.samples)} {split} images have no '
                             f'ground truth, e.g. {missing[0].label_ids}')
        self.transform = transform
        self.seed = int(seed)
        self.epoch = 0
        self._lut = id_to_train_id_lut()

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of an epoch."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def raw(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        """(uint8 RGB image, uint8 train IDs) of sample ``index``, unaugmented."""
        s = self.samples[index]
        rgb = read_rgb(s.image)
        lab = read_train_ids(s, self._lut)
        if lab.shape != rgb.shape[:2]:
            raise ValueError(f'{s.image}: image is {rgb.shape[1]}x{rgb.shape[0]} but its labels '
                             f'are {lab.shape[1]}x{lab.shape[0]}')
        return rgb, lab

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
        rgb, lab = self.raw(index)
        if self.transform is None:
            return torch.from_numpy(rgb), torch.from_numpy(lab.astype(np.int64))
        image, labels = self.transform(rgb, lab, sample_rng(self.seed, self.epoch, index))
        return torch.from_numpy(image), torch.from_numpy(labels)
