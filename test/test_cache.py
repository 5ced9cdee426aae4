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
"""The bounded export cache: location, LRU eviction, what it never touches, ``baff-ros cache``.

Real files in temporary folders; ages are set with os.utime.
"""

import json
import os
from pathlib import Path
import subprocess
import sys
import time

import pytest
import torch

from baff_ros.cli import main
from baff_ros.engine import BackendOptions, cache
from baff_ros.engine.graph import cached_onnx

DAY = 86400.0


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty cache folder that ``$BAFF_ROS_CACHE`` points to, default cap."""
    folder = tmp_path / 'cache'
    monkeypatch.setenv('BAFF_ROS_CACHE', str(folder))
    monkeypatch.delenv('BAFF_ROS_CACHE_MAX_MB', raising=False)
    return folder


def put(path: Path, size: int, age_s: float = 0.0) -> Path:
    """Write ``size`` bytes to ``path``, last modified ``age_s`` seconds ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'x' * size)
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def cap_bytes(monkeypatch, size: int) -> None:
    monkeypatch.setenv('BAFF_ROS_CACHE_MAX_MB', repr(size / cache.MB))


def names(root: Path):
    return [e.name for e in cache.entries(root)]


# -- location and cap ---------------------------------------------------------------------------

def test_location_precedence(tmp_path, monkeypatch):
    home = tmp_path / 'home'
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.setenv('BAFF_ROS_CACHE', str(tmp_path / 'explicit'))
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert cache.location() == (tmp_path / 'explicit', '$BAFF_ROS_CACHE')
    # BackendOptions.cache_dir beats everything.
    assert cache.location(str(tmp_path / 'mine')) == (tmp_path / 'mine', 'cache_dir')
    assert BackendOptions(cache_dir=str(tmp_path / 'mine')).resolved_cache_dir() == \
        str(tmp_path / 'mine')
    assert BackendOptions().resolved_cache_dir() == str(tmp_path / 'explicit')
    monkeypatch.setenv('BAFF_ROS_CACHE', '~/bc')
    assert cache.cache_dir() == home / 'bc'
    for unset in ('', None):  # empty counts as unset
        if unset is None:
            monkeypatch.delenv('BAFF_ROS_CACHE')
        else:
            monkeypatch.setenv('BAFF_ROS_CACHE', unset)
        assert cache.location() == (tmp_path / 'xdg' / 'baff_ros', '$XDG_CACHE_HOME/baff_ros')
    # XDG: a relative path is invalid and ignored, as is an empty one.
    for xdg in ('relative/cache', ''):
        monkeypatch.setenv('XDG_CACHE_HOME', xdg)
        assert cache.location() == (home / '.cache' / 'baff_ros', '~/.cache/baff_ros')
    monkeypatch.delenv('XDG_CACHE_HOME')
    assert BackendOptions().resolved_cache_dir() == str(home / '.cache' / 'baff_ros')


def test_cap_from_the_environment(monkeypatch):
    monkeypatch.delenv('BAFF_ROS_CACHE_MAX_MB', raising=False)
    assert cache.max_bytes() == 1024 * 2 ** 20
    monkeypatch.setenv('BAFF_ROS_CACHE_MAX_MB', '0')
    assert cache.max_bytes() is None
    monkeypatch.setenv('BAFF_ROS_CACHE_MAX_MB', ' 0.5 ')
    assert cache.max_bytes() == 2 ** 19
    for bad in ('abc', '-1', 'nan', 'inf', '1MB'):
        monkeypatch.setenv('BAFF_ROS_CACHE_MAX_MB', bad)
        with pytest.raises(ValueError, match='BAFF_ROS_CACHE_MAX_MB must be'):
            cache.max_bytes()
        # Reported before a backend exports anything.
        with pytest.raises(ValueError, match='BAFF_ROS_CACHE_MAX_MB'):
            BackendOptions().resolved_cache_dir()


# -- eviction -----------------------------------------------------------------------------------

