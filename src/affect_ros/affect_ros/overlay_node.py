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
overlay: the opt-in /affect/overlay image for rviz2.

It draws each person's face box, label, confidence bar and attention heatmap on the
latest IR frame, at most ``rate_hz`` times a second. It subscribes to raw frames, so the
launch file starts it only with ``overlay:=true`` (DESIGN section 8). Frames are kept,
not converted, until the timer draws the newest one: a slow consumer costs frames of the
overlay, never the pipeline's.
"""

import time
from typing import Any, Dict, Optional

from affect_core.errors import InputError
from affect_core.overlay import OverlayConfig, OverlayState, PARAMS, render_overlay
from affect_msgs.msg import Emotion, FaceObservationArray, WindowPrediction
from affect_ros.convert import msg_to_emotion, msg_to_image, msg_to_prediction, to_ns
from affect_ros.convert import to_time
from affect_ros.diagnostics import StageDiagnostics
from affect_ros.params import ParameterBinding
from affect_ros.qos import EMOTION_QOS, RESULTS_QOS, SENSOR_QOS
from affect_ros.runner import run_node
from cv_bridge import CvBridge, CvBridgeError
from rclpy.node import Node
from sensor_msgs.msg import Image


class OverlayNode(Node):
    """Draws the latest IR frame with the current boxes, estimates and attention maps."""

    def __init__(self) -> None:
        super().__init__('overlay')
        self._bridge = CvBridge()
        self._frame: Optional[Image] = None
        self._drawn_ns = -1
        self._timer = None
        self._rejected = 0
        self._params = ParameterBinding(self, PARAMS, self._configure)
        self._configure(self._params.values)
        self._pub = self.create_publisher(Image, 'affect/overlay', SENSOR_QOS)
        self.create_subscription(Image, 'ir/image_raw', self._on_frame, SENSOR_QOS)
        self.create_subscription(FaceObservationArray, 'affect/faces', self._on_faces,
                                 RESULTS_QOS)
        self.create_subscription(Emotion, 'emotion', self._on_emotion, EMOTION_QOS)
        self.create_subscription(WindowPrediction, 'affect/window_predictions',
                                 self._on_prediction, RESULTS_QOS)
        self._diagnostics = StageDiagnostics(self, 'overlay images', 0.0, 50.0)
        self._diagnostics.drops('rejected_frames', lambda: self._rejected)

    def _configure(self, values: Dict[str, Any]) -> None:
        config = OverlayConfig.from_params(values)
        if hasattr(self, '_state'):
            self._state.config = config
        else:
            self._state = OverlayState(config)
        if self._timer is not None:
            self.destroy_timer(self._timer)
        self._timer = self.create_timer(1.0 / config.rate_hz, self._draw)

    def _on_frame(self, msg: Image) -> None:
        self._frame = msg

    def _on_faces(self, msg: FaceObservationArray) -> None:
        stamp_ns = to_ns(msg.header.stamp)
        for face in msg.faces:
            roi = face.roi
            self._state.add_box(face.person_id, (roi.x_offset, roi.y_offset, roi.width,
                                                 roi.height), stamp_ns)

    def _on_emotion(self, msg: Emotion) -> None:
        self._state.add_emotion(msg_to_emotion(msg))

    def _on_prediction(self, msg: WindowPrediction) -> None:
        try:
            self._state.add_prediction(msg_to_prediction(msg))
        except InputError as err:
            self._rejected += 1
            self.get_logger().warn(f'attention map ignored: {err}',
                                   throttle_duration_sec=5.0)

    def _draw(self) -> None:
        msg = self._frame
        if msg is None or to_ns(msg.header.stamp) == self._drawn_ns:
            return
        started = time.perf_counter()
        stamp_ns = to_ns(msg.header.stamp)
        self._drawn_ns = stamp_ns
        try:
            frame = msg_to_image(msg)
            canvas = render_overlay(frame.data, self._state.faces(stamp_ns),
                                    self._state.config)
        except (InputError, CvBridgeError) as err:
            self._rejected += 1
            self.get_logger().warn(f'frame not drawn: {err}', throttle_duration_sec=5.0)
            return
        out = self._bridge.cv2_to_imgmsg(canvas, encoding='bgr8')
        out.header.stamp = to_time(stamp_ns)
        out.header.frame_id = msg.header.frame_id
        self._pub.publish(out)
        self._diagnostics.output(time.perf_counter() - started)


def main(args=None) -> None:
    """Run the overlay node."""
    run_node(OverlayNode, args)


if __name__ == '__main__':
    main()
