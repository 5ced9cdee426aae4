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
"""ONNX export: named outputs, checker, parity with PyTorch, dynamic shapes, bad files."""

import numpy as np
import onnx
import pytest
import torch

from baff_ros.cli import main
from baff_ros.engine import BackendError, BackendOptions, Segmenter
from baff_ros.engine.backends.onnxruntime_backend import OnnxRuntimeBackend
from baff_ros.export import check_onnx, export_model, onnx_parity, parity_input
from baff_ros.model import build_model, ModelConfig
from baff_ros.model.checkpoint import CheckpointMeta

SIZE = (64, 128)


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    return build_model(ModelConfig(width_mult=0.35, **kw)).eval()


@pytest.fixture(scope='module')
def model():
    return _model()


@pytest.fixture(scope='module')
def exported(model, tmp_path_factory):
    path = tmp_path_factory.mktemp('onnx') / 'baff.onnx'
    return export_model(model, path, 'onnx', SIZE)


def test_named_outputs_checker_and_parity(exported):
    assert exported['inputs'] == ['image']
    assert exported['outputs'] == ['logits', 'weights_16', 'weights_8']
    check_onnx(exported['path'])
    parity = exported['parity']
    assert exported['parity_ok']
    assert parity['label_agreement'] >= 0.999
    assert parity['max_abs_logit_diff'] <= 1e-3
    assert parity['max_abs_weight_diff'] <= 1e-4


def test_static_shapes_are_recorded(exported):
    proto = onnx.load(exported['path'])
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, *SIZE]


def test_dynamic_export_runs_at_other_sizes(model, tmp_path):
    path = tmp_path / 'dyn.onnx'
    report = export_model(model, path, 'onnx', SIZE, dynamic=True)
    assert report['parity_ok']
    for size in [(96, 160), (128, 64)]:
        parity = onnx_parity(model, path, size)
        assert parity.size == size
        assert parity.label_agreement >= 0.999 and parity.max_abs_logit_diff <= 1e-3
    with pytest.raises(BackendError, match='ONNX file not found'):
        OnnxRuntimeBackend(None, BackendOptions(onnx_file=str(tmp_path / 'missing.onnx')),
                           SIZE)


def test_dynamic_export_traced_where_blocks_divide_the_maps(model, tmp_path):
    # At 128x256 the block grid divides both fusion maps exactly, so no crop is needed there;
    # a dynamic graph must still crop at sizes where it does not divide them (96x160).
    path = tmp_path / 'dyn.onnx'
    assert export_model(model, path, 'onnx', (128, 256), dynamic=True)['parity_ok']
    parity = onnx_parity(model, path, (96, 160))
    assert parity.label_agreement >= 0.999 and parity.max_abs_logit_diff <= 1e-3


def test_parity_detects_a_different_model(exported):
    other = _model(seed=1)
    with torch.no_grad():
        for head in other.score:
            head.weight.mul_(50.0)
    parity = onnx_parity(other, exported['path'], SIZE)
    assert not parity.ok()
    assert parity.max_abs_logit_diff > 1e-3


def test_static_file_at_wrong_size_is_refused(exported):
    with pytest.raises(BackendError, match='--dynamic'):
        OnnxRuntimeBackend(None, BackendOptions(onnx_file=exported['path']), (96, 160))


def test_no_weights_export(model, tmp_path):
    report = export_model(model, tmp_path / 'nw.onnx', 'onnx', SIZE, with_weights=False)
    assert report['outputs'] == ['logits']


@pytest.mark.parametrize('content', [b'', b'not an onnx model at all \x00\x01\x02',
                                     b'\x08\x07' * 40])
def test_corrupt_onnx_gives_a_clear_error(tmp_path, content, model):
    bad = tmp_path / 'bad.onnx'
    bad.write_bytes(content)
    with pytest.raises(BackendError, match='bad.onnx: not a valid ONNX model'):
        OnnxRuntimeBackend(None, BackendOptions(onnx_file=str(bad)), SIZE)
    with pytest.raises(BackendError, match='bad.onnx'):
        check_onnx(bad)
    meta = CheckpointMeta.default(model.cfg)
    with pytest.raises(BackendError, match='not a valid ONNX model'):
        Segmenter.from_model(model, meta, 'onnxruntime',
                             BackendOptions(onnx_file=str(bad)), input_size=SIZE)


def test_segmenter_runs_a_user_logits_file(model, exported):
    meta = CheckpointMeta.default(model.cfg)
    seg = Segmenter.from_model(model, meta, 'onnxruntime',
                               BackendOptions(onnx_file=exported['path']), input_size=SIZE)
    assert seg.backend.head == 'logits'  # post-processing falls back to numpy
    img = (np.random.default_rng(0).random((50, 70, 3)) * 255).astype(np.uint8)
    res = seg(img)
    ref = Segmenter.from_model(model, meta, 'torch', input_size=SIZE)(img)
    assert (res.labels == ref.labels).mean() >= 0.999
    assert list(res.weights) == ['16', '8']


def test_cli_export(tmp_path, capsys):
    out = tmp_path / 'm.onnx'
    rc = main(['export', '--config', 'width_mult=0.35', '--out', str(out), '--size', '64x128',
               '--dynamic'])
    text = capsys.readouterr().out
    assert rc == 0 and out.is_file()
    assert 'outputs: scores, weights_16, weights_8' in text  # the default head: cells
    assert 'labels agree on 100' in text or 'labels agree on 99.9' in text
    rc = main(['export', '--config', 'width_mult=0.35', '--out', str(out), '--size', '60x128'])
    assert rc == 2
    assert 'multiples of 32' in capsys.readouterr().err


def test_parity_input_is_deterministic():
    np.testing.assert_array_equal(parity_input(SIZE), parity_input(SIZE))


def test_a_failed_export_keeps_the_earlier_file(tmp_path, capsys):
    out = tmp_path / 'model.onnx'
    out.write_bytes(b'earlier export')
    code = main(['export', '--config', 'width_mult=0.35', '--size', '64x128', '--opset', '99',
                 '--out', str(out)])
    assert code == 2
    assert 'ONNX export failed' in capsys.readouterr().err
    assert out.read_bytes() == b'earlier export'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model.onnx']  # no partial file


def test_export_to_an_impossible_place_names_it(tmp_path, capsys):
    blocker = tmp_path / 'file'
    blocker.write_text('a file, not a folder')
    code = main(['export', '--config', 'width_mult=0.35', '--size', '64x128',
                 '--out', str(blocker / 'model.onnx')])
    assert code == 2
    assert f'{blocker / "model.onnx"}: cannot write there' in capsys.readouterr().err
