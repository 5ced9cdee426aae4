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
"""The core imports with ROS 2 absent (rclpy blocked) and without DDS."""

import subprocess
import sys

CODE = '''
import sys
for name in ('rclpy', 'cv_bridge', 'launch', 'launch_ros', 'sensor_msgs', 'cyclonedds'):
    sys.modules[name] = None  # importing any of them now raises ImportError
import baff_ros.model, baff_ros.engine, baff_ros.data.labels, baff_ros.cli
for optional in ('baff_ros.ros.pipeline', 'baff_ros.ros.image_codec'):
    try:
        __import__(optional)
    except ModuleNotFoundError as exc:
        if exc.name != optional:
            raise
print('ok')
'''


def test_core_imports_with_rclpy_blocked():
    res = subprocess.run([sys.executable, '-c', CODE], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == 'ok'
