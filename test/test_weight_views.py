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
"""Weight-map views: fixed 0-1 scale by default, stretch on request, ranges, legend, histogram."""

import cv2
import numpy as np
import pytest

from baff_ros.bag.video import montage
from baff_ros.cli import main
from baff_ros.engine.visualize import (weight_heatmap, weight_legend, weight_stats,
                                       weight_to_mono8)
from baff_ros.ros.params import NodeParams
from baff_ros.engine.models import load_segmenter_for
from baff_ros.ros.pipeline import Pipeline

#: A map as the shipped model makes them: a few hundredths around 0.47.
NARROW = np.linspace(0.42, 0.53, 32, dtype=np.float32).reshape(4, 8)


def inferno(v: int) -> np.ndarray:
    """RGB of grey level v in OpenCV's inferno map."""
    bgr = cv2.applyColorMap(np.full((1, 1), v, np.uint8), cv2.COLORMAP_INFERNO)
    return bgr[0, 0, ::-1]


def test_fixed_scale_is_w_times_255_and_stretch_is_an_option():
    fixed = weight_to_mono8(NARROW)
    assert np.array_equal(fixed, np.rint(NARROW * 255).astype(np.uint8))
    assert fixed.min() == 107 and fixed.max() == 135  # a narrow range stays narrow
    stretched = weight_to_mono8(NARROW, 'stretch')
    assert stretched.min() == 0 and stretched.max() == 255
    # A flat map is not blown up into full colour by noise.
    flat = np.full((4, 8), 0.5, np.float32)
    flat[0, 0] = 0.5004
    assert np.array_equal(weight_to_mono8(flat, 'stretch'), weight_to_mono8(flat))
    with pytest.raises(ValueError, match='fixed, stretch'):
        weight_to_mono8(NARROW, 'auto')


def test_weight_stats_histogram():
    w = np.array([[0.0, 0.05, 0.15, 0.95], [1.0, 0.5, 0.55, 0.99]], np.float32)
    st = weight_stats(w)
    assert st['min'] == 0.0 and st['max'] == 1.0
    assert st['mean'] == pytest.approx(w.mean()) and st['std'] == pytest.approx(w.std())
    assert len(st['hist']) == 10 and sum(st['hist']) == pytest.approx(1.0)
    assert st['hist'][0] == pytest.approx(2 / 8)  # 0.0, 0.05
    assert st['hist'][5] == pytest.approx(2 / 8)  # 0.5, 0.55
    assert st['hist'][9] == pytest.approx(3 / 8)  # 0.95, 0.99 and 1.0 (last bin is closed)
    # uint8 maps are read as w x 255.
    assert weight_stats(weight_to_mono8(w))['hist'] == st['hist']


def test_legend_runs_from_dark_to_bright_with_three_ticks():
    legend = weight_legend(300)
    assert legend.shape == (34, 300, 3)
    assert np.array_equal(legend[5, 8], inferno(0))
    assert np.array_equal(legend[5, 291], inferno(255))
    text = legend[20:]
    cols = np.nonzero(text.max(axis=(0, 2)) > 128)[0]
    # Tick labels at the left end, the middle and the right end.
    assert cols.min() < 30 and cols.max() > 270 and ((cols > 130) & (cols < 170)).any()


def test_montage_fixed_scale_keeps_a_narrow_map_dull():
    overlay = np.zeros((64, 128, 3), np.uint8)
    flat = {'16': np.full((4, 8), 0.5, np.float32), '8': NARROW}
    fixed = montage(overlay, flat)
    stretch = montage(overlay, flat, 'stretch')
    tile_h = 64 * 64 // 128
    assert fixed.shape == (64 + tile_h + 34, 128, 3) == stretch.shape
    tiles = fixed[64:64 + tile_h]
    # On the fixed scale w = 0.5 is inferno(128) ...
    assert np.array_equal(tiles[tile_h - 1, 5], inferno(128))
    # ... and a 0.42-0.53 map spans only inferno(107..135); stretched it spans the whole map.
    right = tiles[tile_h - 2:, 64:].reshape(-1, 3)
    stretched = stretch[64 + tile_h - 2:64 + tile_h, 64:].reshape(-1, 3)
    colours = {tuple(inferno(v)) for v in range(107, 136)}
    assert {tuple(c) for c in right} <= colours
    assert tuple(inferno(255)) in {tuple(c) for c in stretched}
    assert np.array_equal(weight_heatmap(NARROW)[0, 0], inferno(107))
    with pytest.raises(ValueError, match='weight scale'):
        montage(overlay, flat, 'log')


