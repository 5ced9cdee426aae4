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
"""scripts/ablation.py: the comparison it launches is fair; runs resume; the report groups them."""

import importlib.util
from pathlib import Path
import shlex

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def ablation():
    spec = importlib.util.spec_from_file_location('ablation', ROOT / 'scripts' / 'ablation.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launch_is_fair_and_resumes(ablation, tmp_path, capsys):
    runs = tmp_path / 'runs'
    argv = ['--root', str(tmp_path / 'data'), '--launch', str(runs), '--epochs', '4',
            '--max-iters', '40', '--dry-run']
    (runs / 'baff_s1').mkdir(parents=True)
    (runs / 'baff_s1' / 'last.safetensors').write_bytes(b'')  # an interrupted run
    (runs / 'skipnet_s0').mkdir()
    (runs / 'skipnet_s0' / 'final.safetensors').write_bytes(b'')  # a finished one
    assert ablation.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert 'skipnet_s0: finished, skipped' in lines
    commands = {}
    for line in lines:
        if 'baff_ros.cli train' in line:
            words = shlex.split(line)
            out = Path(words[words.index('--out') + 1]).name
            commands[out] = words
    names = set(ablation.CONFIGS)
    # seed by seed: every configuration at seed 0 before any at seed 1
    seeds = [out.rpartition('_s')[2] for out in commands]
    assert seeds == sorted(seeds) and seeds[0] == '0'
    assert set(commands) == {f'{n}_s{s}' for n in names for s in (0, 1)} - {'skipnet_s0'}
    assert {'baff', 'skipnet'} <= names and len(names) >= 6

    def shared(words):
        """The options every run must share: all but the config's own, seed, out, resume."""
        own = set(ablation.CONFIGS[Path(words[words.index('--out') + 1]).name[:-3]][1])
        out, i = [], words.index('train') + 1
        while i < len(words):
            if words[i] in ('--out', '--seed', '--config', '--resume'):
                i += 2
                continue
            if words[i] not in own:
                out.append(words[i])
            i += 1
        return out
    reference = shared(commands['baff_s0'])
    assert '--max-iters' in reference and '--epochs' in reference
    for name, words in commands.items():
        assert shared(words) == reference, name
    assert commands['baff_s1'][-2:] == ['--resume', str(runs / 'baff_s1' / 'last.safetensors')]
    assert '--weight-net-lr-mult' in commands['baff_wlr10_s0']
    assert 'fusion=add' in commands['skipnet_ohem_s1'][commands['skipnet_ohem_s1'].index(
        '--config') + 1]
    with pytest.raises(SystemExit, match='unknown configuration'):
        ablation.main(argv + ['--configs', 'baff', 'nope'])


def test_configs_parse_and_the_pair_comes_first(ablation):
    from baff_ros.engine.models import parse_config_arg

    assert list(ablation.CONFIGS)[:2] == ['skipnet', 'baff']
    cfgs = {name: parse_config_arg(arch) for name, (arch, _) in ablation.CONFIGS.items()}
    assert cfgs['baff_grid8'].block_grid == 8 and cfgs['baff_block4'].block_size == 4
    # The variants differ from their baseline only by their own knob.
    assert cfgs['baff_grid8'].replace(block_grid=0) == cfgs['baff']
    assert cfgs['skipnet'].fusion == 'add' and cfgs['baff'].block_grid == 0


def test_groups_and_spread(ablation):
    assert ablation.group_of(Path('r/baff_block4_s1'), 'baff') == 'baff_block4'
    assert ablation.group_of(Path('r/run_baff_7'), 'baff') == 'baff'
    assert ablation.mean_std([0.5, 0.7, None]) == (pytest.approx(0.6), pytest.approx(0.1414, 1e-3))
    assert ablation.fmt_pm([0.5]) == '50.0 ± 0.0' and ablation.fmt_pm([None]) == 'n/a'
