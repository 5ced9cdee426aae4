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
"""Every command the documentation shows runs as written, on small inputs.

The commands are read from README.md, docs/*.md and the model cards (models/*.md): shell lines
in ``bash`` code blocks and inline code that starts like a command. Each ``baff-ros`` command
with arguments, each ``python scripts/...`` and each single-machine ``torchrun`` is run in a
scratch folder, in the order the page gives them (a page's later commands use what its earlier
ones wrote), and must exit 0. Only these changes are made, all mechanical:

- placeholders become real paths (``IN`` the bundled sample drive, ``IMG...`` two camera
  frames, ``M`` the bundled model, ``ROOT``/``DATA`` the data set the page's ``synth`` made);
  optional ``[...]`` parts are kept, so their options are checked too;
- sizes, counts and durations are made small (``SHRINK``: 64x128 networks, a 6-image data set,
  2 epochs, a 2-second node, a benchmark of BAFF and SkipNet alone without int8), and ``cuda``
  becomes ``cpu`` on a machine without CUDA.

Commands of other tools (``ros2``, ``colcon``, ``make``, ...) are matched against ``ELSEWHERE``,
which names the test that runs each or why it cannot run here; a documented command that is in
neither place fails the test, so documentation cannot drift from the CLI unnoticed.
"""

from dataclasses import dataclass
import functools
import os
from pathlib import Path
import re
import shlex
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

import pytest

from baff_ros.ros.dds.config import loopback_env

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md')),
         *sorted((ROOT / 'models').glob('*.md'))]
SAMPLE_BAG = ROOT / 'models' / 'samples' / 'street_drive'
#: The documented nodes run in a DDS domain of their own: 220..232 is no other module's, and
#: participants other modules left in this process must not meet them.
DOMAIN = 220 + os.getpid() % 13
MODEL = 'models/baff_skipnet_synth.safetensors'
#: Inline code that starts like one of these is a command (or a reference to one).
COMMAND_START = re.compile(r'^(baff-ros|python3? |torchrun|ros2 |rviz2|make |colcon|rosdep|pip |'
                           r'source |git |mkdir |cd )')

#: Commands of other tools: (pattern, file that runs it or None, text that file must contain,
#: why). A file is checked to contain the text, so the pointer cannot go stale.
ELSEWHERE: List[Tuple[str, Optional[str], str, str]] = [
    (r'make (demo|test|test-all|bench|lint|clean)\b', 'Makefile', 'test-all:',
     'Makefile targets; `make test` is what .ci/run runs'),
    (r'make test$', '.ci/run', 'make test', 'CI runs it'),
    (r'pip install -e ', 'Makefile', "install -q -e", 'the Makefile setup step'),
    (r'ros2 launch baff_ros segment\.launch\.py', 'test/ros/test_ros_launch.py',
     "'launch', 'baff_ros', 'segment.launch.py'", 'launched as a child process'),
    (r'ros2 launch$', 'test/ros/test_ros_launch.py', "'launch'", 'a name, not a command'),
    (r'ros2 run( baff_ros segment)?', 'test/test_packaging.py', "'baff_ros segment'",
     'colcon installs lib/baff_ros/segment; the launch tests start it'),
    (r'ros2 param( set)?', 'test/ros/test_ros_launch.py', "'param', 'set'", 'run by the test'),
    (r'ros2 lifecycle', 'test/ros/test_ros_launch.py', "'lifecycle', 'set'", 'run by the test'),
    (r'ros2 bag (play|info|reindex)', 'test/ros/test_rosbag2_interop.py', "'bag', 'play'",
     'run on what baff-ros bag and demo write'),
    (r'ros2 bag( record)?$', 'test/ros/test_rosbag2_interop.py', "'bag', 'record'",
     'records with the real ros2 bag'),
    (r'ros2 node list', None, '', 'a name: the DDS node is not a ROS graph node'),
    (r'rviz2 ', None, '', 'rviz2 is not installed on the build machine (README: not verified)'),
    (r'source (/opt/ros/|install/|~/baff_venv)', 'scripts/test.sh', 'setup.bash',
     'the test script sources the ROS 2 setup files'),
    (r"(mkdir|git clone|cd |rosdep|pip install '?torch|pip install --no-deps|python3 -m venv"
     r'|python3 -m colcon|colcon build)', 'test/test_packaging.py', 'rosdep',
     'the ROS 2 workspace steps: rosdep keys, requirements-ros.txt and the colcon install are '
     'tested; the apt installs need Ubuntu (README: not verified)'),
    (r'git ls-files', 'test/conftest.py', 'ls-files', 'how the tests build their workspace'),
    (r'torchrun --nnodes=2', None, '', 'needs two machines'),
    (r'(pip install|torchrun)$', None, '', 'a name, not a command'),
    (r'pip install --dry-run', None, '', 'how README measured download sizes (needs PyPI)'),
    (r'pip install tensorrt', None, '', 'TensorRT needs an NVIDIA GPU (README: not verified)'),
    (r'pip install (--no-deps \.$|numpy |cyclonedds$|rosbags )', 'test/test_artefacts.py',
     'BLOCKED = (', 'the torch-free deployment (docs/engine.md): the ONNX path runs with torch '
     'and the other left-out packages unimportable; installing needs PyPI'),
    (r'make (venv )?\w+ TORCH=', 'test/test_packaging.py', 'TORCH=', 'the builds it selects'),
    (r"pip install 'baff_ros\[eval\]'", 'test/test_labels.py', 'cityscapesscripts',
     'the eval extra: the test suite has it (setup.py dev) for the label-table and parity '
     'tests; installing needs PyPI'),
]

