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
"""Packaging as ROS users and pip users get it.

* every package.xml key resolves with the real rosdep (offline rosdistro snapshot) on
  Jazzy/Ubuntu 24.04 and Humble/Ubuntu 22.04;
* requirements-ros.txt (the pip step of a ROS workspace) is exactly what package.xml leaves out
  of setup.py's install_requires;
* a pip install puts only ``baff-ros`` on PATH; a colcon build installs the ROS 2 executable
  ``lib/baff_ros/segment`` (``ros2 run baff_ros segment``, the launch file's executable).
"""

import ast
import configparser
import importlib.util
import os
from pathlib import Path, PurePosixPath
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECK_SH = ROOT.parent / 'shared' / 'ros2' / 'rosdep' / 'check.sh'
REQUIREMENTS = ROOT / 'requirements-ros.txt'
TARGETS = [('jazzy', 'ubuntu:noble'), ('humble', 'ubuntu:jammy')]

#: pip distribution -> rosdep key where the key is not ``python3-<distribution>``.
ROSDEP_KEYS = {'opencv-python-headless': 'python3-opencv', 'pyyaml': 'python3-yaml'}


def _env(tmp: Path) -> dict:
    """This environment with every cache and config a child could write kept under ``tmp``."""
    env = dict(os.environ)
    for name in ('XDG_CACHE_HOME', 'PIP_CACHE_DIR', 'COLCON_HOME', 'ROS_HOME', 'ROS_LOG_DIR'):
        env[name] = str(tmp / name.lower())
    return env


def _dist(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r'[-_.]+', '-', name).lower()


def _split(requirement: str) -> tuple:
    """'Torch >= 2.1' -> ('torch', '>=2.1')."""
    match = re.fullmatch(r'\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*', requirement)
    assert match, f'cannot parse requirement {requirement!r}'
    return _dist(match.group(1)), match.group(2).replace(' ', '')


def _install_requires() -> dict:
    """setup.py's install_requires as {distribution: specifier}, read without running it."""
    tree = ast.parse((ROOT / 'setup.py').read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'setup':
            for kw in node.keywords:
                if kw.arg == 'install_requires':
                    return dict(_split(r) for r in ast.literal_eval(kw.value))
    raise AssertionError('setup.py has no setup(install_requires=[...])')


def _ros_requirements() -> dict:
    """requirements-ros.txt as {distribution: specifier}; comments and blank lines skipped."""
    out = {}
    for line in REQUIREMENTS.read_text(encoding='utf-8').splitlines():
        line = re.sub(r'(^|\s)#.*', '', line).strip()
        if line:
            assert not line.startswith('-'), f'requirements-ros.txt: option line {line!r}'
            name, spec = _split(line)
            assert name not in out, f'requirements-ros.txt names {name} twice'
            out[name] = spec
    return out


def _package_xml_deps(*tags: str) -> set:
    root = ET.parse(ROOT / 'package.xml').getroot()
    return {e.text.strip() for e in root if e.tag in tags}


def _rosdep_key(dist: str) -> str:
    return ROSDEP_KEYS.get(dist, 'python3-' + dist)


def _copy_sources(dst: Path) -> Path:
    """The package's tracked files (``git ls-files``) or, outside a checkout, its source tree."""
    try:
        files = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True,
                               check=True, timeout=60).stdout.decode().split('\0')
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(
            '.git', '.venv', 'build', 'install', 'log', '__pycache__', '*.egg-info'))
        return dst
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dst / rel)
    return dst


# -- rosdep ------------------------------------------------------------------------------------

@pytest.fixture(scope='session')
def rosdep_env(tmp_path_factory) -> dict:
    """Environment for check.sh: its rosdep venv in a session temp dir, made once."""
    if not CHECK_SH.is_file():
        pytest.skip(f'{CHECK_SH} not found (the offline rosdep check sits beside the checkout)')
    tmp = tmp_path_factory.mktemp('rosdep')
    env = _env(tmp)
    env['ROSDEP_VENV'] = str(tmp / 'venv')
    return env


