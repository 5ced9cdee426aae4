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
"""sensor_msgs Image / CompressedImage / CameraInfo <-> numpy, without cv_bridge or ROS.

Decoding returns zero-copy views of the message buffer where the layout allows it
(``np.frombuffer`` + strides honour ``step`` padding); a copy happens only where a conversion
is unavoidable (YUV, Bayer, alpha, 16 bit, byte swapping). Every malformed message raises
:class:`ImageCodecError` (a ``ValueError``) naming the problem, so callers catch one type.
"""

import os
import re
import sys
import tempfile
import threading
from typing import Any, Dict, List, Optional, Tuple

import cv2
import numpy as np

from baff_ros.ros.messages import MessageTypes, PLAIN

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


def _describe(msg: Any) -> str:
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
        raise ImageCodecError(f'{_describe(msg)}: step {step} < {row_bytes} bytes per row')
    buf = as_uint8_buffer(msg.data)
    if buf.size < step * rows:
        raise ImageCodecError(f'{_describe(msg)}: data has {buf.size} bytes, expected '
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
    check_size(h, w, _describe(msg))
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
            raise ImageCodecError(f'{_describe(msg)}: 4:2:2 YUV needs an even width')
        return _rows(msg, w * 2, h).reshape(h, w, 2)
    if enc in NV_ENCODINGS:
        if w % 2 or h % 2:
            raise ImageCodecError(f'{_describe(msg)}: {enc} needs an even width and height')
        return _rows(msg, w, h * 3 // 2)
    raise ImageCodecError(f'{_describe(msg)}: unsupported encoding {enc!r}; supported: '
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
        raise ImageCodecError(f'{_describe(msg)}: a float image cannot be segmented')
    if enc.startswith('bayer_'):
        # Demosaic at the source depth, then scale: the order cv_bridge uses (interpolating
        # 8-bit values instead would round differently).
        out = cv2.cvtColor(np.ascontiguousarray(array), _BAYER_TO_BGR[enc[6:10]])
        return _order(_to8(out), 'bgr', allow_bgr)
    array = _to8(array)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2RGB), 'rgb'
    if array.shape[2] == 4:
        # Drops alpha and keeps the channel order: one copy.
        array = np.ascontiguousarray(array[..., :3])
    # 8UC3/8UC4 carry no colour order; OpenCV (and cv_bridge) treat them as BGR.
    order = 'rgb' if enc.startswith('rgb') else 'bgr'
    return _order(array, order, allow_bgr)


def _order(array: np.ndarray, order: str, allow_bgr: bool) -> Tuple[np.ndarray, str]:
    if order == 'bgr' and not allow_bgr:
        return np.ascontiguousarray(array[..., ::-1]), 'rgb'
    return array, order


def array_to_image(array: np.ndarray, encoding: str, header: Any,
                   types: MessageTypes = PLAIN) -> Any:
    """Build an Image message from an array (one copy into the message's buffer).

    Args:
        array: (H, W) or (H, W, C) array whose dtype and channels fit ``encoding``.
        encoding: one of :data:`OUTPUT_ENCODINGS`.
        header: the header to put in (used as-is; build it with ``types.header``).
        types: the middleware's message table.
    """
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


def compressed_to_rgb(msg: Any, allow_bgr: bool = True) -> Tuple[np.ndarray, str]:
    """Decode a CompressedImage (jpeg, png, anything OpenCV reads) to HxWx3 uint8.

    ``format`` is image_transport's, e.g. ``'jpeg'`` or ``'rgb8; jpeg compressed bgr8'``;
    compressedDepth streams are rejected since they are not colour images.
    """
    fmt = str(getattr(msg, 'format', '')).lower()
    if 'compresseddepth' in fmt:
        raise ImageCodecError(f'CompressedImage format {fmt!r}: depth images cannot be segmented')
    buf = as_uint8_buffer(msg.data)
    if buf.size == 0:
        raise ImageCodecError(f'CompressedImage format {fmt!r}: empty data')
    image = decode_image_bytes(buf, f'CompressedImage format {fmt!r}')
    return _order(image, 'bgr', allow_bgr)


_JPEG_SOI = b'\xff\xd8\xff'
_JPEG_EOI = b'\xff\xd9'
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_IEND = b'\x00\x00\x00\x00IEND\xaeB`\x82'


def check_complete(buf: np.ndarray, what: str) -> None:
    """Raise ImageCodecError for a JPEG or PNG whose end is missing (a truncated file/message).

    OpenCV decodes a truncated JPEG "successfully", filling the missing rows with grey (libjpeg
    only prints "Premature end of JPEG file"), and that grey would be segmented as if it were
    road. A complete JPEG ends with the EOI marker (encoders may pad after it with zeros), a
    complete PNG with the IEND chunk.
    """
    head = bytes(buf[:8])
    if head.startswith(_JPEG_SOI):
        tail = bytes(buf[-64:]).rstrip(b'\x00')
        if not tail.endswith(_JPEG_EOI):
            raise ImageCodecError(f'{what}: truncated JPEG ({buf.size} bytes, no end-of-image '
                                  'marker)')
    elif head == _PNG_SIGNATURE:
        if not bytes(buf[-12:]) == _PNG_IEND:
            raise ImageCodecError(f'{what}: truncated PNG ({buf.size} bytes, no IEND chunk)')
        # Every chunk must fit in the data: a corrupt length would make the decoder allocate
        # whatever it declares (up to gigabytes) before failing.
        data = buf.data  # a memoryview of the array's bytes, no copy
        i = 8
        while i + 12 <= buf.size:
            length = int.from_bytes(data[i:i + 4], 'big')
            if length > buf.size - i - 12:
                raise ImageCodecError(f'{what}: corrupt PNG (a chunk at byte {i} declares '
                                      f'{length} bytes, {buf.size - i - 12} are left)')
            i += 12 + length


#: Most pixels a compressed image may declare (8192 x 8192): checked from its header before
#: OpenCV allocates anything, so a corrupt header cannot make the decoder allocate gigabytes.
MAX_COMPRESSED_PIXELS = 8192 * 8192
#: JPEG start-of-frame markers (they carry the size): C0..CF but DHT (C4), JPG (C8), DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def declared_size(buf: np.ndarray) -> Optional[Tuple[int, int]]:
    """(height, width) a JPEG or PNG header declares; None for other formats or no header."""
    data = bytes(buf[:65536])  # the size is in the first segments
    if data.startswith(_PNG_SIGNATURE):
        if len(data) >= 24 and data[12:16] == b'IHDR':
            return int.from_bytes(data[20:24], 'big'), int.from_bytes(data[16:20], 'big')
        return None
    if not data.startswith(b'\xff\xd8'):
        return None
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _JPEG_SOF:
            height = int.from_bytes(data[i + 5:i + 7], 'big')
            return height, int.from_bytes(data[i + 7:i + 9], 'big')
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2:i + 4], 'big')
    return None


