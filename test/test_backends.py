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
"""Backends: onnxruntime, auto, TensorRT cache keys and errors, int8, option validation."""

import importlib.util
import os

import numpy as np
import onnx
import pytest
import torch

from baff_ros.engine import BackendError, BackendOptions, Segmenter
from baff_ros.engine.backends import auto_candidates, backend_names, get_backend_class
from baff_ros.engine.backends.onnxruntime_backend import calibration_batches
from baff_ros.engine.backends.tensorrt_backend import engine_cache_key, TensorRTBackend
from baff_ros.engine.graph import cached_onnx, model_hash
from baff_ros.export import parity_input
from baff_ros.model import build_model, ModelConfig
from baff_ros.model.checkpoint import CheckpointMeta

SIZE = (64, 128)
HAS_TRT = importlib.util.find_spec('tensorrt') is not None


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(width_mult=0.35)).eval()


def test_registry():
    assert backend_names() == ('torch', 'onnxruntime', 'tensorrt')
    with pytest.raises(BackendError, match="unknown backend 'tflite'"):
        get_backend_class('tflite')


@pytest.mark.parametrize('head', ['fast', 'exact', 'logits'])
def test_onnxruntime_matches_torch(model, tmp_path, head):
    opts = BackendOptions(head=head, cache_dir=str(tmp_path), threads=1)
    ort_be = get_backend_class('onnxruntime')(model, opts, input_size=SIZE)
    torch_be = get_backend_class('torch')(model, opts, input_size=SIZE)
    x = parity_input(SIZE)
    lo, co, wo = ort_be.segment(x)
    lt, ct, wt = torch_be.segment(x)
    assert lo.dtype == np.uint8 and co.dtype == np.uint8 and lo.shape == (1, *SIZE)
    assert (lo == lt).mean() >= 0.999
    assert np.abs(co.astype(int) - ct.astype(int)).max() <= 1
    assert len(wo) == len(wt) == 2
    for a, b in zip(wo, wt):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert ort_be.head == head and 'onnxruntime' in ort_be.description


def test_onnx_cache_is_reused_and_keyed_by_weights(model, tmp_path):
    p1 = cached_onnx(model, SIZE, 'fast', True, str(tmp_path))
    inode = os.stat(p1).st_ino
    assert cached_onnx(model, SIZE, 'fast', True, str(tmp_path)) == p1
    # Not exported again: an export renames a new file into place (a hit only refreshes the
    # modification time, see test_cache.py).
    assert os.stat(p1).st_ino == inode
    assert cached_onnx(model, (96, 160), 'fast', True, str(tmp_path)) != p1
    torch.manual_seed(5)
    other = build_model(ModelConfig(width_mult=0.35)).eval()
    assert model_hash(other) != model_hash(model)
    torch.manual_seed(0)
    same = build_model(ModelConfig(width_mult=0.35)).eval()
    assert model_hash(same) == model_hash(model)  # same weights, same key


def test_infer_needs_a_float_graph(model, tmp_path):
    be = get_backend_class('onnxruntime')(model, BackendOptions(cache_dir=str(tmp_path),
                                                                head='fast'), SIZE)
    with pytest.raises(BackendError, match="head 'logits' or 'cells'"):
        be.infer(parity_input(SIZE))


