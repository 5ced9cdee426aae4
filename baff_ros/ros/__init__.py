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
"""ROS 2 integration: the middleware-agnostic node core and its rclpy and Cyclone DDS adapters.

``pipeline``, ``params``, ``messages`` and ``image_codec`` import without ROS; only
``rclpy_node`` imports rclpy and only ``dds`` imports cyclonedds.
"""