#: Per command: option -> small value ('' drops the option), and options added when absent.
SHRINK: Dict[str, Tuple[Dict[str, str], Dict[str, str]]] = {
    'synth': ({'--n': '6', '--split-val': '2', '--size': '64x128'}, {}),
    # --stop-after-epochs 1: the run is interrupted, so the page's --resume has work left.
    'train': ({'--epochs': '2', '--warmup-epochs': '1', '--batch-size': '2', '--crop': '64x128',
               '--val-size': '64x128', '--workers': '0'},
              {'--no-progress': '', '--stop-after-epochs': '1'}),
    'eval': ({'--size': '64x128'}, {'--size': '64x128'}),
    'segment': ({'--size': '64x128'}, {'--size': '64x128'}),
    'bag': ({'--size': '64x128'}, {'--size': '64x128', '--quiet': ''}),
    'export': ({'--size': '64x128'}, {'--size': '64x128'}),
    'node': ({'--duration': '2'}, {'--duration': '2'}),
    'info': ({}, {}),
    'bench': ({'--repeats': '2', '--size': '64x128'},
              {'--size': '64x128', '--models': 'baff skipnet', '--no-int8': ''}),
    'bench_bag.py': ({'--rounds': '1'}, {'--json': 'bench_bag.json'}),
    'profile_fusion.py': ({'--size': '64x128', '--runs': '2', '--rounds': '1'},
                          {'--runs': '2', '--rounds': '1'}),
    'ground_bev.py': ({'--size': '128x256'}, {'--size': '128x256'}),
    'bench_node.py': ({'--duration': '2', '--size': '64x128'},
                      {'--frames': '5', '--image': '120x160'}),
    # The pair at one seed, a few iterations: the launch, resume bookkeeping and the report.
    'ablation.py': ({'--epochs': '2', '--warmup-epochs': '1', '--crop': '64x128',
                     '--batch-size': '2', '--size': '64x128', '--configs': 'skipnet baff',
                     '--seeds': '0'},
                    {'--configs': 'skipnet baff', '--seeds': '0', '--max-iters': '2',
                     '--workers': '0', '--size': '64x128', '--model-config': 'width_mult=0.35',
                     '--json': 'ablation.json', '--figure': 'ablation.png'}),
}
#: Text placeholders -> values (regular expressions, applied in this order).
PLACEHOLDERS = [
    (r'IMG\.\.\.', 'cam0/000001.png cam1/000001.png'),
    (r'--out FILE', '--out model.onnx'),
    (r'\bFILE\b', 'out.json'),
    (r'\bIN\b', 'in_bag'), (r'\bOUT\b', 'out_bag_{line}'), (r'\bDIR\b', 'out_dir_{line}'),
    (r'\bM\b', MODEL), (r'\$CITYSCAPES\b|\bROOT\b|\bDATA\b', 'data/synth'),
    (r'\bRUN\b', 'runs/doc'), (r'\bS\b', '0'), (r'\bT\b', '/camera/image_raw/compressed'),
    (r'\bHxW\b', '64x128'), (r'--opset N\b', '--opset 17'),
    (r'\bLIST\b', 'labels,confidence,camera_info'),
    (r'name:=value', "input_size:='[64, 128]'"),
    (r'--ros-args \.\.\.', ''),
    (r"input_size:='\[\d+, \d+\]'", "input_size:='[64, 128]'"),
    (r'--nproc_per_node=\d+', '--nproc_per_node=2'),
]


@dataclass
class DocCommand:
    """A command as a page shows it."""

    page: Path
    line: int
    text: str
    inline: bool

    def __str__(self) -> str:
        return f'{self.page.relative_to(ROOT)}:{self.line}: {self.text}'


