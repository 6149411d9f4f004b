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

A lifecycle node: the detector and landmark models (BlazeFace, the face mesh) are loaded
on configure, so a missing or corrupt model file fails that transition with the reason
instead of crashing the node; frames are processed while active. lab.launch.py brings it
to active.

Depth from /stereo/depth is associated with each IR frame by stamp (the nearest within
depth_max_age_s, waiting briefly for a later one); without depth the faces still come,
with NaN head positions.
"""

import time
from typing import Any, Dict, List, Optional, Tuple

from affect_core.errors import InputError
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig, PARAMS
from affect_msgs.msg import FaceObservationArray
from affect_ros.convert import camera_model, face_frame_to_msg, msg_to_image
from affect_ros.diagnostics import StageDiagnostics
from affect_ros.filters import NearestAssociation
from affect_ros.lifecycle import StageLifecycleNode
from affect_ros.qos import RESULTS_QOS, SENSOR_QOS
from affect_ros.runner import run_node
import message_filters
from sensor_msgs.msg import CameraInfo, Image


class FaceTrackerNode(StageLifecycleNode):
    """Runs the core FaceTracker on every IR frame while active."""

    def __init__(self) -> None:
        super().__init__('face_tracker', PARAMS)
        self._camera = None
        self._association: Optional[NearestAssociation] = None
        self.unreadable_frames = 0  # messages refused before the tracker saw them
        self._diagnostics = StageDiagnostics(self, 'frames', 10.0, 16.7)
        self._diagnostics.value('state', lambda: self.lifecycle_state)
        self._diagnostics.drops('rejected_frames', lambda: (
            self._stat('rejected_frames') + self.unreadable_frames))
        # Depth that stops, or depth without a reading at the face: IR-only, reported.
        self._diagnostics.drops('frames_without_depth', lambda: (
            self._association.core.stats.without_secondary if self._association else 0))
        self._diagnostics.drops('frames_depth_invalid',
                                lambda: self._stat('frames_depth_invalid'))
        self._diagnostics.drops('frames_out_of_order', lambda: self._stat('frames_out_of_order'))
        for name in ('frames_without_face', 'tracks_started', 'tracks_reidentified',
                     'frames_without_landmarks', 'faces_kept_by_landmarks', 'faces_found_ahead',
                     'clock_resets'):
            self._diagnostics.value(name, lambda name=name: self._stat(name))
        self._diagnostics.value('depth_association_restarts', lambda: (
            self._association.restarts if self._association else 0))

    def _stat(self, name: str) -> int:
        return int(getattr(self._stage.stats, name)) if self._stage else 0

    def _load(self, values: Dict[str, Any]) -> FaceTracker:
        config = FaceTrackerConfig.from_params(values)
        tracker = FaceTracker(config, self._camera)
        self.get_logger().info(f'detector {config.detector}, landmarks {config.landmarker}')
        return tracker

    def _connect(self) -> Tuple[Any, List[Any]]:
        pub = self.create_lifecycle_publisher(FaceObservationArray, 'affect/faces',
                                              RESULTS_QOS)
        info = self.create_subscription(CameraInfo, 'ir/camera_info', self._on_info,
                                        SENSOR_QOS)
        ir = message_filters.Subscriber(self, Image, 'ir/image_raw', qos_profile=SENSOR_QOS)
        depth = message_filters.Subscriber(self, Image, 'stereo/depth', qos_profile=SENSOR_QOS)
        values = self._params.values
        self._association = NearestAssociation(ir, depth, values['depth_max_age_s'],
                                               max_wait=values['depth_max_wait_s'])
        self._association.registerCallback(self._on_image)
        return pub, [info, ir.sub, depth.sub]

    def _release(self) -> None:
        super()._release()
        self._association = None

    def _on_info(self, msg: CameraInfo) -> None:
        if self._camera is None:
            self._camera = camera_model(msg)
            if self._stage is not None:
                self._stage.camera = self._camera

    def _on_image(self, msg: Image, depth: Optional[Image]) -> None:
        tracker = self._stage
        if tracker is None or self._pub is None:
            return
        started = time.perf_counter()
        try:
            try:
                ir_frame = msg_to_image(msg)
                depth_frame = msg_to_image(depth) if depth is not None else None
            except InputError:
                self.unreadable_frames += 1
                raise
            faces = tracker.process(ir_frame, depth_frame)
        except InputError as err:
            rejected = tracker.stats.rejected_frames + self.unreadable_frames
            self.get_logger().error(f'IR frame rejected ({rejected} so far): {err}',
                                    throttle_duration_sec=5.0)
            return
        self._pub.publish(face_frame_to_msg(faces))
        self._diagnostics.output(time.perf_counter() - started)


def main(args=None) -> None:
    """Run the face_tracker node."""
    run_node(FaceTrackerNode, args)


if __name__ == '__main__':
    main()
