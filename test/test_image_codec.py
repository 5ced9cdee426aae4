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
"""image_codec: every encoding, step padding, byte order, malformed input, CameraInfo scaling."""

import sys

import cv2
import numpy as np
import pytest

from baff_ros.ros.messages import plain_types
from baff_ros.ros.image_codec import (array_to_image, check_size, compressed_to_rgb,
                                      image_to_array, image_to_rgb, ImageCodecError, MAX_SIDE,
                                      rgb_to_compressed, scale_camera_info)

m = plain_types()

RNG = np.random.default_rng(0)


def make(array: np.ndarray, encoding: str, pad: int = 0, big: bool = False) -> m.Image:
    """An Image with ``pad`` extra bytes per row."""
    h, w = array.shape[:2]
    rows = array.astype(array.dtype.newbyteorder('>' if big else '<')).reshape(h, -1)
    raw = rows.view(np.uint8).reshape(h, -1)
    padded = np.concatenate([raw, np.full((h, pad), 7, np.uint8)], axis=1)
    return m.Image(height=h, width=w, encoding=encoding, is_bigendian=int(big),
                   step=padded.shape[1], data=padded.tobytes())


@pytest.fixture
def rgb():
    return RNG.integers(0, 256, (6, 10, 3), dtype=np.uint8)


@pytest.mark.parametrize('pad', [0, 6])
def test_rgb8_is_a_zero_copy_view_with_padding(rgb, pad):
    msg = make(rgb, 'rgb8', pad)
    out, order = image_to_rgb(msg)
    assert order == 'rgb' and np.array_equal(out, rgb)
    assert np.shares_memory(out, np.frombuffer(msg.data, np.uint8))


def test_bgr_kept_or_swapped(rgb):
    msg = make(rgb[..., ::-1].copy(), 'bgr8')
    out, order = image_to_rgb(msg)
    assert order == 'bgr' and np.array_equal(out[..., ::-1], rgb)
    out, order = image_to_rgb(msg, allow_bgr=False)
    assert order == 'rgb' and np.array_equal(out, rgb)
    out, order = image_to_rgb(make(rgb[..., ::-1].copy(), '8UC3'))
    assert order == 'bgr' and np.array_equal(out[..., ::-1], rgb)


def test_alpha_and_mono(rgb):
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 9, np.uint8)], axis=2)
    out, order = image_to_rgb(make(rgba, 'rgba8', 4))
    assert order == 'rgb' and np.array_equal(out, rgb)
    out, order = image_to_rgb(make(rgba[..., [2, 1, 0, 3]].copy(), 'bgra8'), allow_bgr=False)
    assert np.array_equal(out, rgb)
    gray = rgb[..., 0].copy()
    out, _ = image_to_rgb(make(gray, 'mono8', 3))
    assert out.shape == (6, 10, 3) and np.array_equal(out[..., 1], gray)


@pytest.mark.parametrize('big', [False, True])
@pytest.mark.parametrize('pad', [0, 2])
def test_16bit_byte_order_and_padding(big, pad):
    a16 = RNG.integers(0, 65536, (5, 7), dtype=np.uint16)
    msg = make(a16, 'mono16', pad, big)
    assert np.array_equal(image_to_array(msg), a16)
    out, _ = image_to_rgb(msg)
    assert np.array_equal(out[..., 0], cv2.convertScaleAbs(a16, alpha=255 / 65535))
    assert np.array_equal(image_to_array(make(a16, '16UC1', pad, big)), a16)


def test_32fc1_array_but_not_segmentable():
    f = RNG.random((4, 6), dtype=np.float32)
    msg = make(f, '32FC1', 4, big=True)
    assert np.array_equal(image_to_array(msg), f)
    with pytest.raises(ImageCodecError, match='float'):
        image_to_rgb(msg)


def _pack_uyvy(y, u, v):
    """4:2:2 UYVY from a Y plane and per-pair U, V (video-range BT.601)."""
    h, w = y.shape
    uyvy = np.empty((h, w, 2), np.uint8)
    uyvy[..., 1] = y
    uyvy[:, ::2, 0], uyvy[:, 1::2, 0] = u, v
    return uyvy


def test_yuv422_uyvy_and_yuyv():
    y = np.full((4, 8), 126, np.uint8)
    # Left half neutral chroma (grey), right half high U (blue).
    u = np.array([[128, 128, 240, 240]] * 4, np.uint8)
    v = np.full((4, 4), 128, np.uint8)
    uyvy = _pack_uyvy(y, u, v)
    yuyv = uyvy[..., ::-1].copy()
    results = []
    for enc, packed in (('yuv422', uyvy), ('uyvy', uyvy), ('yuv422_yuy2', yuyv),
                        ('yuyv', yuyv)):
        out, order = image_to_rgb(make(packed, enc, 4))
        assert order == 'rgb' and out.shape == (4, 8, 3)
        results.append(out)
    for out in results[1:]:
        assert np.array_equal(out, results[0])
    grey, blue = results[0][0, 0].astype(int), results[0][0, 7].astype(int)
    assert np.abs(grey - 128).max() <= 3
    assert blue[2] > 200 and blue[0] < 140


