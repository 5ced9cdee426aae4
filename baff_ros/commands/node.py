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
"""``baff-ros node``: the segmentation node over Cyclone DDS (ROS 2 wire-compatible, no ROS)."""

import argparse
import faulthandler
import logging
import signal
import sys
import threading

HELP = 'run the segmentation node over Cyclone DDS (ROS 2 topics, no ROS installation needed)'

#: Printed to stderr once the node is serving (tests and scripts wait for it).
READY_LINE = 'baff-ros node: ready'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options."""
    parser.add_argument('--params', metavar='FILE', action='append', default=[],
                        help='ROS 2 parameter file (e.g. config/segment.yaml); repeatable, '
                             'later files win')
    parser.add_argument('--domain', type=int, metavar='ID',
                        help='DDS domain (default: ROS_DOMAIN_ID, else 0)')
    parser.add_argument('--loopback', action='store_true',
                        help='restrict DDS to 127.0.0.1 (unless CYCLONEDDS_URI is set)')
    parser.add_argument('--duration', type=float, metavar='S',
                        help='stop after S seconds (default: run until interrupted)')
    parser.add_argument('--ros-args', nargs=argparse.REMAINDER, default=[], metavar='ARGS',
                        help='ROS 2 arguments: -p name:=value, -r from:=to, -r __ns:=/ns, '
                             '-r __node:=name, --params-file FILE, --log-level LEVEL')


def build_params(args: argparse.Namespace):
    """Parameters from files, then --ros-args files, then -p overrides; and the RosArgs."""
    from baff_ros.ros.params import load_params_file, NodeParams, parse_ros_args

    ros = parse_ros_args(args.ros_args or [])
    values = {}
    for path in list(args.params) + list(ros.params_files):
        values.update(load_params_file(path, ros.node_name))
    values.update(ros.params)
    return NodeParams.from_dict(values), ros


def run(args: argparse.Namespace) -> int:
    """Run until SIGINT/SIGTERM or --duration."""
    import os

    from baff_ros.ros.dds.config import MAX_DOMAIN_ID

    if args.domain is not None and not 0 <= args.domain <= MAX_DOMAIN_ID:
        raise ValueError(f'--domain: a ROS 2 domain ID is 0..{MAX_DOMAIN_ID}, got {args.domain}')
    if args.duration is not None and not args.duration > 0:
        raise ValueError(f'--duration: expected seconds > 0, got {args.duration}')
    params, ros = build_params(args)
    level = {'debug': logging.DEBUG, 'info': logging.INFO, 'warn': logging.WARNING,
             'warning': logging.WARNING, 'error': logging.ERROR,
             'fatal': logging.CRITICAL}.get(ros.log_level)
    if level is None:
        raise ValueError(f'--log-level: unknown level {ros.log_level!r}')
    logging.basicConfig(level=level, stream=sys.stderr,
                        format=f'[%(levelname)s] [%(created).3f] [{ros.node_name}]: %(message)s')
    dds_config = None
    if args.loopback and 'CYCLONEDDS_URI' not in os.environ:
        from baff_ros.ros.dds.config import loopback_config
        dds_config = loopback_config()
    from baff_ros.ros.dds.node import DdsNode

    stop = threading.Event()
    # Ctrl-C and SIGTERM (kill, systemd, launch) both end the node cleanly. SIGINT gets a
    # handler of its own, as rclpy nodes have: a process started in the background by a
    # non-interactive shell (a launch script, CI) inherits SIGINT ignored, and would otherwise
    # not stop on the SIGINT that ros2 launch and process supervisors send first.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # `kill -USR1 PID` writes every thread's stack to stderr (the node goes on): what a stuck
    # node is doing.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    node = DdsNode(params, namespace=ros.namespace, remaps=ros.remaps, domain_id=args.domain,
                   name=ros.node_name, logger=logging.getLogger('baff_ros.node'),
                   dds_config=dds_config)
    try:
        node.start()
        print(READY_LINE, file=sys.stderr, flush=True)
        node.spin(stop, args.duration)
    finally:
        # A shutdown that takes over 10 s writes every thread's stack to stderr, once.
        faulthandler.dump_traceback_later(10, exit=False)
        try:
            node.close()
        finally:
            faulthandler.cancel_dump_traceback_later()
    return 0
