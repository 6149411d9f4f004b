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

"""``--source bag:PATH``: a rosbag2 recording of the sensor topics, replayed in stamp order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from affect_core.calibration import Calibration
from affect_core.errors import InputError, SourceError
from affect_core.sim.scene import IR_FRAME_ID, STEREO_LEFT_FRAME_ID, STEREO_RIGHT_FRAME_ID
from affect_core.sources.base import Pacer, SensorFrame, SourceStats
from affect_core.sources.images import IMAGE_TYPE, image_from_cdr
from affect_core.types import CameraModel, ImageFrame, StereoFrame

IR_TOPIC = "/ir/image_raw"
IR_INFO_TOPIC = "/ir/camera_info"
LEFT_TOPIC = "/stereo/left/image_rect"
RIGHT_TOPIC = "/stereo/right/image_rect"
LEFT_INFO_TOPIC = "/stereo/left/camera_info"
RIGHT_INFO_TOPIC = "/stereo/right/camera_info"
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"


def _check_encoding(frame: ImageFrame, expected: str, where: str) -> None:
    if frame.encoding != expected:
        raise SourceError(f"{where} is {frame.encoding}, but {expected} is expected; set the "
                          f"ir_camera encoding parameter to {frame.encoding} if that is right")


def _unclosed_hint(path: Path) -> str:
    """Say how to repair a recording whose writer died, when that is what went wrong."""
    from affect_core.errors import RecordingError
    from affect_core.sinks.repair import recording_closed

    try:
        if path.is_dir() and not recording_closed(path):
            return (f"; its writer stopped before closing it (a crash or kill): run "
                    f"`affect repair {path}` to index what it holds")
    except (RecordingError, OSError):
        return ""
    return ""


class _CorruptRecordingError(Exception):
    """rosbags cannot read on: the recording's bytes are damaged or cut short."""


def _reader_messages(reader: Any, connections: list[Any]) -> Iterator[tuple[Any, int, bytes]]:
    """Yield rosbags' (connection, stamp, raw) messages; damage is a _CorruptRecordingError."""
    messages = reader.messages(connections=connections)
    while True:
        try:
            item = next(messages, None)
        except Exception as err:  # rosbags' MCAP reader raises untyped errors on damaged bytes
            raise _CorruptRecordingError(f"{type(err).__name__}: {err}") from err
        if item is None:
            return
        yield item


