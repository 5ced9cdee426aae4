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
"""Tests with rclpy in the test process: never together with the cyclonedds binding."""

import sys

import pytest


@pytest.fixture(autouse=True)
def _no_cyclonedds_binding_in_this_process():
    """Fail (not skip) when the cyclonedds binding shares this process (see test/conftest.py)."""
    if 'cyclonedds' in sys.modules:
        pytest.fail('the cyclonedds Python binding is loaded in this pytest process; run the '
                    'rclpy tests on their own: `pytest test/ros`')
    yield


@pytest.fixture
def ros_context():
    """rclpy initialised for one test, shut down after it."""
    import rclpy

    rclpy.init()
    try:
        yield
    finally:
        rclpy.shutdown()


@pytest.fixture
def executor_of():
    """Return a function that builds a SingleThreadedExecutor serving the nodes given to it."""
    from rclpy.executors import SingleThreadedExecutor

    def build(*nodes):
        executor = SingleThreadedExecutor()
        for node in nodes:
            executor.add_node(node)
        return executor
    return build
