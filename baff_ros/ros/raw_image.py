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
"""sensor_msgs/Image <-> numpy, without cv_bridge or ROS.

Decoding returns zero-copy views of the message buffer where the layout allows it
(``np.frombuffer`` + strides honour ``step`` padding); a copy happens only where a conversion
is unavoidable (YUV, Bayer, alpha, 16 bit, byte swapping). Every malformed message raises
:class:`ImageCodecError` (a ``ValueError``) naming the problem, so callers catch one type.
"""

import sys
from typing import Any, Dict, Optional, Tuple

import cv2
import numpy as np

from baff_ros.ros.messages import MessageTypes, or_plain

#: Largest accepted side; a corrupt header would otherwise make us allocate gigabytes.
MAX_SIDE = 16384

#: encoding -> (channels, numpy dtype) for images stored as plain H x W x C arrays.
PLAIN_ENCODINGS: Dict[str, Tuple[int, str]] = {
    'rgb8': (3, 'u1'), 'bgr8': (3, 'u1'), 'rgba8': (4, 'u1'), 'bgra8': (4, 'u1'),
    'rgb16': (3, 'u2'), 'bgr16': (3, 'u2'), 'rgba16': (4, 'u2'), 'bgra16': (4, 'u2'),
    'mono8': (1, 'u1'), 'mono16': (1, 'u2'),
    '8UC1': (1, 'u1'), '8UC3': (3, 'u1'), '8UC4': (4, 'u1'),
    '16UC1': (1, 'u2'), '32FC1': (1, 'f4'),
    'bayer_rggb8': (1, 'u1'), 'bayer_bggr8': (1, 'u1'),
    'bayer_gbrg8': (1, 'u1'), 'bayer_grbg8': (1, 'u1'),
    'bayer_rggb16': (1, 'u2'), 'bayer_bggr16': (1, 'u2'),
    'bayer_gbrg16': (1, 'u2'), 'bayer_grbg16': (1, 'u2'),
}
#: Packed 4:2:2 YUV, 2 bytes per pixel: encoding -> OpenCV conversion to RGB.
YUV422_ENCODINGS = {
    'yuv422': cv2.COLOR_YUV2RGB_UYVY, 'uyvy': cv2.COLOR_YUV2RGB_UYVY,
    'yuv422_yuy2': cv2.COLOR_YUV2RGB_YUY2, 'yuyv': cv2.COLOR_YUV2RGB_YUY2,
}
#: Semi-planar 4:2:0 YUV: a full-size Y plane then a half-height interleaved chroma plane.
NV_ENCODINGS = {'nv12': cv2.COLOR_YUV2RGB_NV12, 'nv21': cv2.COLOR_YUV2RGB_NV21}
# OpenCV names Bayer patterns after the second row's 2nd/3rd pixels, ROS after the first row's
# 1st/2nd (the mapping cv_bridge uses), hence the apparent mismatch.
_BAYER_TO_BGR = {
    'rggb': cv2.COLOR_BayerBG2BGR, 'bggr': cv2.COLOR_BayerRG2BGR,
    'gbrg': cv2.COLOR_BayerGR2BGR, 'grbg': cv2.COLOR_BayerGB2BGR,
}
#: Encodings the node can segment (input side).
INPUT_ENCODINGS = tuple(e for e in PLAIN_ENCODINGS if e != '32FC1') + tuple(
    YUV422_ENCODINGS) + tuple(NV_ENCODINGS)
#: Encodings :func:`array_to_image` writes.
OUTPUT_ENCODINGS = ('rgb8', 'bgr8', 'mono8', 'mono16', '8UC1', '8UC3', '16UC1', '32FC1')

_HOST_BIG = sys.byteorder == 'big'


class ImageCodecError(ValueError):
    """A message that cannot be decoded or encoded (bad size, step, data, encoding)."""


