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
face_tracker: faces, stable ids, head pose, eyes, quality evidence, crops from /ir/image_raw.

Depth from /stereo/depth is associated with each IR frame by stamp (the nearest within
depth_max_age_s, waiting briefly for a later one); without depth the faces still come,
with NaN head positions.
"""

import time
from typing import Any, Dict, Optional

from affect_core.errors import InputError
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig, PARAMS
from affect_msgs.msg import FaceObservationArray
from affect_ros.convert import camera_model, face_frame_to_msg, msg_to_image
from affect_ros.diagnostics import StageDiagnostics
from affect_ros.filters import NearestAssociation
from affect_ros.params import ParameterBinding
from affect_ros.qos import RESULTS_QOS, SENSOR_QOS
from affect_ros.runner import run_node
import message_filters
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image


class FaceTrackerNode(Node):
    """Runs the core FaceTracker on every IR frame."""

    def __init__(self) -> None:
        super().__init__('face_tracker')
        self._camera = None
        self._params = ParameterBinding(self, PARAMS, self._configure)
        self._configure(self._params.values)
        self._pub = self.create_publisher(FaceObservationArray, 'affect/faces', RESULTS_QOS)
        self.create_subscription(CameraInfo, 'ir/camera_info', self._on_info, SENSOR_QOS)
        ir = message_filters.Subscriber(self, Image, 'ir/image_raw', qos_profile=SENSOR_QOS)
        depth = message_filters.Subscriber(self, Image, 'stereo/depth', qos_profile=SENSOR_QOS)
        self._association = NearestAssociation(ir, depth, self._params.values['depth_max_age_s'])
        self._association.registerCallback(self._on_image)
        self._diagnostics = StageDiagnostics(self, 'frames', 10.0, 16.7)
        stats = self._association.core.stats
        self._diagnostics.drops('rejected_frames', lambda: self._tracker.stats.rejected_frames)
        self._diagnostics.value('frames_without_face',
                                lambda: self._tracker.stats.frames_without_face)
        self._diagnostics.value('frames_without_depth', lambda: stats.without_secondary)
        self._diagnostics.value('tracks_started', lambda: self._tracker.stats.tracks_started)
        self._diagnostics.value('tracks_reidentified',
                                lambda: self._tracker.stats.tracks_reidentified)
        self._diagnostics.value('frames_without_landmarks',
                                lambda: self._tracker.stats.frames_without_landmarks)
        self._diagnostics.value('frames_depth_invalid',
                                lambda: self._tracker.stats.frames_depth_invalid)

    def _configure(self, values: Dict[str, Any]) -> None:
        self._tracker = FaceTracker(FaceTrackerConfig.from_params(values), self._camera)

    def _on_info(self, msg: CameraInfo) -> None:
        if self._camera is None:
            self._camera = camera_model(msg)
            self._tracker.camera = self._camera

    def _on_image(self, msg: Image, depth: Optional[Image]) -> None:
        started = time.perf_counter()
        try:
            faces = self._tracker.process(msg_to_image(msg),
                                          msg_to_image(depth) if depth is not None else None)
        except InputError as err:
            self.get_logger().error(
                f'IR frame rejected ({self._tracker.stats.rejected_frames} so far): {err}',
                throttle_duration_sec=5.0)
            return
        self._pub.publish(face_frame_to_msg(faces))
        self._diagnostics.output(time.perf_counter() - started)


def main(args=None) -> None:
    """Run the face_tracker node."""
    run_node(FaceTrackerNode, args)


if __name__ == '__main__':
    main()