def test_least_recently_used_go_first_and_only_until_under_the_cap(root, monkeypatch):
    put(root / 'onnx' / 'a.onnx', 3000, age_s=4 * DAY)
    put(root / 'int8' / 'b_123.onnx', 3000, age_s=3 * DAY)
    put(root / 'tensorrt' / 'c.engine', 3000, age_s=2 * DAY)
    put(root / 'onnx' / 'd.onnx', 3000, age_s=1 * DAY)
    assert names(root) == ['onnx/a.onnx', 'int8/b_123.onnx', 'tensorrt/c.engine', 'onnx/d.onnx']
    assert [e.kind for e in cache.entries(root)] == ['onnx', 'int8', 'tensorrt', 'onnx']
    cap_bytes(monkeypatch, 10000)
    new = put(root / 'onnx' / 'new.onnx', 3000)
    evicted = cache.added(new)
    # 15000 bytes -> 9000: the two least recently used go, the rest stay.
    assert [e.name for e in evicted] == ['onnx/a.onnx', 'int8/b_123.onnx']
    assert names(root) == ['tensorrt/c.engine', 'onnx/d.onnx', 'onnx/new.onnx']
    # Within the cap: a further write evicts nothing.
    cap_bytes(monkeypatch, 20000)
    assert cache.added(put(root / 'int8' / 'e_456.onnx', 3000)) == []
    assert len(names(root)) == 4


def test_a_hit_refreshes_recency(root, monkeypatch):
    a = put(root / 'onnx' / 'a.onnx', 3000, age_s=3 * DAY)
    put(root / 'onnx' / 'b.onnx', 3000, age_s=2 * DAY)
    assert cache.mark_used(a)
    assert time.time() - a.stat().st_mtime < 60
    assert not cache.mark_used(root / 'onnx' / 'missing.onnx')
    assert not (root / 'onnx' / 'missing.onnx').exists()
    cap_bytes(monkeypatch, 7000)
    evicted = cache.added(put(root / 'onnx' / 'c.onnx', 3000))
    assert [e.name for e in evicted] == ['onnx/b.onnx']  # not a: it was just used
    assert names(root) == ['onnx/a.onnx', 'onnx/c.onnx']


def test_the_entry_just_written_survives_even_over_the_cap(root, monkeypatch):
    put(root / 'onnx' / 'old.onnx', 500, age_s=DAY)
    # Written "in the past" (a clock step back, a copied file): still never its own victim.
    new = put(root / 'tensorrt' / 'big.engine', 5000, age_s=2 * DAY)
    cap_bytes(monkeypatch, 1000)
    assert [e.name for e in cache.added(new)] == ['onnx/old.onnx']
    assert new.is_file() and names(root) == ['tensorrt/big.engine']


def test_no_cap_never_evicts(root, monkeypatch):
    for i in range(5):
        put(root / 'onnx' / f'{i}.onnx', 1000, age_s=i * DAY)
    monkeypatch.setenv('BAFF_ROS_CACHE_MAX_MB', '0')
    assert cache.added(put(root / 'onnx' / 'new.onnx', 10 ** 6)) == []
    assert len(names(root)) == 6


def _foreign(root: Path, outside: Path):
    """Files the cache did not write, in and around its folders."""
    files = [put(root / 'notes.txt', 10, 9 * DAY),
             put(root / 'something.onnx', 10, 9 * DAY),           # not in a kind folder
             put(root / 'other' / 'x.onnx', 10, 9 * DAY),        # unknown folder
             put(root / 'onnx' / 'README', 10, 9 * DAY),
             put(root / 'onnx' / 'model.ONNX', 10, 9 * DAY),     # not the cache's suffix
             put(root / 'tensorrt' / 'x.onnx', 10, 9 * DAY),     # wrong suffix for the folder
             put(root / 'int8' / '.onnx', 10, 9 * DAY),
             put(root / 'onnx' / 'fresh.onnx.123.tmp', 10, 60),  # a write in progress
             put(outside / 'precious.onnx', 10, 9 * DAY)]
    (root / 'onnx' / 'sub.onnx').mkdir(parents=True)             # a folder, not a file
    (root / 'onnx' / 'link.onnx').symlink_to(outside / 'precious.onnx')
    return files


