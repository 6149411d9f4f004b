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

"""``affect record``: the sensor topics of a source into a rosbag2 (MCAP) recording.

Topics as the ROS 2 graph names them: /ir/image_raw (mono16), /ir/camera_info, and the
rectified pair /stereo/left/image_rect, /stereo/right/image_rect (mono8) with their
camera_info. ``affect lab --source bag:DIR`` and ``ros2 bag play`` replay it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from affect_core.calibration import Calibration
from affect_core.sinks.bag import McapRecording
from affect_core.sources.base import SensorFrame, Source
from affect_core.sources.bag import (
    IR_INFO_TOPIC,
    IR_TOPIC,
    LEFT_INFO_TOPIC,
    LEFT_TOPIC,
    RIGHT_INFO_TOPIC,
    RIGHT_TOPIC,
)
from affect_core.sources.images import image_fields
from affect_core.types import CameraModel, ImageFrame

IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"


def camera_info_fields(camera: CameraModel, stamp_ns: int) -> dict[str, Any]:
    """sensor_msgs/CameraInfo fields (record form) of a rectified camera."""
    return Calibration.from_model(camera, camera.frame_id).info_fields(camera.frame_id,
                                                                       stamp_ns)


class SensorBagWriter(McapRecording):
    """Writes SensorFrames as the ROS 2 sensor topics."""

    def __init__(self, path: str | Path, ir_camera: CameraModel | None) -> None:
        super().__init__(path, {IR_TOPIC: IMAGE, IR_INFO_TOPIC: CAMERA_INFO, LEFT_TOPIC: IMAGE,
                                RIGHT_TOPIC: IMAGE, LEFT_INFO_TOPIC: CAMERA_INFO,
                                RIGHT_INFO_TOPIC: CAMERA_INFO})
        self._ir_camera = ir_camera

    def write(self, frame: SensorFrame) -> None:
        """Record one event of a source."""
        if frame.ir is not None:
            self.write_record(IR_TOPIC, image_fields(frame.ir), frame.ir.stamp_ns)
            if self._ir_camera is not None:
                self.write_record(IR_INFO_TOPIC,
                                  camera_info_fields(self._ir_camera, frame.ir.stamp_ns),
                                  frame.ir.stamp_ns)
        if frame.stereo is not None:
            s = frame.stereo
            for topic, info_topic, image, camera in (
                    (LEFT_TOPIC, LEFT_INFO_TOPIC, s.left, s.left_camera),
                    (RIGHT_TOPIC, RIGHT_INFO_TOPIC, s.right, s.right_camera)):
                self.write_record(topic, image_fields(
                    ImageFrame(s.stamp_ns, camera.frame_id, "mono8", image)), s.stamp_ns)
                self.write_record(info_topic, camera_info_fields(camera, s.stamp_ns),
                                  s.stamp_ns)


def record_source(source: Source, out: str | Path) -> None:
    """Record every frame of a finite ``source`` (a rig of set duration, a replay) to ``out``."""
    with SensorBagWriter(out, source.ir_camera) as writer:
        for frame in source.frames():
            writer.write(frame)
