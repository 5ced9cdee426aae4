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
import struct
from typing import Dict, List, Tuple

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
    assert 'with --salvage' in err, err  # the mcap library reads its first chunk
    assert len(err.strip().splitlines()) == 1, err
    assert not (tree / 'out').exists()


# --salvage: runs with one fixed model, so that two runs write byte-identical bags.

@pytest.fixture(scope='module')
def model(tmp_path_factory):
    from baff_ros.engine.models import load_model
    from baff_ros.model.checkpoint import save_checkpoint

    net, meta, _ = load_model(None, 'width_mult=0.35')
    return str(save_checkpoint(net, tmp_path_factory.mktemp('model') / 'tiny.safetensors', meta))


def bag_with(model: str, *args) -> int:
    return main(['bag', *map(str, args), '--model', model, '--size', '64x128', '--threads', '1',
                 '--quiet'])


def bag_messages(path: Path) -> Dict[str, list]:
    """(log time, raw bytes) of each message of a bag, by topic, in log-time order."""
    from rosbags.highlevel import AnyReader

    out: Dict[str, list] = {}
    with AnyReader([path]) as reader:
        for conn, stamp, raw in reader.messages():
            out.setdefault(conn.topic, []).append((stamp, bytes(raw)))
    return out


def index_before(storage: Path, cut: int) -> Tuple[int, int]:
    """From the intact file's index: (messages wholly before byte ``cut``, first one cut).

    Independent of the salvage reader: the summary's chunk indexes and the message indexes
    locate each message record in the (uncompressed) chunks.
    """
    from mcap.reader import make_reader
    from mcap.stream_reader import StreamReader

    whole, first_cut = 0, None
    with open(storage, 'rb') as f:
        for chunk in make_reader(f).get_summary().chunk_indexes:
            assert chunk.compression == ''  # so that record offsets are file offsets
            records_at = chunk.chunk_start_offset + 9 + 8 * 3 + 4 + 4 + 8
            for index_at in chunk.message_index_offsets.values():
                f.seek(index_at)
                index = next(iter(StreamReader(f, skip_magic=True).records))
                for _, offset in index.records:
                    f.seek(records_at + offset)
                    _, length = struct.unpack('<BQ', f.read(9))
                    if records_at + offset + 9 + length <= cut:
                        whole += 1
                    else:
                        first_cut = min(first_cut or cut, records_at + offset)
    return whole, first_cut


def salvage_notes(caplog) -> List[str]:
    return [r.getMessage() for r in caplog.records
            if r.getMessage().startswith(('salvaged ', 'read all '))]


def test_salvage_segments_every_message_before_the_cut(tree, model, caplog):
    drive, full, out = tree / 'p' / 'drive', tree / 'full', tree / 'out'
    storage = next(drive.glob('*.mcap'))
    assert bag_with(model, drive, full) == 0
    size = storage.stat().st_size
    cut = size // 3  # inside the second chunk: its first messages are whole
    whole, first_cut = index_before(storage, cut)
    with open(storage, 'r+b') as f:
        f.truncate(cut)
    before = checksums(drive)
    assert bag_with(model, drive, out, '--salvage') == 0
    assert checksums(drive) == before  # IN is only read
    assert salvage_notes(caplog) == [
        f'salvaged {whole} messages from {storage} (damaged from byte {first_cut} of {cut})']
    got, want = bag_messages(out), bag_messages(full)
    inputs = ('/camera/camera_info', '/camera/image_raw/compressed')
    assert sum(len(got[t]) for t in inputs) == whole
    frames = len(got['/camera/image_raw/compressed'])
    assert 0 < frames < len(want['/camera/image_raw/compressed'])
    assert sorted(got) == sorted(want)
    for topic, messages in got.items():  # the intact run's first messages, byte for byte
        assert messages == want[topic][:len(messages)], topic
        if topic not in inputs and not topic.endswith('label_info'):
            assert len(messages) == frames, topic  # every salvaged frame segmented


def test_salvage_on_an_intact_bag_changes_nothing(tree, model, caplog):
    drive = tree / 'p' / 'drive'
    assert bag_with(model, drive, tree / 'plain') == 0
    assert bag_with(model, drive, tree / 'salvaged', '--salvage') == 0
    assert bag_messages(tree / 'salvaged') == bag_messages(tree / 'plain')
    assert salvage_notes(caplog) == []


