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

The recording opens in ``ros2 bag`` (Humble and newer) and Foxglove. It is written so that
a crash loses at most the last ``flush_interval_s`` of messages: the pending MCAP chunk is
closed, written and synced at least that often (in wall time and in message time), and
metadata.yaml is rewritten (atomically) after every flush with what the file then holds.
A run killed outright leaves a file without MCAP's closing index: ``ros2 bag info`` reads
it through that metadata, and ``affect repair`` rebuilds the index for rosbags and other
readers (see :mod:`affect_core.sinks.repair`).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.errors import WriterError

from affect_core.errors import ConfigError, RecordingError
from affect_core.sinks.bag_metadata import write_metadata
from affect_core.sinks.messages import build_message, typestore
from affect_core.sinks.records import emotion_record
from affect_core.types import Emotion

EMOTION_TOPIC = "/emotion"
EMOTION_TYPE = "affect_msgs/msg/Emotion"

FLUSH_INTERVAL_S = 1.0
BAG_VERSION = 8

_Recording = TypeVar("_Recording", bound="McapRecording")


class McapRecording:
    """A new rosbag2 MCAP directory with typed topics, written from message records.

    At most ``flush_interval_s`` of messages (wall time or message stamps, whichever comes
    first) wait in memory; everything older is on disk and named in metadata.yaml.
    """

    def __init__(self, path: str | Path, topics: dict[str, str],
                 flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        if not (math.isfinite(flush_interval_s) and 0.0 < flush_interval_s <= 60.0):
            raise ConfigError(f"flush_interval_s must be in (0, 60] s, got {flush_interval_s}")
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self._store = typestore()
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        try:
            self._writer.open()
        except (WriterError, OSError) as err:
            raise RecordingError(f"cannot create recording {self.path}: {err}") from err
        storage = self._writer.storage
        if not (hasattr(storage, "close_chunk") and hasattr(storage, "bio")):
            self._writer.abort()
            raise RecordingError("this rosbags version's MCAP writer cannot close chunks on "
                                 "demand, so a crash could lose the whole recording; install "
                                 "rosbags 0.10 or 0.11")
        self._storage: Any = storage
        self._types = dict(topics)
        self._connections = {
            topic: self._writer.add_connection(topic, msgtype, typestore=self._store)
            for topic, msgtype in topics.items()}
        self.messages = 0
        self.flushes = 0
        self._flushed_counts = {topic: 0 for topic in topics}
        self._pending_counts = dict.fromkeys(topics, 0)
        self._flushed_span_ns: tuple[int, int] | None = None
        self._pending_span_ns: tuple[int, int] | None = None
        self._last_flush_s = time.monotonic()
        self._failed: RecordingError | None = None
        self.abort_error = ""
        self._closed = False
        self._sync(first=True)

    def write_record(self, topic: str, record: dict[str, Any], stamp_ns: int) -> None:
        """Serialise a message-shaped record of ``topic``'s type and write it at ``stamp_ns``."""
        if self._failed is not None:
            raise self._failed
        msgtype = self._types[topic]
        data = self._store.serialize_cdr(build_message(msgtype, record), msgtype)
        try:
            self._writer.write(self._connections[topic], stamp_ns, data)
        except OSError as err:
            self._fail(err)
        self.messages += 1
        self._pending_counts[topic] += 1
        span = self._pending_span_ns
        self._pending_span_ns = (stamp_ns, stamp_ns) if span is None else (
            min(span[0], stamp_ns), max(span[1], stamp_ns))
        span_s = (self._pending_span_ns[1] - self._pending_span_ns[0]) * 1e-9
        if (span_s >= self.flush_interval_s
                or time.monotonic() - self._last_flush_s >= self.flush_interval_s):
            self.flush()

    def flush(self) -> None:
        """Put every message written so far on disk and name it in metadata.yaml."""
        if self._failed is not None:
            raise self._failed
        if self._pending_span_ns is None:
            return
        try:
            if self._storage.chunk.bio.tell():
                self._storage.close_chunk()
        except OSError as err:
            self._fail(err)
        self._sync(first=False)

    def _sync(self, first: bool) -> None:
        """Flush and fsync the MCAP file, then rewrite metadata.yaml to match it."""
        try:
            self._storage.bio.flush()
            os.fsync(self._storage.bio.fileno())
        except OSError as err:
            self._fail(err)
        if not first:
            self._count_pending_as_flushed()
            self.flushes += 1
        self._last_flush_s = time.monotonic()
        try:
            write_metadata(self.path, self._storage.path.name, self._writer.connections,
                           self._flushed_counts, self._flushed_span_ns, BAG_VERSION)
        except OSError as err:
            self._fail(err)

    @property
    def flushed_messages(self) -> int:
        """Count the messages on disk and named in metadata.yaml."""
        return sum(self._flushed_counts.values())

    def _count_pending_as_flushed(self) -> None:
        """Move the pending messages' counts and stamp span to the flushed ones."""
        for topic, count in self._pending_counts.items():
            self._flushed_counts[topic] += count
        pending, span = self._pending_span_ns, self._flushed_span_ns
        if pending is not None:
            self._flushed_span_ns = pending if span is None else (
                min(span[0], pending[0]), max(span[1], pending[1]))
        self._pending_counts = dict.fromkeys(self._pending_counts, 0)
        self._pending_span_ns = None

    def _fail(self, err: OSError, doing: str = "write") -> None:
        """Stop writing after an I/O error, keeping what is already on disk."""
        self._failed = RecordingError(
            f"cannot {doing} recording {self.path}: {err.strerror or err}; the "
            f"{self.flushed_messages} messages flushed before stay readable (run "
            f"`affect repair {self.path}`), the {self.messages - self.flushed_messages} "
            "written since are lost")
        raise self._failed from err

    def close(self) -> None:
        """Finish the recording (MCAP index and final metadata.yaml).

        After a write error the file is closed as it is, without an index, so that nothing
        flushed is overwritten; ``affect repair`` then indexes it.
        """
        if self._closed:
            return
        self._closed = True
        if self._failed is not None:
            self._abort()
            return
        try:
            self._writer.close()
        except OSError as err:
            self._abort()
            self._fail(err, "finish")
        self._count_pending_as_flushed()

    def _abort(self) -> None:
        """Close the file without its index, keeping the first error as the one to report.

        Closing can fail again (a full disk refuses the buffered tail too); those messages
        are among the ones the first error already counts as lost.
        """
        try:
            self._writer.abort()
        except OSError as err:
            self.abort_error = err.strerror or str(err)

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
