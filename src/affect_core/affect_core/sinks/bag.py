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

"""A rosbag2 recording in MCAP storage, written with rosbags (no ROS 2 needed).

The recording opens in ``ros2 bag`` (Humble and newer) and Foxglove. MCAP writes each
message as it comes, so a recording cut short by a crash stays readable up to its last
complete chunk.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.errors import WriterError

from affect_core.errors import RecordingError
from affect_core.sinks.messages import build_message, typestore
from affect_core.sinks.records import emotion_record
from affect_core.types import Emotion

EMOTION_TOPIC = "/emotion"
EMOTION_TYPE = "affect_msgs/msg/Emotion"

_Recording = TypeVar("_Recording", bound="McapRecording")


class McapRecording:
    """A new rosbag2 MCAP directory with typed topics, written from message records."""

    def __init__(self, path: str | Path, topics: dict[str, str]) -> None:
        self.path = Path(path)
        self._store = typestore()
        self._writer = Writer(self.path, version=8, storage_plugin=StoragePlugin.MCAP)
        try:
            self._writer.open()
        except WriterError as err:
            raise RecordingError(f"cannot create recording {self.path}: {err}") from err
        self._types = dict(topics)
        self._connections = {
            topic: self._writer.add_connection(topic, msgtype, typestore=self._store)
            for topic, msgtype in topics.items()}
        self.messages = 0

    def write_record(self, topic: str, record: dict[str, Any], stamp_ns: int) -> None:
        """Serialise a message-shaped record of ``topic``'s type and write it at ``stamp_ns``."""
        msgtype = self._types[topic]
        data = self._store.serialize_cdr(build_message(msgtype, record), msgtype)
        self._writer.write(self._connections[topic], stamp_ns, data)
        self.messages += 1

    def close(self) -> None:
        """Finish the recording (writes metadata.yaml)."""
        self._writer.close()

    def __enter__(self: _Recording) -> _Recording:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class BagSink(McapRecording):
    """Writes /emotion (affect_msgs/msg/Emotion) into a new rosbag2 MCAP directory.

    ``extra_topics`` (name: type) adds topics written with :meth:`write_record`, such as
    the opt-in /affect/overlay images.
    """

    def __init__(self, path: str | Path, topic: str = EMOTION_TOPIC,
                 extra_topics: dict[str, str] | None = None) -> None:
        super().__init__(path, {topic: EMOTION_TYPE, **(extra_topics or {})})
        self._topic = topic

    def write(self, emotion: Emotion) -> None:
        """Record one Emotion at its window-end stamp."""
        self.write_record(self._topic, emotion_record(emotion), emotion.stamp_ns)