def decode_image_bytes(buf: np.ndarray, what: str) -> np.ndarray:
    """Decode JPEG/PNG/... bytes to HxWx3 uint8 BGR; ImageCodecError naming ``what``.

    Truncated JPEG/PNG data is an error (:func:`check_complete`), so is anything OpenCV cannot
    decode, and an image beyond the size limit.
    """
    check_complete(buf, what)
    size = declared_size(buf)
    if size is not None:
        check_size(size[0], size[1], what)
        if size[0] * size[1] > MAX_COMPRESSED_PIXELS:
            raise ImageCodecError(f'{what}: declares {size[1]}x{size[0]} pixels, more than '
                                  f'{MAX_COMPRESSED_PIXELS} (a corrupt header?)')
    # OpenCV caps decoded pixels itself (OPENCV_IO_MAX_IMAGE_PIXELS); the size check below
    # applies our per-side limit on top.
    image, messages = _imdecode_quietly(buf)
    corrupt = [m for m in messages if _is_corruption(m)]
    if image is None:
        reason = f' ({messages[0]})' if messages else ''
        raise ImageCodecError(f'{what}: {buf.size} bytes are not a decodable image{reason}')
    if corrupt:
        detail = corrupt[0].replace('Corrupt JPEG data: ', '')
        raise ImageCodecError(f'{what}: corrupt JPEG data ({detail})')
    check_size(image.shape[0], image.shape[1], what)
    return image


