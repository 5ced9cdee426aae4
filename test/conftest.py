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
"""Suite-wide set-up: nothing written into the user's home; sourced ROS 2 tests never skip."""

import os
from pathlib import Path
import shutil
import subprocess
import tempfile
from typing import Dict

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Tests that run rclpy in the pytest process. They get a pytest process of their own: the
#: cyclonedds Python binding (other tests) brings its own Cyclone DDS library, and a binding
#: reader whose listener was already freed crashes the process when rclpy's traffic reaches it.
ROS_DIR = ROOT / 'test' / 'ros'

#: Where tools would otherwise write into the user's home: caches, ROS logs, plot configs.
HOME_REDIRECTS = ('XDG_CACHE_HOME', 'ROS_HOME', 'ROS_LOG_DIR', 'BAFF_ROS_CACHE', 'MPLCONFIGDIR')
_SESSION_DIR = None


def pytest_configure(config: pytest.Config) -> None:
    """Redirect home-directory writes to a session directory, then check ROS 2.

    The variables are set in this process, so every child (the node, ``ros2`` commands,
    colcon) inherits them. Cyclone DDS traffic is kept on loopback in a domain of this run's
    own unless the caller chose otherwise.
    """
    global _SESSION_DIR
    _SESSION_DIR = tempfile.mkdtemp(prefix='baff_ros_test_')
    for name in HOME_REDIRECTS:
        os.environ[name] = os.path.join(_SESSION_DIR, name.lower())
    from baff_ros.ros.dds.config import loopback_config

    # Forced, not defaulted: a developer's shell may point DDS at a real robot network.
    os.environ['CYCLONEDDS_URI'] = loopback_config()
    os.environ['ROS_DOMAIN_ID'] = str(1 + os.getpid() % 99)
    _check_ros()


def _asked_for_ros_dir(config: pytest.Config) -> bool:
    for arg in config.args:
        path = Path(arg.split('::')[0]).resolve()
        if path == ROS_DIR or ROS_DIR in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool:
    """Collect test/ros only when asked for by path (``pytest test/ros``, as scripts/test.sh).

    Returns None (no opinion) for every other path.
    """
    if collection_path.resolve() == ROS_DIR and not _asked_for_ros_dir(config):
        config.stash[_ROS_LEFT_OUT] = True
        return True
    return None


_ROS_LEFT_OUT = pytest.StashKey[bool]()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Say that test/ros was left out of this process, and how to run it."""
    if config.stash.get(_ROS_LEFT_OUT, False):
        terminalreporter.write_line(
            'test/ros (rclpy in the test process) runs in a pytest process of its own: '
            '`pytest test/ros` (make test runs both)')


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session directory (this run's own files only)."""
    if _SESSION_DIR:
        shutil.rmtree(_SESSION_DIR, ignore_errors=True)


def _check_ros() -> None:
    """Fail loudly when a ROS 2 environment is sourced but rclpy does not import.

    Without this, a broken ROS 2 install (wrong Python, missing libraries) would turn every
    rclpy, launch and rosbag2 test into a skip and the run would still look green.
    """
    distro = os.environ.get('ROS_DISTRO')
    if not distro:
        return
    try:
        import rclpy  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means a broken install
        raise pytest.UsageError(
            f'ROS_DISTRO={distro} is set but rclpy does not import ({type(exc).__name__}: '
            f'{exc}); source a ROS 2 install built for this Python, or unset ROS_DISTRO to '
            'run without the ROS 2 tests') from exc


def _source(setup: Path, cwd: Path) -> Dict[str, str]:
    """Environment after ``source setup.bash`` on top of this process's environment."""
    out = subprocess.run(['bash', '-c', f'source "{setup}" && env -0'], cwd=cwd,
                         capture_output=True, check=True, timeout=60).stdout
    return dict(line.split('=', 1) for line in out.decode().split('\0') if '=' in line)


@pytest.fixture
def checkpoint(tmp_path):
    """Return a small untrained BAFF-SkipNet checkpoint (64x96) whose weight maps vary."""
    import torch

    from baff_ros.model import build_model, ModelConfig, save_checkpoint
    from baff_ros.model.checkpoint import CheckpointMeta

    torch.manual_seed(0)
    model = build_model(ModelConfig(width_mult=0.35))
    for fusion in model.fusions:  # give the weight maps some structure
        for p in fusion.weight_net.parameters():
            p.data.normal_()
    meta = CheckpointMeta.default(model.cfg, input_size=(64, 96))
    return save_checkpoint(model, tmp_path / 'small.safetensors', meta)


@pytest.fixture(scope='session')
def ros_workspace(tmp_path_factory) -> Dict[str, str]:
    """Build the checkout in a temporary colcon workspace, as a ROS user does; return its env.

    The package's tracked files (``git ls-files``; the whole tree minus build products outside a
    git checkout) are copied to ``WS/src/baff_ros`` and built with ``colcon build`` against the
    sourced ROS 2. The returned environment is the caller's plus ``WS/install/setup.bash``.
    """
    if not os.environ.get('ROS_DISTRO'):
        pytest.skip('no ROS 2 environment sourced (ROS_DISTRO unset)')
    if shutil.which('colcon') is None:
        pytest.fail('ROS 2 is sourced but colcon is not installed (pip install '
                    'colcon-common-extensions)')
    ws = tmp_path_factory.mktemp('colcon_ws')
    src = ws / 'src' / 'baff_ros'
    try:
        files = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True,
                               check=True, timeout=60).stdout.decode().split('\0')
        for rel in filter(None, files):
            if (ROOT / rel).is_file():
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, src / rel)
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
            '.git', '.venv', 'build', 'install', 'log', '__pycache__', '*.egg-info'))
    res = subprocess.run(['colcon', 'build', '--event-handlers', 'console_direct-'], cwd=ws,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f'colcon build failed:\n{res.stdout}\n{res.stderr}'
    return _source(ws / 'install' / 'setup.bash', ws)