@pytest.mark.parametrize('enc', ['nv12', 'nv21'])
def test_nv12_nv21(enc):
    rgb = np.full((4, 6, 3), (30, 160, 220), np.uint8)
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)  # Y (4 rows), U (1 row), V (1 row)
    y = i420[:4]
    u = i420[4:5].reshape(-1)[:6]
    v = i420[5:6].reshape(-1)[:6]
    uv = np.empty((2, 6), np.uint8)
    first, second = (u, v) if enc == 'nv12' else (v, u)
    uv.reshape(-1)[0::2], uv.reshape(-1)[1::2] = first, second
    planes = np.concatenate([y, uv])
    msg = m.Image(height=4, width=6, encoding=enc, step=8,
                  data=np.pad(planes, ((0, 0), (0, 2))).tobytes())
    out, _ = image_to_rgb(msg)
    assert np.abs(out.astype(int) - rgb).max() <= 4


@pytest.mark.parametrize('pattern', ['rggb', 'bggr', 'gbrg', 'grbg'])
@pytest.mark.parametrize('bits', [8, 16])
def test_bayer_patterns(pattern, bits):
    color = {'r': 220, 'g': 120, 'b': 30}
    h, w = 8, 8
    mosaic = np.empty((h, w), np.uint16 if bits == 16 else np.uint8)
    scale = 257 if bits == 16 else 1
    for dy in range(2):
        for dx in range(2):
            mosaic[dy::2, dx::2] = color[pattern[dy * 2 + dx]] * scale
    out, order = image_to_rgb(make(mosaic, f'bayer_{pattern}{bits}', 2), allow_bgr=False)
    assert order == 'rgb'
    centre = out[2:-2, 2:-2].reshape(-1, 3)
    assert np.abs(centre.astype(int) - (220, 120, 30)).max() <= 2, centre[0]


@pytest.mark.parametrize('mutate, match', [
    (dict(step=10), 'step 10 < 30'),
    (dict(data=b'\0' * 50), 'data has 50 bytes'),
    (dict(encoding='rgb9'), 'unsupported encoding'),
    (dict(width=0), 'empty size'),
    (dict(height=MAX_SIDE + 1), 'exceeds'),
    (dict(encoding='yuv422', width=9, step=18), 'even width'),
])
def test_malformed_images_raise_one_error_type(rgb, mutate, match):
    msg = make(rgb, 'rgb8')
    for k, v in mutate.items():
        setattr(msg, k, v)
    with pytest.raises(ImageCodecError, match=match):
        image_to_rgb(msg)
    assert issubclass(ImageCodecError, ValueError)


def test_data_as_list_and_numpy(rgb):
    msg = make(rgb, 'rgb8')
    msg.data = list(msg.data)
    assert np.array_equal(image_to_rgb(msg)[0], rgb)
    msg.data = np.frombuffer(bytes(msg.data), np.uint8)
    assert np.array_equal(image_to_rgb(msg)[0], rgb)


def test_array_to_image_roundtrip(rgb):
    header = m.Header(stamp=m.Time(sec=5, nanosec=7), frame_id='cam')
    for arr, enc in ((rgb, 'rgb8'), (rgb[..., 0].copy(), 'mono8'),
                     (RNG.random((3, 4), dtype=np.float32), '32FC1'),
                     (RNG.integers(0, 9999, (3, 4), dtype=np.uint16), '16UC1')):
        msg = array_to_image(arr, enc, header)
        assert msg.header.frame_id == 'cam' and msg.is_bigendian == int(sys.byteorder == 'big')
        assert np.array_equal(image_to_array(msg), arr)
    with pytest.raises(ImageCodecError, match='needs 3 channel'):
        array_to_image(rgb[..., 0], 'rgb8', header)


@pytest.mark.parametrize('fmt', ['jpeg', 'png'])
def test_compressed_roundtrip(fmt):
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :24] = (250, 10, 10)
    msg = rgb_to_compressed(rgb, m.Header(frame_id='c'), fmt=fmt)
    assert msg.format == f'rgb8; {fmt} compressed bgr8'
    out, order = compressed_to_rgb(msg, allow_bgr=False)
    err = np.abs(out.astype(int) - rgb)
    assert order == 'rgb' and err.max() <= (0 if fmt == 'png' else 60) and err.mean() < 5
    with pytest.raises(ImageCodecError, match='not a decodable'):
        compressed_to_rgb(m.CompressedImage(format='jpeg', data=b'garbage'))
    with pytest.raises(ImageCodecError, match='empty'):
        compressed_to_rgb(m.CompressedImage(format='jpeg', data=b''))
    with pytest.raises(ImageCodecError, match='depth'):
        compressed_to_rgb(m.CompressedImage(format='16UC1; compressedDepth', data=b'x'))