#: What the codec libraries write to stderr while decoding (libjpeg's warnings, libpng's errors).
_CODEC_MESSAGE = re.compile(r'^(Corrupt JPEG data|Premature end of JPEG file|Invalid SOS|'
                            r'Warning:|libpng (error|warning))')
#: "N extraneous bytes before marker 0xd9": junk just before the end-of-image marker. Many
#: USB cameras' MJPEG frames carry a byte or two of it and decode completely, so up to this
#: many bytes are not an error. More usually means the decoder lost sync inside the image
#: data (20 corrupt bytes in a scan gave 11 to 3,027 such bytes in tests).
_BENIGN_TRAILING_BYTES = 2
_EXTRANEOUS = re.compile(r'Corrupt JPEG data: (\d+) extraneous bytes before marker 0xd9$')
_capture_lock = threading.Lock()
_capture_file = None


def _is_corruption(message: str) -> bool:
    """Tell whether a libjpeg warning means the decoded pixels are not the encoded image."""
    if message.startswith('Premature end of JPEG file'):
        return True
    if not message.startswith('Corrupt JPEG data'):
        return False
    benign = _EXTRANEOUS.match(message)
    return not (benign and int(benign.group(1)) <= _BENIGN_TRAILING_BYTES)


def _imdecode_quietly(buf: np.ndarray):
    """Run ``cv2.imdecode`` with stderr captured; return (image or None, codec messages).

    libjpeg reports corrupt data as warnings on stderr and still returns an image, and libpng
    prints its errors there: both are caught here, returned to the caller (which turns them
    into one ImageCodecError) and kept off the user's terminal. Anything else written to
    stderr meanwhile (by another thread) is passed on unchanged after the call. The capture is
    process-wide, so decodes that capture run one at a time.
    """
    global _capture_file
    with _capture_lock:
        try:
            if _capture_file is None:
                _capture_file = tempfile.TemporaryFile()
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no usable stderr: decode as is
            return cv2.imdecode(buf, cv2.IMREAD_COLOR), []
        capture = _capture_file.fileno()
        os.ftruncate(capture, 0)
        os.lseek(capture, 0, os.SEEK_SET)
        try:
            os.dup2(capture, 2)
            image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        size = os.lseek(capture, 0, os.SEEK_CUR)
        if not size:
            return image, []
        text = os.pread(capture, size, 0).decode('utf-8', 'replace')
    messages: List[str] = []
    other: List[str] = []
    for line in text.splitlines(keepends=True):
        (messages if _CODEC_MESSAGE.match(line) else other).append(line)
    if other:
        os.write(2, ''.join(other).encode())
    return image, [m.strip() for m in messages]


def read_image_file(path: Any) -> np.ndarray:
    """Read an image file to HxWx3 uint8 BGR, telling missing, unreadable and corrupt apart.

    Raises:
        ImageCodecError: ``<path>: no such file``, ``<path>: cannot read (<reason>)``,
            ``<path>: empty file``, ``<path>: truncated JPEG (...)``, ``<path>: ... not a
            decodable image``.
    """
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        raise ImageCodecError(f'{path}: no such file') from None
    except OSError as exc:  # permission, a directory, an I/O error
        raise ImageCodecError(f'{path}: cannot read ({exc.strerror or exc})') from None
    if not data:
        raise ImageCodecError(f'{path}: empty file')
    return decode_image_bytes(np.frombuffer(data, np.uint8), str(path))


