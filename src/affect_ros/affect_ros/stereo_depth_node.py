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
stereo_depth: depth (32FC1, metres) from a rectified stereo pair.

Left/right images and camera_info are matched by exact stamp (message_filters chain with
a synchroniser that counts what it drops);
depth is published in the left camera's frame on /stereo/depth with its camera_info.
"""

from typing import Any, Dict

from affect_core.errors import InputError
from affect_core.stereo import PARAMS, StereoConfig, StereoDepth
from affect_core.types import StereoFrame
from affect_ros.convert import camera_model, image_to_msg, msg_to_image, to_ns
from affect_ros.filters import CountingSynchronizer
from affect_ros.params import ParameterBinding
from affect_ros.qos import SENSOR_QOS
from affect_ros.runner import run_node
import message_filters
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image


class StereoDepthNode(Node):
    """Semi-global (or block) matching on each synchronised pair."""

    def __init__(self) -> None:
        super().__init__('stereo_depth')
        self._params = ParameterBinding(self, PARAMS, self._configure)
        self._configure(self._params.values)
        self.rejected = 0
        self._depth_pub = self.create_publisher(Image, 'stereo/depth', SENSOR_QOS)
        self._info_pub = self.create_publisher(CameraInfo, 'stereo/camera_info', SENSOR_QOS)
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
        dropped = sum(self._sync.core.stats.dropped_total(i) for i in range(4))
        self.get_logger().warn(f'stereo input {stream} at {stamp_ns} ns dropped ({reason}); '
                               f'{dropped} so far', throttle_duration_sec=5.0)

    def _configure(self, values: Dict[str, Any]) -> None:
        self._stereo = StereoDepth(StereoConfig.from_params(values))

    def _on_pair(self, left: Image, left_info: CameraInfo, right: Image,
                 right_info: CameraInfo) -> None:
        try:
            frame = StereoFrame(to_ns(left.header.stamp), msg_to_image(left).data,
                                msg_to_image(right).data, camera_model(left_info),
                                camera_model(right_info))
            depth = self._stereo.compute(frame)
        except InputError as err:
            self.rejected += 1
            self.get_logger().error(f'stereo pair rejected ({self.rejected} so far): {err}',
                                    throttle_duration_sec=5.0)
            return
        self._depth_pub.publish(image_to_msg(depth))
        self._info_pub.publish(left_info)


def main(args=None) -> None:
    """Run the stereo_depth node."""
    run_node(StereoDepthNode, args)


if __name__ == '__main__':
    main()
