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
"""Overlay + BAFF weight-map montages, as video frames and still images."""

from pathlib import Path
from typing import Dict, Optional

import cv2
import numpy as np

from baff_ros.atomic import PendingFile


def montage(overlay_rgb: np.ndarray, weights: Dict[str, np.ndarray], scale: str = 'fixed'
            ) -> np.ndarray:
    """Stack the overlay, the weight maps side by side as heat maps, and a colour legend (RGB).

    Each tile is labelled with the map's observed range; the legend under the tiles gives the
    w of each colour: 0, 0.5 and 1 on the ``fixed`` scale (default), where the same colour is
    the same w in every frame. ``stretch`` spreads each map's own range over all colours (each
    tile then has its own scale, printed on it; the legend's ticks read min, mid, max).

    Args:
        overlay_rgb: (H, W, 3) overlay image.
        weights: fusion name -> (h, w) uint8 (w x 255) or float32 in [0, 1] map.
        scale: ``fixed`` or ``stretch`` (:data:`baff_ros.engine.visualize.WEIGHT_SCALES`).
    """
    from baff_ros.engine.visualize import (scale_weight, weight_heatmap, weight_legend,
                                           weight_range)

    scale_weight(np.zeros((1, 1), np.float32), scale)  # reject an unknown scale up front
    h, w = overlay_rgb.shape[:2]
    if not weights:
        return overlay_rgb
    n = len(weights)
    tile_w = w // n
    tile_h = max(1, h * tile_w // w)
    tiles = []
    for name, wmap in sorted(weights.items(), key=lambda kv: -int(kv[0])):
        lo, hi = weight_range(wmap)
        tile = weight_heatmap(wmap, (tile_h, tile_w), scale)
        cv2.putText(tile, f'w 1/{name}: {lo:.2f}-{hi:.2f}', (6, 16),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    row = np.concatenate(tiles, axis=1)
    if row.shape[1] < w:
        row = np.pad(row, ((0, 0), (0, w - row.shape[1]), (0, 0)))
    if scale == 'fixed':
        legend = weight_legend(w, caption='BAFF w, fixed scale')
    else:
        legend = weight_legend(w, ticks=('min', 'mid', 'max'),
                               caption='BAFF w, each map stretched')
    return np.concatenate([overlay_rgb, row, legend], axis=0)


class MontageVideo:
    """Writes montages to an MP4 (OpenCV's mp4v codec), opened on the first frame.

    The video is written to a temporary sibling and renamed onto ``path`` by :meth:`close`,
    so an existing file of that name is replaced only by a finished video.
    """

    def __init__(self, path, fps: float = 10.0) -> None:
        self.path = Path(path)
        self.fps = fps
        self._writer: Optional[cv2.VideoWriter] = None
        self._pending: Optional[PendingFile] = None
        self.frames = 0

    def add(self, frame_rgb: np.ndarray) -> None:
        """Append one RGB frame (all frames must share the first one's size)."""
        h, w = frame_rgb.shape[:2]
        if self._writer is None:
            self._pending = PendingFile(self.path)
            self._writer = cv2.VideoWriter(str(self._pending.tmp),
                                           cv2.VideoWriter.fourcc(*'mp4v'), self.fps, (w, h))
            if not self._writer.isOpened():
                self.close(keep=False)
                raise OSError(f'{self.path}: cannot open a video writer (mp4v)')
        self._writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self, keep: bool = True) -> None:
        """Finish the video and rename it into place (``keep=False``: discard it instead)."""
        if self._writer is None or self._pending is None:
            return
        self._writer.release()
        self._writer = None
        if keep:
            self._pending.commit()
        else:
            self._pending.discard()


def weight_arrays(arrays: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Pick the weight maps out of a frame's output arrays: ``'weights/stride8'`` -> ``'8'``."""
    from baff_ros.ros.outputs import fusion_of, WEIGHTS_PREFIX

    return {fusion_of(k): v for k, v in arrays.items() if k.startswith(WEIGHTS_PREFIX)}
