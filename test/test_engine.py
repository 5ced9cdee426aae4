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
"""Segmenter: pre/post-processing, colour orders, sizes, confidence and weight maps."""

import sys

import cv2
import numpy as np
import pytest
import torch

from baff_ros.engine import BackendOptions, Segmenter
from baff_ros.engine.postprocess import labels_and_confidence
from baff_ros.model import build_model, ModelConfig
from baff_ros.model.checkpoint import CheckpointMeta

NET = (64, 128)


def street_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 255, (max(2, h // 16), max(2, w // 16), 3), dtype=np.uint8)
    img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def decisive_model(width=0.35, fusion='baff'):
    """An untrained model with confident logits and spatially varying BAFF weights.

    Random init gives near-uniform logits (labels decided by noise); scaling the score heads and
    randomising the weight-net heads gives the structure trained models have.
    """
    torch.manual_seed(0)
    model = build_model(ModelConfig(width_mult=width, fusion=fusion))
    # Batch-norm statistics of real activations (cumulative average over a few images), so
    # features keep their spatial variation instead of being swamped by biases.
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None
    with torch.no_grad():
        imgs = np.stack([street_image(*NET, seed=seed).transpose(2, 0, 1) for seed in range(4)])
        model(torch.from_numpy((imgs.astype(np.float32) / 127.5) - 1.0))
    model.eval()
    with torch.no_grad():
        for head in model.score:
            head.weight.mul_(40.0)
        for fusion_mod in model.fusions:
            net = getattr(fusion_mod, 'weight_net', None)
            if net is not None:
                torch.nn.init.normal_(net.head.weight, std=0.02)
    return model


@pytest.fixture(scope='module')
def model():
    return decisive_model()


@pytest.fixture(scope='module')
def meta(model):
    return CheckpointMeta.default(model.cfg)


def make(model, meta, head='fast', **kw):
    return Segmenter.from_model(model, meta, backend='torch',
                                options=BackendOptions(head=head, threads=2),
                                input_size=NET, **kw)


@pytest.mark.parametrize('order', ['rgb', 'bgr'])
def test_preprocess_matches_reference_and_reuses_buffer(model, meta, order):
    seg = make(model, meta)
    img = street_image(100, 170)
    batch = seg.preprocess(img, order)
    rgb = cv2.resize(img, (NET[1], NET[0]), interpolation=cv2.INTER_LINEAR)
    if order == 'bgr':
        rgb = rgb[..., ::-1]
    ref = (rgb.astype(np.float32) / 255.0 - np.float32(meta.mean)) / np.float32(meta.std)
    assert batch.shape == (1, 3) + NET and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0], ref.transpose(2, 0, 1), atol=1e-5)
    assert seg.preprocess(img, order) is batch


def test_rgb_and_bgr_give_the_same_result(model, meta):
    seg = make(model, meta)
    img = street_image(97, 203)
    a = seg(img, 'rgb')
    b = seg(np.ascontiguousarray(img[..., ::-1]), 'bgr')
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.confidence, b.confidence)


