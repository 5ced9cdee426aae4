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
"""The ROS-free node core: outputs, headers, subscriptions, latest-frame-only, diagnostics."""

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from baff_ros.ros import messages
from baff_ros.ros.messages import plain_types
from baff_ros.ros.image_codec import array_to_image, image_to_array, rgb_to_compressed
from baff_ros.ros.ground_stage import PoseUnavailable
from baff_ros.ros.params import GROUND_OUTPUTS, NodeParams
from baff_ros.engine.models import load_segmenter_for
from baff_ros.ros.pipeline import output_topic, Pipeline

m = plain_types()

SMALL = dict(model_config='width_mult=0.35', input_size=[64, 128])


class Sink:
    """Records what the pipeline publishes; subscriptions and blocking set by the test."""

    def __init__(self, subscribed=None):
        self.subscribed = subscribed  # None: everything
        self.published = []
        self.gate = threading.Event()
        self.gate.set()

    def has_subscribers(self, key):
        return self.subscribed is None or key in self.subscribed

    def publish(self, key, msg):
        self.gate.wait(30)
        self.published.append((key, msg))


@pytest.fixture(scope='module')
def segmenter():
    seg = load_segmenter_for(NodeParams(**SMALL))
    yield seg
    seg.close()


def frame(h=96, w=160, sec=12, nanosec=345, frame_id='camera_optical', seed=0):
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    header = m.Header(stamp=m.Time(sec=sec, nanosec=nanosec), frame_id=frame_id)
    return rgb, array_to_image(rgb, 'rgb8', header)


def camera_info(w=160, h=96):
    return m.CameraInfo(header=m.Header(frame_id='camera_optical'), width=w, height=h,
                        k=[100.0, 0, 80, 0, 100, 48, 0, 0, 1], r=[1.0, 0, 0, 0, 1, 0, 0, 0, 1],
                        p=[100.0, 0, 80, 0, 0, 100, 48, 0, 0, 0, 1, 0])


def test_all_outputs_match_the_segmenter(segmenter):
    sink = Sink()
    pipe = Pipeline(NodeParams(**SMALL), sink, segmenter=segmenter)
    pipe.load()
    pipe.set_camera_info(camera_info())
    rgb, msg = frame()
    out = pipe.publish(pipe.infer(msg))
    assert set(out) == {'labels', 'confidence', 'color', 'overlay', 'camera_info',
                        'weights/stride16', 'weights/stride8', 'obstacle_points',
                        'free_points', 'ground_grid'}
    assert [k for k, _ in sink.published] == list(out)
    ref = segmenter(rgb)
    for key, o in out.items():
        if key in GROUND_OUTPUTS:  # in the ground frame (test_ground_outputs)
            continue
        assert o.header.stamp.sec == 12 and o.header.stamp.nanosec == 345
        assert o.header.frame_id == 'camera_optical'
        assert (o.height, o.width) == (96, 160), key
    assert np.array_equal(image_to_array(out['labels']), ref.labels)
    assert np.array_equal(image_to_array(out['confidence']), ref.confidence)
    assert out['color'].encoding == 'rgb8' and out['weights/stride8'].encoding == 'mono8'
    assert out['camera_info'].k[0] == 100.0
    # Decoding from BGR gives the same labels (the Segmenter takes either order).
    bgr = array_to_image(rgb[..., ::-1].copy(), 'bgr8', msg.header)
    assert np.array_equal(image_to_array(pipe.publish(pipe.infer(bgr))['labels']), ref.labels)


