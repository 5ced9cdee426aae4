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
"""cv_bridge as the oracle of baff_ros.ros.image_codec, where cv_bridge is installed.

Every encoding both support is converted both ways (array -> message, message -> array, and
message -> rgb8/bgr8) by cv_bridge and by the codec, on real ``sensor_msgs`` messages, and the
results must be identical: data, step, encoding, is_bigendian, shape and dtype. The same for
CompressedImage (jpeg, png). Where cv_bridge itself is wrong, the comparison says why it
compares something else instead.
"""

import sys

import cv2
import numpy as np
import pytest

pytest.importorskip('rclpy')
cv_bridge = pytest.importorskip(
    'cv_bridge', reason='cv_bridge not installed (ROS 2 Humble here has none; Jazzy has it)')

from sensor_msgs.msg import CompressedImage, Image  # noqa: E402

from baff_ros.ros import image_codec as ic  # noqa: E402
from baff_ros.ros.rclpy_messages import RCLPY_TYPES  # noqa: E402

BRIDGE = cv_bridge.CvBridge()
RNG = np.random.default_rng(20260521)
H, W = 12, 20
#: Project encodings cv_bridge decodes but refuses to convert to a colour image ("not a color
#: format"); the codec treats 8UC3/8UC4 as BGR(A) and 8UC1 as grey, as OpenCV does.
NO_COLOR_IN_CV_BRIDGE = ('8UC1', '8UC3', '8UC4', '16UC1', '32FC1')
ALL_ENCODINGS = tuple(ic.PLAIN_ENCODINGS) + tuple(ic.YUV422_ENCODINGS) + tuple(ic.NV_ENCODINGS)


def _cv_bridge_knows(encoding: str) -> bool:
    try:
        BRIDGE.encoding_to_dtype_with_channels(encoding)
    except cv_bridge.CvBridgeError:
        return False
    return True


#: The encodings both support: the oracle has nothing to say about the rest (cv_bridge 3.4 has
#: no uyvy/yuyv/nv12/nv21; test_image_codec.py covers those).
SHARED_ENCODINGS = tuple(e for e in ALL_ENCODINGS if _cv_bridge_knows(e))


def cv_bridge_layout(encoding: str):
    """(dtype, channels) cv_bridge uses for ``encoding``."""
    dtype, channels = BRIDGE.encoding_to_dtype_with_channels(encoding)
    return np.dtype(dtype), channels


def random_array(encoding: str) -> np.ndarray:
    dtype, channels = cv_bridge_layout(encoding)
    shape = (H, W, channels) if channels > 1 else (H, W)
    if dtype.kind == 'f':
        return RNG.standard_normal(shape).astype(dtype)
    return RNG.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


def with_padding(msg: Image, pad: int) -> Image:
    """A copy of ``msg`` whose rows carry ``pad`` extra bytes (a larger ``step``)."""
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    padded = np.pad(rows, ((0, 0), (0, pad)), constant_values=0xA5)
    out = Image(header=msg.header, height=msg.height, width=msg.width, encoding=msg.encoding,
                is_bigendian=msg.is_bigendian, step=msg.step + pad)
    out.data.frombytes(padded.tobytes())
    return out


def assert_same_array(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)
    assert np.array_equal(ours, theirs)


def assert_same_image_msg(ours, theirs) -> None:
    assert ours.encoding == theirs.encoding
    assert (ours.height, ours.width, ours.step) == (theirs.height, theirs.width, theirs.step)
    assert int(ours.is_bigendian) == int(theirs.is_bigendian)
    assert bytes(ours.data) == bytes(theirs.data)


# -- message -> array --------------------------------------------------------------------------