def _info(w=640, h=480, **kw):
    return m.CameraInfo(header=m.Header(frame_id='cam'), width=w, height=h,
                        distortion_model='plumb_bob', d=[0.1, 0, 0, 0, 0],
                        k=[500.0, 0, 320, 0, 510, 240, 0, 0, 1],
                        r=[1.0, 0, 0, 0, 1, 0, 0, 0, 1],
                        p=[500.0, 0, 320, -25, 0, 510, 240, 0, 0, 0, 1, 0], **kw)


def test_camera_info_scaling_like_image_proc_resize():
    out = scale_camera_info(_info(), (480, 640), (240, 320))
    assert (out.width, out.height) == (320, 240)
    assert out.k[0] == 250 and out.k[2] == 160 and out.k[4] == 255 and out.k[5] == 120
    assert out.p[0] == 250 and out.p[2] == 160 and out.p[3] == -12.5 and out.p[6] == 120
    assert out.k[8] == 1 and out.p[10] == 1 and list(out.d) == [0.1, 0, 0, 0, 0]
    assert out.header.frame_id == 'cam'


def test_camera_info_binning_and_roi_are_folded_in_and_reset():
    info = _info(binning_x=2, binning_y=2,
                 roi=m.RegionOfInterest(x_offset=100, y_offset=40, width=400, height=300))
    out = scale_camera_info(info, None, (150, 200))  # image 150x200 -> same size
    assert out.k[0] == 250 and out.k[2] == (320 - 100) / 2 and out.k[5] == (240 - 40) / 2
    assert (out.binning_x, out.binning_y, out.roi.width, out.roi.x_offset) == (0, 0, 0, 0)
    with pytest.raises(ImageCodecError):
        scale_camera_info(_info(), (480, 640), (0, 10))


def test_check_size():
    check_size(1, MAX_SIDE)
    with pytest.raises(ImageCodecError):
        check_size(-1, 5)


def _scene(h, w):
    """A smooth picture (gradients and waves) that JPEG keeps close to itself."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1),
                    100 + 80 * np.sin(x / 23.0) * np.cos(y / 17.0)], axis=-1)
    return rgb.astype(np.uint8)


@pytest.mark.parametrize('hw,min_size,factor', [
    ((512, 1024), (256, 512), 2),  # the sample drive at the bundled network size
    ((512, 1024), (64, 128), 8),
    ((512, 1024), (300, 600), 1),  # 1/2 would be smaller than the network: decode whole
    ((499, 1001), (100, 200), 4),  # odd sides: ceil(499 / 4) = 125, ceil(1001 / 4) = 251
])
def test_jpeg_decodes_at_a_reduced_scale_that_still_covers_min_size(hw, min_size, factor):
    from baff_ros.ros.compressed_image import compressed_size, reduced_factor

    rgb = _scene(*hw)
    msg = rgb_to_compressed(rgb, m.Header(frame_id='c'), fmt='jpeg', quality=95)
    assert reduced_factor(hw, min_size) == factor
    assert compressed_size(msg) == hw
    small, order = compressed_to_rgb(msg, allow_bgr=False, min_size=min_size)
    expected = (-(-hw[0] // factor), -(-hw[1] // factor))
    assert order == 'rgb' and small.shape == (*expected, 3)
    assert small.shape[0] >= min_size[0] and small.shape[1] >= min_size[1]
    whole, _ = compressed_to_rgb(msg, allow_bgr=False)
    assert whole.shape == (*hw, 3)
    if hw[0] % factor or hw[1] % factor:
        return  # a partial last block: no exact area resize to compare with
    # libjpeg's scaled IDCT is close to an area (box) resize of the whole decode.
    ref = cv2.resize(whole, (expected[1], expected[0]), interpolation=cv2.INTER_AREA)
    err = np.abs(small.astype(int) - ref.astype(int))
    assert err.mean() < 1.5


def test_png_and_a_too_small_jpeg_decode_whole():
    rgb = _scene(128, 256)
    png = rgb_to_compressed(rgb, m.Header(frame_id='c'), fmt='png')
    out, _ = compressed_to_rgb(png, allow_bgr=False, min_size=(16, 32))
    assert np.array_equal(out, rgb)  # lossless, full size: OpenCV cannot scale a PNG decode
    jpg = rgb_to_compressed(rgb, m.Header(frame_id='c'), fmt='jpeg')
    assert compressed_to_rgb(jpg, min_size=(128, 256))[0].shape == (128, 256, 3)
    assert compressed_to_rgb(jpg, min_size=(65, 64))[0].shape == (128, 256, 3)
    # A reduced decode still refuses what a whole one refuses.
    cut = m.CompressedImage(format='jpeg', data=bytes(jpg.data)[:len(jpg.data) // 2])
    with pytest.raises(ImageCodecError, match='truncated JPEG'):
        compressed_to_rgb(cut, min_size=(16, 32))
