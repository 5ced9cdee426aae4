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
"""Procedural street scenes in perspective, labelled with the 19 Cityscapes classes.

A scene is a small 3D world of boxes and flat shapes on a ground plane (road with lane markings,
sidewalks, building facades with windows, walls, fences, poles with signs and traffic lights,
trees, terrain, people, riders on bicycles and motorcycles, cars, trucks, buses, a train), seen by
a pinhole camera 1.5 m above the road. Everything is projected with the same camera, so object
size follows depth: the same class appears near (large) and far (a few pixels) in one image,
which is exactly where a fixed receptive field struggles and BAFF is meant to help.

Drawing is OpenCV polygons into the image, the label-ID map and the instance map at once
(painter's algorithm, far to near), then lighting, texture and sensor noise are applied to the
image as whole-array operations. A numpy Generator seeded by the caller drives every choice, so
the same seed gives byte-identical output.

:func:`render_scene` makes one image; :func:`render_sequence` drives the camera forward through
one world for a consistent clip (used for the sample rosbag); :func:`write_dataset` writes the
Cityscapes layout that every tool of this package reads.

One module per concern: :mod:`.scene` (label IDs, camera, canvas, world), :mod:`.things` (the
objects), :mod:`.layout` (where they stand), :mod:`.render` (drawing a world) and :mod:`.write`
(the dataset on disk). The names below are the public API.
"""

from baff_ros.data.synth.layout import add_scale_roster, LAYOUTS, make_world, SCALE_BANDS
from baff_ros.data.synth.render import render, render_scene, render_sequence
from baff_ros.data.synth.scene import (BICYCLE, BUILDING, BUS, Camera, CAMERA_HEIGHT, Canvas, CAR,
                                       FACADE, FAR, FENCE, GROUND, HFOV_DEG, INSTANCE_CLASSES,
                                       KERB_WALL, LIGHT, MOTORCYCLE, NEAR, PALETTE, PERSON, POLE,
                                       RIDER, ROAD, SIDEWALK, SIGN, SKY, STANDING, TERRAIN, Thing,
                                       TRAIN, TRUCK, VEGETATION, WALL, World)
from baff_ros.data.synth.write import INFO_FILE, train_ids, write_dataset

__all__ = [
    'add_scale_roster', 'BICYCLE', 'BUILDING', 'BUS', 'Camera', 'CAMERA_HEIGHT', 'Canvas', 'CAR',
    'FACADE', 'FAR', 'FENCE', 'GROUND', 'HFOV_DEG', 'INFO_FILE', 'INSTANCE_CLASSES', 'KERB_WALL',
    'LAYOUTS', 'LIGHT', 'make_world', 'MOTORCYCLE', 'NEAR', 'PALETTE', 'PERSON', 'POLE', 'render',
    'render_scene', 'render_sequence', 'RIDER', 'ROAD', 'SCALE_BANDS', 'SIDEWALK', 'SIGN', 'SKY',
    'STANDING', 'TERRAIN', 'Thing', 'train_ids', 'TRAIN', 'TRUCK', 'VEGETATION', 'WALL', 'World',
    'write_dataset',
]
