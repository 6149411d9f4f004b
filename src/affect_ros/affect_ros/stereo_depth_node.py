# Copyright 2026 affect maintainers
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

"""
stereo_depth: depth (32FC1, metres) from a stereo pair, or from a depth camera.

mode stereo: left/right images and camera_info are matched by exact stamp (a
message_filters chain with a synchroniser that counts what it drops), rectified with
their camera_info when they are raw (distortion or rectification set), and matched;
depth is published in the left camera's frame on /stereo/depth with its camera_info,
and stereo_msgs/DisparityImage on /stereo/disparity when publish_disparity is set.
With match_at_faces, pairs are matched only around the faces face_tracker last reported
on affect/faces (within 0.5 s of sensor time; whole pairs otherwise), NaN elsewhere: the
tracker reads depth only at faces. The tolerance is wide on purpose: when the graph falls
behind, the faces come later, and matching whole pairs then would only put it further
behind.
mode passthrough: depth/image_raw (16UC1 millimetres or 32FC1 metres) and
depth/camera_info of a depth camera are republished on /stereo/depth as metres.
"""

import time
from typing import Any, Dict, List, Optional, Tuple

from affect_core.calibration import Calibration
from affect_core.errors import InputError
from affect_core.stereo import (
    depth_to_metres, PARAMS, Rectifier, regions_around, StereoConfig, StereoDepth,
)
from affect_core.types import StereoFrame
from affect_msgs.msg import FaceObservationArray
from affect_ros.convert import image_to_msg, msg_to_image, to_ns
from affect_ros.diagnostics import StageDiagnostics
from affect_ros.filters import CountingSynchronizer
from affect_ros.params import ParameterBinding
from affect_ros.qos import RESULTS_QOS, SENSOR_QOS
from affect_ros.runner import run_node
import message_filters
import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from stereo_msgs.msg import DisparityImage


_FACES_MAX_AGE_NS = 500_000_000


