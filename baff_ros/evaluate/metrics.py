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
"""Cityscapes pixel-level scores: confusion matrix, IoU, iIoU, category scores.

The definitions are those of ``cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling``
(tested for equality against it), computed in train-ID space with ``np.bincount``:

* The confusion matrix has one row per evaluated class (ground truth; pixels whose ground truth is
  ignored are dropped, because they never count in any score) and one extra column for
  predictions that are not an evaluated class (e.g. 255).
* IoU_c = TP / (TP + FP + FN); FN includes pixels predicted as "not a class"; FP counts only
  pixels whose ground truth is an evaluated class. mIoU averages the classes that are not NaN.
* iIoU_c re-weights TP and FN of each ground-truth instance by ``avg_size_c / instance_size``
  (the per-class average sizes of the official script), FP as for IoU.

The :class:`Evaluator` also keeps one confusion matrix per object-size bucket
(:mod:`baff_ros.evaluate.sizes`).
"""

from dataclasses import dataclass, field
import math
from typing import Dict, Iterable, List, Optional

import numpy as np

from baff_ros.data.labels import (category2labels, CLASS_NAMES, id2label, IGNORE_ID,
                                  labels as CS_LABELS, NUM_CLASSES, TRAIN_CLASSES)
from baff_ros.evaluate.sizes import (LARGE_MIN_AREA, segment_areas, SIZE_BUCKETS,
                                     size_bucket_map, SMALL_MAX_AREA)

#: Average instance size per class in pixels, from the official evaluation script (used as is).
AVG_CLASS_SIZE: Dict[str, float] = {
    'bicycle': 4672.3249222261, 'caravan': 36771.8241758242, 'motorcycle': 6298.7200839748,
    'rider': 3930.4788056518, 'bus': 35732.1511111111, 'train': 67583.7075812274,
    'car': 12794.0202738185, 'person': 3462.4756337644, 'truck': 27855.1264367816,
    'trailer': 16926.9763313609,
}


def _categories() -> Dict[str, List[int]]:
    """Category -> train IDs of its evaluated classes (void has none: NaN scores)."""
    return {cat: [lab.trainId for lab in labs if not lab.ignoreInEval and 0 <= lab.id]
            for cat, labs in category2labels.items()}


def _instance_categories() -> Dict[str, List[int]]:
    """Categories whose labels all have instances (human, vehicle), as the official script."""
    out = {}
    for cat, labs in category2labels.items():
        labs = [lab for lab in labs if lab.id >= 0]
        if all(lab.hasInstances for lab in labs):
            out[cat] = [lab.trainId for lab in labs if 0 <= lab.trainId < IGNORE_ID]
    return out


INSTANCE_CLASSES = tuple(c.trainId for c in TRAIN_CLASSES if c.hasInstances)


def confusion_matrix(pred: np.ndarray, gt: np.ndarray, num_classes: int = NUM_CLASSES
                     ) -> np.ndarray:
    """(C, C + 1) int64 confusion matrix of train-ID maps (rows ground truth, columns prediction).

    Ground-truth pixels outside ``[0, C)`` are dropped; predictions outside it land in column C.
    """
    pred = np.asarray(pred).ravel()
    gt = np.asarray(gt).ravel()
    if pred.shape != gt.shape:
        raise ValueError(f'prediction has {pred.size} pixels, ground truth {gt.size}')
    valid = gt < num_classes
    p = pred[valid].astype(np.int64)
    p[(p < 0) | (p >= num_classes)] = num_classes
    idx = gt[valid].astype(np.int64) * (num_classes + 1) + p
    return np.bincount(idx, minlength=num_classes * (num_classes + 1)).reshape(
        num_classes, num_classes + 1)


def iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class IoU (NaN where a class is neither present nor predicted)."""
    c = cm.shape[0]
    tp = np.diag(cm[:, :c]).astype(np.float64)
    denom = cm.sum(1) + cm[:, :c].sum(0) - tp
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(denom > 0, tp / np.maximum(denom, 1), np.nan)


def nanmean_ordered(values: Iterable[float]) -> float:
    """Mean of the non-NaN values, summed in order (as the official script: bit-exact)."""
    total, n = 0.0, 0
    for v in values:
        if not math.isnan(v):
            total += float(v)
            n += 1
    return total / n if n else float('nan')


@dataclass
class EvalResult:
    """Scores of one evaluation.

    Attributes:
        class_iou: class name -> IoU (NaN when undefined).
        class_iiou: instance class name -> iIoU.
        category_iou: category -> IoU.
        category_iiou: instance category -> iIoU.
        miou: mean class IoU; iiou: mean class iIoU; category means likewise.
        confusion: (C, C + 1) confusion matrix.
        num_images: images evaluated.
    """

    class_iou: Dict[str, float]
    class_iiou: Dict[str, float]
    category_iou: Dict[str, float]
    category_iiou: Dict[str, float]
    miou: float
    iiou: float
    mean_category_iou: float
    mean_category_iiou: float
    confusion: np.ndarray
    num_images: int
    #: (3, C, C + 1) confusion matrices of the small, medium and large segments' pixels.
    size_confusion: Optional[np.ndarray] = None
    #: :meth:`WeightMapStats.result` when the model's BAFF weight maps were collected.
    weight_maps: Dict[str, Dict] = field(default_factory=dict)

    def size_scores(self) -> Dict[str, Dict]:
        """Bucket -> {'miou', 'class_iou' (NaN: class absent in that bucket), 'pixels'}."""
        if self.size_confusion is None:
            return {}
        names = list(self.class_iou)
        out = {}
        for b, bucket in enumerate(SIZE_BUCKETS):
            cm = self.size_confusion[b]
            # Only classes with ground truth in the bucket count: a class predicted there but
            # absent has no size of its own to be scored at.
            present = cm.sum(1) > 0
            iou = np.where(present, iou_from_confusion(cm), np.nan)
            out[bucket] = {'miou': nanmean_ordered(iou),
                           'class_iou': {n: float(v) for n, v in zip(names, iou)},
                           'pixels': int(cm.sum())}
        return out

    def to_dict(self) -> Dict:
        """JSON-ready dict (NaN -> None)."""
        def clean(d):
            return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in d.items()}
        out = clean({'miou': self.miou, 'iiou': self.iiou,
                     'mean_category_iou': self.mean_category_iou,
                     'mean_category_iiou': self.mean_category_iiou})
        out.update(class_iou=clean(self.class_iou), class_iiou=clean(self.class_iiou),
                   category_iou=clean(self.category_iou),
                   category_iiou=clean(self.category_iiou), num_images=self.num_images,
                   pixel_accuracy=self.pixel_accuracy, class_names=list(CLASS_NAMES),
                   confusion_matrix=self.confusion.tolist())
        sizes = self.size_scores()
        if sizes:
            out['size_buckets'] = {
                'thresholds': {'small_max_area': SMALL_MAX_AREA,
                               'large_min_area': LARGE_MIN_AREA,
                               'unit': 'segment area / image area'},
                **{b: {'miou': clean({'m': v['miou']})['m'], 'pixels': v['pixels'],
                       'class_iou': clean(v['class_iou'])} for b, v in sizes.items()}}
        if self.weight_maps:
            out['weight_maps'] = self.weight_maps
        return out

    @property
    def pixel_accuracy(self) -> float:
        """Correct pixels / evaluated pixels."""
        total = int(self.confusion.sum())
        return float(np.trace(self.confusion[:, :-1])) / total if total else float('nan')


class Evaluator:
    """Accumulate images, then :meth:`result`.

    Args:
        num_classes: evaluated classes (Cityscapes' 19 for instance scores).
        avg_class_size: instance-size normaliser per class name (default: the official one).
    """

    def __init__(self, num_classes: int = NUM_CLASSES,
                 avg_class_size: Optional[Dict[str, float]] = None) -> None:
        self.num_classes = num_classes
        self.avg_class_size = dict(avg_class_size or AVG_CLASS_SIZE)
        self.confusion = np.zeros((num_classes, num_classes + 1), np.int64)
        self.size_confusion = np.zeros((len(SIZE_BUCKETS), num_classes, num_classes + 1),
                                       np.int64)
        self.num_images = 0
        names = CLASS_NAMES if num_classes == NUM_CLASSES else ()
        self._inst = {names[t]: [0.0, 0.0] for t in INSTANCE_CLASSES if names}
        self._cats = _instance_categories() if names else {}
        self._cat_inst = {c: [0.0, 0.0] for c in self._cats}
        self._has_instances = False
        # label ID -> train ID (255 when not evaluated), for instance IDs id*1000+k
        self._id2train = np.full(1024, IGNORE_ID, np.int64)
        for lab in CS_LABELS:
            if 0 <= lab.id and not lab.ignoreInEval:
                self._id2train[lab.id] = lab.trainId

    def add_confusion(self, cm: np.ndarray) -> None:
        """Add a precomputed confusion matrix (the fast path used during training)."""
        self.confusion += np.asarray(cm, np.int64)

    def add(self, pred: np.ndarray, gt: np.ndarray, instances: Optional[np.ndarray] = None,
            areas: Optional[np.ndarray] = None) -> None:
        """Add one image.

        Args:
            pred: (H, W) predicted train IDs (anything outside 0..C-1 counts as "no class").
            gt: (H, W) ground-truth train IDs (255 ignored).
            instances: optional (H, W) Cityscapes instance IDs (``id * 1000 + k``) for iIoU
                and the size buckets.
            areas: ``segment_areas(gt, instances)`` if the caller has it already.
        """
        if pred.shape != gt.shape:
            raise ValueError(f'prediction is {pred.shape[1]}x{pred.shape[0]}, ground truth '
                             f'{gt.shape[1]}x{gt.shape[0]}')
        self.confusion += confusion_matrix(pred, gt, self.num_classes)
        self.num_images += 1
        if areas is None:
            areas = segment_areas(gt, instances, self.num_classes)
        buckets = size_bucket_map(areas)
        for b in range(len(SIZE_BUCKETS)):
            sel = buckets == b
            self.size_confusion[b] += confusion_matrix(pred[sel], gt[sel], self.num_classes)
        if instances is None or not self._inst:
            return
        if instances.shape != gt.shape:
            raise ValueError('instance map and ground truth differ in size')
        self._has_instances = True
        mask = instances > 1000
        ids = instances[mask].astype(np.int64)
        if not ids.size:
            return
        p = pred[mask].astype(np.int64)
        uniq, inv, sizes = np.unique(ids, return_inverse=True, return_counts=True)
        train = self._id2train[uniq // 1000]
        hit = np.bincount(inv, weights=(p == train[inv]), minlength=len(uniq))
        cat_hits = {}
        for cat, tids in self._cats.items():
            cat_hits[cat] = np.bincount(inv, weights=np.isin(p, tids), minlength=len(uniq))
        # Per instance, in ascending ID order, as the official script accumulates (bit-exact).
        for j, inst_id in enumerate(uniq):
            lab = id2label[int(inst_id) // 1000]
            if lab.ignoreInEval or lab.name not in self._inst:
                continue
            size = int(sizes[j])
            tp = int(hit[j])
            weight = self.avg_class_size[lab.name] / float(size)
            acc = self._inst[lab.name]
            acc[0] += float(tp) * weight
            acc[1] += float(size - tp) * weight
            if lab.category in self._cat_inst:
                ctp = int(cat_hits[lab.category][j])
                cacc = self._cat_inst[lab.category]
                cacc[0] += float(ctp) * weight
                cacc[1] += float(size - ctp) * weight

    def result(self) -> EvalResult:
        """Scores so far."""
        cm = self.confusion
        c = self.num_classes
        names = CLASS_NAMES if c == NUM_CLASSES else tuple(f'class_{i}' for i in range(c))
        iou = iou_from_confusion(cm)
        class_iou = {n: float(v) for n, v in zip(names, iou)}
        fp = cm[:, :c].sum(0) - np.diag(cm[:, :c])
        class_iiou = {}
        for name, (tpw, fnw) in self._inst.items():
            if not self._has_instances:
                class_iiou[name] = float('nan')
                continue
            t = names.index(name)
            denom = tpw + int(fp[t]) + fnw
            class_iiou[name] = float(tpw) / denom if denom != 0 else float('nan')
        cat_iou, cat_iiou = {}, {}
        if c == NUM_CLASSES:
            all_ids = np.arange(c)
            for cat, tids in _categories().items():
                if not tids:
                    cat_iou[cat] = float('nan')
                    continue
                idx = np.asarray(tids)
                others = np.setdiff1d(all_ids, idx)
                tp = int(cm[np.ix_(idx, idx)].sum())
                fn = int(cm[idx].sum()) - tp
                fpc = int(cm[np.ix_(others, idx)].sum())
                denom = tp + fpc + fn
                cat_iou[cat] = float(tp) / denom if denom else float('nan')
            for cat, (tpw, fnw) in self._cat_inst.items():
                idx = np.asarray(self._cats[cat])
                others = np.setdiff1d(all_ids, idx)
                fpc = int(cm[np.ix_(others, idx)].sum())
                denom = tpw + fpc + fnw
                cat_iiou[cat] = (float(tpw) / denom if denom != 0 and self._has_instances
                                 else float('nan'))
        return EvalResult(class_iou, class_iiou, cat_iou, cat_iiou,
                          miou=nanmean_ordered(class_iou.values()),
                          iiou=nanmean_ordered(class_iiou.values()),
                          mean_category_iou=nanmean_ordered(cat_iou.values()),
                          mean_category_iiou=nanmean_ordered(cat_iiou.values()),
                          confusion=cm.copy(), num_images=self.num_images,
                          size_confusion=(self.size_confusion.copy() if self.num_images
                                          and self.size_confusion.any() else None))
