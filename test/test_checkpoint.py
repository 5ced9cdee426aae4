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
"""Checkpoints: bit-exact round trip, and every kind of bad file rejected with a reason."""

import json
import pickle
import struct

import pytest
from safetensors.torch import save_file
import torch

from baff_ros.model import build_model, CheckpointError, load_checkpoint, ModelConfig, \
    save_checkpoint
from baff_ros.model.checkpoint import CheckpointMeta, METADATA_KEY


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(3)
    model = build_model(ModelConfig(width_mult=0.35))
    # Non-trivial BN statistics so buffers are part of the round trip too.
    model.train()
    model(torch.randn(2, 3, 64, 64))
    meta = CheckpointMeta.default(model.cfg, input_size=(256, 512),
                                  provenance={'data': 'unit test'}, metrics={'val_miou': 0.5})
    path = save_checkpoint(model, tmp_path / 'm.safetensors', meta)
    return model, meta, path


def test_round_trip_is_bit_exact(saved):
    model, meta, path = saved
    loaded, loaded_meta = load_checkpoint(path)
    assert loaded_meta == meta
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), k
    x = torch.randn(1, 3, 64, 64)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert not loaded.training


def test_no_temp_file_left_behind(saved):
    _, _, path = saved
    assert [p.name for p in path.parent.iterdir()] == ['m.safetensors']


def test_truncated_file(saved, tmp_path):
    _, _, path = saved
    data = path.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 1):
        bad = tmp_path / f'cut{cut}.safetensors'
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match='truncated|not a safetensors'):
            load_checkpoint(bad)


def test_pickle_file_is_rejected_without_unpickling(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    bad = tmp_path / 'evil.pt'
    bad.write_bytes(pickle.dumps({'x': Boom()}))
    with pytest.raises(CheckpointError, match='not a safetensors'):
        load_checkpoint(bad)
    torch_file = tmp_path / 'state.pt'
    torch.save(build_model(ModelConfig(width_mult=0.35)).state_dict(), torch_file)
    with pytest.raises(CheckpointError, match='not a safetensors'):
        load_checkpoint(torch_file)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match='no such checkpoint'):
        load_checkpoint(tmp_path / 'nope.safetensors')


def test_foreign_safetensors_without_metadata(tmp_path):
    path = tmp_path / 'foreign.safetensors'
    save_file({'a': torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match='not a baff_ros checkpoint'):
        load_checkpoint(path)


def _resave(path, out, edit_tensors=None, edit_meta=None):
    from safetensors.torch import load_file
    header_len = struct.unpack('<Q', path.read_bytes()[:8])[0]
    header = json.loads(path.read_bytes()[8:8 + header_len])
    meta = json.loads(header['__metadata__'][METADATA_KEY])
    tensors = load_file(str(path))
    if edit_tensors:
        edit_tensors(tensors)
    if edit_meta:
        edit_meta(meta)
    save_file(tensors, str(out), metadata={METADATA_KEY: json.dumps(meta)})
    return out


def test_wrong_keys_and_shapes(saved, tmp_path):
    _, _, path = saved
    key = 'score.0.weight'
    missing = _resave(path, tmp_path / 'a.safetensors', lambda t: t.pop(key))
    with pytest.raises(CheckpointError, match=f'missing keys {key}'):
        load_checkpoint(missing)
    extra = _resave(path, tmp_path / 'b.safetensors', lambda t: t.update(extra=torch.zeros(1)))
    with pytest.raises(CheckpointError, match='unexpected keys extra'):
        load_checkpoint(extra)
    shape = _resave(path, tmp_path / 'c.safetensors',
                    lambda t: t.update({key: torch.zeros(3, 3, 1, 1)}))
    with pytest.raises(CheckpointError, match='has shape'):
        load_checkpoint(shape)
    # Metadata says 'add' but the tensors hold BAFF weight nets.
    wrong_cfg = _resave(path, tmp_path / 'd.safetensors',
                        edit_meta=lambda m: m['config'].update(fusion='add'))
    with pytest.raises(CheckpointError, match='unexpected keys fusions'):
        load_checkpoint(wrong_cfg)


def test_bad_metadata(saved, tmp_path):
    _, _, path = saved
    bad = _resave(path, tmp_path / 'e.safetensors',
                  edit_meta=lambda m: m.update(format_version=99))
    with pytest.raises(CheckpointError, match='format_version'):
        load_checkpoint(bad)
    bad = _resave(path, tmp_path / 'f.safetensors',
                  edit_meta=lambda m: m['config'].update(block_size=3))
    with pytest.raises(CheckpointError, match='block_size'):
        load_checkpoint(bad)


def test_meta_validation():
    cfg = ModelConfig(num_classes=3)
    meta = CheckpointMeta.default(cfg)
    assert meta.class_names == ('class_0', 'class_1', 'class_2')
    with pytest.raises(ValueError, match='class_names'):
        CheckpointMeta(cfg, ('a',), ((0, 0, 0),) * 3)
    with pytest.raises(ValueError, match='palette'):
        CheckpointMeta(cfg, ('a', 'b', 'c'), ((0, 0, 0),) * 2)


def test_default_meta_uses_cityscapes_classes():
    meta = CheckpointMeta.default(ModelConfig())
    assert meta.class_names[0] == 'road' and meta.class_names[-1] == 'bicycle'
    assert meta.palette[0] == (128, 64, 128)
