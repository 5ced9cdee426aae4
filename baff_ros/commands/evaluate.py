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
"""``baff-ros eval``: Cityscapes metrics (mIoU, iIoU, categories) of predictions or a model."""

import argparse
import json
import math
from pathlib import Path
from typing import Optional

from baff_ros.commands.common import (add_backend_args, add_model_args, note,
                                      segmenter_from_args)

HELP = ('evaluate <stem>_labels.png predictions (--pred) or a model on a Cityscapes-layout split; '
        'same numbers as cityscapesscripts')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument('--root', required=True, metavar='ROOT',
                        help='dataset root with leftImg8bit/ and gtFine/')
    parser.add_argument('--split', default='val', help='split to evaluate (default: val)')
    parser.add_argument('--pred', metavar='DIR',
                        help='directory of <image stem>_labels.png train-ID PNGs (as written by '
                             '"baff-ros segment"); without it the model is run')
    parser.add_argument('--json', required=True, metavar='FILE', help='write the results here')
    parser.add_argument('--plots', metavar='DIR',
                        help='write confusion_matrix.png and class_iou.png here')
    add_model_args(parser)
    add_backend_args(parser)


def evaluate_model(args: argparse.Namespace):
    """Run the segmenter over the split and evaluate its labels at the image size.

    A BAFF model's weight maps are collected too (:class:`baff_ros.evaluate.WeightMapStats`).
    """
    from baff_ros.progress import progress_bar

    from baff_ros.data.cityscapes import list_samples, read_rgb, read_train_ids
    from baff_ros.evaluate import Evaluator, read_instances, segment_areas, WeightMapStats

    samples = list_samples(args.root, args.split)
    seg = segmenter_from_args(args, output_size='input', with_weights=True)
    ev = Evaluator()
    wstats = WeightMapStats()
    try:
        for s in progress_bar(samples, unit='img', disable=len(samples) < 8):
            gt = read_train_ids(s)
            instances = read_instances(s)
            areas = segment_areas(gt, instances)
            out = seg(read_rgb(s.image))
            ev.add(out.labels, gt, instances, areas)
            wstats.add(out.weights, areas)
    finally:
        seg.close()
    result = ev.result()
    result.weight_maps = wstats.result()
    return result


def run(args: argparse.Namespace) -> int:
    """Evaluate and write JSON (and plots)."""
    from baff_ros.evaluate import evaluate_predictions, plot_results, write_json

    if args.pred is not None and (args.model or args.config):
        raise ValueError('give either --pred or --model/--config, not both')
    if args.pred is not None:
        result = evaluate_predictions(args.root, args.pred, args.split)
        source = {'predictions': str(args.pred)}
    else:
        result = evaluate_model(args)
        source = {'model': args.model or args.config or 'default'}
    path = write_json(result, args.json, extra={'root': str(args.root), 'split': args.split,
                                                **source})
    if args.plots:
        for p in plot_results(result, args.plots):
            note(f'wrote {p}')

    def fmt(v: Optional[float]) -> str:
        return 'n/a' if v is None or math.isnan(v) else f'{v:.4f}'
    for name, v in result.class_iou.items():
        iiou = result.class_iiou.get(name)
        note(f'  {name:>14s}  IoU {fmt(v)}' + (f'  iIoU {fmt(iiou)}' if iiou is not None else ''))
    summary = {'miou': result.miou, 'iiou': result.iiou,
               **{f'miou_{b}': v['miou'] for b, v in result.size_scores().items()},
               'category_iou': result.mean_category_iou,
               'category_iiou': result.mean_category_iiou, 'images': result.num_images}
    for bucket, scores in result.size_scores().items():
        note(f'  {bucket:>6s} segments: mIoU {fmt(scores["miou"])} over {scores["pixels"]} '
             'pixels')
    for name, stats in sorted(result.weight_maps.items(), key=lambda kv: -int(kv[0])):
        note(f'  BAFF w 1/{name}: mean {stats["mean"]:.3f}, mean spatial std '
             f'{stats["mean_spatial_std"]:.3f}, corr with log area '
             f'{fmt(stats["corr_log_area"])}, with row {fmt(stats["corr_row"])}')
    note(f'{result.num_images} images: mIoU {fmt(result.miou)}, iIoU {fmt(result.iiou)}, '
         f'category IoU {fmt(result.mean_category_iou)}, '
         f'category iIoU {fmt(result.mean_category_iiou)} -> {Path(path)}')
    print(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v)
                      for k, v in summary.items()}))
    return 0
