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

"""The sources behind ``--source``: sim, camera:N, video:PATH, frames:DIR (bag:PATH: .bag)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from affect_core.camera import IrCamera, IrCameraConfig
from affect_core.errors import InputError, SourceError
from affect_core.sim.rig import RigConfig, SimRig
from affect_core.sim.scene import IR_FRAME_ID, STEREO_LEFT_FRAME_ID, STEREO_RIGHT_FRAME_ID
from affect_core.sources.bag import BagSource
from affect_core.sources.base import Pacer, SensorFrame, Source, SourceStats, parse_source
from affect_core.types import CameraModel, ImageFrame, StereoFrame

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")
RAW_CODECS = ("FFV1", "Y16 ", "b16g", "Y800")


class SimSource:
    """The simulated rig, with its ground truth."""

    def __init__(self, config: RigConfig, duration_s: float) -> None:
        self.rig = SimRig(config)
        self.description = f"simulated rig ({config.preset}, {config.num_people} people)"
        self.nominal_fps = config.fps
        self.ir_camera: CameraModel | None = self.rig.ir_camera
        self.stats = SourceStats()
        self._count = int(round(duration_s * config.fps))

    def frames(self) -> Iterator[SensorFrame]:
        for _ in range(self._count):
            frame = self.rig.step()
            self.stats.ir_frames += 1
            self.stats.stereo_pairs += frame.stereo is not None
            yield SensorFrame(frame.ir, frame.stereo, frame.truth())

    def close(self) -> None:
        pass


class FramesSource:
    """A folder of 16-bit (or 8-bit) PNG/TIFF frames, as `affect synth --mode frames` writes.

    Stamps come from ``timestamps.csv`` (``file,stamp_ns`` lines) when present, else from
    the frame index and ``fps`` (the manifest's, when the folder has one). Stereo pairs
    are read from ``stereo/left`` and ``stereo/right`` where they exist.
    """

    def __init__(self, path: str, encoding: str = "mono16", fps: float = 120.0,
                 rate: float = 0.0) -> None:
        self.path = Path(path)
        ir_dir = self.path / "ir" if (self.path / "ir").is_dir() else self.path
        self._files = sorted(p for p in ir_dir.iterdir()
                             if p.suffix.lower() in IMAGE_SUFFIXES) if ir_dir.is_dir() else []
        if not self._files:
            raise SourceError(f"no PNG or TIFF frames in {ir_dir}")
        self.encoding = encoding
        self.stats = SourceStats()
        self._pacer = Pacer(rate)
        self.description = f"frames in {ir_dir}"
        self.ir_camera: CameraModel | None = None
        baseline = 0.0
        if (self.path / "manifest.json").is_file():
            fps, self.ir_camera, baseline = self._read_manifest(self.path / "manifest.json",
                                                                fps)
        if not 0.0 < fps <= 1e6:  # NaN fails too
            raise SourceError(f"frames in {ir_dir}: frame rate must be positive, got {fps}")
        self.nominal_fps = fps
        self._stamps = self._read_stamps(fps)
        self._left_dir = self.path / "stereo" / "left"
        self._right_dir = self.path / "stereo" / "right"
        # The rig's stereo pair: the IR camera's intrinsics, the right one a baseline aside.
        self._pair = None if self.ir_camera is None else (
            replace(self.ir_camera, frame_id=STEREO_LEFT_FRAME_ID, baseline_m=0.0),
            replace(self.ir_camera, frame_id=STEREO_RIGHT_FRAME_ID, baseline_m=baseline))

    @staticmethod
    def _read_manifest(path: Path, fps: float) -> tuple[float, CameraModel | None, float]:
        """Read (fps, IR camera, stereo baseline) from the folder's manifest.json."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            rig = data.get("rig", {})
            fps = float(rig.get("fps", fps) if isinstance(rig, dict) else fps)
            camera = CameraModel(**data["ir_camera"]) if "ir_camera" in data else None
            if camera is not None and not all(
                    isinstance(getattr(camera, name), (int, float))
                    for name in ("width_px", "height_px", "fx_px", "fy_px", "cx_px", "cy_px",
                                 "baseline_m")):
                raise TypeError("ir_camera fields must be numbers")
            baseline = float(data.get("stereo_baseline_m", 0.0))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError, TypeError,
                ValueError) as err:
            raise SourceError(f"cannot use {path} ({type(err).__name__}: {err}); fix it or "
                              "remove it to replay the frames at the ir_camera fps") from err
        return fps, camera, baseline

    def _read_stamps(self, fps: float) -> dict[str, int]:
        table = self.path / "timestamps.csv"
        if not table.is_file():
            return {p.name: int(round(i * 1e9 / fps)) for i, p in enumerate(self._files)}
        try:
            text = table.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise SourceError(f"cannot read {table}: {err}") from err
        stamps = {}
        for number, line in enumerate(text.splitlines(), 1):
            name, _, stamp = line.partition(",")
            stamp = stamp.strip()
            # ASCII digits only: str.isdigit also accepts superscripts, which int() refuses.
            if not (stamp.isascii() and stamp.isdigit()):
                raise SourceError(f"{table}:{number}: expected 'file,stamp_ns', got {line!r}")
            stamps[name.strip()] = int(stamp)
        return stamps

    def _read(self, path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise SourceError(f"cannot read frame {path} (missing or corrupt)")
        return image

    def frames(self) -> Iterator[SensorFrame]:
        for path in self._files:
            if path.name not in self._stamps:
                raise SourceError(f"{path.name} has no line in timestamps.csv")
            stamp = self._stamps[path.name]
            image = self._read(path)
            if image.ndim != 2:
                raise SourceError(f"frame {path} has {image.shape[2]} channels; IR frames "
                                  "are single-channel")
            if image.dtype not in (np.uint8, np.uint16):
                raise SourceError(f"frame {path} is {image.dtype}; IR frames are 8- or "
                                  "16-bit unsigned")
            if self.encoding == "mono16" and image.dtype != np.uint16:
                raise SourceError(f"frame {path} is {image.dtype} (8-bit) but 16-bit frames "
                                  "are expected; set the ir_camera encoding to mono8 for "
                                  "8-bit IR")
            encoding = "mono16" if image.dtype == np.uint16 else "mono8"
            stereo = None
            left_path, right_path = self._left_dir / path.name, self._right_dir / path.name
            if self._pair is not None and left_path.is_file() and right_path.is_file():
                left, right = self._read(left_path), self._read(right_path)
                stereo = StereoFrame(stamp, left, right, *self._pair)
                self.stats.stereo_pairs += 1
            self._pacer.wait(stamp)
            self.stats.ir_frames += 1
            yield SensorFrame(ImageFrame(stamp, IR_FRAME_ID, encoding, image), stereo)

    def close(self) -> None:
        pass


class VideoSource:
    """A video file; 8-bit codecs give mono8, 16-bit grey codecs (FFV1) mono16."""

    def __init__(self, path: str, rate: float = 0.0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video {self.path} does not exist")
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise SourceError(f"cannot decode video {self.path}; is it a video file?")
        fourcc = int(self._capture.get(cv2.CAP_PROP_FOURCC))
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4))
        if codec in RAW_CODECS:
            # Lossless grey codecs keep their 16 bits only without conversion to BGR.
            self._capture.set(cv2.CAP_PROP_CONVERT_RGB, 0)
        self.nominal_fps = float(self._capture.get(cv2.CAP_PROP_FPS)) or 30.0
        self.expected_frames = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.description = f"video {self.path}"
        self.ir_camera = None
        self.stats = SourceStats()
        self._pacer = Pacer(rate)

    def frames(self) -> Iterator[SensorFrame]:
        index = 0
        while True:
            ok, image = self._capture.read()
            if not ok or image is None:
                break
            if image.ndim == 3:
                image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            image = image.reshape(image.shape[0], -1)
            stamp = int(round(index * 1e9 / self.nominal_fps))
            encoding = "mono16" if image.dtype == np.uint16 else "mono8"
            self._pacer.wait(stamp)
            self.stats.ir_frames += 1
            index += 1
            yield SensorFrame(ImageFrame(stamp, IR_FRAME_ID, encoding, image))
        if self.expected_frames and index < self.expected_frames:
            self.stats.problem(f"video ended after {index} of the {self.expected_frames} frames "
                               "its header announces (truncated?)")

    def close(self) -> None:
        self._capture.release()