def test_default_head_hands_back_the_eighth_scores(model, tmp_path):
    be = get_backend_class('onnxruntime')(model, BackendOptions(cache_dir=str(tmp_path)), SIZE)
    assert be.head == 'cells' and be.output_names[0] == 'scores'
    scores, weights = be.infer(parity_input(SIZE))
    assert scores.shape == (1, model.cfg.num_classes, SIZE[0] // 8, SIZE[1] // 8)
    sizes = [(SIZE[0] // 16, SIZE[1] // 16), (SIZE[0] // 8, SIZE[1] // 8)]
    assert [w.shape[2:] for w in weights] == sizes


def test_auto_picks_onnxruntime_on_cpu_and_says_so(model, tmp_path):
    meta = CheckpointMeta.default(model.cfg)
    seg = Segmenter.from_model(model, meta, 'auto', BackendOptions(cache_dir=str(tmp_path)),
                               input_size=SIZE)
    assert seg.backend.description.startswith('auto -> onnxruntime')
    assert seg(np.zeros((40, 50, 3), np.uint8)).labels.shape == (40, 50)
    cuda = auto_candidates(BackendOptions(device='cuda'))
    assert cuda[0] == ('tensorrt' if HAS_TRT else 'onnxruntime')
    assert auto_candidates(BackendOptions()) == ['onnxruntime', 'torch']


def test_auto_on_missing_cuda_reports_every_failure(model, tmp_path):
    if torch.cuda.is_available():
        pytest.skip('a GPU is present')
    with pytest.raises(BackendError, match='no backend could be started') as err:
        get_backend_class('auto')(model, BackendOptions(device='cuda', cache_dir=str(tmp_path)),
                                  input_size=SIZE)
    assert 'torch:' in str(err.value) and 'onnxruntime:' in str(err.value)


def test_tensorrt_cache_key_covers_everything():
    base = dict(source_hash='abc123', input_size=(512, 1024), precision='fp16',
                gpu_name='NVIDIA H100 80GB HBM3', trt_version='10.3.0', head='fast')
    key = engine_cache_key(**base)
    assert key.endswith('.engine') and '/' not in key and ' ' not in key
    assert key == engine_cache_key(**base)
    for field, value in [('source_hash', 'abc124'), ('input_size', (1024, 2048)),
                         ('precision', 'int8'), ('gpu_name', 'NVIDIA H200'),
                         ('trt_version', '10.4.0'), ('head', 'logits')]:
        assert engine_cache_key(**{**base, field: value}) != key, field
    with pytest.raises(ValueError, match='precision'):
        engine_cache_key(**{**base, 'precision': 'fp8'})


def test_tensorrt_errors_without_runtime_or_gpu(model):
    with pytest.raises(BackendError, match='needs a CUDA device'):
        TensorRTBackend(model, BackendOptions(), SIZE)
    if HAS_TRT:
        pytest.skip('TensorRT is installed here')
    with pytest.raises(BackendError, match='TensorRT is not installed'):
        TensorRTBackend(model, BackendOptions(device='cuda'), SIZE)


def test_device_and_precision_errors(model):
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match='CUDA is not available'):
            get_backend_class('torch')(model, BackendOptions(device='cuda:0'), SIZE)
        with pytest.raises(BackendError, match='CUDA execution provider|onnxruntime-gpu'):
            get_backend_class('onnxruntime')(model, BackendOptions(device='cuda'), SIZE)
    with pytest.raises(BackendError, match='fp16 needs a CUDA device'):
        get_backend_class('torch')(model, BackendOptions(precision='fp16'), SIZE)
    with pytest.raises(BackendError, match='no int8'):
        get_backend_class('torch')(model, BackendOptions(precision='int8'), SIZE)
    with pytest.raises(BackendError, match='fp32 or int8'):
        get_backend_class('onnxruntime')(model, BackendOptions(precision='fp16'), SIZE)
    with pytest.raises(ValueError, match='device'):
        BackendOptions(device='gpu')
    with pytest.raises(ValueError, match='opt_level'):
        BackendOptions(opt_level='max')


def test_int8_runs_and_its_accuracy_delta_is_measured(model, tmp_path):
    x = parity_input(SIZE)
    fp32 = get_backend_class('onnxruntime')(
        model, BackendOptions(head='logits', cache_dir=str(tmp_path)), SIZE)
    q = get_backend_class('onnxruntime')(
        model, BackendOptions(head='logits', precision='int8', cache_dir=str(tmp_path)), SIZE)
    assert 'int8' in q.description
    proto = onnx.load(str(q.path))
    assert any(n.op_type == 'QuantizeLinear' for n in proto.graph.node)
    ref, _ = fp32.infer(x)
    out, weights = q.infer(x)
    assert out.shape == ref.shape and len(weights) == 2
    agreement = float((out.argmax(1) == ref.argmax(1)).mean())
    delta = float(np.abs(out - ref).max())
    assert 0.0 <= agreement <= 1.0
    assert 0.0 < delta < 10.0 * float(np.abs(ref).max()) + 1.0  # quantised, but not garbage


def test_calibration_batches_from_files_and_synthetic(tmp_path):
    import cv2

    synth = calibration_batches(SIZE, (0.5,) * 3, (0.25,) * 3, count=3)
    assert len(synth) == 3 and synth[0].shape == (1, 3, *SIZE)
    assert not np.allclose(synth[0], synth[1])
    img = np.full((20, 30, 3), 127, np.uint8)
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    one = calibration_batches(SIZE, (0.5,) * 3, (0.25,) * 3, [str(tmp_path / 'a.png')])
    assert len(one) == 1 and np.allclose(one[0], (127 / 255 - 0.5) / 0.25, atol=1e-5)
    with pytest.raises(BackendError, match='cannot read calibration image'):
        calibration_batches(SIZE, (0.5,) * 3, (0.25,) * 3, [str(tmp_path / 'none.png')])


@pytest.mark.slow
def test_torch_compile_matches_eager(model):
    opts = BackendOptions(head='logits', compile=True)
    be = get_backend_class('torch')(model, opts, SIZE)
    x = parity_input(SIZE)
    out, _ = be.infer(x)
    ref, _ = get_backend_class('torch')(model, BackendOptions(head='logits'), SIZE).infer(x)
    assert (out.argmax(1) == ref.argmax(1)).mean() >= 0.999
