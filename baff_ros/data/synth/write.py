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
"""The synthetic dataset on disk, in the Cityscapes layout every tool of the package reads."""

import hashlib
from pathlib import Path
from typing import Dict, Tuple

import cv2
import numpy as np

from baff_ros.atomic import write_image
from baff_ros.data.synth.layout import LAYOUTS
from baff_ros.data.synth.render import render_scene

#: Written by ``baff-ros synth`` next to leftImg8bit/ and gtFine/; ``baff-ros train`` puts its
#: description into the checkpoints it writes.
INFO_FILE = 'synth_info.json'


def train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Label IDs -> train IDs (255 for ignored), through the Cityscapes label table."""
    from baff_ros.data.labels import id_to_train_id_lut

    return id_to_train_id_lut()[label_ids]


def write_dataset(out: Path, n: int, seed: int, size: Tuple[int, int] = (256, 512),
                  n_val: int = 0, progress: bool = False, city: str = 'synth',
                  layout: str = 'street') -> Dict[str, int]:
    """Write ``n`` train and ``n_val`` val scenes in the Cityscapes layout.

    ``layout``: scene layout (:data:`LAYOUTS`); a seed gives the same images for a layout.

    ``leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png`` and, under ``gtFine``,
    ``_gtFine_labelIds.png``, ``_gtFine_labelTrainIds.png``, ``_gtFine_instanceIds.png``
    (16-bit; id * 1000 + k for instance classes) and ``_gtFine_color.png``.

    Returns:
        split -> images written.
    """
    from baff_ros.progress import progress_bar

    from baff_ros.data.labels import palette_array

    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {", ".join(LAYOUTS)}, got {layout!r}')
    out = Path(out)
    lut = palette_array()
    counts = {'train': n, 'val': n_val}
    jobs = [(split, i) for split, k in counts.items() for i in range(k)]
    for split, i in progress_bar(jobs, unit='img', disable=not progress):
        # Scene seeds are derived from (seed, split, index): adding images or a val split
        # never changes the images that were already there.
        scene_seed = int.from_bytes(hashlib.sha256(f'{seed}/{split}/{i}'.encode()).digest()[:8],
                                    'little')
        image, label, inst = render_scene(size, scene_seed, layout)
        stem = f'{city}_{i // 1000:06d}_{i % 1000:06d}'
        img_dir = out / 'leftImg8bit' / split / city
        gt_dir = out / 'gtFine' / split / city
        img_dir.mkdir(parents=True, exist_ok=True)
        gt_dir.mkdir(parents=True, exist_ok=True)
        tid = train_ids(label)
        write_image(img_dir / f'{stem}_leftImg8bit.png', cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        write_image(gt_dir / f'{stem}_gtFine_labelIds.png', label)
        write_image(gt_dir / f'{stem}_gtFine_labelTrainIds.png', tid)
        write_image(gt_dir / f'{stem}_gtFine_instanceIds.png', inst.astype(np.uint16))
        write_image(gt_dir / f'{stem}_gtFine_color.png', cv2.cvtColor(lut[tid], cv2.COLOR_RGB2BGR))
    return counts