def test_a_prepared_job_keeps_the_camera_info_of_its_time(segmenter):
    """prepare() snapshots the outputs wanted and the CameraInfo: a job segmented later (on
    another thread, after newer CameraInfo) publishes with the one current when it came in."""
    sink = Sink()
    pipe = Pipeline(NodeParams(**SMALL), sink, segmenter=segmenter)
    pipe.load()
    rgb, msg = frame()
    before = pipe.prepare(msg)  # no CameraInfo yet: no camera_info output
    pipe.set_camera_info(camera_info())
    job = pipe.prepare(msg)
    assert job.result is None and job.image.shape == (96, 160, 3)
    newer = camera_info()
    newer.k = [200.0, 0, 80, 0, 200, 48, 0, 0, 1]  # the lens zoomed in meanwhile
    pipe.set_camera_info(newer)
    out = pipe.publish(pipe.segment(job))
    assert out['camera_info'].k[0] == 100.0  # the CameraInfo of the frame's time
    assert pipe.publish(pipe.infer(msg))['camera_info'].k[0] == 200.0
    assert 'camera_info' not in pipe.publish(pipe.segment(before))
    assert np.array_equal(image_to_array(out['labels']), segmenter(rgb).labels)


def test_network_output_size_scales_camera_info(segmenter):
    seg = load_segmenter_for(NodeParams(**SMALL, output_size='network'))
    try:
        pipe = Pipeline(NodeParams(**SMALL, output_size='network', weights_size='native',
                                   weights_encoding='32FC1'), Sink(), segmenter=seg)
        pipe.load()
        pipe.set_camera_info(camera_info())
        out = pipe.publish(pipe.infer(frame()[1]))
        assert (out['labels'].height, out['labels'].width) == (64, 128)
        info = out['camera_info']
        assert (info.height, info.width) == (64, 128)
        assert info.k[0] == pytest.approx(100 * 128 / 160) and info.k[5] == pytest.approx(32)
        w16 = image_to_array(out['weights/stride16'])
        assert w16.dtype == np.float32 and w16.shape == (4, 8)
        assert 0.0 <= w16.min() and w16.max() <= 1.0
    finally:
        seg.close()


def test_only_enabled_and_subscribed_outputs_are_computed(segmenter):
    sink = Sink(subscribed={'labels', 'color', 'weights/stride8'})
    pipe = Pipeline(NodeParams(**SMALL, publish_color=False), sink, segmenter=segmenter)
    pipe.load()
    pipe.set_camera_info(camera_info())
    assert set(pipe.publish(pipe.infer(frame()[1]))) == {'labels', 'weights/stride8'}
    # A runtime change, as the node's on-set callback applies it.
    pipe.params = pipe.params.with_changes({'publish_color': True, 'publish_weights': False},
                                           runtime=True)
    assert set(pipe.publish(pipe.infer(frame()[1]))) == {'labels', 'color'}
    nobody = Pipeline(NodeParams(**SMALL), Sink(subscribed=set()), segmenter=segmenter)
    nobody.load()
    assert nobody.publish(nobody.infer(frame()[1])) == {}
    assert nobody.stats.snapshot()['infer_ms'] == 0.0


def test_runtime_parameters_are_validated():
    params = NodeParams(**SMALL)
    with pytest.raises(ValueError, match='outside'):
        params.with_changes({'overlay_alpha': 1.5}, runtime=True)
    with pytest.raises(ValueError, match='read-only'):
        params.with_changes({'model': 'other'}, runtime=True)
    assert params.overlay_alpha == 0.5
    assert params.with_changes({'overlay_alpha': 1}, runtime=True).overlay_alpha == 1.0


def test_compressed_input(segmenter):
    pipe = Pipeline(NodeParams(**SMALL, input_transport='compressed'), Sink(),
                    segmenter=segmenter)
    pipe.load()
    rgb, msg = frame()
    comp = rgb_to_compressed(rgb, msg.header, fmt='png')
    out = pipe.publish(pipe.infer(comp))
    assert np.array_equal(image_to_array(out['labels']), segmenter(rgb).labels)


