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
"""``baff-ros``: the command-line front end. Each sub-command lives in baff_ros.commands."""

import argparse
import importlib
import sys
from typing import List, Optional

from baff_ros import __version__

#: sub-command -> module. A module defines HELP, add_arguments(parser) and run(args) -> int.
COMMANDS = {
    'info': 'baff_ros.commands.info',
    'segment': 'baff_ros.commands.segment',
    'bag': 'baff_ros.commands.bag',
    'demo': 'baff_ros.commands.demo',
    'node': 'baff_ros.commands.node',
    'export': 'baff_ros.commands.export',
    'bench': 'baff_ros.commands.bench',
    'synth': 'baff_ros.commands.synth',
    'eval': 'baff_ros.commands.evaluate',
    'train': 'baff_ros.commands.train',
    'cache': 'baff_ros.commands.cache',
}


class CommandError(Exception):
    """Bad input to a command: reported as one line, exit code 2."""


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    """Build the argument parser: every sub-command's options, or only those of ``only``.

    Registering a command's options may import what they offer (the benchmark's networks, the
    exporter's opset: torch), so :func:`main` registers only the chosen command's; the others
    keep their help line. ``only=''`` registers none (for a missing or unknown command).
    """
    parser = argparse.ArgumentParser(
        prog='baff-ros',
        description='Real-time semantic segmentation with BAFF-SkipNet, with or without ROS 2.')
    parser.add_argument('--version', action='version', version=f'baff_ros {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        if only is None or only == name:
            module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the console script."""
    from baff_ros.engine.backends.base import BackendError

    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((a for a in argv if not a.startswith('-')), '')
    parser = build_parser(chosen if chosen in COMMANDS else '')
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (CommandError, ValueError, BackendError, OSError) as exc:
        # Bad input (files, images, checkpoints, parameters): one line, no traceback.
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f'baff-ros {args.command}: error: {msg}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'baff-ros {args.command}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
