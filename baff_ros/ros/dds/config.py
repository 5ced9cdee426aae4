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
"""Cyclone DDS configuration helpers: a loopback-only setup for tests and single-host use."""

import os
from typing import Dict, Optional

#: Default socket receive buffer asked for: a 720p rgb8 frame is 2.7 MB, and with the Linux
#: default (~200 kB) a best-effort reader loses fragments whenever Python is briefly busy.
SOCKET_BUFFER = '4MB'


def loopback_config(socket_buffer: str = SOCKET_BUFFER, max_participants: int = 60) -> str:
    """CYCLONEDDS_URI XML: 127.0.0.1 only, unicast discovery, large fragments and buffers.

    Multicast is off (``lo`` has no multicast), so discovery goes to the unicast ports of
    participant indices 0..max_participants on 127.0.0.1. Loopback's 64 kB MTU allows large
    fragments, which cuts a 2.7 MB frame into ~45 datagrams instead of ~2000.
    """
    return (
        '<CycloneDDS xmlns="https://cdds.io/config"><Domain Id="any">'
        '<General><Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces>'
        '<AllowMulticast>false</AllowMulticast>'
        '<MaxMessageSize>65000B</MaxMessageSize><FragmentSize>62000B</FragmentSize>'
        '</General>'
        '<Discovery><ParticipantIndex>auto</ParticipantIndex>'
        f'<MaxAutoParticipantIndex>{int(max_participants)}</MaxAutoParticipantIndex>'
        '<Peers><Peer Address="127.0.0.1"/></Peers></Discovery>'
        f'<Internal><SocketReceiveBufferSize max="{socket_buffer}"/></Internal>'
        '</Domain></CycloneDDS>')


def loopback_env(domain_id: int, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for a child process: ROS_DOMAIN_ID plus the loopback CYCLONEDDS_URI."""
    env = dict(os.environ if base is None else base)
    env['ROS_DOMAIN_ID'] = str(int(domain_id))
    env['CYCLONEDDS_URI'] = loopback_config()
    return env


#: Largest ROS 2 domain ID with the default DDS port mapping.
MAX_DOMAIN_ID = 232


def domain_from_env(default: int = 0) -> int:
    """ROS_DOMAIN_ID as ROS 2 reads it (0..232 with the default port mapping)."""
    text = os.environ.get('ROS_DOMAIN_ID', '').strip()
    if not text:
        return default
    if not text.isdigit() or int(text) > MAX_DOMAIN_ID:
        raise ValueError(f'ROS_DOMAIN_ID must be an integer in [0, {MAX_DOMAIN_ID}], got {text!r}')
    return int(text)
