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
"""ROS 2 parameter files and command-line arguments, read without ROS.

YAML parameter files (``<node>: ros__parameters: ...``, with the ``/**`` wildcard merged as
``rcl`` does), the ``--ros-args`` the node understands (``-p``, ``-r``, ``--params-file``,
``--log-level``) and ROS name resolution with remapping.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

#: The node's default name; the YAML file's top-level key.
NODE_NAME = 'baff_segmentation'


def node_section(data: Any, node_name: str = NODE_NAME, path: str = 'parameters') -> Dict:
    """Return the ``ros__parameters`` of ``node_name`` in a parsed ROS 2 parameter file.

    Accepts the node name with or without namespace (``/ns/name``) and the ``/**`` wildcard,
    merged in that order (the specific entry wins), as ``rcl`` does.
    """
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a mapping of node names at the top level')
    merged: Dict[str, Any] = {}
    found = False
    for key in ('/**', '**'):
        if key in data:
            merged.update(_ros_parameters(data[key], path, key))
            found = True
    for key, value in data.items():
        if key in ('/**', '**'):
            continue
        if key == node_name or str(key).rstrip('/').endswith('/' + node_name):
            merged.update(_ros_parameters(value, path, key))
            found = True
    if not found:
        raise ValueError(f'{path}: no section for node {node_name!r} (expected '
                         f'"{node_name}: ros__parameters:")')
    return merged


def _ros_parameters(section: Any, path: str, key: str) -> Dict[str, Any]:
    if not isinstance(section, dict) or not isinstance(section.get('ros__parameters'), dict):
        raise ValueError(f'{path}: {key}: expected a "ros__parameters:" mapping')
    return dict(section['ros__parameters'])


def load_params_file(path: str, node_name: str = NODE_NAME) -> Dict[str, Any]:
    """Read a ROS 2 YAML parameter file and return this node's name -> value mapping."""
    import yaml

    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ValueError(f'{path}: no such parameter file') from None
    except OSError as exc:
        raise ValueError(f'{path}: cannot read the parameter file ({exc.strerror or exc})') \
            from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f'{path}: not valid YAML ({str(exc).splitlines()[0]})') from None
    return node_section(data, node_name, str(path))


@dataclass(frozen=True)
class RosArgs:
    """What ``--ros-args`` on a command line asked for.

    Attributes:
        params: ``-p name:=value`` overrides (values parsed as YAML, as rcl does).
        params_files: ``--params-file FILE`` paths, in order.
        remaps: ``-r from:=to`` topic remappings.
        namespace: from ``-r __ns:=/ns`` (default ``/``).
        node_name: from ``-r __node:=name``.
        log_level: from ``--log-level LEVEL``.
    """

    params: Dict[str, Any]
    params_files: Tuple[str, ...]
    remaps: Dict[str, str]
    namespace: str = '/'
    node_name: str = NODE_NAME
    log_level: str = 'info'


def parse_param_override(text: str) -> Tuple[str, Any]:
    """``name:=value`` -> (name, value), the value parsed as YAML as rcl does ('' if empty)."""
    import yaml

    if ':=' not in text:
        raise ValueError(f'expected name:=value, got {text!r}')
    name, value = text.split(':=', 1)
    return name.strip(), (yaml.safe_load(value) if value else '')


def parse_ros_args(argv: Sequence[str]) -> RosArgs:
    """Parse the ROS 2 command-line arguments the node understands (after ``--ros-args``)."""
    params: Dict[str, Any] = {}
    files: List[str] = []
    remaps: Dict[str, str] = {}
    namespace, node_name, log_level = '/', NODE_NAME, 'info'
    args = list(argv)
    if args and args[0] == '--ros-args':
        args = args[1:]
    i = 0
    while i < len(args):
        flag = args[i]
        if flag == '--ros-args' or flag == '--':
            i += 1
            continue
        if flag not in ('-p', '--param', '-r', '--remap', '--params-file', '--log-level'):
            raise ValueError(f'--ros-args: unsupported argument {flag!r}')
        if i + 1 >= len(args):
            raise ValueError(f'--ros-args: {flag} needs a value')
        value = args[i + 1]
        i += 2
        if flag == '--params-file':
            files.append(value)
            continue
        if flag == '--log-level':
            log_level = value.split(':=')[-1].lower()
            continue
        if ':=' not in value:
            raise ValueError(f'--ros-args: expected name:=value after {flag}, got {value!r}')
        if flag in ('-p', '--param'):
            name, parsed = parse_param_override(value)
            params[name] = parsed
            continue
        name, text = value.split(':=', 1)
        if name == '__ns':
            namespace = '/' + text.strip('/')
        elif name == '__node' or name == '__name':
            node_name = text
        else:
            remaps[name] = text
    return RosArgs(params, tuple(files), remaps, namespace, node_name, log_level)


def resolve_name(name: str, namespace: str = '/', remaps: Optional[Mapping[str, str]] = None
                 ) -> str:
    """Fully qualified ROS name of a topic, after ``-r`` remapping (``image`` -> ``/ns/image``)."""
    def qualify(n: str) -> str:
        if n.startswith('/'):
            return '/' + n.strip('/')
        ns = namespace.strip('/')
        return '/' + (f'{ns}/' if ns else '') + n.strip('/')

    full = qualify(name)
    for src, dst in (remaps or {}).items():
        if qualify(src) == full:
            return qualify(dst)
    return full
