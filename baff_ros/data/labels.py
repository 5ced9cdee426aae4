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
"""Cityscapes classes, train IDs and palette, taken from cityscapesscripts itself."""

from typing import Tuple

from cityscapesscripts.helpers.labels import Label, labels as CITYSCAPES_LABELS
import numpy as np

IGNORE_ID = 255

#: The 19 evaluated classes, in train-ID order (road=0 ... bicycle=18).
TRAIN_CLASSES: Tuple[Label, ...] = tuple(sorted(
    (lab for lab in CITYSCAPES_LABELS if 0 <= lab.trainId < IGNORE_ID),
    key=lambda lab: lab.trainId))

CLASS_NAMES: Tuple[str, ...] = tuple(lab.name for lab in TRAIN_CLASSES)
NUM_CLASSES = len(TRAIN_CLASSES)


def palette_array(palette=None) -> np.ndarray:
    """Build a (256, 3) uint8 lookup table: train ID -> RGB, ignore (and unused IDs) -> black."""
    lut = np.zeros((256, 3), np.uint8)
    colors = palette if palette is not None else [lab.color for lab in TRAIN_CLASSES]
    lut[:len(colors)] = np.asarray(colors, np.uint8)
    return lut


def id_to_train_id_lut() -> np.ndarray:
    """Build a (256,) uint8 lookup table: Cityscapes label ID -> train ID (255 for ignored)."""
    lut = np.full(256, IGNORE_ID, np.uint8)
    for lab in CITYSCAPES_LABELS:
        if 0 <= lab.id < 256:
            lut[lab.id] = lab.trainId if 0 <= lab.trainId < IGNORE_ID else IGNORE_ID
    return lut


def train_id_to_id_lut() -> np.ndarray:
    """Build a (256,) uint8 lookup table: train ID -> Cityscapes label ID (255 -> 0, unlabeled)."""
    lut = np.zeros(256, np.uint8)
    for lab in TRAIN_CLASSES:
        lut[lab.trainId] = lab.id
    return lut
