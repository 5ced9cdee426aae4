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
"""Evaluating predictions on disk, and the report: JSON and plots."""

import json
import math
import os
from pathlib import Path
from typing import Dict, Optional, Tuple, TYPE_CHECKING

import numpy as np

from baff_ros.atomic import replacing, write_text
from baff_ros.data.labels import NUM_CLASSES, TRAIN_CLASSES
from baff_ros.evaluate.metrics import EvalResult, Evaluator
from baff_ros.plotting import pyplot
from baff_ros.progress import progress_bar

if TYPE_CHECKING:
    from baff_ros.data.cityscapes import Sample


def find_prediction(pred_dir: Path, stem: str, index: Optional[Dict[str, Path]] = None
                    ) -> Optional[Path]:
    """``<pred_dir>/<stem>_labels.png``, or the same name anywhere below ``pred_dir``."""
    direct = pred_dir / f'{stem}_labels.png'
    if direct.is_file():
        return direct
    if index is not None:
        return index.get(f'{stem}_labels.png')
    return None


def evaluate_predictions(root: os.PathLike, pred_dir: os.PathLike, split: str = 'val',
                         progress: bool = True) -> EvalResult:
    """Evaluate a directory of ``<image stem>_labels.png`` train-ID PNGs against a split."""
    import cv2

    from baff_ros.data.cityscapes import list_samples, read_train_ids

    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise ValueError(f'{pred_dir}: no such prediction directory')
    samples = list_samples(root, split)
    index = {p.name: p for p in pred_dir.rglob('*_labels.png')}
    missing = [s.stem for s in samples if find_prediction(pred_dir, s.stem, index) is None]
    if missing:
        raise ValueError(f'{len(missing)} of {len(samples)} predictions missing in {pred_dir}, '
                         f'e.g. {missing[0]}_labels.png')
    ev = Evaluator()
    for s in progress_bar(samples, unit='img', disable=not progress or len(samples) < 8):
        path = find_prediction(pred_dir, s.stem, index)
        pred = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if pred is None or pred.ndim != 2:
            raise ValueError(f'{path}: not a single-channel label PNG')
        ev.add(pred, read_train_ids(s), read_instances(s))
    return ev.result()


def read_instances(sample: 'Sample') -> Optional[np.ndarray]:
    """Read the instance-ID map of a sample; None if it has none."""
    import cv2

    if not sample.instance_ids.is_file():
        return None
    inst = cv2.imread(str(sample.instance_ids), cv2.IMREAD_UNCHANGED)
    if inst is None or inst.ndim != 2:
        raise ValueError(f'{sample.instance_ids}: not a single-channel instance PNG')
    return inst.astype(np.int64)


def write_json(result: EvalResult, path: os.PathLike, extra: Optional[Dict] = None) -> Path:
    """Write the result (and ``extra`` fields) as JSON."""
    data = result.to_dict()
    data.update(extra or {})
    return write_text(path, json.dumps(data, indent=2, sort_keys=True) + '\n')


def plot_results(result: EvalResult, out_dir: os.PathLike) -> Tuple[Path, Path]:
    """Confusion-matrix heat map (row-normalised) and per-class IoU bar chart, as PNGs."""
    plt = pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cm = result.confusion.astype(np.float64)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    names = list(result.class_iou)
    fig, ax = plt.subplots(figsize=(10, 9))
    im = ax.imshow(norm, vmin=0, vmax=1, cmap='viridis')
    ax.set_xticks(range(len(names) + 1))
    ax.set_xticklabels(names + ['other'], rotation=90)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.set_xlabel('prediction')
    ax.set_ylabel('ground truth')
    ax.set_title('confusion matrix (row-normalised)')
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    cm_path = out_dir / 'confusion_matrix.png'
    with replacing(cm_path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(10, 4))
    vals = [0.0 if math.isnan(v) else v for v in result.class_iou.values()]
    colors = [np.asarray(c.color) / 255.0 for c in TRAIN_CLASSES] if len(vals) == NUM_CLASSES \
        else None
    ax.bar(range(len(vals)), vals, color=colors, edgecolor='black')
    ax.set_xticks(range(len(vals)))
    ax.set_xticklabels(names, rotation=60, ha='right')
    ax.set_ylim(0, 1)
    ax.set_ylabel('IoU')
    ax.set_title(f'per-class IoU, mIoU {result.miou:.3f}')
    fig.tight_layout()
    bar_path = out_dir / 'class_iou.png'
    with replacing(bar_path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return cm_path, bar_path
