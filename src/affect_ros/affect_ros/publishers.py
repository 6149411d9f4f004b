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

"""The sensor topics that the simulated rig and the IR camera (or a replay) publish."""

from typing import Optional

from affect_core.types import CameraModel, ImageFrame, StereoFrame
from affect_ros.convert import camera_info_msg, image_to_msg
from affect_ros.qos import SENSOR_QOS
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image


class SensorPublishers:
    """
    /ir/image_raw and /ir/camera_info, and the rectified stereo pair with its camera_info.

    An image that nobody subscribes to is neither converted nor sent (a frame is 300-600
    KB at up to 120 fps); its camera_info still is, so its rate and stamps stay visible.
    """

    def __init__(self, node: Node) -> None:
        self._ir = node.create_publisher(Image, 'ir/image_raw', SENSOR_QOS)
        self._ir_info = node.create_publisher(CameraInfo, 'ir/camera_info', SENSOR_QOS)
        self._stereo = [
            (node.create_publisher(Image, f'stereo/{side}/image_rect', SENSOR_QOS),
             node.create_publisher(CameraInfo, f'stereo/{side}/camera_info', SENSOR_QOS))
            for side in ('left', 'right')]

    def publish_ir(self, frame: ImageFrame, camera: Optional[CameraModel]) -> None:
        """Publish an IR frame, and its camera_info when the camera is known."""
        if self._ir.get_subscription_count() > 0:
            self._ir.publish(image_to_msg(frame))
        if camera is not None:
            self._ir_info.publish(camera_info_msg(camera, frame.stamp_ns))

    def publish_stereo(self, stereo: StereoFrame) -> None:
        """Publish a rectified pair (mono8) and the camera_info of both cameras."""
        for (image_pub, info_pub), image, camera in zip(
                self._stereo, (stereo.left, stereo.right),
                (stereo.left_camera, stereo.right_camera)):
            if image_pub.get_subscription_count() > 0:
                image_pub.publish(image_to_msg(ImageFrame(stereo.stamp_ns, camera.frame_id,
                                                          'mono8', image)))
            info_pub.publish(camera_info_msg(camera, stereo.stamp_ns))
