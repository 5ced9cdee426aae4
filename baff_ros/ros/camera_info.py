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
"""sensor_msgs/CameraInfo scaled to a resized image, as image_proc's resize node does."""

from typing import Any, Optional, Tuple

from baff_ros.ros.messages import MessageTypes, or_plain
from baff_ros.ros.raw_image import check_size, ImageCodecError


def scale_camera_info(info: Any, image_hw: Optional[Tuple[int, int]], out_hw: Tuple[int, int],
                      header: Any = None, types: Optional[MessageTypes] = None) -> Any:
    """Scale a CameraInfo to an image resized to ``out_hw``, as image_proc's resize node does.

    The intrinsics are first brought to the input image's pixel grid (ROI offset subtracted,
    binning divided out), then scaled to the output; the result describes the full output image,
    so ROI and binning are reset.

    Args:
        info: the camera's CameraInfo.
        image_hw: (height, width) of the image the info belongs to; None: from the info itself.
        out_hw: (height, width) of the output image.
        header: header for the result; default: a copy of ``info.header``.
        types: the middleware's message table (default: the ROS-free one).
    """
    types = or_plain(types)
    bx, by = int(info.binning_x) or 1, int(info.binning_y) or 1
    roi = info.roi
    use_roi = int(roi.width) > 0 and int(roi.height) > 0
    ox, oy = (float(roi.x_offset), float(roi.y_offset)) if use_roi else (0.0, 0.0)
    if image_hw is None:
        if use_roi:
            full = (int(roi.height), int(roi.width))
        else:
            full = (int(info.height), int(info.width))
        image_hw = (full[0] // by, full[1] // bx)
    check_size(*image_hw, 'CameraInfo image')
    check_size(*out_hw, 'CameraInfo output')
    sx = out_hw[1] / image_hw[1] / bx
    sy = out_hw[0] / image_hw[0] / by
    k = [float(v) for v in info.k]
    p = [float(v) for v in info.p]
    if len(k) != 9 or len(p) != 12:
        raise ImageCodecError(f'CameraInfo: k has {len(k)} values (9 expected), p {len(p)} (12)')
    # u' = (u - ox) * sx for every pixel coordinate: focal terms scale, principal point shifts.
    k[0] *= sx
    k[1] *= sx
    k[2] = (k[2] - ox) * sx
    k[4] *= sy
    k[5] = (k[5] - oy) * sy
    p[0] *= sx
    p[1] *= sx
    p[2] = (p[2] - ox) * sx
    p[3] *= sx  # Tx = -fx' * baseline scales with fx
    p[5] *= sy
    p[6] = (p[6] - oy) * sy
    p[7] *= sy
    return types.CameraInfo(
        header=header if header is not None else types.header(info.header),
        height=int(out_hw[0]), width=int(out_hw[1]),
        distortion_model=str(info.distortion_model), d=[float(v) for v in info.d], k=k,
        r=[float(v) for v in info.r], p=p, binning_x=0, binning_y=0,
        roi=types.RegionOfInterest(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))
