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

"""Latency from a window's end to its Emotion being written, as a live run would see it.

``affect lab`` reads its source as fast as it can, so wall time alone says nothing about
a live camera. A window can only be emitted once the stream has passed its end (the
windower waits for a frame ``allowed_lateness_s`` after it), and then it costs the time
the pipeline takes. So each window's latency is two parts:

- wait: the sensor time from the window's end to the newest sensor event read when the
  window was emitted (what a live run spends waiting for the camera);
- processing: the wall time from reading that event to the Emotion written to every
  sink (association, tracking, windowing, model, fusion, recording).

Their sum is the live latency as long as the pipeline keeps up with the sensor (a
real-time factor of at least 1); below that, a live run's queue, and latency, grows
without bound, which no percentile here shows.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LatencyRecorder:
    """Per-window latency parts, in ms (8 bytes each, so an hour of windows stays small)."""

    wait_ms: array = field(default_factory=lambda: array("d"))
    processing_ms: array = field(default_factory=lambda: array("d"))

    def add(self, wait_ms: float, processing_ms: float) -> None:
        """Record one window's two parts."""
        self.wait_ms.append(wait_ms)
        self.processing_ms.append(processing_ms)

    def __len__(self) -> int:
        return len(self.wait_ms)

    def total_ms(self) -> np.ndarray:
        """Wait plus processing of each window."""
        return np.frombuffer(self.wait_ms, np.float64) + np.frombuffer(self.processing_ms,
                                                                       np.float64)

    def percentiles(self, which: str = "total",
                    percents: tuple[float, ...] = (50.0, 95.0, 99.0)) -> tuple[float, ...]:
        """Percentiles (ms) of ``which``: total, wait or processing; NaN with no windows."""
        values = (self.total_ms() if which == "total"
                  else np.frombuffer(getattr(self, f"{which}_ms"), np.float64))
        if values.size == 0:
            return tuple(float("nan") for _ in percents)
        return tuple(float(v) for v in np.percentile(values, percents))

    def describe(self) -> str:
        """One line: p50/p95/p99/max of the total, and the split at the median."""
        if not len(self):
            return "window end -> Emotion written: no windows"
        p50, p95, p99 = self.percentiles()
        worst = float(self.total_ms().max())
        wait = self.percentiles("wait", (50.0,))[0]
        work = self.percentiles("processing", (50.0,))[0]
        return (f"window end -> Emotion written, live-equivalent: p50 {p50:.1f} ms, p95 "
                f"{p95:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms over {len(self)} "
                f"windows (median wait for the stream {wait:.1f} ms + processing "
                f"{work:.1f} ms)")
