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
"""ament-style lint checks: the ament tools where installed, the same checkers otherwise."""

import importlib.util
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

ROOT = Path(__file__).resolve().parents[1]
PY_DIRS = ['baff_ros', 'test', 'launch', 'scripts', 'setup.py']


def _py_targets():
    return [str(ROOT / d) for d in PY_DIRS if (ROOT / d).exists()]


@pytest.mark.linter
def test_flake8():
    if importlib.util.find_spec('ament_flake8'):
        from ament_flake8.main import main_with_errors
        rc, errors = main_with_errors(argv=[])
        assert rc == 0, f'{len(errors)} flake8 error(s):\n' + '\n'.join(errors)
        return
    if not importlib.util.find_spec('flake8'):
        pytest.skip('neither ament_flake8 nor flake8 installed')
    res = subprocess.run([sys.executable, '-m', 'flake8', *_py_targets()], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.linter
def test_pep257():
    if importlib.util.find_spec('ament_pep257'):
        from ament_pep257.main import main
        assert main(argv=['.', 'test']) == 0
        return
    if not importlib.util.find_spec('pydocstyle'):
        pytest.skip('neither ament_pep257 nor pydocstyle installed')
    # ament_pep257's default: the pep257 convention less these.
    ignore = 'D100,D101,D102,D103,D104,D105,D106,D107,D203,D212,D404'
    res = subprocess.run([sys.executable, '-m', 'pydocstyle', '--convention=pep257',
                          f'--add-ignore={ignore}',
                          str(ROOT / 'baff_ros')], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.linter
def test_mypy(tmp_path):
    """mypy over baff_ros/ with setup.cfg's [mypy] configuration finds nothing."""
    if not importlib.util.find_spec('mypy'):
        pytest.skip('mypy not installed (setup.py extra "dev")')
    res = subprocess.run([sys.executable, '-m', 'mypy', '--config-file', 'setup.cfg',
                          '--cache-dir', str(tmp_path / 'mypy_cache')], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'Success: no issues found' in res.stdout, res.stdout


@pytest.mark.linter
def test_copyright():
    if importlib.util.find_spec('ament_copyright'):
        from ament_copyright.main import main
        assert main(argv=['baff_ros', 'test', 'launch']) == 0
        return
    missing = []
    for top in ('baff_ros', 'test', 'launch', 'scripts'):
        for path in (ROOT / top).rglob('*.py') if (ROOT / top).exists() else []:
            head = path.read_text(encoding='utf-8')[:400]
            if 'Copyright' not in head or 'Apache License' not in head:
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, f'files without the copyright/license header: {missing}'


@pytest.mark.linter
def test_xmllint():
    if not shutil.which('xmllint'):
        pytest.skip('xmllint not installed (Debian: libxml2-utils)')
    res = subprocess.run(['xmllint', '--noout', str(ROOT / 'package.xml')],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_package_xml_names_what_the_code_imports():
    """package.xml is parsed with the standard library, so this runs everywhere."""
    import xml.etree.ElementTree as ET
    root = ET.parse(ROOT / 'package.xml').getroot()
    assert root.get('format') == '3'
    assert root.findtext('name') == 'baff_ros'
    deps = {e.text for e in root if e.tag.endswith('depend')}
    for needed in ('rclpy', 'sensor_msgs', 'std_msgs', 'vision_msgs', 'diagnostic_msgs',
                   'python3-numpy', 'python3-opencv'):
        assert needed in deps, needed
    assert root.find('export/build_type').text == 'ament_python'
    from baff_ros import __version__
    assert root.findtext('version') == __version__