@pytest.mark.parametrize('distro,os_name', TARGETS, ids=[t[0] for t in TARGETS])
def test_rosdep_resolves_every_key(rosdep_env, tmp_path, distro, os_name):
    # package.xml on its own: rosdep must not also find build/ or install/ copies of it.
    pkg = tmp_path / 'baff_ros'
    pkg.mkdir()
    shutil.copy2(ROOT / 'package.xml', pkg / 'package.xml')
    res = subprocess.run(['bash', str(CHECK_SH), str(pkg), distro, os_name], env=rosdep_env,
                         capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert 'could not have their rosdep keys resolved' not in out, out
    assert 'Cannot locate rosdep definition' not in out, out
    # Resolved to this distro's binaries (keys already installed here are not listed).
    assert f'ros-{distro}-' in out or 'All required rosdeps installed' in out, out


# -- pip step of a ROS workspace ---------------------------------------------------------------

def test_ros_requirements_are_what_package_xml_leaves_out():
    install = _install_requires()
    keys = _package_xml_deps('exec_depend', 'depend')
    left_out = {d: spec for d, spec in install.items() if _rosdep_key(d) not in keys}
    assert left_out, 'package.xml names every install_requires; requirements-ros.txt is moot'
    # Same distributions, same version floors: the two cannot drift apart.
    assert _ros_requirements() == left_out


def test_package_xml_python_keys_are_install_requires():
    """Every python3-* exec key stands for a runtime dependency that pip users get too."""
    keys = {k for k in _package_xml_deps('exec_depend', 'depend') if k.startswith('python3-')}
    assert keys <= {_rosdep_key(d) for d in _install_requires()}


# -- pip install: only baff-ros on PATH --------------------------------------------------------

def _console_scripts(wheel: Path) -> set:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        eps = [n for n in names if n.endswith('.dist-info/entry_points.txt')]
        assert len(eps) == 1, names
        parser = configparser.ConfigParser()
        parser.read_string(zf.read(eps[0]).decode())
        # No file called segment anywhere in the wheel either (.data/scripts, .data/data).
        assert not [n for n in names if PurePosixPath(n).name == 'segment'], names
    return set(parser['console_scripts']) if parser.has_section('console_scripts') else set()


def test_pip_install_puts_only_baff_ros_on_path(tmp_path):
    if importlib.util.find_spec('setuptools') is None:
        pytest.skip('setuptools not installed (needed to build without isolation)')
    env = _env(tmp_path)
    src = _copy_sources(tmp_path / 'src')
    res = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-index',
                          '--no-build-isolation', '-w', str(tmp_path / 'dist'), str(src)],
                         env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    wheel, = (tmp_path / 'dist').glob('baff_ros-*.whl')
    assert _console_scripts(wheel) == {'baff-ros'}

    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], env=env,
                   check=True, timeout=120)
    python = venv / 'bin' / 'python'
    res = subprocess.run([sys.executable, '-m', 'pip', '--python', str(python), 'install',
                          '--no-deps', '--no-index', str(wheel)],
                         env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    bin_dir = venv / 'bin'
    assert (bin_dir / 'baff-ros').is_file(), sorted(p.name for p in bin_dir.iterdir())
    assert shutil.which('segment', path=str(bin_dir)) is None
    assert not list(venv.rglob('segment')), list(venv.rglob('segment'))


# -- colcon: lib/baff_ros/segment --------------------------------------------------------------

@pytest.mark.parametrize('mode', [[], ['--symlink-install']], ids=['install', 'symlink'])
def test_colcon_installs_ros_executable(tmp_path, mode):
    if importlib.util.find_spec('colcon_core') is None:
        pytest.skip('colcon not installed (pip install colcon-common-extensions)')
    env = _env(tmp_path)
    ws = tmp_path / 'ws'
    _copy_sources(ws / 'src' / 'baff_ros')
    res = subprocess.run([sys.executable, '-m', 'colcon', 'build', *mode,
                          '--event-handlers', 'console_direct-'], cwd=ws, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    prefix = ws / 'install' / 'baff_ros'
    lib = prefix / 'lib' / 'baff_ros'
    assert sorted(p.name for p in lib.iterdir()) == ['baff-ros', 'segment']
    segment = lib / 'segment'
    assert os.access(segment, os.X_OK)
    text = segment.read_text(encoding='utf-8')
    # Run by the interpreter setuptools chose for its own scripts (the one colcon ran with).
    assert text.splitlines()[0] == (lib / 'baff-ros').read_text().splitlines()[0]
    imports = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.ImportFrom)]
    assert [(n.module, [a.name for a in n.names]) for n in imports] == [
        ('baff_ros.ros.rclpy_node', ['main'])]
    assert not (prefix / 'bin').exists()
    index = prefix / 'share' / 'ament_index' / 'resource_index' / 'packages'
    assert (index / 'baff_ros').is_file()
    if not mode:
        # Recorded, so that colcon can remove it again on a rebuild.
        record = (ws / 'build' / 'baff_ros' / 'install.log').read_text().splitlines()
        assert str(segment) in record
    if os.environ.get('ROS_DISTRO') and shutil.which('ros2'):
        env['AMENT_PREFIX_PATH'] = os.pathsep.join(
            filter(None, [str(prefix), env.get('AMENT_PREFIX_PATH')]))
        res = subprocess.run(['ros2', 'pkg', 'executables', 'baff_ros'], env=env,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout.split('\n').count('baff_ros segment') == 1, res.stdout


def _make_plan(*args: str) -> subprocess.CompletedProcess:
    """``make -n venv ARGS`` for a venv that does not exist: the commands it would run."""
    return subprocess.run(['make', '-n', '-f', str(ROOT / 'Makefile'), '-C', str(ROOT),
                           'venv', 'VENV=/nonexistent/venv', *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which('make') is None, reason='make is not installed')
@pytest.mark.parametrize('torch, wanted, unwanted', [
    ('cpu', ["--no-deps 'torch==2.13.0+cpu' --index-url https://download.pytorch.org/whl/cpu",
             "-e '.[all,dev]'"], ['onnx-gpu', 'system-site-packages']),
    ('cuda', ["install -q 'torch==2.13.0'", "-e '.[onnx-gpu,dds,bag,plot,dev]'"],
     ['whl/cpu', "'.[all"]),
    ('jetson', ["install -q '/wheels/torch-2.5.0a0-cp310-cp310-linux_aarch64.whl'",
                '--system-site-packages', "-e '.[onnx,bag,plot,dev]'"],
     ['torch==2.13.0', 'dds']),
])
def test_the_makefile_installs_the_torch_build_asked_for(torch, wanted, unwanted):
    res = _make_plan(f'TORCH={torch}',
                     'JETSON_TORCH=/wheels/torch-2.5.0a0-cp310-cp310-linux_aarch64.whl')
    assert res.returncode == 0, res.stderr
    for text in wanted:
        assert text in res.stdout, (text, res.stdout)
    for text in unwanted:
        assert text not in res.stdout, (text, res.stdout)
    # torch goes in before the package, so the package's torch>=2.1 is already satisfied.
    assert res.stdout.index('torch') < res.stdout.index("install -q -e")


@pytest.mark.skipif(shutil.which('make') is None, reason='make is not installed')
def test_an_unknown_torch_build_is_refused():
    res = _make_plan('TORCH=rocm')
    assert res.returncode != 0
    assert "TORCH must be cpu, cuda or jetson, not 'rocm'" in res.stderr
