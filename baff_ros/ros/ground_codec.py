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
"""Ground clouds and grids as sensor_msgs/PointCloud2 and nav_msgs/OccupancyGrid (no ROS).

Point layout (``point_step`` 20, little endian, unorganised: ``height`` 1):

====== ====== ======= =====================================
field  offset type    meaning
====== ====== ======= =====================================
x      0      float32 ground frame, m
y      4      float32
z      8      float32 0 (the ground plane)
conf   12     float32 ``confidence``: max softmax, 0..1
label  16     uint8   train ID
====== ====== ======= =====================================

(3 bytes of padding keep every point 4-byte aligned.) ``sensor_msgs_py.point_cloud2`` and
rviz's PointCloud2 display (colour by ``label`` or ``confidence``) read it as it is.
"""

from typing import Any, Optional

import numpy as np

from baff_ros.engine.ground import GridConfig, GroundCloud
from baff_ros.ros.messages import MessageTypes, or_plain

#: sensor_msgs/PointField datatypes used here.
UINT8, FLOAT32 = 2, 7
POINT_DTYPE = np.dtype({'names': ['x', 'y', 'z', 'confidence', 'label'],
                        'formats': ['<f4', '<f4', '<f4', '<f4', 'u1'],
                        'offsets': [0, 4, 8, 12, 16], 'itemsize': 20})
_FIELDS = (('x', 0, FLOAT32), ('y', 4, FLOAT32), ('z', 8, FLOAT32),
           ('confidence', 12, FLOAT32), ('label', 16, UINT8))


def cloud_to_msg(cloud: GroundCloud, header: Any, types: Optional[MessageTypes] = None) -> Any:
    """sensor_msgs/PointCloud2 of a ground cloud (see the module docstring for the layout)."""
    types = or_plain(types)
    n = len(cloud)
    points = np.zeros(n, POINT_DTYPE)
    points['x'] = cloud.xyz[:, 0]
    points['y'] = cloud.xyz[:, 1]
    points['z'] = cloud.xyz[:, 2]
    points['confidence'] = cloud.confidence
    points['label'] = cloud.label
    fields = [types.PointField(name=name, offset=offset, datatype=datatype, count=1)
              for name, offset, datatype in _FIELDS]
    return types.PointCloud2(header=header, height=1, width=n, fields=fields,
                             is_bigendian=False, point_step=POINT_DTYPE.itemsize,
                             row_step=POINT_DTYPE.itemsize * n,
                             data=types.data(points.tobytes()), is_dense=True)


def msg_to_points(msg: Any) -> np.ndarray:
    """Return the structured (N,) array of a PointCloud2 written by :func:`cloud_to_msg`."""
    if int(msg.point_step) != POINT_DTYPE.itemsize or [f.name for f in msg.fields] != [
            f[0] for f in _FIELDS]:
        raise ValueError('not a ground cloud: expected fields x, y, z, confidence, label with '
                         f'point_step {POINT_DTYPE.itemsize}')
    data = np.frombuffer(bytes(msg.data), np.uint8)
    return data.view(POINT_DTYPE)[:int(msg.width) * int(msg.height)]


def grid_to_msg(cells: np.ndarray, grid: GridConfig, header: Any,
                types: Optional[MessageTypes] = None) -> Any:
    """nav_msgs/OccupancyGrid of :func:`baff_ros.engine.ground.rasterise`'s cells."""
    types = or_plain(types)
    n = cells.shape[0]
    ox, oy = grid.origin
    info = types.MapMetaData(
        map_load_time=types.Time(sec=int(header.stamp.sec), nanosec=int(header.stamp.nanosec)),
        resolution=float(grid.resolution), width=n, height=n,
        origin=types.Pose(position=types.Point(x=float(ox), y=float(oy), z=0.0),
                          orientation=types.Quaternion(x=0.0, y=0.0, z=0.0, w=1.0)))
    return types.OccupancyGrid(header=header, info=info,
                               data=types.int8_data(np.ascontiguousarray(cells, np.int8)
                                                    .tobytes()))