@pytest.mark.parametrize('pad_pixels', [0, 3])
@pytest.mark.parametrize('encoding', SHARED_ENCODINGS)
def test_decode_matches_cv_bridge(encoding, pad_pixels):
    array = random_array(encoding)
    msg = BRIDGE.cv2_to_imgmsg(array, encoding)
    # Whole pixels only: see test_step_padding_that_is_not_whole_pixels.
    msg = with_padding(msg, pad_pixels * array.dtype.itemsize * (
        array.shape[2] if array.ndim == 3 else 1))
    assert_same_array(ic.image_to_array(msg), BRIDGE.imgmsg_to_cv2(msg))
    assert_same_array(ic.image_to_array(msg), array)
    if encoding in NO_COLOR_IN_CV_BRIDGE:
        with pytest.raises(cv_bridge.CvBridgeError, match='not a color format'):
            BRIDGE.imgmsg_to_cv2(msg, 'rgb8')
        return
    rgb, order = ic.image_to_rgb(msg, allow_bgr=False)
    assert order == 'rgb'
    assert_same_array(rgb, BRIDGE.imgmsg_to_cv2(msg, 'rgb8'))
    # The zero-copy path: the codec returns BGR data in its own order, as cv_bridge's bgr8.
    native, order = ic.image_to_rgb(msg, allow_bgr=True)
    assert_same_array(native, BRIDGE.imgmsg_to_cv2(msg, f'{order}8'))


def test_16_to_8_bit_over_every_value():
    """cv_bridge scales 16 -> 8 bit by 255/65535 with rounding (not ``v >> 8``)."""
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    for encoding, array in (('mono16', values),
                            ('rgb16', np.dstack([values, values[::-1], values.T])),
                            ('bgra16', np.dstack([values, values.T, values[::-1], values]))):
        msg = BRIDGE.cv2_to_imgmsg(np.ascontiguousarray(array), encoding)
        for want in ('rgb8', 'bgr8'):
            ours, order = ic.image_to_rgb(msg, allow_bgr=want == 'bgr8')
            if order != want[:3]:
                ours = ours[..., ::-1]
            assert_same_array(ours, BRIDGE.imgmsg_to_cv2(msg, want))


def test_step_padding_that_is_not_whole_pixels():
    """ROS allows any ``step`` >= the row size; cv_bridge 3.4 mis-reads one that is not a
    multiple of the pixel size (it shapes the buffer as step // pixel-size columns), so its
    reading of the unpadded twin is the reference here."""
    for encoding in ('rgb8', 'bgra8', 'mono16', 'rgba16', '32FC1', 'yuv422', 'bayer_grbg16'):
        array = random_array(encoding)
        msg = BRIDGE.cv2_to_imgmsg(array, encoding)
        odd = with_padding(msg, 3)
        assert_same_array(ic.image_to_array(odd), BRIDGE.imgmsg_to_cv2(msg))
        if encoding != '32FC1':
            assert_same_array(ic.image_to_rgb(odd, allow_bgr=False)[0],
                              BRIDGE.imgmsg_to_cv2(msg, 'rgb8'))


@pytest.mark.parametrize('encoding', ['mono16', 'rgb16', 'bgra16', '16UC1', 'bayer_rggb16',
                                      '32FC1'])
def test_big_endian_data(encoding):
    array = random_array(encoding)
    msg = Image(height=H, width=W, encoding=encoding, is_bigendian=1,
                step=array[0].nbytes)
    msg.data.frombytes(array.astype(array.dtype.newbyteorder('>')).tobytes())
    ours = ic.image_to_array(msg)
    assert ours.dtype.isnative
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0' and sys.byteorder == 'little':
        # cv_bridge 3.4 byte-swaps with ndarray.newbyteorder(), which numpy 2 removed; its
        # reading of the same values sent little endian is the reference instead.
        with pytest.raises(AttributeError, match='newbyteorder'):
            BRIDGE.imgmsg_to_cv2(msg)
        reference = BRIDGE.cv2_to_imgmsg(array, encoding)
    else:
        reference = msg
    assert_same_array(ours, BRIDGE.imgmsg_to_cv2(reference))
    if encoding not in NO_COLOR_IN_CV_BRIDGE:
        assert_same_array(ic.image_to_rgb(msg, allow_bgr=False)[0],
                          BRIDGE.imgmsg_to_cv2(reference, 'rgb8'))


