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
"""The training report: metrics.csv, metrics.json and metrics.png in the output directory."""

import csv
import io
import json
from pathlib import Path
from typing import Any, Dict, List

from baff_ros.atomic import replacing, write_text
from baff_ros.plotting import pyplot


def write_metrics(out: Path, history: List[Dict[str, Any]]) -> None:
    """metrics.csv, metrics.json and metrics.png (loss and val mIoU per epoch)."""
    if not history:
        return
    keys = list(history[0])
    table = io.StringIO(newline='')
    w = csv.DictWriter(table, fieldnames=keys, extrasaction='ignore')
    w.writeheader()
    w.writerows(history)
    write_text(out / 'metrics.csv', table.getvalue())
    write_text(out / 'metrics.json', json.dumps(history, indent=2) + '\n')
    try:
        plt = pyplot()
    except ImportError:  # plots are optional (extra 'plot')
        return
    ep = [h['epoch'] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(ep, [h['train_loss'] for h in history], 'o-', color='tab:blue', label='train loss')
    ax.set_xlabel('epoch')
    ax.set_ylabel('train loss', color='tab:blue')
    ax2 = ax.twinx()
    ax2.plot(ep, [h['val_miou'] for h in history], 's-', color='tab:red', label='val mIoU')
    ax2.set_ylabel('val mIoU', color='tab:red')
    ax2.set_ylim(0, 1)
    warm = [h['epoch'] for h in history if h['phase'] == 1]
    if warm:
        ax.axvspan(min(ep) - 0.5, max(warm) + 0.5, color='0.9', label='phase 1')
    ax.set_title('training')
    fig.tight_layout()
    with replacing(out / 'metrics.png') as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
