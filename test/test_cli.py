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
"""The baff-ros CLI: info and segment, through the real console entry point."""

import json
import os
from pathlib import Path
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from baff_ros.cli import main

SMALL = 'width_mult=0.35'


@pytest.fixture
def image(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (70, 90, 3), np.uint8)  # deliberately not a multiple of 32
    path = tmp_path / 'street.png'
    cv2.imwrite(str(path), img)
    return path


def test_info_json(capsys):
    assert main(['info', '--json', '--size', '1024x2048', '--config', 'fusion=baff']) == 0
    out = capsys.readouterr()
    info = json.loads(out.out)
    assert info['input_size'] == [1024, 2048]
    assert info['fusion_points'] == ['16', '8']
    assert len(info['classes']) == 19
    assert 0 < info['fusion_params_share'] <= 0.01
    assert 0 < info['fusion_flops_share'] <= 0.02
    assert info['flops'] == 2 * info['macs']
    assert 'UNTRAINED' in out.err


def test_info_add_has_no_fusion_params(capsys):
    assert main(['info', '--json', '--config', 'fusion=add,width_mult=0.5']) == 0
    info = json.loads(capsys.readouterr().out)
    assert info['fusion_params'] == 0 and info['fusion_points'] == []


def test_segment_writes_every_output(tmp_path, image, checkpoint):
    out = tmp_path / 'out'
    assert main(['segment', str(image), '--out', str(out), '--model', str(checkpoint)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f'street_{k}.png' for k in (
        'labels', 'color', 'overlay', 'confidence', 'weights_16', 'weights_8'))
    labels = cv2.imread(str(out / 'street_labels.png'), cv2.IMREAD_UNCHANGED)
    assert labels.shape == (70, 90) and labels.dtype == np.uint8 and labels.max() < 19
    color = cv2.imread(str(out / 'street_color.png'))
    assert color.shape == (70, 90, 3)
    w8 = cv2.imread(str(out / 'street_weights_8.png'), cv2.IMREAD_UNCHANGED)
    assert w8.shape == (70, 90) and len(np.unique(w8)) > 1


def test_segment_labels_match_the_model(tmp_path, image, checkpoint):
    """The PNG holds what the network predicts (argmax at network size, nearest back)."""
    from baff_ros.model import load_checkpoint
    from baff_ros.model.checkpoint import IMAGENET_MEAN, IMAGENET_STD
    out = tmp_path / 'out'
    assert main(['segment', str(image), '--out', str(out), '--model', str(checkpoint),
                 '--size', '64x96']) == 0
    model, _ = load_checkpoint(checkpoint)
    rgb = cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB)
    x = cv2.resize(rgb, (96, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    x = (x - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    with torch.no_grad():
        pred = model(torch.from_numpy(x.transpose(2, 0, 1)[None].copy())).argmax(1)[0]
    expected = cv2.resize(pred.numpy().astype(np.uint8), (90, 70),
                          interpolation=cv2.INTER_NEAREST)
    got = cv2.imread(str(out / 'street_labels.png'), cv2.IMREAD_UNCHANGED)
    assert (got == expected).mean() > 0.999


def test_segment_untrained_says_so(tmp_path, image, capsys):
    assert main(['segment', str(image), '--out', str(tmp_path / 'o'), '--config', SMALL,
                 '--size', '64x64']) == 0
    assert 'UNTRAINED' in capsys.readouterr().err


def test_segment_bad_image_exit_2_others_still_written(tmp_path, image, checkpoint, capsys):
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\x89PNG not really')
    out = tmp_path / 'out'
    code = main(['segment', str(bad), str(image), '--out', str(out), '--model', str(checkpoint)])
    assert code == 2
    assert 'broken.png' in capsys.readouterr().err
    assert (out / 'street_labels.png').is_file()


@pytest.mark.parametrize('args,message', [
    (['--model', 'no_such_model'], "model 'no_such_model' not found"),
    (['--config', 'fusion=sum'], 'fusion must be one of'),
    (['--config', SMALL, '--size', '100x100'], 'multiples of 32'),
    (['--config', SMALL, '--alpha', '2'], '--alpha'),
    (['--config', SMALL, '--device', 'tpu'], 'device must be'),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, image, args, message, capsys):
    code = main(['segment', str(image), '--out', str(tmp_path / 'o')] + args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert 'Traceback' not in err


def test_corrupt_checkpoint_exit_2(tmp_path, image, capsys):
    bad = tmp_path / 'bad.safetensors'
    bad.write_bytes(b'\x00' * 3)
    assert main(['segment', str(image), '--out', str(tmp_path / 'o'), '--model', str(bad)]) == 2
    assert 'not a safetensors file' in capsys.readouterr().err


def test_console_script_runs(tmp_path):
    exe = Path(sys.executable).with_name('baff-ros')
    cmd = [str(exe)] if exe.exists() else [sys.executable, '-m', 'baff_ros.cli']
    res = subprocess.run(cmd + ['info', '--config', SMALL], capture_output=True, text=True,
                         env={**os.environ, 'BAFF_ROS_MODEL_PATH': str(tmp_path)}, timeout=120)
    assert res.returncode == 0, res.stderr
    assert 'params:' in res.stdout
