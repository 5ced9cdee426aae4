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
"""Peer real-time segmentation networks, reimplemented from their papers for benchmarking.

Untrained: they are here to compare speed on the same backend, not accuracy.
"""

from typing import Callable, Dict

from torch import nn

from baff_ros.peers.enet import ENet
from baff_ros.peers.erfnet import ERFNet
from baff_ros.peers.lraspp import LRASPP, MobileNetV3Large

#: benchmark name -> constructor(num_classes).
PEERS: Dict[str, Callable[[int], nn.Module]] = {
    'erfnet': ERFNet,
    'enet': ENet,
    'lraspp_mobilenetv3_large': LRASPP,
}


def build_peer(name: str, num_classes: int = 19) -> nn.Module:
    """Build an untrained peer network in eval mode."""
    if name not in PEERS:
        raise ValueError(f'unknown peer model {name!r}; choose one of {", ".join(PEERS)}')
    return PEERS[name](num_classes).eval()


__all__ = ['ENet', 'ERFNet', 'LRASPP', 'MobileNetV3Large', 'PEERS', 'build_peer']
