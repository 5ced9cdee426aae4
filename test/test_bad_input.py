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
"""Bad input gets one clear answer: truncated images, missing files, out-of-range arguments."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from baff_ros.cli import main
from baff_ros.ros import image_codec as ic
from baff_ros.ros.messages import plain_types

PLAIN = plain_types()

MODEL = ['--config', 'width_mult=0.35', '--size', '64x128']


def picture() -> np.ndarray:
    rng = np.random.default_rng(3)
    img = np.zeros((96, 160, 3), np.uint8)
    img[48:] = (85, 85, 90)
    img[:48] = rng.integers(0, 255, (48, 160, 3), dtype=np.uint8)
    return img


def encoded(ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, picture())
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize('ext, reason', [('.jpg', 'truncated JPEG'), ('.png', 'truncated PNG')])
def test_truncated_compressed_image_is_a_decode_error(ext, reason):
    data = encoded(ext)
    whole = PLAIN.CompressedImage(header=PLAIN.Header(), format='jpeg', data=data)
    assert ic.compressed_to_rgb(whole)[0].shape == (96, 160, 3)
    # OpenCV alone decodes the truncated JPEG with grey fill; the codec refuses it.
    cut = PLAIN.CompressedImage(header=PLAIN.Header(), format='jpeg',
                                data=data[: int(len(data) * 0.3)])
    with pytest.raises(ic.ImageCodecError, match=reason):
        ic.compressed_to_rgb(cut)


def test_jpeg_padded_after_its_end_marker_is_accepted():
    data = encoded('.jpg') + b'\x00' * 7
    msg = PLAIN.CompressedImage(header=PLAIN.Header(), format='jpeg', data=data)
    assert ic.compressed_to_rgb(msg)[0].shape == (96, 160, 3)


def corrupted_jpeg() -> bytes:
    """A complete JPEG (both markers present) with 20 bytes of its scan data overwritten."""
    data = bytearray(encoded('.jpg'))
    middle = len(data) // 2
    data[middle:middle + 20] = bytes(np.random.default_rng(5).integers(0, 256, 20, np.uint8))
    return bytes(data)


def test_corrupt_jpeg_data_is_a_decode_error_not_a_garbled_image():
    # OpenCV returns an image for this (libjpeg only warns on stderr); the codec refuses it.
    data = corrupted_jpeg()
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None
    msg = PLAIN.CompressedImage(header=PLAIN.Header(), format='jpeg', data=data)
    with pytest.raises(ic.ImageCodecError, match=r'corrupt JPEG data \(\d+ extraneous bytes'):
        ic.compressed_to_rgb(msg)


def test_a_byte_of_junk_before_the_end_marker_is_accepted():
    # Many USB cameras' MJPEG frames look like this and decode completely.
    data = encoded('.jpg')
    msg = PLAIN.CompressedImage(header=PLAIN.Header(), format='jpeg',
                                data=data[:-2] + b'\x00' + data[-2:])
    assert ic.compressed_to_rgb(msg)[0].shape == (96, 160, 3)


def test_corrupt_png_names_libpng_reason():
    data = bytearray(encoded('.png'))
    data[len(data) // 2:len(data) // 2 + 20] = bytes(20)
    with pytest.raises(ic.ImageCodecError, match=r'not a decodable image \(libpng error: '):
        ic.decode_image_bytes(np.frombuffer(bytes(data), np.uint8), 'x.png')


def test_segment_tells_missing_unreadable_and_corrupt_apart(tmp_path, capsys):
    good = tmp_path / 'cam0' / '000001.png'
    good.parent.mkdir()
    good.write_bytes(encoded('.png'))
    truncated = tmp_path / 'cut.jpg'
    truncated.write_bytes(encoded('.jpg')[:2000])
    cut_png = tmp_path / 'cut2.png'
    cut_png.write_bytes(b'\x89PNG\r\n\x1a\n' + os.urandom(300))
    garbage = tmp_path / 'noise.jpg'
    garbage.write_bytes(bytes(range(256)) * 2)
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    folder = tmp_path / 'a_folder.jpg'
    folder.mkdir()
    missing = tmp_path / 'missing.jpg'
    code = main(['segment', str(good), str(truncated), str(cut_png), str(garbage), str(empty),
                 str(folder), str(missing), '--out', str(tmp_path / 'o'), *MODEL])
    err = capsys.readouterr().err
    assert code == 2
    assert f'{truncated}: truncated JPEG' in err, err
    assert f'{cut_png}: truncated PNG' in err, err
    assert f'{garbage}: 512 bytes are not a decodable image' in err, err
    assert f'{empty}: empty file' in err, err
    assert f'{folder}: cannot read' in err, err
    assert f'{missing}: no such file' in err, err
    assert 'WARN' not in err and 'Premature end' not in err, err
    assert (tmp_path / 'o' / 'cam0' / '000001_labels.png').exists()  # the good one still was


def test_cli_has_no_codec_noise_for_truncated_or_corrupt_images(tmp_path):
    cut = tmp_path / 'cut.jpg'
    cut.write_bytes(encoded('.jpg')[:1500])
    corrupt = tmp_path / 'corrupt.jpg'
    corrupt.write_bytes(corrupted_jpeg())
    bad_png = bytearray(encoded('.png'))
    bad_png[len(bad_png) // 2:len(bad_png) // 2 + 20] = bytes(20)
    (tmp_path / 'crc.png').write_bytes(bytes(bad_png))
    res = subprocess.run([sys.executable, '-m', 'baff_ros.cli', 'segment', str(cut),
                          str(corrupt), str(tmp_path / 'crc.png'), '--out',
                          str(tmp_path / 'o'), *MODEL], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert any(f'{cut}: truncated JPEG' in line for line in lines), res.stderr
    assert any(f'{corrupt}: corrupt JPEG data' in line for line in lines), res.stderr
    assert any('crc.png: ' in line and 'libpng error' in line for line in lines), res.stderr
    # Every line is ours: none of libjpeg's or libpng's own lines reach the terminal.
    assert not [line for line in lines if line.startswith(('Corrupt JPEG', 'Premature end',
                                                           'libpng', '[ WARN'))], res.stderr


@pytest.mark.parametrize('args, reason', [
    (['node', '--domain', '999'], '--domain: a ROS 2 domain ID is 0..232, got 999'),
    (['node', '--domain', '-1'], '--domain: a ROS 2 domain ID is 0..232, got -1'),
    (['node', '--duration', '-1'], '--duration: expected seconds > 0, got -1.0'),
    (['node', '--duration', '0'], '--duration: expected seconds > 0, got 0.0'),
    (['demo', '--stills', '-1'], '--stills: expected a count >= 0, got -1'),
    (['node', '--params', 'no/such.yaml', '--duration', '1'],
     'no/such.yaml: no such parameter file'),
    (['bag', 'no/such/bag', 'out', '--params', 'no/such.yaml'],
     'no/such.yaml: no such parameter file'),
])
def test_out_of_range_arguments_exit_2_with_one_line(args, reason, tmp_path, capsys):
    if args[0] == 'demo':
        args = args + ['--out', str(tmp_path / 'demo')]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert reason in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / 'demo').exists()  # refused before any work


class _Collect:
    """An output sink that keeps what the pipeline publishes."""

    def __init__(self):
        self.published = []

    def has_subscribers(self, key):
        return key == 'labels'

    def publish(self, key, msg):
        self.published.append((key, msg))


def test_node_core_counts_truncated_and_corrupt_frames_and_serves_the_next():
    from baff_ros.ros.params import NodeParams
    from baff_ros.ros.pipeline import Pipeline

    sink = _Collect()
    pipe = Pipeline(NodeParams(model_config='width_mult=0.35', input_size=[64, 128],
                               input_transport='compressed'), sink)
    pipe.start()
    try:
        data = encoded('.jpg')
        for payload, sec in ((data[:1500], 1), (corrupted_jpeg(), 2), (data, 3)):
            pipe.submit(PLAIN.CompressedImage(
                header=PLAIN.Header(stamp=PLAIN.Time(sec=sec, nanosec=0), frame_id='cam'),
                format='jpeg', data=payload))
            assert pipe.wait_idle(60)
        snap = pipe.stats.snapshot()
        assert snap['decode_errors'] == 2 and 'corrupt JPEG data' in snap['last_error']
        # Only the intact frame was published: no grey-filled or garbled labels.
        assert [(k, m.header.stamp.sec) for k, m in sink.published] == [('labels', 3)]
    finally:
        pipe.close()


def _with_declared_size(data: bytes, h: int, w: int) -> bytes:
    """A copy of a JPEG/PNG whose header declares h x w (nothing else changed)."""
    size = ic.declared_size(np.frombuffer(data, np.uint8))
    assert size == (96, 160)
    out = bytearray(data)
    if data.startswith(b'\x89PNG'):
        out[16:20], out[20:24] = w.to_bytes(4, 'big'), h.to_bytes(4, 'big')
    else:
        i = next(i for i in range(2, len(data) - 1)
                 if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2))
        out[i + 5:i + 7], out[i + 7:i + 9] = h.to_bytes(2, 'big'), w.to_bytes(2, 'big')
    return bytes(out)


@pytest.mark.parametrize('ext, h, w, reason', [
    ('.jpg', 60000, 60000, 'exceeds 16384 per side'),
    ('.jpg', 9000, 9000, 'declares 9000x9000 pixels'),
    ('.png', 100000, 20, 'exceeds 16384 per side'),
    ('.png', 10000, 10000, 'declares 10000x10000 pixels'),
])
def test_an_absurd_declared_size_is_refused_before_decoding(ext, h, w, reason):
    data = _with_declared_size(encoded(ext), h, w)
    msg = PLAIN.CompressedImage(header=PLAIN.Header(), format=ext[1:], data=data)
    with pytest.raises(ic.ImageCodecError, match=reason):
        ic.compressed_to_rgb(msg)


def test_same_named_frames_of_two_cameras_stay_apart(tmp_path, capsys):
    for cam, seed in (('cam0', 1), ('cam1', 2)):
        (tmp_path / cam).mkdir()
        rng = np.random.default_rng(seed)
        cv2.imwrite(str(tmp_path / cam / '000001.png'),
                    rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    out = tmp_path / 'o'
    assert main(['segment', str(tmp_path / 'cam0' / '000001.png'),
                 str(tmp_path / 'cam1' / '000001.png'), '--out', str(out), *MODEL]) == 0
    a, b = (cv2.imread(str(out / cam / '000001_overlay.png')) for cam in ('cam0', 'cam1'))
    assert a is not None and b is not None and not np.array_equal(a, b)
    assert not list(out.glob('*.png'))  # nothing at the top level to be overwritten


@pytest.mark.parametrize('names, reason', [
    (['x.png', 'x.png'], 'given twice'),
    (['x.png', 'x.jpg'], 'would write the same outputs'),
])
def test_clashing_outputs_are_refused_before_writing(tmp_path, capsys, names, reason):
    img = np.zeros((32, 32, 3), np.uint8)
    for n in set(names):
        cv2.imwrite(str(tmp_path / n), img)
    out = tmp_path / 'o'
    assert main(['segment', *(str(tmp_path / n) for n in names), '--out', str(out),
                 *MODEL]) == 2
    assert reason in capsys.readouterr().err
    assert not out.exists()