def test_segment_writes_fixed_scale_and_prints_the_range(tmp_path, checkpoint, capsys):
    img = np.random.default_rng(0).integers(0, 255, (64, 96, 3), np.uint8)
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    seg = load_segmenter_for(NodeParams(model=str(checkpoint)))
    ref = seg(img[..., ::-1].copy())
    seg.close()
    for scale in ('fixed', 'stretch'):
        out = tmp_path / scale
        args = ['segment', str(tmp_path / 'a.png'), '--out', str(out), '--model', str(checkpoint)]
        assert main(args + (['--weights-scale', scale] if scale == 'stretch' else [])) == 0
        err = capsys.readouterr().err
        w8 = ref.weights['8']
        assert f'1/8 {w8.min():.3f}-{w8.max():.3f}' in err
        png = cv2.imread(str(out / 'a_weights_8.png'), cv2.IMREAD_UNCHANGED)
        expect = weight_to_mono8(w8, scale)
        assert np.array_equal(png[::8, ::8], expect)
        if scale == 'fixed':
            assert 'w x 255 (fixed 0-1 scale)' in err
        else:
            assert png.min() == 0 and png.max() == 255 and 'stretched' in err
    with pytest.raises(SystemExit) as exc:  # argparse: exit code 2, the choices named
        main(['segment', str(tmp_path / 'a.png'), '--out', str(tmp_path / 'x'),
              '--weights-scale', 'wide', '--model', str(checkpoint)])
    assert exc.value.code == 2 and "'fixed', 'stretch'" in capsys.readouterr().err


class Sink:
    """Collects what the pipeline publishes; every output has a subscriber."""

    def __init__(self):
        self.published = {}

    def has_subscribers(self, key):
        return True

    def publish(self, key, msg):
        self.published[key] = msg


def test_node_weights_scale_and_diagnostics_histogram(checkpoint):
    from baff_ros.ros.image_codec import array_to_image, image_to_array
    from baff_ros.ros.messages import plain_types

    img = np.random.default_rng(1).integers(0, 255, (64, 96, 3), np.uint8)
    header = plain_types().Header(stamp=plain_types().Time(sec=1, nanosec=0), frame_id='cam')
    msg = array_to_image(img, 'rgb8', header)
    pipe = Pipeline(NodeParams(model=str(checkpoint), weights_size='native'), Sink())
    pipe.load()
    try:
        ref = pipe.segmenter(img)
        out = pipe.publish(pipe.infer(msg))
        w8 = ref.weights['8']
        assert np.array_equal(image_to_array(out['weights/stride8']), weight_to_mono8(w8))
        values = {kv.key: kv.value for kv in pipe.diagnostics().status[0].values}
        st = weight_stats(w8)
        assert values['weights_stride8_std'] == f'{st["std"]:.3f}'
        assert values['weights_stride8_min'] == f'{st["min"]:.3f}'
        hist = [float(v) for v in values['weights_stride8_hist'].split()]
        assert len(hist) == 10 and hist == pytest.approx(st['hist'], abs=6e-4)
        assert {'weights_stride16_mean', 'weights_stride16_max'} <= set(values)
        pipe.params = pipe.params.with_changes({'weights_scale': 'stretch'}, runtime=True)
        stretched = image_to_array(pipe.publish(pipe.infer(msg))['weights/stride8'])
        assert stretched.min() == 0 and stretched.max() == 255
        with pytest.raises(ValueError, match='weights_scale'):
            pipe.params.with_changes({'weights_scale': 'wide'}, runtime=True)
    finally:
        pipe.close()


def test_demo_montage_scale_option(tmp_path, capsys):
    """The demo's montage still: the maps' own values on the fixed scale, full range stretched."""
    pytest.importorskip('rosbags')
    from rosbags.highlevel import AnyReader

    tiles = {}
    for scale in ('fixed', 'stretch'):
        out = tmp_path / scale
        assert main(['demo', '--out', str(out), '--stills', '1', '--size', '128x256',
                     '--weights-scale', scale]) == 0
        image = cv2.imread(str(out / 'frame0000_montage.png'))[..., ::-1]
        # Below the 512-row overlay: the tiles (256 rows for two 512-wide tiles), then the legend.
        tiles[scale] = image[512 + 24:512 + 256].reshape(-1, 3)
    capsys.readouterr()
    colours = {s: {tuple(c) for c in t} for s, t in tiles.items()}
    lut = {tuple(inferno(v)): v for v in range(256)}
    levels = {s: sorted(lut[c] for c in cs if c in lut) for s, cs in colours.items()}
    # The same frame's weight maps as the demo's bag has them (mono8, w * 255).
    with AnyReader([tmp_path / 'fixed' / 'street_drive_segmented']) as reader:
        conns = [c for c in reader.connections if '/weights/' in c.topic]
        first = {}
        for conn, _, raw in reader.messages(connections=conns):
            first.setdefault(conn.topic, reader.deserialize(raw, conn.msgtype))
            if len(first) == len(conns):
                break
    assert len(first) == 2
    w = np.concatenate([np.frombuffer(bytes(m.data), np.uint8) for m in first.values()])
    # On the fixed scale the montage's colours are the maps' own levels, no wider ...
    assert abs(levels['fixed'][0] - int(w.min())) <= 1
    assert abs(levels['fixed'][-1] - int(w.max())) <= 1
    assert levels['fixed'][-1] - levels['fixed'][0] < 255
    # ... and stretched, each map spans the whole scale.
    assert levels['stretch'][0] == 0 and levels['stretch'][-1] == 255