class BagSource:
    """A rosbag2 recording (MCAP or SQLite) of the sensor topics, replayed in stamp order."""

    def __init__(self, path: str, encoding: str = "mono16", rate: float = 0.0) -> None:
        from rosbags.rosbag2 import Reader
        from rosbags.rosbag2.errors import ReaderError

        from affect_core.sinks.messages import typestore

        self.path = Path(path)
        self._store = typestore()
        try:
            self._reader = Reader(self.path)
            self._reader.open()
        except (ReaderError, FileNotFoundError, NotADirectoryError) as err:
            raise SourceError(f"cannot open recording {self.path}: {err}"
                              + _unclosed_hint(self.path)) from err
        except Exception as err:  # rosbags' MCAP reader raises untyped errors on damaged bytes
            raise SourceError(f"cannot open recording {self.path}: it is corrupt "
                              f"({type(err).__name__}: {err})"
                              + _unclosed_hint(self.path)) from err
        self.description = f"recording {self.path}"
        self.encoding = encoding
        self.stats = SourceStats()
        self._pacer = Pacer(rate)
        try:
            self._check_topics()
            self.ir_camera = self._first_camera(IR_INFO_TOPIC, IR_FRAME_ID)
            self._left = self._first_camera(LEFT_INFO_TOPIC, STEREO_LEFT_FRAME_ID)
            self._right = self._first_camera(RIGHT_INFO_TOPIC, STEREO_RIGHT_FRAME_ID)
            self.nominal_fps = self._frame_rate()
        except _CorruptRecordingError as err:
            self._reader.close()
            raise SourceError(f"recording {self.path} is corrupt where its first messages "
                              f"should be ({err})" + _unclosed_hint(self.path)) from err
        except SourceError:
            self._reader.close()
            raise
        if self._stereo and (self._left is None or self._right is None):
            self.stats.problem("stereo pair without camera_info: stereo skipped")
            self._stereo = False

    def _check_topics(self) -> None:
        """Refuse a recording without raw IR images; skip stereo topics of another type."""
        types = {c.topic: c.msgtype for c in self._reader.connections}
        if IR_TOPIC not in types:
            raise SourceError(f"recording {self.path} has no {IR_TOPIC} topic (it has: "
                              f"{', '.join(sorted(types)) or 'none'}); record the IR camera "
                              "with `affect record` or `ros2 bag record /ir/image_raw`")
        if types[IR_TOPIC] != IMAGE_TYPE:
            raise SourceError(f"{IR_TOPIC} in {self.path} is {types[IR_TOPIC]}, not "
                              f"{IMAGE_TYPE}; record the raw (uncompressed) IR image")
        self._stereo = {LEFT_TOPIC, RIGHT_TOPIC} <= set(types)
        if self._stereo and {types[LEFT_TOPIC], types[RIGHT_TOPIC]} != {IMAGE_TYPE}:
            self.stats.problem(f"stereo topics are not {IMAGE_TYPE}: stereo skipped")
            self._stereo = False

    def _frame_rate(self, frames: int = 61) -> float:
        """Estimate the IR rate from the median interval of the first frames.

        Messages per second of recording would be wrong for a recording with gaps
        (too low) or duplicates (too high), and frames_expected with it.
        """
        connections = [c for c in self._reader.connections if c.topic == IR_TOPIC]
        stamps = []
        for _, stamp_ns, _ in _reader_messages(self._reader, connections):
            stamps.append(stamp_ns)
            if len(stamps) == frames:
                break
        steps = np.diff(np.asarray(stamps, np.int64))
        steps = steps[steps > 0]
        if steps.size:
            return float(1e9 / np.median(steps))
        return float(max(len(stamps) - 1, 1) / max(self._reader.duration / 1e9, 1e-9))

    def _first_camera(self, topic: str, frame_id: str) -> CameraModel | None:
        """Read the camera of the first readable camera_info on ``topic`` (None: there is none)."""
        from rosbags.serde import SerdeError

        connections = [c for c in self._reader.connections
                       if c.topic == topic and c.msgtype == CAMERA_INFO_TYPE]
        if not connections:  # rosbags reads every topic when given no connection
            return None
        for connection, _, raw in _reader_messages(self._reader, connections):
            try:
                msg = self._store.deserialize_cdr(raw, connection.msgtype)
            except SerdeError:
                self.stats.problem(f"{topic}: corrupt {CAMERA_INFO_TYPE} message skipped")
                continue
            return Calibration.from_info(msg).camera_model(str(msg.header.frame_id) or frame_id)
        return None

    def frames(self) -> Iterator[SensorFrame]:
        wanted = {IR_TOPIC, LEFT_TOPIC, RIGHT_TOPIC} if self._stereo else {IR_TOPIC}
        connections = [c for c in self._reader.connections if c.topic in wanted]
        halves: dict[int, dict[str, Any]] = {}
        for connection, raw in self._messages(connections):
            try:
                image = image_from_cdr(raw, connection.msgtype)
            except InputError as err:
                self.stats.problem(f"{connection.topic}: {err}")
                continue
            if connection.topic == IR_TOPIC:
                if image.encoding != self.encoding and self.stats.ir_frames:
                    # One odd frame in a good stream is skipped; a whole stream in the
                    # wrong encoding (its first frame) is a setting to fix.
                    self.stats.problem(f"{IR_TOPIC}: {image.encoding} frame in a "
                                       f"{self.encoding} stream, skipped")
                    continue
                _check_encoding(image, self.encoding, f"{IR_TOPIC} in {self.path}")
                self._pacer.wait(image.stamp_ns)
                self.stats.ir_frames += 1
                yield SensorFrame(ir=image)
                continue
            pair = halves.setdefault(image.stamp_ns, {})
            pair[connection.topic] = image.data
            if len(pair) == 2 and self._left is not None and self._right is not None:
                del halves[image.stamp_ns]
                self.stats.stereo_pairs += 1
                yield SensorFrame(stereo=StereoFrame(image.stamp_ns, pair[LEFT_TOPIC],
                                                     pair[RIGHT_TOPIC], self._left,
                                                     self._right))
            for stamp in [s for s in halves if s < image.stamp_ns - 1_000_000_000]:
                del halves[stamp]
                self.stats.problem("stereo half without its partner")
        for _ in halves:  # halves still waiting when the recording ends
            self.stats.problem("stereo half without its partner")

    def _messages(self, connections: list[Any]) -> Iterator[tuple[Any, bytes]]:
        """Yield (connection, raw) until the recording ends or its bytes stop making sense.

        A recording cut short by a crash or damaged on disk is read up to the damage,
        which is counted as a problem: the frames before it are as good as any.
        """
        try:
            for connection, _, raw in _reader_messages(self._reader, connections):
                yield connection, raw
        except _CorruptRecordingError as err:
            self.stats.problem(f"recording corrupt or cut short after {self.stats.ir_frames} "
                               f"IR frames ({err}); the rest is not read"
                               + _unclosed_hint(self.path))

    def close(self) -> None:
        self._reader.close()