RECONNECTING = "camera read failed; reconnecting"  # the problem a reconnection counts as


class CameraSource:
    """A live IR camera that reconnects with back-off when it disappears.

    After a failed read the device is reopened after 0.1 s, then 0.2, 0.4 ... up to
    ``reconnect_backoff_max_s`` between tries; after ``max_retries`` (default
    ``reconnect_attempts``) failures in a row the source gives up with an error, so a
    vanished camera ends the run with a message instead of a hang. :meth:`cancel` (from
    another thread) ends a back-off wait at once and the stream with it.
    """

    def __init__(self, config: IrCameraConfig, duration_s: float,
                 max_retries: int | None = None) -> None:
        self.config = config
        self.description = f"camera {config.device}"
        self.nominal_fps = config.fps
        self.ir_camera = None
        self.stats = SourceStats()
        self._duration_s = duration_s
        self._max_retries = config.reconnect_attempts if max_retries is None else max_retries
        self._cancelled = threading.Event()
        self._camera: IrCamera | None = IrCamera(config)

    def cancel(self) -> None:
        """End the stream: a back-off wait returns at once and no frame follows."""
        self._cancelled.set()

    def frames(self) -> Iterator[SensorFrame]:
        start = time.monotonic()
        failures = 0
        while time.monotonic() - start < self._duration_s and not self._cancelled.is_set():
            frame = self._camera.read() if self._camera is not None else None
            if frame is not None:
                failures = 0
                self.stats.ir_frames += 1
                yield SensorFrame(frame)
                continue
            failures += 1
            self.stats.problem(RECONNECTING)
            if failures > self._max_retries:
                raise SourceError(f"camera {self.config.device!r} gave no frame in "
                                  f"{self._max_retries} reconnection attempts; is it unplugged?")
            if self._camera is not None:
                self._camera.close()
            if self._cancelled.wait(min(0.1 * 2 ** (failures - 1),
                                        self.config.reconnect_backoff_max_s)):
                return
            try:
                self._camera = IrCamera(self.config)
            except InputError:
                self._camera = None

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()


def open_source(spec: str, rig: RigConfig, camera: IrCameraConfig, duration_s: float,
                rate: float = 0.0, loop: bool = False) -> Source:
    """Open the source named by ``spec`` (sim, camera:N, video:PATH, frames:DIR, bag:PATH).

    With ``loop`` a recording replays forever, its stamps running on (LoopedSource).
    """
    kind, argument = parse_source(spec)
    if loop:
        if kind in ("sim", "camera"):
            raise SourceError(f"loop replays a recording; {kind} does not end: use "
                              "video:PATH, frames:DIR or bag:PATH, or no loop")
        from affect_core.sources.looped import LoopedSource

        return LoopedSource(lambda: open_source(spec, rig, camera, duration_s), rate)
    if kind == "sim":
        return SimSource(rig, duration_s)
    if kind == "camera":
        return CameraSource(replace(camera, device=argument), duration_s)
    if kind == "video":
        return VideoSource(argument, rate)
    if kind == "frames":
        return FramesSource(argument, camera.encoding, camera.fps, rate)
    return BagSource(argument, camera.encoding, rate)
