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
"""Scores by object size, and what the BAFF weight maps do by object size and image row.

IoU per object-size bucket (:func:`segment_areas`, :data:`SIZE_BUCKETS`): every ground-truth
pixel belongs to one segment - an instance of a class with instances (from the instance IDs),
otherwise a connected region of one class - and the segment's area relative to the image puts
it in the small, medium or large bucket. Each bucket has its own confusion matrix over its
pixels only (kept by :class:`~baff_ros.evaluate.metrics.Evaluator`), so a prediction that is
right on large regions and wrong on small ones scores high in "large" and low in "small".
:class:`WeightMapStats` relates the weight maps to the same segment areas.
"""

import math
from typing import Dict, Optional

import numpy as np

from baff_ros.data.labels import NUM_CLASSES

#: Object-size buckets, by segment area relative to the image area: small below
#: SMALL_MAX_AREA, large from LARGE_MIN_AREA. These are COCO's 32² and 96² pixel thresholds
#: relative to a 640x480 image (0.33 % and 3 %): 437 and 3932 pixels at 256x512, 7 and 63 k
#: pixels at 1024x2048. Relative, so a bucket means the same share of the view at any size.
SIZE_BUCKETS = ('small', 'medium', 'large')
SMALL_MAX_AREA = 32 * 32 / (640 * 480)
LARGE_MIN_AREA = 96 * 96 / (640 * 480)


def segment_areas(gt: np.ndarray, instances: Optional[np.ndarray] = None,
                  num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Area of the ground-truth segment each pixel belongs to, relative to the image area.

    A segment is an instance (Cityscapes instance ID >= 1000, ``id * 1000 + k``) where
    ``instances`` has one, otherwise a connected region (8-neighbourhood) of one train ID: the
    classes without instances (pole, sign, road ...) and groups of things labelled without an
    instance. Ignored pixels (train ID outside ``[0, num_classes)``) get NaN.

    Returns:
        (H, W) float64 array.
    """
    import cv2

    gt = np.asarray(gt)
    h, w = gt.shape
    area = np.full((h, w), np.nan)
    done = np.zeros((h, w), bool)
    if instances is not None:
        if instances.shape != gt.shape:
            raise ValueError('instance map and ground truth differ in size')
        mask = (instances >= 1000) & (gt < num_classes)
        if mask.any():
            uniq, inv, counts = np.unique(instances[mask], return_inverse=True,
                                          return_counts=True)
            area[mask] = counts[inv]
            done = mask
    for c in np.unique(gt[~done]):
        if c >= num_classes:
            continue
        n, comp, stats, _ = cv2.connectedComponentsWithStats(
            ((gt == c) & ~done).astype(np.uint8), connectivity=8)
        sel = comp > 0
        area[sel] = stats[comp[sel], cv2.CC_STAT_AREA]
    return area / float(h * w)


def size_bucket_map(areas: np.ndarray) -> np.ndarray:
    """Relative segment areas -> bucket index per pixel (0 small, 1 medium, 2 large, -1 none)."""
    out = np.full(areas.shape, -1, np.int8)
    valid = ~np.isnan(areas)
    out[valid] = np.digitize(areas[valid], [SMALL_MAX_AREA, LARGE_MIN_AREA])
    return out


class _Correlation:
    """Pearson correlation accumulated from running sums (float64; pooled over images)."""

    def __init__(self) -> None:
        self.sums = np.zeros(6)  # n, sx, sy, sxx, syy, sxy

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.asarray(x, np.float64).ravel()
        y = np.asarray(y, np.float64).ravel()
        self.sums += (x.size, x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum())

    def value(self) -> float:
        n, sx, sy, sxx, syy, sxy = self.sums
        denom = (n * sxx - sx * sx) * (n * syy - sy * sy)
        return float((n * sxy - sx * sy) / math.sqrt(denom)) if denom > 1e-12 else float('nan')


class WeightMapStats:
    """Statistics of BAFF weight maps over an evaluation, per fusion point.

    * ``mean``: mean w; ``mean_spatial_std``: the mean over images of each map's spatial std
      (how much w varies within a frame; a map that hardly moves has ~0.01);
    * ``corr_log_area``: Pearson correlation, pooled over every weight-map cell of every image,
      of w with log10 of the relative area of the ground-truth segment at the cell's centre
      (:func:`segment_areas`; negative: w higher on small objects, i.e. the shallow, detailed
      map trusted there); cells on ignored pixels are left out;
    * ``corr_row``: the same with the cell's image row (0 top, 1 bottom): for things standing on
      the road, lower in the image is nearer, so positive means w higher on near content.
    """

    def __init__(self) -> None:
        self._acc: Dict[str, Dict] = {}

    def add(self, weights: Dict[str, np.ndarray], areas: np.ndarray) -> None:
        """Add one image's weight maps (any grid) and its :func:`segment_areas` (image size)."""
        h, w = areas.shape
        for name, wmap in weights.items():
            gh, gw = wmap.shape
            ys = np.minimum(((np.arange(gh) + 0.5) * h / gh).astype(int), h - 1)
            xs = np.minimum(((np.arange(gw) + 0.5) * w / gw).astype(int), w - 1)
            cell_area = areas[np.ix_(ys, xs)]
            acc = self._acc.setdefault(name, {'std': [], 'mean': [], 'area': _Correlation(),
                                              'row': _Correlation()})
            acc['std'].append(float(wmap.std()))
            acc['mean'].append(float(wmap.mean()))
            valid = ~np.isnan(cell_area)
            acc['area'].add(wmap[valid], np.log10(cell_area[valid]))
            acc['row'].add(wmap, np.broadcast_to(((ys + 0.5) / h)[:, None], wmap.shape))

    def result(self) -> Dict[str, Dict]:
        """Fusion point -> {images, mean, mean_spatial_std, corr_log_area, corr_row}."""
        def num(v: float) -> Optional[float]:
            return None if math.isnan(v) else v
        return {name: {'images': len(a['std']), 'mean': float(np.mean(a['mean'])),
                       'mean_spatial_std': float(np.mean(a['std'])),
                       'corr_log_area': num(a['area'].value()),
                       'corr_row': num(a['row'].value())}
                for name, a in self._acc.items()}
