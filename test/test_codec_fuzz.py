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
"""Fuzzing the image codec: random headers and bytes give an image or ImageCodecError, nothing
else.

A seeded generator (reproducible: the failing case's index is in the message) makes 10,000 raw
Image messages with random sizes, steps, encodings, endianness and data, and 2,000 compressed
messages from mutated JPEG/PNG files and random bytes. Memory stays bounded: an absurd header is
refused before any allocation.
"""

import resource

import cv2
import numpy as np
import pytest

from baff_ros.ros import image_codec as ic
from baff_ros.ros.messages import plain_types

PLAIN = plain_types()

ENCODINGS = (list(ic.PLAIN_ENCODINGS) + list(ic.YUV422_ENCODINGS) + list(ic.NV_ENCODINGS)
             + [f'bayer_{p}{d}' for p in ('rggb', 'bggr', 'gbrg', 'grbg') for d in (8, 16)]
             + ['', 'RGB8', 'weird16', '8UC2', 'jpeg', 'mono8\x00'])
SIZES = [0, 1, 2, 3, 7, 16, 31, 64, 2 ** 15, 2 ** 31 - 1, 2 ** 32 - 1, -1]


def _raw(rng: np.random.Generator):
    h = int(rng.choice(SIZES)) if rng.random() < 0.3 else int(rng.integers(1, 40))
    w = int(rng.choice(SIZES)) if rng.random() < 0.3 else int(rng.integers(1, 40))
    enc = str(rng.choice(ENCODINGS))
    bpp = int(rng.integers(0, 9))
    step = int(rng.choice(SIZES)) if rng.random() < 0.2 else max(0, w * bpp
                                                                 + int(rng.integers(-2, 3)))
    n = int(rng.integers(0, 4096)) if rng.random() < 0.5 else max(0, min(step * max(h, 0),
                                                                         1 << 20))
    return PLAIN.Image(header=PLAIN.Header(), height=h, width=w, encoding=enc,
                       is_bigendian=int(rng.integers(0, 3)), step=step,
                       data=rng.integers(0, 256, n, dtype=np.uint8).tobytes())


def _seeds():
    img = np.random.default_rng(0).integers(0, 255, (24, 32, 3), np.uint8)
    return [cv2.imencode(ext, img)[1].tobytes() for ext in ('.jpg', '.png')]


def _compressed(rng: np.random.Generator, seeds):
    kind = rng.random()
    if kind < 0.2:
        data = rng.integers(0, 256, int(rng.integers(0, 2048)), dtype=np.uint8).tobytes()
    else:
        data = bytearray(seeds[int(rng.integers(0, len(seeds)))])
        for _ in range(int(rng.integers(1, 8))):
            op = rng.random()
            i = int(rng.integers(0, len(data))) if data else 0
            if op < 0.4 and data:
                data[i] = int(rng.integers(0, 256))
            elif op < 0.7:
                data = data[:i]
            else:
                data[i:i] = rng.integers(0, 256, int(rng.integers(1, 64)),
                                         dtype=np.uint8).tobytes()
        data = bytes(data)
    fmt = str(rng.choice(['jpeg', 'png', 'rgb8; jpeg compressed bgr8', '', 'bmp']))
    return PLAIN.CompressedImage(header=PLAIN.Header(), format=fmt, data=data)


def _decode(msg):
    try:
        if hasattr(msg, 'encoding'):
            out, order = ic.image_to_rgb(msg)
        else:
            out, order = ic.compressed_to_rgb(msg)
    except ic.ImageCodecError:
        return None
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert order in ('rgb', 'bgr')
    return out


@pytest.mark.parametrize('kind, count', [('raw', 10_000), ('compressed', 2_000)])
def test_random_messages_give_an_image_or_the_codec_error(kind, count):
    rng = np.random.default_rng(20261125)
    seeds = _seeds()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    decoded = 0
    for i in range(count):
        msg = _raw(rng) if kind == 'raw' else _compressed(rng, seeds)
        try:
            decoded += _decode(msg) is not None
        except Exception as exc:  # noqa: BLE001 - the point: name the case that escaped
            pytest.fail(f'case {i} ({kind}): {type(exc).__name__}: {exc}')
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert grown_mb < 200, f'peak RSS grew by {grown_mb:.0f} MB'
    assert 0 < decoded < count  # both outcomes were exercised
