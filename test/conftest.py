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
"""Suite-wide checks: where ROS 2 is sourced, its tests must run, never skip."""

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Fail loudly when a ROS 2 environment is sourced but rclpy does not import.

    Without this, a broken ROS 2 install (wrong Python, missing libraries) would turn every
    rclpy, launch and rosbag2 test into a skip and the run would still look green.
    """
    distro = os.environ.get('ROS_DISTRO')
    if not distro:
        return
    try:
        import rclpy  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means a broken install
        raise pytest.UsageError(
            f'ROS_DISTRO={distro} is set but rclpy does not import ({type(exc).__name__}: '
            f'{exc}); source a ROS 2 install built for this Python, or unset ROS_DISTRO to '
            'run without the ROS 2 tests') from exc
