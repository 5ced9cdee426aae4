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
"""Exported models as --model: metadata in the file (or a sidecar), runs without torch.

The torch-free runs happen in child processes whose import system refuses torch (and the other
packages a torch-free deployment does not install: onnx, safetensors, cityscapesscripts,
matplotlib), recording every attempt; each must succeed with no attempt at all.
"""

import json
from pathlib import Path
import shutil
import subprocess
import sys
from typing import List

import cv2
import numpy as np
import onnx
import pytest

from baff_ros.cli import main
from baff_ros.engine.artefacts import (ArtefactError, ExportMeta, graph_outputs, load_artefact,
                                       METADATA_KEY, read_engine_meta, read_onnx_meta,
                                       read_onnx_metadata, sidecar_path)

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / 'models' / 'baff_skipnet_synth.safetensors'
SAMPLE_BAG = ROOT / 'models' / 'samples' / 'street_drive'
SIZE = (128, 256)
#: What a torch-free deployment does not install (docs/engine.md lists what it does).
BLOCKED = ('torch', 'torchvision', 'onnx', 'safetensors', 'cityscapesscripts', 'matplotlib')

#: Run before anything else in the child: a finder that refuses (and records) BLOCKED imports,
#: and a report of the attempts on exit.
PRELUDE = f'''
import atexit, importlib.abc, json, sys
BLOCKED = {BLOCKED!r}
attempts = []


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED:
            attempts.append(name)
            raise ImportError(name + ' is blocked by this test')
        return None


sys.meta_path.insert(0, Refuse())
atexit.register(lambda: print('IMPORTS ' + json.dumps({{
    'attempts': sorted(set(attempts)),
    'loaded': sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED
                     and sys.modules[m] is not None)}}), file=sys.stderr))
'''


