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

"""The window_sync stage: per-person windows of face observations, tiling time by a hop.

Window ends fall at ``stream_start + window_s + k * hop_s``; a window covers
[end - window_s, end). A window is emitted once the stream's newest stamp has passed its
end by ``allowed_lateness_s`` (or at flush), so a run of N seconds yields
floor((N - window_s) / hop_s) + 1 windows per person present throughout. Nothing is
dropped silently: late, duplicate and overflow observations are counted by reason.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from affect_core.params import ParamSpec, resolve
from affect_core.types import NAN, FaceFrame, FaceObservation, FaceWindow

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("window_s", 2.0, "window length in seconds", 0.05, 60.0),
    ParamSpec("hop_s", 0.5, "time between consecutive window ends in seconds", 0.01, 60.0),
    ParamSpec("samples_per_window", 8, "face crops (K) sampled per window for the model", 1, 256),
    ParamSpec("nominal_rate_hz", 120.0, "nominal IR frame rate, for frames_expected", 1.0, 1000.0),
    ParamSpec("allowed_lateness_s", 0.05,
              "how long after a window's end late observations are still accepted", 0.0, 10.0),
    ParamSpec("clock_jump_s", 1.0,
              "a stamp this far behind the newest one is a clock jump (replay loop): reset",
              0.01, 3600.0),
)


@dataclass(frozen=True)
class WindowConfig:
    """Validated window_sync parameters (see PARAMS)."""

    window_s: float = 2.0
    hop_s: float = 0.5
    samples_per_window: int = 8
    nominal_rate_hz: float = 120.0
    allowed_lateness_s: float = 0.05
    clock_jump_s: float = 1.0

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> WindowConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        return cls(**resolve(PARAMS, given, "window_sync"))

    @property
    def frames_expected(self) -> int:
        """Frames a fully covered window holds at the nominal rate."""
        return int(round(self.window_s * self.nominal_rate_hz))


@dataclass
class WindowStats:
    """What the windower received, used and dropped (by reason)."""

    observations_received: int = 0
    observations_windowed: int = 0
    windows_emitted: int = 0
    clock_resets: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` observations dropped for ``reason``."""
        self.dropped[reason] = self.dropped.get(reason, 0) + count


def _sample_quality(obs: FaceObservation) -> float:
    q = obs.quality
    return q.pose_stability * q.lighting_consistency * q.sharpness


def _finite_mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else NAN


class Windower:
    """Cuts per-person windows from a stream of FaceFrames (see the module docstring)."""

    def __init__(self, config: WindowConfig) -> None:
        self.config = config
        self.stats = WindowStats()
        self._window_ns = int(round(config.window_s * 1e9))
        self._hop_ns = int(round(config.hop_s * 1e9))
        self._lateness_ns = int(round(config.allowed_lateness_s * 1e9))
        self._jump_ns = int(round(config.clock_jump_s * 1e9))
        # Bounded memory: a person's buffer never holds more than one window plus the
        # lateness at twice the nominal rate; beyond that the oldest is dropped, counted.
        self._max_buffer = int(2 * (config.window_s + config.allowed_lateness_s + config.hop_s)
                               * config.nominal_rate_hz) + 16
        self._reset()

    def _reset(self) -> None:
        self._buffers: dict[str, deque[FaceObservation]] = {}
        self._frame_id = ""
        self._start_ns: int | None = None
        self._newest_ns: int | None = None
        self._next_end_ns = 0

    def push(self, frame: FaceFrame) -> list[FaceWindow]:
        """Add one frame's faces (an empty list still advances time); return ready windows."""
        if self._newest_ns is not None and frame.stamp_ns < self._newest_ns - self._jump_ns:
            self.stats.clock_resets += 1
            self.stats.drop("clock_jump", sum(len(b) for b in self._buffers.values()))
            self._reset()
        if self._start_ns is None:
            self._start_ns = frame.stamp_ns
            self._next_end_ns = frame.stamp_ns + self._window_ns
        self._frame_id = frame.frame_id
        if self._newest_ns is None or frame.stamp_ns > self._newest_ns:
            self._newest_ns = frame.stamp_ns
        oldest_open_ns = self._next_end_ns - self._window_ns
        for obs in frame.faces:
            self.stats.observations_received += 1
            if obs.stamp_ns < oldest_open_ns:
                self.stats.drop("late")
                continue
            buffer = self._buffers.setdefault(obs.person_id, deque())
            if any(o.stamp_ns == obs.stamp_ns for o in buffer):
                self.stats.drop("duplicate_stamp")
                continue
            if buffer and obs.stamp_ns < buffer[-1].stamp_ns:
                items = sorted([*buffer, obs], key=lambda o: o.stamp_ns)
                buffer.clear()
                buffer.extend(items)
            else:
                buffer.append(obs)
            if len(buffer) > self._max_buffer:
                buffer.popleft()
                self.stats.drop("overflow")
        return self._emit_until(self._newest_ns - self._lateness_ns)

    def flush(self, end_ns: int) -> list[FaceWindow]:
        """Emit every window that ends at or before ``end_ns`` (end of a recording)."""
        if self._start_ns is None:
            return []
        return self._emit_until(end_ns)

    def _emit_until(self, horizon_ns: int) -> list[FaceWindow]:
        windows: list[FaceWindow] = []
        while self._next_end_ns <= horizon_ns:
            end = self._next_end_ns
            start = end - self._window_ns
            for person_id in sorted(self._buffers):
                inside = [o for o in self._buffers[person_id] if start <= o.stamp_ns < end]
                if inside:
                    windows.append(self._make_window(person_id, start, end, inside))
            self._next_end_ns += self._hop_ns
            next_start = self._next_end_ns - self._window_ns
            for person_id in list(self._buffers):
                buffer = self._buffers[person_id]
                while buffer and buffer[0].stamp_ns < next_start:
                    buffer.popleft()
                    self.stats.observations_windowed += 1
                if not buffer:
                    del self._buffers[person_id]
        self.stats.windows_emitted += len(windows)
        return windows

    def _make_window(self, person_id: str, start_ns: int, end_ns: int,
                     inside: list[FaceObservation]) -> FaceWindow:
        k = self.config.samples_per_window
        bins: list[list[FaceObservation]] = [[] for _ in range(k)]
        span = end_ns - start_ns
        for obs in inside:
            bins[min((obs.stamp_ns - start_ns) * k // span, k - 1)].append(obs)
        samples = [max(b, key=_sample_quality) for b in bins if b]
        return FaceWindow(
            person_id=person_id,
            frame_id=self._frame_id,
            start_ns=start_ns,
            end_ns=end_ns,
            frames_used=len(inside),
            frames_expected=self.config.frames_expected,
            samples=samples,
            pose_stability=float(np.mean([o.quality.pose_stability for o in inside])),
            lighting_consistency=float(np.mean([o.quality.lighting_consistency for o in inside])),
            depth_consistency=_finite_mean([o.quality.depth_consistency for o in inside]),
            head_position_m=(
                _finite_mean([o.head_position_m[0] for o in inside]),
                _finite_mean([o.head_position_m[1] for o in inside]),
                _finite_mean([o.head_position_m[2] for o in inside]),
            ),
        )
