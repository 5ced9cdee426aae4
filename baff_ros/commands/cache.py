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
"""``baff-ros cache``: list or clear the cache of exported ONNX graphs and TensorRT engines."""

import argparse
from datetime import datetime
import json
from typing import Dict, List

HELP = 'list or clear the cache of exported ONNX graphs, int8 models and TensorRT engines'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument('action', choices=('list', 'clear'),
                        help='list: entries, sizes, last use, total vs cap; clear: remove '
                             'entries (nothing else in the folder)')
    parser.add_argument('--older-than', type=float, metavar='DAYS',
                        help='clear: only entries last used more than DAYS days ago')
    parser.add_argument('--json', action='store_true', help='print JSON instead of text')


def _mb(size: int) -> str:
    from baff_ros.engine.cache import MB

    return f'{size / MB:.1f} MB'


def _entries(n: int) -> str:
    return f'{n} entr{"y" if n == 1 else "ies"}'


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime('%Y-%m-%d %H:%M')


def _rows(entries) -> List[Dict[str, object]]:
    return [{'kind': e.kind, 'file': e.name, 'size': e.size,
             'last_used': datetime.fromtimestamp(e.last_used).isoformat(timespec='seconds')}
            for e in entries]


def _table(entries) -> List[str]:
    lines = [f'{"kind":<9} {"size":>9}  {"last used":<16}  file']
    for e in entries:
        lines.append(f'{e.kind:<9} {_mb(e.size):>9}  {_when(e.last_used):<16}  {e.name}')
    return lines


def run(args: argparse.Namespace) -> int:
    """List or clear the cache."""
    from baff_ros.engine import cache

    if args.older_than is not None:
        if args.action != 'clear':
            raise ValueError('--older-than applies to clear only')
        if not args.older_than >= 0:
            raise ValueError('--older-than must be a number of days >= 0, got '
                             f'{args.older_than:g}')
    root, source = cache.location()
    cap = cache.max_bytes()
    cap_text = (f'cap {_mb(cap)} (${cache.ENV_MAX_MB})' if cap is not None
                else f'no cap (${cache.ENV_MAX_MB}=0)')
    if args.action == 'list':
        listed = cache.entries(root)
        total = sum(e.size for e in listed)
        if args.json:
            print(json.dumps({'location': str(root), 'source': source, 'max_bytes': cap,
                              'total_bytes': total, 'entries': _rows(listed)}, indent=2))
            return 0
        print(f'cache: {root} (from {source})')
        if listed:
            print('\n'.join(_table(listed)))
        share = f' ({100 * total / cap:.0f} % of the cap)' if cap else ''
        print(f'total: {_mb(total)} in {_entries(len(listed))}{share}; {cap_text}')
        return 0
    removed = cache.clear(root, args.older_than)
    freed = sum(e.size for e in removed)
    if args.json:
        print(json.dumps({'location': str(root), 'freed_bytes': freed,
                          'removed': _rows(removed)}, indent=2))
        return 0
    if removed:
        print('\n'.join(_table(removed)))
    days = args.older_than
    which = (f' last used more than {days:g} day{"" if days == 1 else "s"} ago'
             if days is not None else '')
    print(f'removed {_entries(len(removed))}{which} from {root}: {_mb(freed)} freed')
    return 0
