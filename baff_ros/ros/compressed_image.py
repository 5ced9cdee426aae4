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
"""sensor_msgs/CompressedImage and image files <-> numpy (OpenCV codecs, no ROS).

Compressed data is checked before it is decoded (complete JPEG/PNG, a declared size within
bounds), and OpenCV's own complaints about corrupt data are turned into
:class:`~baff_ros.ros.raw_image.ImageCodecError` instead of lines on stderr.
"""

import os
import re
import sys
import tempfile
import threading
from typing import Any, List, Optional, Tuple

import cv2
import numpy as np

from baff_ros.ros.messages import MessageTypes, or_plain
from baff_ros.ros.raw_image import (as_uint8_buffer, check_size, describe_image,
                                    image_to_array, ImageCodecError, in_order)


def compressed_to_rgb(msg: Any, allow_bgr: bool = True,
                      min_size: Optional[Tuple[int, int]] = None) -> Tuple[np.ndarray, str]:
    """Decode a CompressedImage (jpeg, png, anything OpenCV reads) to HxWx3 uint8.

    ``format`` is image_transport's, e.g. ``'jpeg'`` or ``'rgb8; jpeg compressed bgr8'``;
    compressedDepth streams are rejected since they are not colour images. With ``min_size``
    a JPEG may come back smaller than it is (see :func:`decode_image_bytes`); its full size is
    :func:`compressed_size`.
    """
    fmt = str(getattr(msg, 'format', '')).lower()
    if 'compresseddepth' in fmt:
        raise ImageCodecError(f'CompressedImage format {fmt!r}: depth images cannot be segmented')
    buf = as_uint8_buffer(msg.data)
    if buf.size == 0:
        raise ImageCodecError(f'CompressedImage format {fmt!r}: empty data')
    image = decode_image_bytes(buf, f'CompressedImage format {fmt!r}', min_size)
    return in_order(image, 'bgr', allow_bgr)


def compressed_size(msg: Any) -> Optional[Tuple[int, int]]:
    """(height, width) a CompressedImage's JPEG or PNG header declares; None if unknown."""
    return declared_size(as_uint8_buffer(msg.data))


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


#: libjpeg's scaled decoding (the IDCT itself outputs 1/k of the pixels): k -> OpenCV flag.
_REDUCED_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
                  4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def reduced_factor(size: Tuple[int, int], min_size: Tuple[int, int]) -> int:
    """Largest k in 8, 4, 2 whose 1/k-scale decode of a ``size`` JPEG still covers ``min_size``.

    libjpeg's 1/k decode is ceil(h / k) x ceil(w / k). 1 when even 1/2 would be too small.
    """
    for k in (8, 4, 2):
        if -(-size[0] // k) >= min_size[0] and -(-size[1] // k) >= min_size[1]:
            return k
    return 1


def decode_image_bytes(buf: np.ndarray, what: str,
                       min_size: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """Decode JPEG/PNG/... bytes to HxWx3 uint8 BGR; ImageCodecError naming ``what``.

    Truncated JPEG/PNG data is an error (:func:`check_complete`), so is anything OpenCV cannot
    decode, and an image beyond the size limit.

    With ``min_size`` (height, width), a JPEG at least twice that size is decoded at 1/2, 1/4
    or 1/8 scale by libjpeg itself (:func:`reduced_factor`): a fraction of the decode time,
    and an image that still covers ``min_size``, e.g. a network input it will be resized to.
    Other formats are always decoded whole (OpenCV would decode them whole and then resize).
    """
    check_complete(buf, what)
    size = declared_size(buf)
    flag = cv2.IMREAD_COLOR
    if size is not None and min_size is not None and bytes(buf[:3]) == _JPEG_SOI:
        flag = _REDUCED_FLAGS[reduced_factor(size, min_size)]
    if size is not None:
        check_size(size[0], size[1], what)
        if size[0] * size[1] > MAX_COMPRESSED_PIXELS:
            raise ImageCodecError(f'{what}: declares {size[1]}x{size[0]} pixels, more than '
                                  f'{MAX_COMPRESSED_PIXELS} (a corrupt header?)')
    # OpenCV caps decoded pixels itself (OPENCV_IO_MAX_IMAGE_PIXELS); the size check below
    # applies our per-side limit on top.
    image, messages = _imdecode_quietly(buf, flag)
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


def _imdecode_quietly(buf: np.ndarray, flag: int = cv2.IMREAD_COLOR):
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
            return cv2.imdecode(buf, flag), []
        capture = _capture_file.fileno()
        os.ftruncate(capture, 0)
        os.lseek(capture, 0, os.SEEK_SET)
        try:
            os.dup2(capture, 2)
            image = cv2.imdecode(buf, flag)
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
                      color_order: str = 'rgb', types: Optional[MessageTypes] = None) -> Any:
    """Encode an HxWx3 uint8 image as an image_transport CompressedImage (jpeg or png)."""
    if fmt not in ('jpeg', 'png'):
        raise ImageCodecError(f"compressed format must be 'jpeg' or 'png', got {fmt!r}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ImageCodecError(f'expected HxWx3 uint8, got {image.shape} {image.dtype}')
    bgr = image[..., ::-1] if color_order == 'rgb' else image
    src = 'rgb8' if color_order == 'rgb' else 'bgr8'
    return _compressed(bgr, src, fmt, quality, [], header, types)


def _compressed(array: np.ndarray, encoding: str, fmt: str, quality: int, png_params: list,
                header: Any, types: Optional[MessageTypes]) -> Any:
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
    types = or_plain(types)
    return types.CompressedImage(header=header, format=f'{encoding}; {fmt} compressed {target}',
                                 data=types.data(buf.tobytes()))


#: Encodings :func:`image_to_compressed` takes: 8-bit mono and colour.
COMPRESSIBLE_ENCODINGS = ('mono8', '8UC1', 'rgb8', 'bgr8', '8UC3')


#: PNG settings for the node's 8-bit outputs: deflate level 1, every row filtered "up" (the
#: difference to the row above) and run-length matches only. Labels and weight maps are runs
#: of equal values, and confidence changes slowly down the image: against level 1 with
#: libpng's per-row filter choice, on the sample drive's 1024x512 outputs labels encode in
#: 0.9 instead of 2.8 ms (5.8 instead of 10.3 kB) and confidence in 3.3 instead of 6.0 ms
#: (102 instead of 117 kB). Older OpenCV without the filter option: level 1 and RLE.
FAST_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY,
            cv2.IMWRITE_PNG_STRATEGY_RLE] + (
    [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
    if hasattr(cv2, 'IMWRITE_PNG_FILTER') else [])


def image_to_compressed(msg: Any, fmt: str, types: Optional[MessageTypes] = None,
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
        raise ImageCodecError(f'{describe_image(msg)}: cannot compress {enc!r}; 8-bit only: '
                              f'{", ".join(COMPRESSIBLE_ENCODINGS)}')
    array = image_to_array(msg)
    if enc == 'rgb8':
        array = array[..., ::-1]
    return _compressed(array, enc, fmt, quality, FAST_PNG, msg.header, types)