# -- array -> message --------------------------------------------------------------------------

@pytest.mark.parametrize('encoding', ic.OUTPUT_ENCODINGS)
def test_encode_matches_cv_bridge(encoding):
    array = random_array(encoding)
    header = RCLPY_TYPES.Header(frame_id='camera_optical')
    header.stamp.sec, header.stamp.nanosec = 17, 9
    ours = ic.array_to_image(array, encoding, header, RCLPY_TYPES)
    theirs = BRIDGE.cv2_to_imgmsg(array, encoding, header=header)
    assert isinstance(ours, Image)
    assert_same_image_msg(ours, theirs)
    assert ours.header == theirs.header
    # and each side reads the other's message back to the array
    assert_same_array(BRIDGE.imgmsg_to_cv2(ours), array)
    assert_same_array(ic.image_to_array(theirs), array)


# -- CompressedImage ---------------------------------------------------------------------------

def _picture() -> np.ndarray:
    """Smooth content with edges, so jpeg is exercised beyond flat blocks."""
    y, x = np.mgrid[0:48, 0:64]
    bgr = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1).astype(np.uint8)
    bgr[16:32, 20:44] = (30, 200, 240)
    return bgr


@pytest.mark.parametrize('fmt, kind', [('jpg', 'bgr'), ('jpg', 'gray'), ('png', 'bgr'),
                                       ('png', 'gray'), ('png', 'bgra')])  # jpeg has no alpha
def test_compressed_decode_matches_cv_bridge(fmt, kind):
    bgr = _picture()
    source = {'bgr': bgr, 'gray': cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY),
              'bgra': np.dstack([bgr, bgr[..., :1]])}[kind]
    msg = BRIDGE.cv2_to_compressed_imgmsg(source, fmt)
    assert isinstance(msg, CompressedImage)
    rgb, order = ic.compressed_to_rgb(msg, allow_bgr=False)
    assert order == 'rgb'
    assert_same_array(rgb, BRIDGE.compressed_imgmsg_to_cv2(msg, 'rgb8'))
    if kind == 'bgr':
        # cv_bridge's passthrough and bgr8 return the decoded image as OpenCV read it: right
        # for a colour picture only (for grey or alpha pictures its "bgr8" has 1 or 4 channels).
        native, order = ic.compressed_to_rgb(msg, allow_bgr=True)
        assert order == 'bgr'
        assert_same_array(native, BRIDGE.compressed_imgmsg_to_cv2(msg, 'bgr8'))
        assert_same_array(native, BRIDGE.compressed_imgmsg_to_cv2(msg))


@pytest.mark.parametrize('fmt', ['jpeg', 'png'])
def test_compressed_encode_matches_cv_bridge(fmt):
    rgb = _picture()[..., ::-1]
    header = RCLPY_TYPES.Header(frame_id='camera_optical')
    # cv_bridge encodes with OpenCV's default jpeg quality (95).
    ours = ic.rgb_to_compressed(rgb, header, fmt, quality=95, types=RCLPY_TYPES)
    theirs = BRIDGE.cv2_to_compressed_imgmsg(np.ascontiguousarray(rgb[..., ::-1]),
                                             'jpg' if fmt == 'jpeg' else 'png')
    assert isinstance(ours, CompressedImage)
    assert bytes(ours.data) == bytes(theirs.data)
    # The format strings differ on purpose: cv_bridge writes the bare extension, the codec
    # image_transport's '<encoding>; <fmt> compressed bgr8' that republishers parse.
    assert ours.format == f'rgb8; {fmt} compressed bgr8'
    assert_same_array(ic.compressed_to_rgb(theirs, allow_bgr=False)[0],
                      BRIDGE.compressed_imgmsg_to_cv2(ours, 'rgb8'))
