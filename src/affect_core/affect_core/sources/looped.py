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

"""A recording replayed again and again, its stamps running on as if it were one stream.

A demo, or a long probe of the graph from a short recording, wants an endless stream
with no clock jump: a replay that simply restarted would jump back in time, and
windowing would restart on every pass (counted as ``clock_jump``). Each pass here is
shifted to start one frame period after the previous pass's last IR frame, stereo pairs
by the same amount, and the whole stream is paced as one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from affect_core.errors import SourceError
from affect_core.sources.base import Pacer, SensorFrame, Source, SourceStats
from affect_core.types import CameraModel


class LoopedSource:
    """Replay the recording that ``open_pass`` opens (unpaced) ``passes`` times, or forever."""

    def __init__(self, open_pass: Callable[[], Source], rate: float = 1.0,
                 passes: float = math.inf) -> None:
        if not passes >= 1:
            raise SourceError(f"a looped replay needs at least one pass, got {passes}")
        self._open_pass = open_pass
        self._pacer = Pacer(rate)
        self._passes = passes
        self._current: Source | None = open_pass()
        self.description = f"{self._current.description}, looped"
        self.nominal_fps = self._current.nominal_fps
        self.ir_camera: CameraModel | None = self._current.ir_camera
        self._done = SourceStats()  # of the passes already read
        self.passes_done = 0

    @property
    def stats(self) -> SourceStats:
        """Return what every pass so far delivered, the one being read included."""
        total = SourceStats(self._done.ir_frames, self._done.stereo_pairs,
                            dict(self._done.problems))
        if self._current is not None:
            _add(total, self._current.stats)
        return total

    def frames(self) -> Iterator[SensorFrame]:
        """Yield every pass's frames with stamps continuing from the previous pass."""
        period_ns = int(round(1e9 / self.nominal_fps)) if self.nominal_fps > 0 else 1
        next_ns: int | None = None  # where the next pass's first IR frame belongs
        while self.passes_done < self._passes:
            source = self._current if self._current is not None else self._open_pass()
            self._current = source
            offset_ns: int | None = None
            last_ns: int | None = None
            try:
                for event in source.frames():
                    if offset_ns is None:
                        first_ns = (event.ir.stamp_ns if event.ir is not None else
                                    event.stereo.stamp_ns if event.stereo is not None else None)
                        if first_ns is None:
                            continue
                        offset_ns = 0 if next_ns is None else next_ns - first_ns
                    if event.ir is not None:
                        event.ir.stamp_ns += offset_ns
                        last_ns = event.ir.stamp_ns
                        self._pacer.wait(event.ir.stamp_ns)
                    if event.stereo is not None:
                        event.stereo.stamp_ns += offset_ns
                    yield event
            finally:
                _add(self._done, source.stats)
                self._current = None
                source.close()
            self.passes_done += 1
            if last_ns is None:
                raise SourceError(f"{self.description}: a pass gave no IR frame; nothing "
                                  "to loop")
            next_ns = last_ns + period_ns

    def close(self) -> None:
        """Close the pass being read, if any."""
        if self._current is not None:
            self._current.close()
            self._current = None


def _add(total: SourceStats, stats: SourceStats) -> None:
    total.ir_frames += stats.ir_frames
    total.stereo_pairs += stats.stereo_pairs
    for problem, count in stats.problems.items():
        total.problems[problem] = total.problems.get(problem, 0) + count