def page_commands(page: Path) -> List[DocCommand]:
    """Shell lines of ``bash`` blocks and command-like inline code, in page order."""
    found: List[DocCommand] = []
    lines = page.read_text().splitlines()
    fence: Optional[str] = None
    pending, start = '', 0
    prose: List[Tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        opening = re.match(r'^\s*```(\w*)', line)
        if opening:
            fence = None if fence is not None else opening.group(1)
            continue
        if fence is None:
            prose.append((number, line))
            continue
        if fence not in ('bash', 'sh'):
            continue
        if not pending:
            start = number
        if line.rstrip().endswith('\\'):
            pending += line.rstrip()[:-1] + ' '
            continue
        text = ' '.join(re.sub(r'(^|\s)#.*$', '', pending + line).split())
        pending = ''
        if text:
            found.append(DocCommand(page, start, text, inline=False))
    # Inline code may wrap across lines of a paragraph.
    joined = '\n'.join(text for _, text in prose)
    offsets = [0]
    for _, text in prose:
        offsets.append(offsets[-1] + len(text) + 1)
    for match in re.finditer(r'`([^`]+)`', joined):
        span = ' '.join(match.group(1).split())
        if COMMAND_START.match(span):
            index = max(i for i, off in enumerate(offsets[:-1]) if off <= match.start())
            found.append(DocCommand(page, prose[index][0], span, inline=True))
    return sorted(found, key=lambda c: c.line)


def is_reference(text: str) -> bool:
    """Tell whether inline code only names a command (``baff-ros bag``, ``ros2 …``)."""
    words = text.split()
    return (words[0] == 'baff-ros' and len(words) <= 2) or text.endswith('…')


def runs_here(text: str) -> bool:
    """Tell whether this test runs the command (the others belong to ELSEWHERE)."""
    if is_reference(text):
        return False
    if text.startswith('baff-ros'):
        return True
    if re.match(r'python3? scripts/', text):
        return True
    return text.startswith('torchrun --standalone')


def command_name(words: List[str]) -> str:
    """The subcommand or script a command runs: 'train', 'bench_node.py', ..."""
    if words[0] == 'baff-ros':
        return words[1]
    if words[0].startswith('python'):
        return Path(words[1]).name
    return words[words.index('baff_ros.cli') + 1]  # torchrun ... -m baff_ros.cli CMD


#: Options that take several values (argparse nargs='+'): SHRINK replaces all of them.
MULTI_VALUE = ('--configs', '--seeds')


def shrink(words: List[str], name: str) -> List[str]:
    """Apply SHRINK's small values to the command's options."""
    replace, add = SHRINK.get(name, ({}, {}))
    out: List[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in replace:
            out.append(word)
            out.extend(replace[word].split())
            n = 1
            while i + n < len(words) and not words[i + n].startswith('--') and (
                    n == 1 or word in MULTI_VALUE):
                n += 1
            i += n
            continue
        out.append(word)
        i += 1
    # Added options go right after the command's name (before --ros-args and positionals).
    at = out.index('baff_ros.cli') + 2 if 'baff_ros.cli' in out else 2
    for option, value in add.items():
        if option not in words:
            out[at:at] = [option, *value.split()] if value else [option]
    return out


def runnable(command: DocCommand, previous: Dict[str, str]) -> str:
    """The shell line this test runs for a documented command."""
    text = re.sub(r"(?<!')\[([^\[\]']*)\]", r'\1', command.text)  # keep optional parts
    for pattern, value in PLACEHOLDERS:
        text = re.sub(pattern, value.replace('{line}', str(command.line)), text)
    if not _has_cuda():
        text = text.replace('device:=cuda', 'device:=cpu')
    words = shlex.split(text)
    name = command_name(words)
    if '...' in words:  # "train ... --resume X": the page's previous train command's arguments
        at = words.index('...')
        words[at:at + 1] = shlex.split(previous[name])[2:]
    if name == 'bench_node.py' and not _has_rclpy():
        words += ['--middleware', 'dds']
    words = shrink(words, name)
    previous[name] = ' '.join(shlex.quote(w) for w in words)
    if words[0] == 'baff-ros':
        words[0] = shutil.which('baff-ros') or 'baff-ros'
    elif words[0].startswith('python'):
        words[0] = sys.executable
    elif words[0] == 'torchrun':
        words[0:1] = [sys.executable, '-m', 'torch.distributed.run']
    return ' '.join(w if re.fullmatch(r'[\w./-]*[*?][\w./*?-]*', w) else shlex.quote(w)
                    for w in words)  # globs stay unquoted, for the shell to expand


def _has_cuda() -> bool:
    return _can('import torch; assert torch.cuda.is_available()')


def _has_rclpy() -> bool:
    return _can('import rclpy')


@functools.lru_cache(maxsize=None)
def _can(code: str) -> bool:
    # In a child process: this process may hold Cyclone DDS and ROS libraries that must not
    # meet others (test/ros/conftest.py).
    return subprocess.run([sys.executable, '-c', code], capture_output=True).returncode == 0


def scratch(tmp_path: Path) -> Path:
    """A folder with what the documented commands expect beside them: config/, models/, ..."""
    import cv2
    import numpy as np

    for name in ('config', 'models', 'scripts', 'launch'):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / 'docs').mkdir()
    shutil.copytree(SAMPLE_BAG, tmp_path / 'in_bag')
    rng = np.random.default_rng(0)
    for cam in ('cam0', 'cam1'):
        (tmp_path / cam).mkdir()
        cv2.imwrite(str(tmp_path / cam / '000001.png'),
                    rng.integers(0, 255, (96, 160, 3), dtype=np.uint8))
    return tmp_path


def all_commands() -> List[DocCommand]:
    """Every command of every page."""
    return [c for page in PAGES for c in page_commands(page)]


def test_the_pages_show_commands_and_this_test_finds_them():
    commands = all_commands()
    run = [c for c in commands if runs_here(c.text)]
    assert len(run) >= 20, [str(c) for c in run]
    names = {command_name(shlex.split(c.text.replace('...', ''))) for c in run}
    # Every subcommand that takes arguments is shown somewhere with them.
    assert {'info', 'segment', 'bag', 'node', 'export', 'synth', 'train', 'eval'} <= names


def test_every_other_command_is_run_elsewhere_or_says_why_not():
    unplaced = []
    for command in all_commands():
        if runs_here(command.text) or is_reference(command.text):
            continue
        matches = [e for e in ELSEWHERE if re.match(e[0], command.text)]
        if not matches:
            unplaced.append(str(command))
    assert not unplaced, 'documented commands nobody runs:\n' + '\n'.join(unplaced)
    for pattern, where, needle, _why in ELSEWHERE:
        if where:
            assert needle in (ROOT / where).read_text(), (pattern, where, needle)


def test_every_named_subcommand_exists():
    from baff_ros.cli import build_parser

    choices = build_parser()._subparsers._group_actions[0].choices
    for command in all_commands():
        words = command.text.split()
        if words[0] == 'baff-ros' and len(words) >= 2:
            assert words[1] in choices, str(command)


def test_the_cli_synopsis_matches_the_parser():
    """README's CLI block: each line's options exist in that subcommand's parser."""
    from baff_ros.cli import build_parser

    choices = build_parser()._subparsers._group_actions[0].choices
    block = ROOT.joinpath('README.md').read_text().split('### CLI\n```\n', 1)[1].split('```')[0]
    checked = 0
    for line in block.splitlines():
        if not line.startswith('baff-ros'):
            continue
        sub = line.split()[1]
        known = {o for a in choices[sub]._actions for o in a.option_strings}
        for option in re.findall(r'(?<![\w-])(--[a-z][a-z-]*)', line):
            assert option in known, f'README CLI: {sub} has no {option}'
        checked += 1
    assert checked == len(choices), (checked, sorted(choices))


PAGES_WITH_COMMANDS = [p for p in PAGES if any(runs_here(c.text) for c in page_commands(p))]


@pytest.mark.parametrize('page', PAGES_WITH_COMMANDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_documented_commands_run(page, tmp_path):
    work = scratch(tmp_path)
    previous: Dict[str, str] = {}
    ran = []
    for command in page_commands(page):
        if not runs_here(command.text):
            continue
        line = runnable(command, previous)
        started = time.monotonic()
        res = subprocess.run(['bash', '-c', line], cwd=work, capture_output=True, text=True,
                             timeout=600, env=dict(loopback_env(DOMAIN), PYTHONUNBUFFERED='1'))
        print(f'{time.monotonic() - started:6.1f} s  {command}')
        assert res.returncode == 0, (f'{command}\nran: {line}\nexit {res.returncode}\n'
                                     f'{res.stderr[-3000:]}')
        ran.append(command.text)
    assert ran


def test_the_engine_example_runs(tmp_path):
    """docs/engine.md's Python example, at a small network input."""
    page = (ROOT / 'docs' / 'engine.md').read_text()
    code = page.split('```python\n', 1)[1].split('```', 1)[0]
    code = re.sub(r'input_size=\(\d+, \d+\)', 'input_size=(64, 128)', code)
    res = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "(720, 1280) ['16', '8']" in res.stdout, res.stdout