def test_a_recording_without_metadata(tree, model, capsys, caplog):
    # rosbag2 writes metadata.yaml when the recording closes: a crashed recorder leaves none.
    drive = tree / 'p' / 'drive'
    storage = next(drive.glob('*.mcap'))
    assert bag_with(model, drive, tree / 'full') == 0
    (drive / 'metadata.yaml').unlink()
    before = checksums(drive)
    capsys.readouterr()
    assert bag_with(model, drive, tree / 'out') == 2
    err = capsys.readouterr().err
    assert 'no metadata.yaml' in err and f'`ros2 bag reindex {drive} -s mcap`' in err, err
    assert '--salvage' in err and len(err.strip().splitlines()) == 1, err
    assert not (tree / 'out').exists()
    assert bag_with(model, drive, tree / 'out', '--salvage') == 0
    assert salvage_notes(caplog) == [f'read all 60 messages of {storage} (intact)']
    assert bag_messages(tree / 'out') == bag_messages(tree / 'full')
    assert checksums(drive) == before


def test_salvage_reads_mcap_only(tmp_path, capsys):
    from baff_ros.bag import BagOutput
    from baff_ros.bag.reader import _typestore

    store = _typestore('humble')
    with BagOutput(tmp_path / 'sq', store, storage='sqlite3') as out:
        out.write('/note', store.types['std_msgs/msg/String'](data='x'), 1)
    (tmp_path / 'sq' / 'metadata.yaml').unlink()
    assert bag(str(tmp_path / 'sq'), str(tmp_path / 'out'), '--salvage') == 2
    err = capsys.readouterr().err
    assert '`ros2 bag reindex' in err and '-s sqlite3`' in err, err
    assert '--salvage reads mcap storage files only' in err, err


def test_salvage_through_zeros_and_compressed_chunks(tmp_path):
    """A zero-filled tail reads as a cut; a zstd chunk cut short gives what decompresses."""
    from mcap.reader import make_reader
    from mcap.writer import CompressionType, Writer

    from baff_ros.bag.reader import open_bag

    src = next(SAMPLE.glob('*.mcap'))
    zeros = tmp_path / 'zeros.mcap'
    data = src.read_bytes()
    cut = len(data) // 3
    zeros.write_bytes(data[:cut] + bytes(len(data) - cut))
    whole, first_cut = index_before(src, len(data[:cut].rstrip(b'\0')))
    with open_bag(zeros, salvage=True) as bag:
        assert bag.notes == (f'salvaged {whole} messages from {zeros} (damaged from byte '
                             f'{first_cut} of {len(data)})',)
        assert len(list(bag.messages())) == whole

    zstd = tmp_path / 'zstd.mcap'
    with open(src, 'rb') as f, open(zstd, 'wb') as g:
        writer = Writer(g, chunk_size=1 << 20, compression=CompressionType.ZSTD)
        writer.start('ros2', 'test')
        ids: Dict[int, int] = {}
        for schema, channel, message in make_reader(f).iter_messages(log_time_order=False):
            if channel.id not in ids:
                sid = writer.register_schema(schema.name, schema.encoding, schema.data)
                ids[channel.id] = writer.register_channel(channel.topic, 'cdr', sid,
                                                          channel.metadata)
            writer.add_message(ids[channel.id], message.log_time, message.data,
                               message.publish_time, message.sequence)
        writer.finish()
    with open(zstd, 'rb') as f:
        reader = make_reader(f)
        intact = [(c.topic, m.log_time, m.data) for _, c, m in
                  reader.iter_messages(log_time_order=False)]
        chunks = reader.get_summary().chunk_indexes
    cut = chunks[1].chunk_start_offset + chunks[1].chunk_length // 2
    with open(zstd, 'r+b') as f:
        f.truncate(cut)
    in_first_chunk = sum(1 for _, t, _ in intact if t <= chunks[0].message_end_time)
    with open_bag(zstd, salvage=True) as bag:
        got = [(c.topic, t, raw) for c, t, raw in bag.messages()]
        assert bag.notes == (f'salvaged {len(got)} messages from {zstd} (damaged from byte '
                             f'{chunks[1].chunk_start_offset} of {cut})',)
    assert got == intact[:len(got)]
    assert in_first_chunk < len(got) < len(intact)  # half the second chunk decompressed