def test_foreign_files_survive_eviction_and_clear(root, tmp_path, monkeypatch):
    foreign = _foreign(root, tmp_path / 'outside')
    put(root / 'onnx' / 'a.onnx', 3000, age_s=2 * DAY)
    put(root / 'onnx' / 'a.onnx.data', 2000, age_s=2 * DAY)      # external data: a sidecar
    stale = put(root / 'int8' / 'b.onnx.77.pre.onnx', 700, age_s=2 * 3600)  # crashed writer
    listed = {e.name: e for e in cache.entries(root)}
    assert sorted(listed) == ['int8/b.onnx.77.pre.onnx', 'onnx/a.onnx']
    assert listed['onnx/a.onnx'].size == 5000 and listed['onnx/a.onnx'].kind == 'onnx'
    assert listed['int8/b.onnx.77.pre.onnx'].kind == 'partial'
    cap_bytes(monkeypatch, 100)
    evicted = cache.added(put(root / 'onnx' / 'new.onnx', 50))
    assert [e.name for e in evicted] == ['onnx/a.onnx', 'int8/b.onnx.77.pre.onnx']
    assert not (root / 'onnx' / 'a.onnx.data').exists() and not stale.exists()
    assert all(f.is_file() for f in foreign)
    removed = cache.clear(root)
    assert [e.name for e in removed] == ['onnx/new.onnx']
    assert all(f.is_file() for f in foreign) and (root / 'onnx' / 'link.onnx').is_symlink()
    assert (root / 'onnx' / 'sub.onnx').is_dir() and cache.entries(root) == []


def test_orphaned_sidecars_are_left_until_stale(root):
    young = put(root / 'onnx' / 'gone.onnx.data', 100, age_s=60)
    old = put(root / 'onnx' / 'long_gone.onnx.data', 100, age_s=2 * DAY)
    assert [(e.kind, e.name) for e in cache.entries(root)] == \
        [('partial', 'onnx/long_gone.onnx.data')]
    cache.clear(root)
    assert young.is_file() and not old.exists()


def test_entries_removed_by_another_process_are_skipped(root):
    assert cache.entries(root) == []  # no folder yet
    a = put(root / 'onnx' / 'a.onnx', 100)
    entry, = cache.entries(root)
    a.unlink()  # another process evicted it after we listed
    assert cache.remove(entry)
    assert cache.clear(root) == []


def test_concurrent_processes_clearing_and_evicting(root, tmp_path):
    for i in range(300):
        kind = ('onnx', 'int8', 'tensorrt')[i % 3]
        put(root / kind / f'{i}{cache.KINDS[kind]}', 100, age_s=i)
    foreign = put(root / 'onnx' / 'keep.txt', 10)
    # cache.py needs only the standard library: load it alone, without torch, to start fast.
    code = ('import importlib.util, sys\n'
            f'spec = importlib.util.spec_from_file_location("c", {str(cache.__file__)!r})\n'
            'c = sys.modules["c"] = importlib.util.module_from_spec(spec)\n'
            'spec.loader.exec_module(c)\n'
            f'root = c.Path({str(root)!r})\n'
            'for _ in range(3):\n'
            '    c.evict(root, 5000) if sys.argv[1] == "evict" else c.clear(root)\n')
    procs = [subprocess.Popen([sys.executable, '-c', code, mode], stderr=subprocess.PIPE)
             for mode in ('evict', 'clear', 'evict', 'clear')]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert cache.entries(root) == [] and foreign.is_file()


# -- the cache's users --------------------------------------------------------------------------

