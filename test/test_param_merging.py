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
"""Parameter merging of ``bag``, ``demo`` and ``node``: an option given wins, even the default.

A parameter file asks for the GPU; ``--device cpu`` (or ``-p device:=cpu``) on the command line
must still run on the CPU, although ``cpu`` is also what the option defaults to.
"""

import pytest

from baff_ros.cli import build_parser
from baff_ros.commands.bag import node_params
from baff_ros.commands.common import BACKEND_DEFAULTS
from baff_ros.commands.node import build_params
from baff_ros.ros.params import SPECS

#: What the file asks for; every value differs from the command line's default.
GPU = {'backend': 'torch', 'device': 'cuda', 'precision': 'fp16', 'threads': 4}
#: The same options given on the command line at their defaults.
EXPLICIT_DEFAULTS = ['--backend', 'auto', '--device', 'cpu', '--precision', 'fp32',
                     '--threads', '0']


@pytest.fixture
def gpu_yaml(tmp_path):
    path = tmp_path / 'gpu.yaml'
    lines = ['baff_segmentation:', '  ros__parameters:']
    lines += [f'    {k}: {v}' for k, v in GPU.items()]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def _parse(argv):
    return build_parser(argv[0]).parse_args(argv)


def _backend(params):
    return {name: getattr(params, name) for name in GPU}


def test_cli_defaults_are_the_node_defaults():
    # Leaving an option out and giving its default must mean the same for the node.
    assert BACKEND_DEFAULTS == {name: SPECS[name].default for name in BACKEND_DEFAULTS}


def test_bag_explicit_default_wins_over_params_file(gpu_yaml):
    args = _parse(['bag', 'in', 'out', '--params', gpu_yaml, *EXPLICIT_DEFAULTS])
    assert _backend(node_params(args, args.params, args.param)) == BACKEND_DEFAULTS
    args = _parse(['bag', 'in', 'out', '--params', gpu_yaml, '--device', 'cpu'])
    assert _backend(node_params(args, args.params, args.param)) == {**GPU, 'device': 'cpu'}


def test_bag_params_file_kept_where_no_option_given(gpu_yaml):
    args = _parse(['bag', 'in', 'out', '--params', gpu_yaml])
    assert _backend(node_params(args, args.params, args.param)) == GPU
    args = _parse(['bag', 'in', 'out'])
    assert _backend(node_params(args, args.params, args.param)) == BACKEND_DEFAULTS


def test_bag_param_override_wins_over_option(gpu_yaml):
    args = _parse(['bag', 'in', 'out', '--params', gpu_yaml, '--device', 'cpu',
                   '-p', 'device:=cuda:1'])
    assert node_params(args, args.params, args.param).device == 'cuda:1'


def test_demo_options_reach_the_node_params_without_touching_args():
    args = _parse(['demo', *EXPLICIT_DEFAULTS, '--size', '256x512'])
    before = dict(vars(args))
    params = node_params(args)
    assert _backend(params) == BACKEND_DEFAULTS and params.input_size == (256, 512)
    assert vars(args) == before
    args = _parse(['demo', '--precision', 'fp16'])
    assert _backend(node_params(args)) == {**BACKEND_DEFAULTS, 'precision': 'fp16'}


def test_node_explicit_default_wins_over_params_file(gpu_yaml):
    args = _parse(['node', '--params', gpu_yaml, '--ros-args', '-p', 'device:=cpu',
                   '-p', 'backend:=auto', '-p', 'precision:=fp32', '-p', 'threads:=0'])
    assert _backend(build_params(args)[0]) == BACKEND_DEFAULTS
    args = _parse(['node', '--params', gpu_yaml, '--ros-args', '-p', 'device:=cpu'])
    assert _backend(build_params(args)[0]) == {**GPU, 'device': 'cpu'}
    args = _parse(['node', '--params', gpu_yaml])
    assert _backend(build_params(args)[0]) == GPU
