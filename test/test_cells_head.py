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
"""The default ``cells`` head: labels exact at full resolution from the 1/8 scores."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from baff_ros.data.synth import render_scene
from baff_ros.engine import BackendOptions, Segmenter
from baff_ros.engine import postprocess
from baff_ros.engine.postprocess import labels_from_scores
from baff_ros.model import build_model, ModelConfig
from baff_ros.model.checkpoint import CheckpointMeta, load_checkpoint


def _reference(scores: np.ndarray, factor: int):
    """Labels of the full-resolution logits, as the logits graph computes them (torch)."""
    h, w = scores.shape[2:]
    up = F.interpolate(torch.from_numpy(scores), size=(h * factor, w * factor),
                       mode='bilinear', align_corners=False)
    prob = torch.softmax(torch.from_numpy(scores), 1).amax(1, keepdim=True)
    conf = F.interpolate(prob, size=(h * factor, w * factor), mode='bilinear',
                         align_corners=False)[:, 0]
    return (up.argmax(1).numpy().astype(np.uint8),
            (conf * 255).clamp(0, 255).to(torch.uint8).numpy())


@pytest.mark.parametrize('factor', [1, 2, 3, 5, 8])
@pytest.mark.parametrize('smooth', [False, True])
def test_labels_equal_the_argmax_of_the_upsampled_scores(factor, smooth):
    rng = np.random.default_rng(factor)
    scores = rng.standard_normal((2, 7, 9, 13)).astype(np.float32)
    if smooth:  # large uniform regions: most cells take the shortcut
        scores = np.repeat(np.repeat(scores[:, :, ::3, ::3], 3, 2), 3, 3)[:, :, :9, :13].copy()
    labels, confidence = labels_from_scores(scores, factor)
    ref_labels, ref_conf = _reference(scores, factor)
    assert labels.shape == (2, 9 * factor, 13 * factor)
    np.testing.assert_array_equal(labels, ref_labels)
    assert np.abs(confidence.astype(int) - ref_conf).max() <= 1


def test_many_mixed_cells_are_processed_in_chunks(monkeypatch):
    # Pure noise: nearly every cell is mixed; a small chunk makes several passes.
    monkeypatch.setattr(postprocess, '_CELL_CHUNK', 37)
    scores = np.random.default_rng(1).standard_normal((1, 19, 16, 24)).astype(np.float32)
    labels, _ = labels_from_scores(scores, 8)
    np.testing.assert_array_equal(labels, _reference(scores, 8)[0])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='factor must be a positive integer'):
        labels_from_scores(np.zeros((1, 3, 4, 4), np.float32), 2.5)
    with pytest.raises(ValueError, match=r'expected \(N, K, h, w\) scores'):
        labels_from_scores(np.zeros((3, 4, 4), np.float32), 8)


@pytest.fixture(scope='module')
def bundled():
    return load_checkpoint('models/baff_skipnet_synth.safetensors')


@pytest.mark.parametrize('backend', ['onnxruntime', 'torch'])
def test_segmenter_cells_matches_the_full_resolution_heads(bundled, backend, tmp_path):
    model, meta = bundled
    size = (128, 256)
    image = render_scene(size, 3)[0]
    out = {}
    for head in ('cells', 'fast', 'logits'):
        seg = Segmenter.from_model(model, meta, backend,
                                   BackendOptions(head=head, cache_dir=str(tmp_path)),
                                   input_size=size)
        assert seg.backend.head == head
        out[head] = seg(image)
        seg.close()
    # The labels are those of the full-resolution logits, pixel for pixel.
    np.testing.assert_array_equal(out['cells'].labels, out['logits'].labels)
    np.testing.assert_array_equal(out['cells'].labels, out['fast'].labels)
    # Confidence as the fast head's (float rounding apart).
    diff = np.abs(out['cells'].confidence.astype(int) - out['fast'].confidence)
    assert diff.max() <= 1
    for name in out['cells'].weights:
        np.testing.assert_allclose(out['cells'].weights[name], out['fast'].weights[name],
                                   atol=1e-5)


def test_a_network_without_scores_runs_cells_as_exact(tmp_path):
    from baff_ros.peers import build_peer

    net = build_peer('enet', num_classes=19).eval()
    seg = Segmenter.from_model(net, CheckpointMeta.default(ModelConfig()), 'onnxruntime',
                               BackendOptions(cache_dir=str(tmp_path)), input_size=(64, 128))
    assert seg.backend.head == 'exact'
    assert seg(np.zeros((64, 128, 3), np.uint8)).labels.shape == (64, 128)


def test_untrained_model_cells_equal_logits(tmp_path):
    torch.manual_seed(0)
    model = build_model(ModelConfig(width_mult=0.35)).eval()
    meta = CheckpointMeta.default(model.cfg)
    image = np.random.default_rng(0).integers(0, 255, (64, 128, 3), dtype=np.uint8)
    labels = [Segmenter.from_model(model, meta, 'onnxruntime',
                                   BackendOptions(head=head, cache_dir=str(tmp_path)),
                                   input_size=(64, 128))(image).labels
              for head in ('cells', 'logits')]
    np.testing.assert_array_equal(*labels)