def run_blocked(code: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a child process where BLOCKED cannot be imported; check no attempt."""
    res = subprocess.run([sys.executable, '-c', PRELUDE + code], cwd=cwd, capture_output=True,
                         text=True, timeout=timeout)
    report = [line for line in res.stderr.splitlines() if line.startswith('IMPORTS ')]
    assert report, res.stderr[-3000:]
    imports = json.loads(report[-1][len('IMPORTS '):])
    assert imports == {'attempts': [], 'loaded': []}, (imports, res.stderr[-3000:])
    return res


def run_cli_blocked(argv: List[str], cwd: Path) -> subprocess.CompletedProcess:
    """``baff-ros ARGV`` in a torch-free child process."""
    return run_blocked(f'from baff_ros.cli import main\nsys.exit(main({argv!r}))', cwd)


def bag_frames(count: int = 3) -> List[np.ndarray]:
    """Camera frames (BGR, 1024x512) spread over the sample drive."""
    from rosbags.highlevel import AnyReader

    frames = []
    with AnyReader([SAMPLE_BAG]) as reader:
        conns = [c for c in reader.connections if c.msgtype.endswith('CompressedImage')]
        for conn, _stamp, raw in reader.messages(connections=conns):
            msg = reader.deserialize(raw, conn.msgtype)
            frames.append(cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8),
                                       cv2.IMREAD_COLOR))
    step = max(1, len(frames) // count)
    return frames[::step][:count]


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    """A folder with the bundled model exported at 128x256 and three camera frames."""
    work = tmp_path_factory.mktemp('artefacts')
    assert main(['export', '--model', str(CHECKPOINT), '--size', f'{SIZE[0]}x{SIZE[1]}',
                 '--out', str(work / 'model.onnx')]) == 0
    (work / 'frames').mkdir()
    for i, frame in enumerate(bag_frames()):
        cv2.imwrite(str(work / 'frames' / f'{i:02d}.png'), frame)
    return work


def frames(work: Path) -> List[str]:
    return [str(p) for p in sorted((work / 'frames').glob('*.png'))]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and 'Traceback' not in '\n'.join(err)
    return err[-1]


# -- metadata -------------------------------------------------------------------------------

def test_the_export_carries_what_the_segmenter_needs(work):
    from baff_ros import __version__
    from baff_ros.engine.artefacts import file_sha256
    from baff_ros.engine.graph import model_hash
    from baff_ros.model import load_checkpoint

    path = work / 'model.onnx'
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert read_onnx_metadata(path) == props  # our protobuf walk reads what onnx reads
    doc = json.loads(props[METADATA_KEY])
    net, meta = load_checkpoint(CHECKPOINT)
    assert doc['classes'] == list(meta.class_names)
    assert doc['palette'] == [list(c) for c in meta.palette]
    assert doc['mean'] == list(meta.mean) and doc['std'] == list(meta.std)
    assert doc['input_size'] == list(SIZE) and doc['dynamic'] is False
    assert doc['fusion_points'] == ['16', '8']
    assert doc['head'] == 'cells' and doc['outputs'] == ['scores', 'weights_16', 'weights_8']
    assert doc['source'] == CHECKPOINT.name and doc['source_sha256'] == file_sha256(CHECKPOINT)
    assert doc['model_hash'] == model_hash(net)
    assert doc['baff_ros_version'] == __version__ and doc['opset'] == 17
    assert doc['config'] == meta.config.to_dict() and doc['metrics'] == meta.metrics
    export = read_onnx_meta(path)
    assert ExportMeta.from_dict(export.to_dict(), 'again') == export
    assert export.meta.input_size == SIZE and export.meta.class_names == meta.class_names


@pytest.mark.parametrize('head', ['cells', 'logits', 'fast', 'exact'])
def test_output_names_are_the_graphs_contract(head):
    from baff_ros.engine.graph import output_names

    assert graph_outputs(head, ['16', '8']) == output_names(head, ['16', '8'])


def test_info_shows_the_metadata_of_an_export(work, capsys):
    assert main(['info', '--model', str(work / 'model.onnx'), '--json']) == 0
    info = json.loads(capsys.readouterr().out)
    assert info['kind'] == 'onnx' and info['metadata']['input_size'] == list(SIZE)


# -- torch-free runs ------------------------------------------------------------------------

def test_segment_runs_without_torch_and_agrees_with_the_checkpoint(work, capsys):
    res = run_cli_blocked(['segment', *frames(work), '--out', 'onnx_out', '--model',
                           'model.onnx'], work)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'model: onnx model.onnx (exported by baff_ros' in res.stderr
    assert 'backend: onnxruntime' in res.stderr
    # The checkpoint on the reference backend, same network input size.
    assert main(['segment', *frames(work), '--out', str(work / 'torch_out'), '--model',
                 str(CHECKPOINT), '--backend', 'torch', '--size', f'{SIZE[0]}x{SIZE[1]}']) == 0
    agree, pixels = 0, 0
    for name in sorted(p.stem for p in (work / 'frames').glob('*.png')):
        a = cv2.imread(str(work / 'onnx_out' / f'{name}_labels.png'), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(work / 'torch_out' / f'{name}_labels.png'), cv2.IMREAD_UNCHANGED)
        assert a.shape == b.shape == (512, 1024)
        agree += int((a == b).sum())
        pixels += a.size
        for k in ('16', '8'):
            wa = cv2.imread(str(work / 'onnx_out' / f'{name}_weights_{k}.png'), -1)
            wb = cv2.imread(str(work / 'torch_out' / f'{name}_weights_{k}.png'), -1)
            assert np.abs(wa.astype(int) - wb.astype(int)).max() <= 1
    with capsys.disabled():
        print(f'\nlabel agreement, segment --model model.onnx vs the checkpoint (torch) at '
              f'{SIZE[0]}x{SIZE[1]}: {100 * agree / pixels:.4f} % of {pixels} pixels')
    assert agree / pixels >= 0.999


def test_bag_runs_without_torch(work):
    res = run_cli_blocked(['bag', str(SAMPLE_BAG), 'out_bag', '--model', 'model.onnx',
                           '--outputs', 'all', '--quiet', '--overwrite'], work)
    assert res.returncode == 0, res.stderr[-3000:]
    assert '/camera/segmentation/labels: 30' in res.stderr
    assert '/camera/segmentation/weights/stride8: 30' in res.stderr
    from baff_ros.bag.process import cpu_cores
    if cpu_cores() >= 2:  # both copies of the network loaded without torch
        assert 'segmenting 2 frames at once' in res.stderr


NODE_CORE = '''
import numpy as np
from baff_ros.ros.messages import plain_types
m = plain_types()
from baff_ros.ros.image_codec import array_to_image, image_to_array
from baff_ros.ros.params import NodeParams
from baff_ros.ros.pipeline import Pipeline


class Log:
    def __init__(self):
        self.lines = []

    def info(self, msg, *args):
        self.lines.append(msg % args if args else msg)

    warning = error = debug = info


class Sink:
    def __init__(self):
        self.published = []

    def has_subscribers(self, key):
        return True

    def publish(self, key, msg):
        self.published.append((key, msg))


log, sink = Log(), Sink()
pipe = Pipeline(NodeParams(model='model.onnx'), sink, logger=log)
pipe.start()
rng = np.random.default_rng(0)
for i in range(3):
    header = m.Header(stamp=m.Time(sec=i, nanosec=0), frame_id='cam')
    pipe.submit(array_to_image(rng.integers(0, 256, (96, 160, 3), dtype=np.uint8), 'rgb8',
                               header))
    assert pipe.wait_idle(60)
pipe.close()
labels = [msg for key, msg in sink.published if key == 'labels']
assert len(labels) == 3, [key for key, _ in sink.published]
assert image_to_array(labels[0]).shape == (96, 160)
assert {'weights/stride16', 'weights/stride8'} <= {key for key, _ in sink.published}
print('\\n'.join(log.lines))
'''


def test_the_node_core_runs_without_torch_and_logs_what_it_loaded(work):
    res = run_blocked(NODE_CORE, work)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'model: onnx model.onnx (exported by baff_ros' in res.stdout, res.stdout
    assert 'input 128x256 static; head cells; weight maps 16, 8' in res.stdout


def test_the_dds_node_logs_the_artefact_it_loaded(work):
    pytest.importorskip('cyclonedds')
    res = run_cli_blocked(['node', '--loopback', '--duration', '1', '--ros-args', '-p',
                           'model:=model.onnx'], work)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'model: onnx model.onnx (exported by baff_ros' in res.stderr, res.stderr


def test_a_dynamic_fast_head_export_runs_at_another_size(work, tmp_path):
    out = tmp_path / 'fast.onnx'
    assert main(['export', '--model', str(CHECKPOINT), '--size', '64x128', '--head', 'fast',
                 '--dynamic', '--out', str(out)]) == 0
    export = read_onnx_meta(out)
    assert export.head == 'fast' and export.dynamic
    assert export.outputs == ('labels', 'confidence', 'weights_16', 'weights_8')
    res = run_cli_blocked(['segment', frames(work)[0], '--out', 'fast_out', '--model',
                           str(out), '--size', '96x192'], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'head fast' in res.stderr and 'network input 96x192' in res.stderr


# -- what is refused, and how -----------------------------------------------------------------

def rewrite_metadata(src: Path, dst: Path, doc) -> Path:
    proto = onnx.load(str(src))
    del proto.metadata_props[:]
    if doc is not None:
        onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(doc)})
    onnx.save(proto, str(dst))
    return dst


def segment(work: Path, model: str, *extra: str) -> int:
    return main(['segment', frames(work)[0], '--out', str(work / 'refused'), '--model', model,
                 *extra])


@pytest.mark.parametrize('content', [b'', b'not an onnx model at all \x00\x01\x02',
                                     b'\x08\x07' * 40])
def test_a_corrupt_onnx_is_named(work, tmp_path, capsys, content):
    bad = tmp_path / 'bad.onnx'
    bad.write_bytes(content)
    assert segment(work, str(bad)) == 2
    line = one_line_error(capsys)
    assert 'bad.onnx: not a valid ONNX model' in line, line


def test_a_truncated_onnx_is_named(work, tmp_path, capsys):
    data = (work / 'model.onnx').read_bytes()
    cut = tmp_path / 'cut.onnx'
    cut.write_bytes(data[:len(data) // 2])
    assert segment(work, str(cut)) == 2
    assert 'cut.onnx: not a valid ONNX model (truncated' in one_line_error(capsys)


def test_an_onnx_without_metadata_is_refused_and_a_sidecar_describes_it(work, tmp_path,
                                                                        capsys):
    plain = rewrite_metadata(work / 'model.onnx', tmp_path / 'plain.onnx', None)
    assert segment(work, str(plain)) == 2
    line = one_line_error(capsys)
    assert 'plain.onnx: no baff_ros metadata' in line and 'plain.onnx.json' in line, line
    # A plain logits ONNX runs once a sidecar says what it needs.
    doc = {k: v for k, v in read_onnx_meta(work / 'model.onnx').to_dict().items()
           if k in ('classes', 'palette', 'mean', 'std', 'input_size', 'dynamic',
                    'fusion_points', 'head', 'outputs', 'artefact_version')}
    sidecar_path(plain).write_text(json.dumps(doc))
    assert segment(work, str(plain)) == 0
    assert 'model: onnx' in capsys.readouterr().err


@pytest.mark.parametrize('drop,message', [
    (('classes', 'palette'), 'baff_ros metadata lacks classes, palette'),
    (('input_size',), 'baff_ros metadata lacks input_size'),
])
def test_incomplete_metadata_names_what_is_missing(work, tmp_path, capsys, drop, message):
    doc = {k: v for k, v in read_onnx_meta(work / 'model.onnx').to_dict().items()
           if k not in drop}
    path = rewrite_metadata(work / 'model.onnx', tmp_path / 'partial.onnx', doc)
    assert segment(work, str(path)) == 2
    assert message in one_line_error(capsys)


def test_metadata_that_contradicts_the_graph_is_refused(work, tmp_path, capsys):
    doc = read_onnx_meta(work / 'model.onnx').to_dict()
    doc.update(fusion_points=[], outputs=['scores'])
    path = rewrite_metadata(work / 'model.onnx', tmp_path / 'liar.onnx', doc)
    assert segment(work, str(path)) == 2
    line = one_line_error(capsys)
    assert 'the graph outputs scores, weights_16, weights_8, its metadata says scores' in line


@pytest.mark.parametrize('args,message', [
    (['--backend', 'torch'], 'an exported ONNX model runs on onnxruntime'),
    (['--size', '96x192'], 'exported for a 128x256 network input (static)'),
    (['--config', 'width_mult=0.35'], 'give either --model or --config'),
])
def test_options_that_do_not_fit_an_onnx(work, capsys, args, message):
    assert segment(work, str(work / 'model.onnx'), *args) == 2
    assert message in one_line_error(capsys)


def test_missing_file_and_unknown_type(work, tmp_path, capsys):
    assert segment(work, str(tmp_path / 'nope.onnx')) == 2
    assert 'nope.onnx: no such file' in one_line_error(capsys)
    weights = tmp_path / 'model.pt'
    weights.write_bytes(b'torch pickle')
    assert segment(work, str(weights)) == 2
    assert "model.pt: unknown model file type '.pt'" in one_line_error(capsys)


def test_export_needs_the_checkpoint(work, capsys):
    assert main(['export', '--model', str(work / 'model.onnx'), '--out',
                 str(work / 'again.onnx')]) == 2
    assert 'needs the PyTorch network' in one_line_error(capsys)


def test_a_checkpoint_without_torch_says_what_to_do(work):
    res = subprocess.run([sys.executable, '-c', PRELUDE + (
        'from baff_ros.cli import main\n'
        f'sys.exit(main(["segment", {frames(work)[0]!r}, "--out", "x"]))')], cwd=work,
        capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert 'loading a checkpoint needs PyTorch' in res.stderr and 'model.onnx' in res.stderr


# -- TensorRT engines: the sidecar ----------------------------------------------------------
# TensorRT cannot build or run an engine here (no GPU, no TensorRT): the engine file below is a
# placeholder. Its sidecar is the real document `export --format tensorrt` writes beside an
# engine (export_metadata + sidecar_text); what is tested is reading it and the refusals.

@pytest.fixture
def engine(tmp_path):
    from baff_ros.engine.graph import DEFAULT_OPSET
    from baff_ros.export import export_metadata, sidecar_text
    from baff_ros.model import load_checkpoint

    net, meta = load_checkpoint(CHECKPOINT)
    out = tmp_path / 'model.engine'
    out.write_bytes(b'placeholder: TensorRT cannot build an engine on this machine')
    doc = export_metadata(net, meta, CHECKPOINT, SIZE, False, 'logits',
                          graph_outputs('logits', ['16', '8']), DEFAULT_OPSET,
                          precision='fp16', built_with='tensorrt (not built here)')
    (tmp_path / 'model.engine.json').write_text(sidecar_text(doc.to_dict()))
    return out


def test_an_engine_sidecar_is_read_back(engine):
    export = read_engine_meta(engine)
    assert export.outputs == ('logits', 'weights_16', 'weights_8')
    assert export.input_size == SIZE and not export.dynamic
    assert export.extra['precision'] == 'fp16' and export.source == CHECKPOINT.name
    artefact = load_artefact(str(engine))
    assert artefact.kind == 'tensorrt' and artefact.model is None
    assert 'model: tensorrt' in artefact.description and 'precision fp16' in artefact.description


def test_engine_errors(work, engine, tmp_path, capsys):
    assert segment(work, str(engine), '--device', 'cpu') == 2
    assert 'the tensorrt backend needs a CUDA device' in one_line_error(capsys)
    assert segment(work, str(engine), '--backend', 'onnxruntime') == 2
    assert 'a TensorRT engine runs only on --backend tensorrt' in one_line_error(capsys)
    if shutil.which('nvidia-smi') is None:
        assert segment(work, str(engine), '--device', 'cuda') == 2
        line = one_line_error(capsys)
        assert 'TensorRT is not installed' in line or 'not available' in line, line
    lone = tmp_path / 'lone.plan'
    shutil.copyfile(engine, lone)
    assert segment(work, str(lone), '--device', 'cuda') == 2
    line = one_line_error(capsys)
    assert 'lone.plan: TensorRT engine without its metadata sidecar lone.plan.json' in line
    sidecar_path(lone).write_text('{"classes": ')
    assert segment(work, str(lone), '--device', 'cuda') == 2
    assert 'lone.plan.json: metadata sidecar is not JSON' in one_line_error(capsys)
    sidecar_path(lone).write_text('{"classes": []}')
    with pytest.raises(ArtefactError, match='lacks artefact_version, palette'):
        read_engine_meta(lone)


def test_an_engine_export_that_fails_leaves_nothing(tmp_path, capsys):
    out = tmp_path / 'model.engine'
    assert main(['export', '--model', str(CHECKPOINT), '--format', 'tensorrt', '--size',
                 '64x128', '--out', str(out)]) == 2
    one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
