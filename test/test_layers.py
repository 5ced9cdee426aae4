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
"""The import graph of baff_ros points downward only (docs/architecture.md, "Layers").

Every import in the package - at module level, inside functions and under ``TYPE_CHECKING`` -
is read from the source. A module may import its own unit (a sub-package such as ``engine`` or
a top-level module such as ``bench``) and the units on lower levels; units on one level do not
import each other. A new unit must be given a level here before it can be imported at all.
"""

import ast
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'baff_ros'

#: Levels, top first. ``baff_ros`` is the package's own ``__init__`` (the version).
LAYERS: Tuple[Tuple[str, ...], ...] = (
    ('cli', 'commands'),                 # the baff-ros command line
    ('bag',),                            # offline bags: drives the node core over a recording
    ('ros', 'train', 'bench'),           # node core + middlewares; training; benchmark
    ('evaluate', 'export'),              # Cityscapes metrics; ONNX / TensorRT export
    ('engine', 'peers'),                 # Segmenter + backends; peer networks for the benchmark
    ('model',),                          # the network, its config and checkpoint format
    ('data',),                           # label table, datasets, transforms, synthetic scenes
    ('baff_ros', 'atomic', 'progress', 'plotting'),  # version, atomic writes, progress, plots
)
LEVEL: Dict[str, int] = {unit: len(LAYERS) - i for i, units in enumerate(LAYERS)
                         for unit in units}


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _unit(module: str) -> str:
    """``baff_ros.engine.backends.base`` -> ``engine``; ``baff_ros`` -> ``baff_ros``."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else parts[0]


def _imports(path: Path, package_dir: Path = PACKAGE) -> List[Tuple[int, str]]:
    """(line, absolute module) of every baff_ros import in a file, relative ones resolved."""
    module = _module_name(path, package_dir)
    package = module if path.name == '__init__.py' else module.rpartition('.')[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ''
            if node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                name = '.'.join(base + ([name] if name else []))
            found.append((node.lineno, name))
    return [(line, name) for line, name in found
            if name == 'baff_ros' or name.startswith('baff_ros.')]


def import_graph(package_dir: Path = PACKAGE) -> Dict[Tuple[str, str], Set[str]]:
    """(importing unit, imported unit) -> the ``file:line`` places, for units that differ."""
    graph: Dict[Tuple[str, str], Set[str]] = defaultdict(set)
    for path in sorted(package_dir.rglob('*.py')):
        src = _unit(_module_name(path, package_dir))
        for line, name in _imports(path, package_dir):
            dst = _unit(name)
            if dst != src:
                graph[src, dst].add(f'{path.relative_to(package_dir.parent)}:{line}')
    return graph


def test_every_unit_has_a_level():
    units = {_unit(_module_name(p)) for p in PACKAGE.rglob('*.py')}
    assert units - set(LEVEL) == set(), 'give the new unit a level in LAYERS'
    assert set(LEVEL) - units == set(), 'LAYERS names a unit that no longer exists'


def test_imports_point_downward_only(capsys):
    graph = import_graph()
    with capsys.disabled():  # the graph, for `pytest -s` readers and the architecture page
        print()
        for (src, dst), places in sorted(graph.items(), key=lambda e: (-LEVEL[e[0][0]], e[0])):
            print(f'  {src} ({LEVEL[src]}) -> {dst} ({LEVEL[dst]})  x{len(places)}')
    wrong = {f'{src} ({LEVEL[src]}) -> {dst} ({LEVEL[dst]}): {", ".join(sorted(places))}'
             for (src, dst), places in graph.items() if LEVEL[dst] >= LEVEL[src]}
    assert not wrong, 'imports that do not point downward:\n' + '\n'.join(sorted(wrong))


@pytest.mark.parametrize('source,expected', [
    ('from baff_ros.engine import Segmenter\n', 'engine'),
    ('import baff_ros.ros.pipeline\n', 'ros'),
    ('def f():\n    from baff_ros.commands.synth import INFO_FILE\n', 'commands'),
    ('from ..ros import pipeline\n', 'ros'),
])
def test_the_reader_finds_every_kind_of_import(tmp_path, source, expected):
    """The check sees module-level, function-level and relative imports."""
    package_dir = tmp_path / 'baff_ros'
    (package_dir / 'train').mkdir(parents=True)
    path = package_dir / 'train' / 'mod.py'
    path.write_text(source)
    assert [_unit(name) for _line, name in _imports(path, package_dir)] == [expected]
    assert set(import_graph(package_dir)) == {('train', expected)}