def _street(h, w):
    """A smooth frame (sky, horizon, road gradient), kept close by JPEG."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([90 + 60 * (y > h // 2) + x * 40 // w, 120 + y * 80 // h,
                    200 - y * 120 // h], axis=-1)
    return rgb.astype(np.uint8)


def test_jpeg_decoded_at_reduced_scale_keeps_the_frame_size(segmenter):
    # A 256x512 JPEG for a 64x128 network: decoded at 1/4 scale (64x128, the network input
    # itself); labels, confidence and camera_info still at the frame's 256x512.
    rgb = _street(256, 512)
    header = m.Header(stamp=m.Time(sec=3, nanosec=0), frame_id='camera_optical')
    comp = rgb_to_compressed(rgb, header, fmt='jpeg', quality=95)
    sink = Sink(subscribed={'labels', 'confidence', 'camera_info'})
    pipe = Pipeline(NodeParams(**SMALL, input_transport='compressed'), sink,
                    segmenter=segmenter)
    pipe.load()
    pipe.set_camera_info(camera_info(w=512, h=256))
    job = pipe.infer(comp)
    assert job.image.shape == (64, 128, 3) and job.size == (256, 512)
    out = pipe.publish(job)
    assert (out['labels'].height, out['labels'].width) == (256, 512)
    assert (out['confidence'].height, out['confidence'].width) == (256, 512)
    assert (out['camera_info'].height, out['camera_info'].width) == (256, 512)
    assert list(out['camera_info'].k) == list(camera_info(w=512, h=256).k)  # not rescaled
    # The same frame decoded whole: the network sees an area-like vs a bilinear downscale;
    # the labels agree almost everywhere.
    whole_pipe = Pipeline(NodeParams(**SMALL, input_transport='compressed',
                                     reduced_decode=False), Sink(subscribed={'labels'}),
                          segmenter=segmenter)
    whole_pipe.load()
    whole = whole_pipe.infer(comp)
    assert whole.image.shape == (256, 512, 3) and whole.size == (256, 512)
    agree = np.mean(image_to_array(out['labels']) == whole.result.labels)
    assert agree > 0.9
    # An overlay at the frame's size needs the whole picture: decoded whole.
    overlay = Pipeline(NodeParams(**SMALL, input_transport='compressed'),
                       Sink(subscribed={'labels', 'overlay'}), segmenter=segmenter)
    overlay.load()
    assert overlay.infer(comp).image.shape == (256, 512, 3)
    # PNG is never decoded at a reduced scale (OpenCV would decode it whole anyway).
    png = rgb_to_compressed(rgb, header, fmt='png')
    assert pipe.infer(png).image.shape == (256, 512, 3)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.005)


def test_latest_frame_only_and_malformed_frames(segmenter):
    sink = Sink(subscribed={'labels'})
    pipe = Pipeline(NodeParams(**SMALL), sink, segmenter=segmenter)
    pipe.start()
    try:
        sink.gate.clear()  # the publishing stage blocks: a slow consumer
        pipe.submit(frame(sec=1)[1])
        wait_for(lambda: pipe._publishing)
        # Stage 1 segments the next frame while frame 1 is being published ...
        pipe.submit(frame(sec=2)[1])
        wait_for(lambda: pipe._ready is not None)
        # ... and then waits for stage 2: newer frames replace each other in the slot.
        for sec in range(3, 6):
            pipe.submit(frame(sec=sec)[1])
        assert not pipe.wait_idle(0.2)
        sink.gate.set()
        assert pipe.wait_idle(30)
        assert [msg.header.stamp.sec for _, msg in sink.published] == [1, 2, 5]
        snap = pipe.stats.snapshot()
        assert (snap['frames_received'], snap['frames_processed'],
                snap['frames_dropped']) == (5, 3, 2)
        # Malformed frames are counted and skipped; the node keeps serving.
        bad = frame(sec=6)[1]
        bad.step = 3
        pipe.submit(bad)
        assert pipe.wait_idle(30)
        pipe.submit(frame(sec=7)[1])
        assert pipe.wait_idle(30)
        snap = pipe.stats.snapshot()
        assert snap['decode_errors'] == 1 and 'step 3' in snap['last_error']
        assert sink.published[-1][1].header.stamp.sec == 7
        diag = pipe.diagnostics()
        status = diag.status[0]
        values = {kv.key: kv.value for kv in status.values}
        assert status.level == messages.WARN and values['decode_errors'] == '1'
        assert values['frames_dropped'] == '2' and float(values['infer_ms']) > 0
        assert 0 < float(values['segment_ms']) <= float(values['process_ms'])
        assert 0 < float(values['first_output_latency_ms']) <= float(values['node_latency_ms'])
    finally:
        pipe.close()


def test_a_failing_publish_is_counted_and_the_node_keeps_serving(segmenter):
    class Flaky(Sink):
        def publish(self, key, msg):
            if msg.header.stamp.sec == 2:
                raise RuntimeError('writer gone')
            super().publish(key, msg)

    sink = Flaky(subscribed={'labels'})
    pipe = Pipeline(NodeParams(**SMALL), sink, segmenter=segmenter)
    pipe.start()
    try:
        for sec in (1, 2, 3):
            pipe.submit(frame(sec=sec)[1])
            assert pipe.wait_idle(30)
        assert [msg.header.stamp.sec for _, msg in sink.published] == [1, 3]
        snap = pipe.stats.snapshot()
        assert snap['errors'] == 1 and 'writer gone' in snap['last_error']
    finally:
        pipe.close()


def test_outputs_go_out_navigation_first(segmenter):
    sink = Sink()
    pipe = Pipeline(NodeParams(**SMALL), sink, segmenter=segmenter)
    pipe.load()
    pipe.set_camera_info(camera_info())
    pipe.publish(pipe.infer(frame()[1]))
    assert [k for k, _ in sink.published] == [
        'labels', 'camera_info', 'obstacle_points', 'free_points', 'ground_grid', 'confidence',
        'weights/stride16', 'weights/stride8', 'color', 'overlay']


def test_frame_skip(segmenter):
    sink = Sink(subscribed={'labels'})
    pipe = Pipeline(NodeParams(**SMALL, frame_skip=2), sink, segmenter=segmenter)
    pipe.start()
    try:
        for sec in range(1, 8):
            pipe.submit(frame(sec=sec)[1])
            assert pipe.wait_idle(30)
        assert [msg.header.stamp.sec for _, msg in sink.published] == [1, 4, 7]
        assert pipe.stats.snapshot()['frames_skipped'] == 4
    finally:
        pipe.close()


def test_label_info(segmenter):
    pipe = Pipeline(NodeParams(**SMALL), Sink(), segmenter=segmenter)
    info = pipe.label_info()
    names = {c.class_id: c.class_name for c in info.class_map}
    assert names[0] == 'road' and names[18] == 'bicycle' and names[255] == 'unknown'
    assert output_topic('label_info') == 'segmentation/label_info'
    assert output_topic('diagnostics') == '/diagnostics'


def test_core_imports_without_ros_or_dds():
    code = ('import sys\n'
            "for n in ('rclpy', 'cyclonedds', 'cv_bridge', 'sensor_msgs', 'launch'):\n"
            '    sys.modules[n] = None\n'
            'import baff_ros.ros.pipeline, baff_ros.ros.image_codec, baff_ros.ros.params\n'
            "print('ok')\n")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == 'ok', res.stderr


def test_colorize_is_the_palette_lookup():
    from baff_ros.engine.visualize import colorize, palette_lut
    lut = palette_lut(np.random.default_rng(1).integers(0, 256, (19, 3)))
    labels = np.arange(256, dtype=np.uint8).reshape(16, 16).repeat(3, axis=1)
    assert np.array_equal(colorize(labels, lut), np.take(lut, labels, axis=0))
    out = np.empty(labels.shape + (3,), np.uint8)
    assert colorize(labels, lut, out=out) is not None and np.array_equal(out, lut[labels])
    assert not colorize(np.full((2, 2), 255, np.uint8), lut).any()  # unknown = black
    with pytest.raises(ValueError, match='uint8'):
        colorize(labels.astype(np.int32), lut)


def test_ground_outputs(segmenter):
    """Clouds and grid equal the core's projection of the published labels and confidence."""
    from baff_ros.engine import ground
    from baff_ros.ros.ground_codec import msg_to_points

    # The untrained model predicts whichever classes its random weights favour (sky too): no
    # class is left out, so every pixel below the horizon becomes a point.
    params = NodeParams(**SMALL, camera_height=1.2, camera_pitch=0.35, ground_min_confidence=0.0,
                        ground_traversable='road, sidewalk, terrain, building', ground_ignore='',
                        ground_max_range=30.0, grid_resolution=0.5, grid_size=20.0)
    sink = Sink({'labels', 'confidence', 'obstacle_points', 'free_points', 'ground_grid'})
    pipe = Pipeline(params, sink, segmenter=segmenter)
    pipe.load()
    rgb, msg = frame(sec=7, nanosec=5)
    # No CameraInfo: no clouds.
    assert pipe.publish(pipe.infer(msg)).keys() == {'labels', 'confidence'}
    pipe.set_camera_info(camera_info())
    out = pipe.publish(pipe.infer(msg))
    assert list(out)[:4] == ['labels', 'obstacle_points', 'free_points', 'ground_grid']
    labels, conf = image_to_array(out['labels']), image_to_array(out['confidence'])
    camera = ground.CameraModel.from_camera_info(camera_info())
    pose = ground.pose_from_extrinsics(1.2, pitch=0.35)
    roles = ground.role_table(segmenter.meta.class_names,
                              ('road', 'sidewalk', 'terrain', 'building'), ignore=())
    ref = ground.GroundProjector(roles, ground.ProjectionConfig(4, 30.0, 0.0)).project(
        labels, camera, pose, conf)
    assert len(ref.obstacle) + len(ref.free) > 100
    for key, cloud in (('obstacle_points', ref.obstacle), ('free_points', ref.free)):
        o = out[key]
        assert o.header.frame_id == 'base_footprint' and o.header.stamp.sec == 7
        pts = msg_to_points(o)
        assert np.array_equal(pts['x'], cloud.xyz[:, 0])
        assert np.array_equal(pts['label'], cloud.label)
        assert np.allclose(pts['confidence'], cloud.confidence) and (pts['z'] == 0).all()
    grid = out['ground_grid']
    assert (grid.info.width, grid.info.height, grid.info.resolution) == (40, 40, 0.5)
    assert grid.info.origin.position.x == -10.0
    cells = np.frombuffer(bytes(grid.data), np.int8)
    assert np.array_equal(cells, ground.rasterise(ref, ground.GridConfig(0.5, 20.0)).ravel())
    assert pipe.stats.snapshot()['ground_ms'] > 0

    # Without a transform the frame's projection is skipped and counted; the rest goes out.
    pipe.pose_lookup = lambda header: None
    out = pipe.publish(pipe.infer(msg))
    assert set(out) == {'labels', 'confidence'}
    snap = pipe.stats.snapshot()
    assert snap['ground_skipped'] == 1 and 'no transform from camera_optical' in \
        snap['ground_skip_reason']
    values = {v.key: v.value for v in pipe.diagnostics().status[0].values}
    assert values['ground_skipped'] == '1'

    # A lookup that knows why it has no pose says so (the rclpy node without tf2_ros).
    def no_tf2(header):
        raise PoseUnavailable('tf2_ros does not import')
    pipe.pose_lookup = no_tf2
    assert set(pipe.publish(pipe.infer(msg))) == {'labels', 'confidence'}
    snap = pipe.stats.snapshot()
    assert snap['ground_skipped'] == 2 and snap['ground_skip_reason'] == 'tf2_ros does not import'


def test_ground_role_names_are_checked(segmenter):
    pipe = Pipeline(NodeParams(**SMALL, ground_ignore='sky, clouds'), Sink(), segmenter=segmenter)
    with pytest.raises(ValueError, match='ground_ignore.*clouds'):
        pipe.load()
    pipe = Pipeline(NodeParams(**SMALL), Sink(), segmenter=segmenter)
    pipe.load()
    with pytest.raises(ValueError, match='roads'):  # as the node's on-set callback checks
        pipe.projector(pipe.params.with_changes({'ground_traversable': 'roads'}, runtime=True))
    assert pipe.params.ground_traversable == 'road, sidewalk, terrain'
