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

"""Emotions as JSON lines: one Emotion record per line, NaN and infinities written as null."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import IO

from affect_core.errors import RecordingError
from affect_core.sinks.records import emotion_record, nan_to_none
from affect_core.types import Emotion


class JsonLinesSink:
    """Appends one line per Emotion and flushes it, so a crash loses at most one line."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file: IO[str] = self.path.open("w", encoding="utf-8")
        except OSError as err:
            raise RecordingError(f"cannot write {self.path}: {err.strerror}") from err
        self.lines = 0
        self.close_error = ""
        self._failed: RecordingError | None = None

    def write(self, emotion: Emotion) -> None:
        """Write one Emotion."""
        line = json.dumps(nan_to_none(emotion_record(emotion)), allow_nan=False) + "\n"
        if self._failed is not None:
            raise self._failed
        try:
            self._file.write(line)
            self._file.flush()
        except OSError as err:
            self._failed = RecordingError(f"cannot write {self.path}: {err.strerror or err}; "
                                          f"the {self.lines} lines before stay in it")
            raise self._failed from err
        self.lines += 1

    def close(self) -> None:
        """Close the file; after a write error, the line it refused is not retried.

        Closing flushes that line once more and fails the same way; the file is closed
        regardless and the first error is the one reported.
        """
        try:
            self._file.close()
        except OSError as err:
            if self._failed is None:
                raise RecordingError(f"cannot close {self.path}: {err.strerror or err}; the "
                                     f"{self.lines} lines before stay in it") from err
            self.close_error = err.strerror or str(err)

    def __enter__(self) -> JsonLinesSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