def describe_image(msg: Any) -> str:
    """Name an Image message in error messages: ``Image 640x480 'rgb8'``."""
    return f'Image {getattr(msg, "width", "?")}x{getattr(msg, "height", "?")} ' \
           f'{getattr(msg, "encoding", "?")!r}'


def check_size(height: int, width: int, what: str = 'image') -> None:
    """Reject zero, negative and absurd sizes (corrupt headers) before touching any data."""
    if height <= 0 or width <= 0:
        raise ImageCodecError(f'{what}: empty size {width}x{height}')
    if height > MAX_SIDE or width > MAX_SIDE:
        raise ImageCodecError(f'{what}: size {width}x{height} exceeds {MAX_SIDE} per side')


def as_uint8_buffer(data: Any) -> np.ndarray:
    """Return a 1-D uint8 view of ``data`` (bytes, bytearray, array.array, numpy, list)."""
    if isinstance(data, np.ndarray):
        return data.reshape(-1).view(np.uint8) if data.dtype.itemsize == 1 else \
            np.frombuffer(data.tobytes(), np.uint8)
    try:
        return np.frombuffer(data, np.uint8)
    except (TypeError, ValueError, BufferError):
        # Python lists (some bag readers, sequence[uint8] IDL types): one copy is unavoidable.
        return np.asarray(data, np.uint8)


def _rows(msg: Any, row_bytes: int, rows: int) -> np.ndarray:
    """(rows, row_bytes) uint8 view of the data, honouring ``step`` padding."""
    step = int(msg.step)
    if step < row_bytes:
        raise ImageCodecError(f'{describe_image(msg)}: step {step} < {row_bytes} bytes per row')
    buf = as_uint8_buffer(msg.data)
    if buf.size < step * rows:
        raise ImageCodecError(f'{describe_image(msg)}: data has {buf.size} bytes, expected '
                              f'step*rows = {step}*{rows} = {step * rows}')
    return buf[:step * rows].reshape(rows, step)[:, :row_bytes]


