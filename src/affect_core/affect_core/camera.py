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

"""IR camera capture through OpenCV (V4L2/UVC devices, or a video file).

UVC IR cameras deliver Y16 (16-bit) or GREY (8-bit). With ``encoding: mono16`` the
device is asked for raw Y16 frames (CAP_PROP_CONVERT_RGB off); frames that arrive as
8 bits are refused with a clear error instead of being scaled up silently.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from affect_core.errors import ConfigError, InputError
from affect_core.params import ParamSpec, resolve
from affect_core.types import ImageFrame

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("device", "0", "V4L2 device index or path (/dev/video0), or a video file"),
    ParamSpec("width_px", 640, "requested image width in pixels", 16, 8192),
    ParamSpec("height_px", 480, "requested image height in pixels", 16, 8192),
    ParamSpec("fps", 120.0, "requested frame rate in Hz", 1.0, 1000.0),
    ParamSpec("encoding", "mono16", "pixel format to deliver", choices=("mono16", "mono8")),
    ParamSpec("frame_id", "ir_camera_optical_frame", "frame_id of the images (REP-103)"),
    ParamSpec("camera_info_url", "", "calibration (camera_info_manager format: file://...)"),
    ParamSpec("source", "",
              "what to publish: empty for the device above, or video:PATH, frames:DIR, "
              "bag:PATH to replay a recording"),
    ParamSpec("rate", 1.0, "replay speed: 1 = recorded timing, 0 = as fast as possible",
              0.0, 100.0),
    ParamSpec("loop", False,
              "replay the recording again each time it ends, its stamps running on (a long "
              "demo or probe from a short recording); needs source"),
    ParamSpec("reconnect_attempts", 8,
              "reopen a camera that stops giving frames this many times in a row, then give "
              "up", 0, 1000),
    ParamSpec("reconnect_backoff_max_s", 5.0,
              "longest wait between reconnection attempts in seconds (the wait doubles from "
              "0.1 s up to this)", 0.01, 60.0),
)


@dataclass(frozen=True)
class IrCameraConfig:
    """Validated ir_camera parameters (see PARAMS)."""

    device: str = "0"
    width_px: int = 640
    height_px: int = 480
    fps: float = 120.0
    encoding: str = "mono16"
    frame_id: str = "ir_camera_optical_frame"
    camera_info_url: str = ""
    source: str = ""
    rate: float = 1.0
    loop: bool = False
    reconnect_attempts: int = 8
    reconnect_backoff_max_s: float = 5.0

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> IrCameraConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        config = cls(**resolve(PARAMS, given, "ir_camera"))
        if config.loop and not config.source:
            raise ConfigError("ir_camera: loop replays a recording, and a camera does not "
                              "end; set source to video:PATH, frames:DIR or bag:PATH, or "
                              "loop to false")
        return config


class IrCamera:
    """Reads frames from a device or file and stamps them with the host clock."""

    def __init__(self, config: IrCameraConfig) -> None:
        self.config = config
        source: int | str = int(config.device) if config.device.isdigit() else config.device
        self._capture = cv2.VideoCapture(source)
        if not self._capture.isOpened():
            raise InputError(f"cannot open IR camera {config.device!r}; check the device "
                             "path and permissions (video group), or the file name")
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, config.width_px)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, config.height_px)
        self._capture.set(cv2.CAP_PROP_FPS, config.fps)
        if config.encoding == "mono16":
            self._capture.set(cv2.CAP_PROP_CONVERT_RGB, 0)

    def read(self) -> ImageFrame | None:
        """Read the next frame, or None at the end of a file / when the device gives nothing."""
        ok, image = self._capture.read()
        stamp_ns = time.time_ns()
        if not ok or image is None:
            return None
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        image = image.reshape(image.shape[0], -1)
        if self.config.encoding == "mono16":
            if image.dtype != np.uint16:
                raise InputError(f"camera {self.config.device!r} delivers {image.dtype} frames, "
                                 "not 16-bit; set encoding: mono8 for a GREY camera")
        elif image.dtype != np.uint8:
            image = (image >> 8).astype(np.uint8)
        return ImageFrame(stamp_ns, self.config.frame_id, self.config.encoding, image)

    def close(self) -> None:
        """Release the device."""
        self._capture.release()