def rgb_to_compressed(image: np.ndarray, header: Any, fmt: str = 'jpeg', quality: int = 90,
                      color_order: str = 'rgb', types: MessageTypes = PLAIN) -> Any:
    """Encode an HxWx3 uint8 image as an image_transport CompressedImage (jpeg or png)."""
    if fmt not in ('jpeg', 'png'):
        raise ImageCodecError(f"compressed format must be 'jpeg' or 'png', got {fmt!r}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ImageCodecError(f'expected HxWx3 uint8, got {image.shape} {image.dtype}')
    bgr = image[..., ::-1] if color_order == 'rgb' else image
    src = 'rgb8' if color_order == 'rgb' else 'bgr8'
    return _compressed(bgr, src, fmt, quality, [], header, types)


def _compressed(array: np.ndarray, encoding: str, fmt: str, quality: int, png_params: list,
                header: Any, types: MessageTypes) -> Any:
    """Encode a BGR or mono uint8 array as a CompressedImage from an ``encoding`` image.

    The ``format`` field follows compressed_image_transport (``"<encoding>; <fmt> compressed
    <target>"``, target ``bgr8`` for colour and ``mono8`` for mono).
    """
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if fmt == 'jpeg' else png_params
    ok, buf = cv2.imencode('.jpg' if fmt == 'jpeg' else '.png', np.ascontiguousarray(array),
                           params)
    if not ok:
        raise ImageCodecError(f'OpenCV could not encode {fmt}')
    target = 'bgr8' if array.ndim == 3 else 'mono8'
    return types.CompressedImage(header=header, format=f'{encoding}; {fmt} compressed {target}',
                                 data=types.data(buf.tobytes()))


#: Encodings :func:`image_to_compressed` takes: 8-bit mono and colour.
COMPRESSIBLE_ENCODINGS = ('mono8', '8UC1', 'rgb8', 'bgr8', '8UC3')


def image_to_compressed(msg: Any, fmt: str, types: MessageTypes = PLAIN,
                        quality: int = 90) -> Any:
    """Encode an 8-bit Image message as an image_transport CompressedImage (jpeg or png).

    The ``format`` field is compressed_image_transport's, so its subscribers and ``ros2 bag
    play`` through a republisher decode it. PNG is lossless: the right choice for labels,
    where a value is a class.
    """
    if fmt not in ('jpeg', 'png'):
        raise ImageCodecError(f"compressed format must be 'jpeg' or 'png', got {fmt!r}")
    enc = str(msg.encoding)
    if enc not in COMPRESSIBLE_ENCODINGS:
        raise ImageCodecError(f'{_describe(msg)}: cannot compress {enc!r}; 8-bit only: '
                              f'{", ".join(COMPRESSIBLE_ENCODINGS)}')
    array = image_to_array(msg)
    if enc == 'rgb8':
        array = array[..., ::-1]
    # PNG level 1: fast, and labels compress well at any level.
    return _compressed(array, enc, fmt, quality, [cv2.IMWRITE_PNG_COMPRESSION, 1], msg.header,
                       types)


def scale_camera_info(info: Any, image_hw: Optional[Tuple[int, int]], out_hw: Tuple[int, int],
                      header: Any = None, types: MessageTypes = PLAIN) -> Any:
    """Scale a CameraInfo to an image resized to ``out_hw``, as image_proc's resize node does.

    The intrinsics are first brought to the input image's pixel grid (ROI offset subtracted,
    binning divided out), then scaled to the output; the result describes the full output image,
    so ROI and binning are reset.

    Args:
        info: the camera's CameraInfo.
        image_hw: (height, width) of the image the info belongs to; None: from the info itself.
        out_hw: (height, width) of the output image.
        header: header for the result; default: a copy of ``info.header``.
        types: the middleware's message table.
    """
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
