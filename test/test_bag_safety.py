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
"""``baff-ros bag`` never loses a user's file: OUT apart from IN, --overwrite only over a bag."""

import hashlib
from pathlib import Path
from typing import Dict

import pytest

pytest.importorskip('rosbags')

from baff_ros.cli import main  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / 'models' / 'samples' / 'street_drive'


def checksums(root: Path) -> Dict[str, str]:
    """sha256 of every file under ``root``, by relative path (directories as '<dir>')."""
    out = {}
    for p in sorted(root.rglob('*')):
        rel = str(p.relative_to(root))
        out[rel] = '<dir>' if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def tree(tmp_path):
    """A user's folder: a recorded drive (a copy of the sample bag) next to their notes."""
    import shutil

    drive = tmp_path / 'p' / 'drive'
    shutil.copytree(SAMPLE, drive)
    (tmp_path / 'p' / 'notes.txt').write_text('calibration: see logbook\n')
    other = tmp_path / 'unrelated'
    other.mkdir()
    (other / 'results.csv').write_text('a,b\n1,2\n')
    return tmp_path


def bag(*args: str) -> int:
    return main(['bag', *args, '--config', 'width_mult=0.35', '--size', '64x128',
                 '--threads', '1', '--quiet'])


@pytest.mark.parametrize('out, reason', [
    ('p/drive', 'the output is the input bag'),
    ('p', 'the output contains the input bag'),
    ('p/drive/segmented', 'the output lies inside the input bag'),
    ('unrelated', 'not replaced, it is not only a rosbag2 bag (results.csv)'),
    ('p/notes.txt', 'exists and is not a bag directory'),
])
def test_overwrite_refuses_and_changes_nothing(tree, capsys, out, reason):
    before = checksums(tree)
    assert bag(str(tree / 'p' / 'drive'), str(tree / out), '--overwrite') == 2
    err = capsys.readouterr().err
    assert reason in err, err
    assert len(err.strip().splitlines()) == 1, err  # one line
    assert checksums(tree) == before  # nothing written, nothing deleted


def test_without_overwrite_an_existing_output_is_refused(tree, capsys):
    before = checksums(tree)
    assert bag(str(tree / 'p' / 'drive'), str(tree / 'unrelated')) == 2
    assert 'output exists (use --overwrite)' in capsys.readouterr().err
    assert checksums(tree) == before


def test_overwrite_replaces_a_bag_and_only_it(tree, capsys):
    src, out = tree / 'p' / 'drive', tree / 'out'
    assert bag(str(src), str(out)) == 0
    first = checksums(out)
    assert sorted(first) == ['metadata.yaml', 'out_0.mcap']
    keep = {k: v for k, v in checksums(tree).items() if not k.startswith('out')}
    assert bag(str(src), str(out), '--overwrite', '--storage', 'sqlite3') == 0
    assert sorted(checksums(out)) == ['metadata.yaml', 'out_0.db3']
    rest = {k: v for k, v in checksums(tree).items() if not k.startswith('out')}
    assert rest == keep  # the input, the notes and the other folder are untouched
    assert not list(tree.glob('.out*'))  # no staging directory left behind


def test_a_stale_staging_directory_is_not_touched(tree):
    src, out = tree / 'p' / 'drive', tree / 'out'
    stale = tree / '.out.partial'
    stale.mkdir()
    (stale / 'keep.txt').write_text('not ours to delete')
    assert bag(str(src), str(out)) == 0
    assert (stale / 'keep.txt').read_text() == 'not ours to delete'


def test_a_truncated_recording_gets_a_recovery_hint(tree, capsys):
    storage = next((tree / 'p' / 'drive').glob('*.mcap'))
    with open(storage, 'r+b') as f:  # what a killed recorder leaves: no footer
        f.truncate(storage.stat().st_size // 3)
    assert bag(str(tree / 'p' / 'drive'), str(tree / 'out')) == 2
    err = capsys.readouterr().err
    assert 'File end magic is invalid' in err and 'mcap recover' in err, err
    assert not (tree / 'out').exists()