@pytest.mark.parametrize('shape', [(97, 203), (64, 128), (481, 641), (33, 35)])
def test_output_size_input_and_network(model, meta, shape):
    img = street_image(*shape)
    res_in = make(model, meta)(img)
    res_net = make(model, meta, output_size='network')(img)
    assert res_in.labels.shape == shape and res_in.confidence.shape == shape
    assert res_net.labels.shape == NET and res_net.network_size == NET
    assert res_in.labels.dtype == np.uint8 and res_in.confidence.dtype == np.uint8
    # Labels are resized with nearest neighbour: exactly the network labels, resampled.
    nearest = cv2.resize(res_net.labels, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(res_in.labels, nearest)
    assert set(np.unique(res_in.labels)) <= set(np.unique(res_net.labels))
    assert len(np.unique(res_net.labels)) > 1  # a decisive model is not constant


def test_heads_agree_on_labels_and_exact_confidence_is_max_softmax(model, meta):
    img = street_image(*NET)
    results = {h: make(model, meta, head=h)(img) for h in ('fast', 'exact', 'logits')}
    seg = make(model, meta, head='logits')
    with torch.inference_mode():
        logits = model(torch.from_numpy(seg.preprocess(img).copy())).numpy()
    ref_labels = logits.argmax(1)[0]
    prob = torch.softmax(torch.from_numpy(logits), 1).amax(1)[0].numpy()
    for head, res in results.items():
        assert (res.labels == ref_labels).mean() >= 0.999, head
        assert res.confidence.min() >= int(255 / model.cfg.num_classes) - 1, head
    for head in ('exact', 'logits'):
        diff = np.abs(results[head].confidence.astype(int) - np.floor(prob * 255.0))
        assert diff.max() <= 1, head
    # 'fast' is the 1/8-resolution confidence upsampled: close, not identical.
    fast = results['fast'].confidence.astype(int)
    assert np.abs(fast - results['exact'].confidence.astype(int)).mean() < 40


def test_weight_maps_shapes_values_and_identity_with_torch(model, meta):
    img = street_image(*NET)
    seg = make(model, meta)
    res = seg(img)
    assert seg.fusion_names == ('16', '8')
    assert list(res.weights) == ['16', '8']
    with torch.inference_mode():
        _, ref = model(torch.from_numpy(seg.preprocess(img).copy()), return_weights=True)
    for (name, w), r in zip(res.weights.items(), ref):
        r = int(name)
        assert w.shape == (NET[0] // r, NET[1] // r) and w.dtype == np.float32
        assert 0.0 <= w.min() and w.max() <= 1.0
    for w, r in zip(res.weights.values(), ref):
        np.testing.assert_allclose(w, r[0, 0].numpy(), atol=1e-5)
    assert res.weights['8'].std() > 0  # randomised heads: the map varies over blocks
    assert set(res.timings_ms) == {'pre', 'infer', 'post'}


def test_plain_skipnet_has_no_weights():
    m = decisive_model(fusion='add')
    seg = make(m, CheckpointMeta.default(m.cfg))
    res = seg(street_image(*NET))
    assert seg.fusion_names == () and res.weights == {}


def test_without_weights_option(model, meta):
    seg = Segmenter.from_model(model, meta, 'torch', BackendOptions(with_weights=False),
                               input_size=NET)
    assert seg(street_image(*NET)).weights == {}


def test_numpy_postprocess_matches_torch_and_breaks_ties_low():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (2, 19, 31, 45)).astype(np.float32)
    labels, conf = labels_and_confidence(logits)
    t = torch.from_numpy(logits)
    np.testing.assert_array_equal(labels, t.argmax(1).numpy())
    ref = np.floor(torch.softmax(t, 1).amax(1).numpy() * 255.0)
    assert np.abs(conf.astype(int) - ref).max() <= 1
    tied = np.zeros((1, 4, 2, 2), np.float32)
    tied[0, 2] = 1.0
    tied[0, 3] = 1.0
    lab, c = labels_and_confidence(tied)
    assert (lab == 2).all() and (c == int(255 * np.e / (2 * np.e + 2))).all()


def test_bad_inputs_raise(model, meta):
    seg = make(model, meta)
    with pytest.raises(ValueError, match='color_order'):
        seg(street_image(*NET), 'hsv')
    with pytest.raises(ValueError, match='uint8'):
        seg(np.zeros((64, 128, 3), np.float32))
    with pytest.raises(ValueError, match='HxWx3'):
        seg(np.zeros((64, 128), np.uint8))
    with pytest.raises(ValueError, match='output_size'):
        make(model, meta, output_size='half')
    with pytest.raises(ValueError, match='multiples of 32'):
        Segmenter.from_model(model, meta, 'torch', input_size=(60, 128))
    with pytest.raises(ValueError, match='head'):
        BackendOptions(head='softmax')


def _blas_threads():
    """path -> thread count of every OpenBLAS loaded in this process (its own getter)."""
    import ctypes

    from baff_ros.engine.models import _blas_paths

    counts = {}
    for path in _blas_paths():
        lib = ctypes.CDLL(path)
        for name in ('openblas_get_num_threads', 'scipy_openblas_get_num_threads64_'):
            getter = getattr(lib, name, None)
            if getter is not None:
                counts[path] = getter()
                break
    return counts


def test_configure_threads_gives_opencv_and_blas_one_thread_beside_cpu_inference(
        model, meta, tmp_path):
    from baff_ros.engine.models import configure_threads, limit_blas_threads

    before = cv2.getNumThreads()
    blas_before = _blas_threads()
    # numpy's OpenBLAS and the one OpenCV bundles (behind cv2.gemm): both found (on Linux)
    assert sys.platform != 'linux' or len(blas_before) >= 2, blas_before
    try:
        cv2.setNumThreads(2)
        limit_blas_threads(2)
        assert set(_blas_threads().values()) == {2}
        seg = Segmenter.from_model(model, meta, 'onnxruntime',
                                   BackendOptions(cache_dir=str(tmp_path)), input_size=(64, 64))
        configure_threads(seg, 0)
        assert cv2.getNumThreads() == 1
        assert set(_blas_threads().values()) == {1}
        # and the Segmenter still segments
        assert seg(np.zeros((48, 80, 3), np.uint8)).labels.shape == (48, 80)
    finally:
        cv2.setNumThreads(before)
        if blas_before:
            limit_blas_threads(max(blas_before.values()))
