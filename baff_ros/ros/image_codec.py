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
"""sensor_msgs Image / CompressedImage / CameraInfo <-> numpy, without cv_bridge or ROS.

One import path for the three codecs, each in a module of its own:
:mod:`baff_ros.ros.raw_image` (Image, every encoding, zero-copy where the layout allows),
:mod:`baff_ros.ros.compressed_image` (CompressedImage and image files, checked before OpenCV
decodes them) and :mod:`baff_ros.ros.camera_info` (CameraInfo scaled to a resized image).
Every malformed message raises :class:`ImageCodecError` (a ``ValueError``) naming the problem.
"""

from baff_ros.ros.camera_info import scale_camera_info
from baff_ros.ros.compressed_image import (check_complete, COMPRESSIBLE_ENCODINGS,
                                           compressed_to_rgb, declared_size,
                                           decode_image_bytes, image_to_compressed,
                                           MAX_COMPRESSED_PIXELS, read_image_file,
                                           rgb_to_compressed)
from baff_ros.ros.raw_image import (array_to_image, as_uint8_buffer, check_size,
                                    image_to_array, image_to_rgb, ImageCodecError,
                                    INPUT_ENCODINGS, MAX_SIDE, NV_ENCODINGS, OUTPUT_ENCODINGS,
                                    PLAIN_ENCODINGS, YUV422_ENCODINGS)

__all__ = ['array_to_image', 'as_uint8_buffer', 'check_complete', 'check_size',
           'COMPRESSIBLE_ENCODINGS', 'compressed_to_rgb', 'declared_size', 'decode_image_bytes',
           'image_to_array', 'image_to_compressed', 'image_to_rgb', 'ImageCodecError',
           'INPUT_ENCODINGS', 'MAX_COMPRESSED_PIXELS', 'MAX_SIDE', 'NV_ENCODINGS',
           'OUTPUT_ENCODINGS', 'PLAIN_ENCODINGS', 'read_image_file', 'rgb_to_compressed',
           'scale_camera_info', 'YUV422_ENCODINGS']