def _conv(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Conv2d(3, 4, 3, padding=1).eval()


def test_cached_onnx_hits_refresh_and_exports_evict(root, monkeypatch):
    first = cached_onnx(_conv(0), (32, 32), 'logits', False, str(root))
    assert names(root) == [f'onnx/{first.name}']
    stamp = time.time() - 5 * DAY
    os.utime(first, (stamp, stamp))
    assert cached_onnx(_conv(0), (32, 32), 'logits', False, str(root)) == first  # a hit
    assert time.time() - first.stat().st_mtime < 60
    # A cap below two exports: the next export evicts the least recently used one.
    cap_bytes(monkeypatch, first.stat().st_size + 10)
    os.utime(first, (stamp, stamp))
    second = cached_onnx(_conv(1), (32, 32), 'logits', False, str(root))
    assert second != first and not first.exists()
    assert names(root) == [f'onnx/{second.name}']


def test_int8_models_are_entries(root):
    pytest.importorskip('onnxruntime')
    from baff_ros.engine.backends.onnxruntime_backend import OnnxRuntimeBackend

    backend = OnnxRuntimeBackend(_conv(0), BackendOptions(precision='int8', head='logits',
                                                          quantization='dynamic'), (64, 64))
    kinds = {e.kind for e in cache.entries(root)}
    assert kinds == {'onnx', 'int8'}
    assert backend.path.parent == root / 'int8'
    stamp = time.time() - 5 * DAY
    os.utime(backend.path, (stamp, stamp))
    again = OnnxRuntimeBackend(_conv(0), BackendOptions(precision='int8', head='logits',
                                                        quantization='dynamic'), (64, 64))
    assert again.path == backend.path and time.time() - again.path.stat().st_mtime < 60


# -- baff-ros cache -----------------------------------------------------------------------------

def test_cli_list(root, monkeypatch, capsys):
    put(root / 'onnx' / 'a.onnx', 3 * 2 ** 20, age_s=2 * DAY)
    put(root / 'tensorrt' / 'b.engine', 2 ** 20, age_s=DAY)
    put(root / 'notes.txt', 10)
    monkeypatch.setenv('BAFF_ROS_CACHE_MAX_MB', '8')
    assert main(['cache', 'list']) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f'cache: {root} (from $BAFF_ROS_CACHE)'
    assert out[1].split() == ['kind', 'size', 'last', 'used', 'file']
    assert out[2].split()[:3] == ['onnx', '3.0', 'MB'] and out[2].endswith(' onnx/a.onnx')
    assert out[3].split()[:3] == ['tensorrt', '1.0', 'MB']
    assert out[3].endswith(' tensorrt/b.engine')
    assert out[4] == ('total: 4.0 MB in 2 entries (50 % of the cap); cap 8.0 MB '
                      '($BAFF_ROS_CACHE_MAX_MB)')
    assert len(out) == 5
    assert main(['cache', 'list', '--json']) == 0
    report = json.loads(capsys.readouterr().out)
    assert report['location'] == str(root) and report['max_bytes'] == 8 * 2 ** 20
    assert report['total_bytes'] == 4 * 2 ** 20
    assert [(e['kind'], e['file']) for e in report['entries']] == [
        ('onnx', 'onnx/a.onnx'), ('tensorrt', 'tensorrt/b.engine')]
    monkeypatch.setenv('BAFF_ROS_CACHE_MAX_MB', '0')
    monkeypatch.setenv('BAFF_ROS_CACHE', str(root / 'empty'))
    assert main(['cache', 'list']) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        'total: 0.0 MB in 0 entries; no cap ($BAFF_ROS_CACHE_MAX_MB=0)']


def test_cli_clear(root, capsys):
    put(root / 'onnx' / 'old.onnx', 2 ** 20, age_s=10 * DAY)
    put(root / 'int8' / 'recent.onnx', 2 ** 19, age_s=DAY)
    foreign = put(root / 'onnx' / 'mine.txt', 10, age_s=100 * DAY)
    assert main(['cache', 'clear', '--older-than', '7']) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f'removed 1 entry last used more than 7 days ago from {root}: 1.0 MB freed'
    assert out[1].endswith(' onnx/old.onnx') and len(out) == 3
    assert names(root) == ['int8/recent.onnx']
    assert main(['cache', 'clear', '--json']) == 0
    report = json.loads(capsys.readouterr().out)
    assert report['freed_bytes'] == 2 ** 19
    assert [e['file'] for e in report['removed']] == ['int8/recent.onnx']
    assert main(['cache', 'clear']) == 0
    assert capsys.readouterr().out == f'removed 0 entries from {root}: 0.0 MB freed\n'
    assert foreign.is_file()


@pytest.mark.parametrize('argv,message', [
    (['clear', '--older-than', '-1'], '--older-than must be a number of days >= 0, got -1'),
    (['clear', '--older-than', 'nan'], '--older-than must be a number of days >= 0, got nan'),
    (['list', '--older-than', '3'], '--older-than applies to clear only'),
])
def test_cli_bad_arguments_exit_2_with_one_line(root, capsys, argv, message):
    put(root / 'onnx' / 'a.onnx', 10, age_s=10 * DAY)
    assert main(['cache', *argv]) == 2
    out = capsys.readouterr()
    assert out.err == f'baff-ros cache: error: {message}\n' and out.out == ''
    assert names(root) == ['onnx/a.onnx']


def test_cli_bad_cap_and_bad_action(root, monkeypatch, capsys):
    monkeypatch.setenv('BAFF_ROS_CACHE_MAX_MB', 'lots')
    assert main(['cache', 'list']) == 2
    err = capsys.readouterr().err
    assert err.startswith('baff-ros cache: error: BAFF_ROS_CACHE_MAX_MB must be a number')
    assert err.count('\n') == 1
    for argv in (['cache', 'purge'], ['cache'], ['cache', 'clear', '--older-than', 'soon']):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
