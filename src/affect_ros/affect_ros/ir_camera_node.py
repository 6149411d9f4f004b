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

"""ir_camera: a V4L2/UVC IR camera (or a video file) on /ir/image_raw."""

from typing import Any, Dict

from affect_core.camera import IrCamera, IrCameraConfig, PARAMS
from affect_core.errors import InputError
from affect_ros.convert import image_to_msg
from affect_ros.params import ParameterBinding
from affect_ros.qos import SENSOR_QOS
from affect_ros.runner import run_node
from rclpy.node import Node
from sensor_msgs.msg import Image


class IrCameraNode(Node):
    """Polls the camera at its frame rate and publishes each frame."""

    def __init__(self) -> None:
        super().__init__('ir_camera')
        self._camera = None
        self._timer = None
        self.frames = 0
        self.read_failures = 0
        self._pub = self.create_publisher(Image, 'ir/image_raw', SENSOR_QOS)
        self._params = ParameterBinding(self, PARAMS, self._configure)
        self._configure(self._params.values)

    def _configure(self, values: Dict[str, Any]) -> None:
        config = IrCameraConfig.from_params(values)
        if self._camera is not None:
            self._camera.close()
        self._camera = IrCamera(config)
        if self._timer is not None:
            self.destroy_timer(self._timer)
        self._timer = self.create_timer(1.0 / config.fps, self._tick)

    def _tick(self) -> None:
        try:
            frame = self._camera.read()
        except InputError as err:
            self.read_failures += 1
            self.get_logger().error(str(err), throttle_duration_sec=5.0)
            return
        if frame is None:
            self.read_failures += 1
            self.get_logger().warn(f'no frame from the camera ({self.read_failures} so far)',
                                   throttle_duration_sec=5.0)
            return
        frame.stamp_ns = self.get_clock().now().nanoseconds
        self.frames += 1
        self._pub.publish(image_to_msg(frame))


def main(args=None) -> None:
    """Run the ir_camera node."""
    run_node(IrCameraNode, args)


if __name__ == '__main__':
    main()
