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

"""Camera calibration files in camera_info_manager's YAML format, and rectification.

The same files ROS 2's camera_calibration writes and camera_info_manager reads:
``image_width``, ``image_height``, ``camera_name``, ``camera_matrix`` (K),
``distortion_model``, ``distortion_coefficients`` (D), ``rectification_matrix`` (R) and
``projection_matrix`` (P), each matrix as ``{rows, cols, data}``. URLs are ``file://``
paths, ``package://<package>/<path>`` (resolved with ament_index where ROS 2 is
installed) or plain paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import yaml

from affect_core.errors import ConfigError
from affect_core.types import CameraModel


@dataclass(frozen=True)
class Calibration:
    """One camera's intrinsics (K, D), rectification (R) and projection (P)."""

    camera_name: str
    width_px: int
    height_px: int
    k: tuple[float, ...]  # 3x3 row-major
    d: tuple[float, ...]
    r: tuple[float, ...]  # 3x3 row-major
    p: tuple[float, ...]  # 3x4 row-major
    distortion_model: str = "plumb_bob"

    def camera_model(self, frame_id: str) -> CameraModel:
        """Rectified pinhole model from P (K where P is unset); baseline -P[3] / P[0]."""
        fx = self.p[0] or self.k[0]
        return CameraModel(self.width_px, self.height_px, fx, self.p[5] or self.k[4],
                           self.p[2] or self.k[2], self.p[6] or self.k[5], frame_id,
                           baseline_m=-self.p[3] / fx if fx else 0.0)

    @classmethod
    def from_info(cls, msg: Any) -> Calibration:
        """Read the calibration a sensor_msgs/CameraInfo carries (rclpy or rosbags message)."""
        return cls(str(msg.header.frame_id), int(msg.width), int(msg.height),
                   tuple(float(v) for v in msg.k), tuple(float(v) for v in msg.d) or (0.0,) * 5,
                   tuple(float(v) for v in msg.r), tuple(float(v) for v in msg.p),
                   str(msg.distortion_model) or "plumb_bob")

    def info_fields(self, frame_id: str, stamp_ns: int) -> dict[str, Any]:
        """sensor_msgs/CameraInfo fields (message-shaped record) of this calibration."""
        sec, nanosec = divmod(stamp_ns, 1_000_000_000)
        return {
            "header": {"stamp": {"sec": sec, "nanosec": nanosec}, "frame_id": frame_id},
            "height": self.height_px, "width": self.width_px,
            "distortion_model": self.distortion_model, "d": list(self.d), "k": list(self.k),
            "r": list(self.r), "p": list(self.p), "binning_x": 0, "binning_y": 0,
            "roi": {"x_offset": 0, "y_offset": 0, "height": 0, "width": 0,
                    "do_rectify": False},
        }

    @property
    def is_rectified(self) -> bool:
        """Tell whether images already are rectified (no distortion, identity R, P = K)."""
        return (not any(self.d) and np.allclose(self.r, np.eye(3).ravel())
                and np.allclose(np.array(self.p).reshape(3, 4)[:, :3], np.array(self.k)
                                .reshape(3, 3)))

    def rectify_maps(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """cv2.remap maps taking raw images to rectified ones."""
        k = np.array(self.k, np.float64).reshape(3, 3)
        r = np.array(self.r, np.float64).reshape(3, 3)
        p = np.array(self.p, np.float64).reshape(3, 4)
        map_x, map_y = cv2.initUndistortRectifyMap(k, np.array(self.d, np.float64), r, p[:, :3],
                                                   (self.width_px, self.height_px),
                                                   cv2.CV_32FC1)
        return map_x, map_y

    @classmethod
    def from_model(cls, camera: CameraModel, name: str) -> Calibration:
        """Make the calibration of an ideal rectified camera (as the simulated rig has)."""
        k = (camera.fx_px, 0.0, camera.cx_px, 0.0, camera.fy_px, camera.cy_px, 0.0, 0.0, 1.0)
        p = (camera.fx_px, 0.0, camera.cx_px, -camera.fx_px * camera.baseline_m,
             0.0, camera.fy_px, camera.cy_px, 0.0, 0.0, 0.0, 1.0, 0.0)
        return cls(name, camera.width_px, camera.height_px, k, (0.0,) * 5,
                   (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0), p)

    def to_yaml(self) -> str:
        """Format the calibration as camera_info_manager YAML text."""
        def matrix(rows: int, cols: int, data: tuple[float, ...]) -> dict[str, Any]:
            return {"rows": rows, "cols": cols, "data": [float(v) for v in data]}

        return yaml.safe_dump({
            "image_width": self.width_px,
            "image_height": self.height_px,
            "camera_name": self.camera_name,
            "camera_matrix": matrix(3, 3, self.k),
            "distortion_model": self.distortion_model,
            "distortion_coefficients": matrix(1, len(self.d), self.d),
            "rectification_matrix": matrix(3, 3, self.r),
            "projection_matrix": matrix(3, 4, self.p),
        }, sort_keys=False)


def resolve_url(url: str) -> Path:
    """Resolve the file a camera_info URL names (file://, package://, or a plain path)."""
    if url.startswith("file://"):
        return Path(url[len("file://"):])
    if url.startswith("package://"):
        package, _, rest = url[len("package://"):].partition("/")
        try:
            from ament_index_python.packages import (
                PackageNotFoundError,
                get_package_share_directory,
            )
        except ImportError as err:
            raise ConfigError(f"{url}: package:// URLs need ROS 2 (ament_index_python); "
                              "use a file:// URL") from err
        try:
            return Path(get_package_share_directory(package)) / rest
        except PackageNotFoundError as err:
            raise ConfigError(f"{url}: package {package!r} is not installed") from err
    if "://" in url:
        raise ConfigError(f"unsupported camera_info URL {url!r}; use file:// or package://")
    return Path(url)


def load_calibration(url: str) -> Calibration:
    """Read a camera_info_manager YAML file; errors say which key is wrong."""
    path = resolve_url(url)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read calibration {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"calibration {path} is not valid YAML: {err}") from err

    def matrix(key: str, rows: int, cols: int | None) -> tuple[float, ...]:
        try:
            values = tuple(float(v) for v in data[key]["data"])
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(f"calibration {path}: {key}.data is missing or not "
                              "numbers") from err
        if cols is not None and len(values) != rows * cols:
            raise ConfigError(f"calibration {path}: {key} needs {rows * cols} values, has "
                              f"{len(values)}")
        return values

    if not isinstance(data, dict):
        raise ConfigError(f"calibration {path} must be a mapping")
    try:
        width, height = int(data["image_width"]), int(data["image_height"])
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"calibration {path}: image_width/image_height missing") from err
    return Calibration(
        camera_name=str(data.get("camera_name", path.stem)), width_px=width, height_px=height,
        k=matrix("camera_matrix", 3, 3), d=matrix("distortion_coefficients", 1, None),
        r=matrix("rectification_matrix", 3, 3), p=matrix("projection_matrix", 3, 4),
        distortion_model=str(data.get("distortion_model", "plumb_bob")))