def image_to_array(msg: Any) -> np.ndarray:
    """Decode an Image to its natural array, a view of ``msg.data`` where possible.

    Plain encodings give (H, W) or (H, W, C) of their dtype in host byte order; packed 4:2:2 YUV
    gives (H, W, 2) uint8; NV12/NV21 give (H * 3 / 2, W) uint8 (Y plane then chroma plane).

    Raises:
        ImageCodecError: unknown encoding or malformed message.
    """
    h, w, enc = int(msg.height), int(msg.width), str(msg.encoding)
    check_size(h, w, describe_image(msg))
    if enc in PLAIN_ENCODINGS:
        channels, kind = PLAIN_ENCODINGS[enc]
        dtype = np.dtype(kind)
        rows = _rows(msg, w * channels * dtype.itemsize, h)
        if dtype.itemsize > 1:
            big = bool(msg.is_bigendian)
            # A C-contiguous copy is needed only when rows are padded; the view otherwise.
            rows = np.ascontiguousarray(rows).view(dtype.newbyteorder('>' if big else '<'))
            if big != _HOST_BIG:
                rows = rows.astype(dtype)  # byte swap into host order (one copy)
        return rows.reshape((h, w, channels) if channels > 1 else (h, w))
    if enc in YUV422_ENCODINGS:
        if w % 2:
            raise ImageCodecError(f'{describe_image(msg)}: 4:2:2 YUV needs an even width')
        return _rows(msg, w * 2, h).reshape(h, w, 2)
    if enc in NV_ENCODINGS:
        if w % 2 or h % 2:
            raise ImageCodecError(f'{describe_image(msg)}: {enc} needs an even width and height')
        return _rows(msg, w, h * 3 // 2)
    raise ImageCodecError(f'{describe_image(msg)}: unsupported encoding {enc!r}; supported: '
                          f'{", ".join(INPUT_ENCODINGS)}')


def _to8(array: np.ndarray) -> np.ndarray:
    """16 -> 8 bit as cv_bridge converts (``round(v * 255 / 65535)``); 8 bit as it is.

    Scaling rather than ``v >> 8`` keeps the results equal to cv_bridge's ``imgmsg_to_cv2(msg,
    'rgb8')`` (OpenCV ``convertTo`` with alpha 255/65535), which ROS users compare against.
    ``v * 255 / 65535`` never lands on .5, so every rounding of it agrees.
    """
    if array.dtype != np.uint16:
        return array
    return cv2.convertScaleAbs(array, alpha=255.0 / 65535.0)


def image_to_rgb(msg: Any, allow_bgr: bool = True) -> Tuple[np.ndarray, str]:
    """Decode any supported Image to an HxWx3 uint8 colour array.

    Args:
        msg: a sensor_msgs/Image (any middleware).
        allow_bgr: return BGR data as-is (a view) with ``'bgr'`` instead of copying to RGB;
            the Segmenter takes either order.

    Returns:
        (array, color_order) with color_order ``'rgb'`` or ``'bgr'``.
    """
    enc = str(msg.encoding)
    array = image_to_array(msg)
    if enc in YUV422_ENCODINGS:
        return cv2.cvtColor(array, YUV422_ENCODINGS[enc]), 'rgb'
    if enc in NV_ENCODINGS:
        return cv2.cvtColor(array, NV_ENCODINGS[enc]), 'rgb'
    if enc == '32FC1':
        raise ImageCodecError(f'{describe_image(msg)}: a float image cannot be segmented')
    if enc.startswith('bayer_'):
        # Demosaic at the source depth, then scale: the order cv_bridge uses (interpolating
        # 8-bit values instead would round differently).
        out = cv2.cvtColor(np.ascontiguousarray(array), _BAYER_TO_BGR[enc[6:10]])
        return in_order(_to8(out), 'bgr', allow_bgr)
    array = _to8(array)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2RGB), 'rgb'
    if array.shape[2] == 4:
        # Drops alpha and keeps the channel order: one copy.
        array = np.ascontiguousarray(array[..., :3])
    # 8UC3/8UC4 carry no colour order; OpenCV (and cv_bridge) treat them as BGR.
    order = 'rgb' if enc.startswith('rgb') else 'bgr'
    return in_order(array, order, allow_bgr)


def in_order(array: np.ndarray, order: str, allow_bgr: bool) -> Tuple[np.ndarray, str]:
    """Return (array, order), converted to RGB where BGR is not allowed."""
    if order == 'bgr' and not allow_bgr:
        return np.ascontiguousarray(array[..., ::-1]), 'rgb'
    return array, order


def array_to_image(array: np.ndarray, encoding: str, header: Any,
                   types: Optional[MessageTypes] = None) -> Any:
    """Build an Image message from an array (one copy into the message's buffer).

    Args:
        array: (H, W) or (H, W, C) array whose dtype and channels fit ``encoding``.
        encoding: one of :data:`OUTPUT_ENCODINGS`.
        header: the header to put in (used as-is; build it with ``types.header``).
        types: the middleware's message table (default: the ROS-free one).
    """
    types = or_plain(types)
    if encoding not in OUTPUT_ENCODINGS:
        raise ImageCodecError(f'cannot encode {encoding!r}; supported: {OUTPUT_ENCODINGS}')
    channels, kind = PLAIN_ENCODINGS[encoding]
    dtype = np.dtype(kind)
    if channels == 1:
        shape_ok = array.ndim == 2
    else:
        shape_ok = array.ndim == 3 and array.shape[2] == channels
    if not shape_ok or array.dtype != dtype:
        raise ImageCodecError(f'{encoding} needs {channels} channel(s) of {dtype}, got shape '
                              f'{array.shape} dtype {array.dtype}')
    h, w = array.shape[:2]
    check_size(h, w, f'{encoding} output')
    return types.Image(header=header, height=h, width=w, encoding=encoding,
                       is_bigendian=int(_HOST_BIG), step=w * channels * dtype.itemsize,
                       data=types.data(np.ascontiguousarray(array).tobytes()))