class StereoDepthNode(Node):
    """Semi-global (or block) matching on each synchronised pair, or depth pass-through."""

    def __init__(self) -> None:
        super().__init__('stereo_depth')
        self._rectifier: Optional[Tuple[Any, Rectifier]] = None
        self._faces: Tuple[int, List[Tuple[int, int, int, int]]] = (0, [])
        self.whole_pairs = 0
        self.rejected = 0
        self._params = ParameterBinding(self, PARAMS, self._configure)
        self._configure(self._params.values)
        self._diagnostics = StageDiagnostics(self, 'depth frames', 1.0, 100.0)
        self._diagnostics.drops('rejected_inputs', lambda: self.rejected)
        self._diagnostics.drops('unmatched_inputs', lambda: sum(
            self._sync.core.stats.dropped_total(i) for i in range(len(self._sync.core.queues))))
        self._diagnostics.value('mode', lambda: self._config.mode)
        self._diagnostics.value('whole_pairs_matched', lambda: self.whole_pairs)
        self.create_subscription(FaceObservationArray, 'affect/faces', self._on_faces,
                                 RESULTS_QOS)
        self._depth_pub = self.create_publisher(Image, 'stereo/depth', SENSOR_QOS)
        self._info_pub = self.create_publisher(CameraInfo, 'stereo/camera_info', SENSOR_QOS)
        self._disparity_pub = self.create_publisher(DisparityImage, 'stereo/disparity',
                                                    SENSOR_QOS)
        if self._config.mode == 'passthrough':
            subs = [message_filters.Subscriber(self, Image, 'depth/image_raw',
                                               qos_profile=SENSOR_QOS),
                    message_filters.Subscriber(self, CameraInfo, 'depth/camera_info',
                                               qos_profile=SENSOR_QOS)]
            self._sync = CountingSynchronizer(subs, 10, policy='exact', on_drop=self._on_drop,
                                              on_warning=self.get_logger().warn)
            self._sync.registerCallback(self._on_depth)
            return
        subs = [
            message_filters.Subscriber(self, Image, 'stereo/left/image_rect',
                                       qos_profile=SENSOR_QOS),
            message_filters.Subscriber(self, CameraInfo, 'stereo/left/camera_info',
                                       qos_profile=SENSOR_QOS),
            message_filters.Subscriber(self, Image, 'stereo/right/image_rect',
                                       qos_profile=SENSOR_QOS),
            message_filters.Subscriber(self, CameraInfo, 'stereo/right/camera_info',
                                       qos_profile=SENSOR_QOS),
        ]
        self._sync = CountingSynchronizer(subs, 10, policy='exact', on_drop=self._on_drop,
                                          on_warning=self.get_logger().warn)
        self._sync.registerCallback(self._on_pair)

    def _on_drop(self, stream: int, stamp_ns: int, msg: Any, reason: str) -> None:
        dropped = sum(self._sync.core.stats.dropped_total(i)
                      for i in range(len(self._sync.core.queues)))
        self.get_logger().warn(f'input {stream} at {stamp_ns} ns dropped ({reason}); '
                               f'{dropped} so far', throttle_duration_sec=5.0)

    def _configure(self, values: Dict[str, Any]) -> None:
        self._config = StereoConfig.from_params(values)
        self._stereo = StereoDepth(self._config)

    def _on_faces(self, msg: FaceObservationArray) -> None:
        boxes = [(f.roi.x_offset, f.roi.y_offset, f.roi.width, f.roi.height)
                 for f in msg.faces]
        self._faces = (to_ns(msg.header.stamp), boxes)

    def _regions(self, stamp_ns: int) -> Optional[List[Tuple[int, int, int, int]]]:
        """Where to match the pair stamped ``stamp_ns``: around recent faces, or everywhere."""
        faces_ns, boxes = self._faces
        if (not self._config.match_at_faces or not boxes
                or abs(stamp_ns - faces_ns) > _FACES_MAX_AGE_NS):
            self.whole_pairs += 1
            return None
        return regions_around(boxes)

    def _reject(self, err: InputError) -> None:
        self.rejected += 1
        self.get_logger().error(f'input rejected ({self.rejected} so far): {err}',
                                throttle_duration_sec=5.0)

    def _rectifier_for(self, left_info: CameraInfo, right_info: CameraInfo) -> Rectifier:
        key = (tuple(left_info.k), tuple(left_info.d), tuple(left_info.r), tuple(left_info.p),
               tuple(right_info.k), tuple(right_info.d), tuple(right_info.r),
               tuple(right_info.p), left_info.width, left_info.height)
        if self._rectifier is None or self._rectifier[0] != key:
            rectifier = Rectifier(Calibration.from_info(left_info),
                                  Calibration.from_info(right_info))
            self._rectifier = (key, rectifier)
        return self._rectifier[1]

    def _on_pair(self, left: Image, left_info: CameraInfo, right: Image,
                 right_info: CameraInfo) -> None:
        started = time.perf_counter()
        try:
            rectifier = self._rectifier_for(left_info, right_info)
            left_image, right_image = rectifier.rectify(msg_to_image(left).data,
                                                        msg_to_image(right).data)
            left_camera = rectifier.left_camera
            frame = StereoFrame(to_ns(left.header.stamp), left_image, right_image,
                                left_camera, rectifier.right_camera)
            disparity = self._stereo.disparity(left_image, right_image,
                                               self._regions(frame.stamp_ns))
            depth = self._stereo.depth_from_disparity(frame, disparity)
        except InputError as err:
            self._reject(err)
            return
        depth.frame_id = left.header.frame_id or left_camera.frame_id
        self._depth_pub.publish(image_to_msg(depth))
        self._info_pub.publish(left_info)
        self._diagnostics.output(time.perf_counter() - started)
        if self._config.publish_disparity:
            self._publish_disparity(depth, disparity, left_camera.fx_px,
                                    rectifier.right_camera.baseline_m)

    def _publish_disparity(self, depth: Any, disparity: Any, focal_px: float,
                           baseline_m: float) -> None:
        msg = DisparityImage()
        msg.header = image_to_msg(depth).header
        msg.image = image_to_msg(type(depth)(depth.stamp_ns, depth.frame_id, '32FC1',
                                             np.nan_to_num(disparity, nan=-1.0)))
        msg.f = float(focal_px)
        msg.t = float(baseline_m)
        msg.min_disparity = float(self._config.min_disparity)
        msg.max_disparity = float(self._config.min_disparity + self._config.disparity_range)
        msg.delta_d = 1.0 / 16.0
        self._disparity_pub.publish(msg)

    def _on_depth(self, image: Image, info: CameraInfo) -> None:
        try:
            depth = depth_to_metres(msg_to_image(image))
        except InputError as err:
            self._reject(err)
            return
        self._depth_pub.publish(image_to_msg(depth))
        self._info_pub.publish(info)
        self._diagnostics.output()


def main(args=None) -> None:
    """Run the stereo_depth node."""
    run_node(StereoDepthNode, args)


if __name__ == '__main__':
    main()
