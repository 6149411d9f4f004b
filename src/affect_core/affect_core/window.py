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
floor((N - window_s) / hop_s) + 1 windows per person present throughout.

Nothing is dropped silently: every observation received is, exactly once, either
windowed (used in at least one emitted window) or counted as dropped with its reason:
``late`` (older than every open window), ``duplicate_stamp`` (a second observation of
the same person at the same stamp), ``overflow`` (memory bound reached), ``clock_jump``
(stamps jumped back, e.g. a replay loop: the windower restarts) or
``after_last_window`` (still waiting when the stream ended).

The K samples handed to the model are chosen so that short events are not skipped: up
to ``event_samples`` slots go to frames whose crop departs most from the person's
recent appearance (a robust outlier test, so a blink or a 40 ms micro-expression is
caught), the rest to the best-quality frame of each of K - E equal slices of the window.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.errors import ConfigError
from affect_core.params import ParamSpec, resolve
from affect_core.types import NAN, FaceFrame, FaceObservation, FaceWindow

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("window_s", 2.0, "window length in seconds", 0.05, 60.0),
    ParamSpec("hop_s", 0.5, "time between consecutive window ends in seconds", 0.01, 60.0),
    ParamSpec("samples_per_window", 8, "face crops (K) sampled per window for the model", 1, 256),
    ParamSpec("event_samples", 2,
              "of the K samples, at most this many go to short events (blinks, "
              "micro-expressions)", 0, 256),
    ParamSpec("event_threshold", 4.0,
              "robust z-score of appearance change above which a frame is an event", 1.0, 100.0),
    ParamSpec("nominal_rate_hz", 120.0, "nominal IR frame rate, for frames_expected", 1.0, 1000.0),
    ParamSpec("allowed_lateness_s", 0.0,
              "how long after a window's end late observations are still accepted; every "
              "window waits this long (0: the face tracker delivers its frames in order, "
              "so the first frame at or after the end closes the window)", 0.0, 10.0),
    ParamSpec("clock_jump_s", 1.0,
              "a stamp this far behind the newest one is a clock jump (replay loop): reset",
              0.01, 3600.0),
)

DROP_REASONS = ("late", "duplicate_stamp", "overflow", "clock_jump", "after_last_window")
_THUMB_PX = 16


@dataclass(frozen=True)
class WindowConfig:
    """Validated window_sync parameters (see PARAMS)."""

    window_s: float = 2.0
    hop_s: float = 0.5
    samples_per_window: int = 8
    event_samples: int = 2
    event_threshold: float = 4.0
    nominal_rate_hz: float = 120.0
    allowed_lateness_s: float = 0.0
    clock_jump_s: float = 1.0

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> WindowConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        config = cls(**resolve(PARAMS, given, "window_sync"))
        if config.event_samples >= config.samples_per_window and config.samples_per_window > 1:
            raise ConfigError(f"event_samples ({config.event_samples}) must be below "
                              f"samples_per_window ({config.samples_per_window})")
        return config

    @property
    def frames_expected(self) -> int:
        """Frames a fully covered window holds at the nominal rate."""
        return int(round(self.window_s * self.nominal_rate_hz))


@dataclass
class WindowStats:
    """What the windower received, windowed and dropped (by reason)."""

    observations_received: int = 0
    observations_windowed: int = 0
    windows_emitted: int = 0
    clock_resets: int = 0
    buffered: int = 0
    peak_buffered: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` observations dropped for ``reason``."""
        if count:
            self.dropped[reason] = self.dropped.get(reason, 0) + count

    @property
    def completeness(self) -> float:
        """Observations windowed / received (1.0 when nothing was lost)."""
        return self.observations_windowed / max(self.observations_received, 1)


@dataclass
class _Entry:
    obs: FaceObservation
    saliency: float
    used: bool = False


@dataclass
class _PersonBuffer:
    entries: deque[_Entry] = field(default_factory=deque)
    stamps: set[int] = field(default_factory=set)
    appearance: npt.NDArray[np.float32] | None = None


def _quality(obs: FaceObservation) -> float:
    q = obs.quality
    return q.pose_stability * q.lighting_consistency * (q.sharpness if q.sharpness == q.sharpness
                                                        else 1.0)


def _finite_mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else NAN


def _thumbnail(crop: npt.NDArray[np.generic]) -> npt.NDArray[np.float32] | None:
    if crop.ndim != 2 or crop.size == 0:
        return None
    small = cv2.resize(crop.astype(np.float32), (_THUMB_PX, _THUMB_PX),
                       interpolation=cv2.INTER_AREA)
    mean, std = (float(v[0][0]) for v in cv2.meanStdDev(small))
    return (small - mean) * np.float32(1.0 / (std if std > 1e-6 else 1.0))


class Windower:
    """Cuts per-person windows from a stream of FaceFrames (see the module docstring)."""

    def __init__(self, config: WindowConfig) -> None:
        self.config = config
        self.stats = WindowStats()
        self._window_ns = int(round(config.window_s * 1e9))
        self._hop_ns = int(round(config.hop_s * 1e9))
        if self._window_ns <= 0 or self._hop_ns <= 0:
            # A zero hop would never advance the windows: the emit loop would not end.
            raise ConfigError(f"window_s and hop_s must be at least 1 ns, got "
                              f"{config.window_s} and {config.hop_s}")
        self._lateness_ns = int(round(config.allowed_lateness_s * 1e9))
        self._jump_ns = int(round(config.clock_jump_s * 1e9))
        # Bounded memory: a person's buffer never holds more than one window plus the
        # lateness and a hop at twice the nominal rate; beyond that the oldest is dropped.
        self._max_buffer = int(2 * (config.window_s + config.allowed_lateness_s + config.hop_s)
                               * config.nominal_rate_hz) + 16
        self._reset()

    def _reset(self) -> None:
        self._people: dict[str, _PersonBuffer] = {}
        self._frame_id = ""
        self._start_ns: int | None = None
        self._newest_ns: int | None = None
        self._next_end_ns = 0

    def push(self, frame: FaceFrame) -> list[FaceWindow]:
        """Add one frame's faces (an empty list still advances time); return ready windows."""
        if self._newest_ns is not None and frame.stamp_ns < self._newest_ns - self._jump_ns:
            self.stats.clock_resets += 1
            for person in self._people.values():
                self._retire_all(person, "clock_jump")
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
            person = self._people.setdefault(obs.person_id, _PersonBuffer())
            if obs.stamp_ns in person.stamps:
                self.stats.drop("duplicate_stamp")
                continue
            person.stamps.add(obs.stamp_ns)
            entry = _Entry(obs, self._saliency(person, obs))
            if person.entries and obs.stamp_ns < person.entries[-1].obs.stamp_ns:
                items = sorted([*person.entries, entry], key=lambda e: e.obs.stamp_ns)
                person.entries.clear()
                person.entries.extend(items)
            else:
                person.entries.append(entry)
            self.stats.buffered += 1
            if len(person.entries) > self._max_buffer:
                self._retire(person, "overflow")
        self.stats.peak_buffered = max(self.stats.peak_buffered, self.stats.buffered)
        return self._emit_until(self._newest_ns - self._lateness_ns)

    def flush(self, end_ns: int) -> list[FaceWindow]:
        """Emit every window that ends at or before ``end_ns`` (end of a recording).

        Observations after the last emitted window are then counted as
        ``after_last_window``; the windower is ready for a new stream.
        """
        if self._start_ns is None:
            return []
        windows = self._emit_until(end_ns)
        for person in self._people.values():
            self._retire_all(person, "after_last_window")
        self._reset()
        return windows

    def _saliency(self, person: _PersonBuffer, obs: FaceObservation) -> float:
        thumb = _thumbnail(obs.crop)
        if thumb is None:
            return 0.0
        if person.appearance is None or person.appearance.shape != thumb.shape:
            person.appearance = thumb
            return 0.0
        change = float(cv2.mean(cv2.absdiff(thumb, person.appearance))[0])
        cv2.accumulateWeighted(thumb, person.appearance, 0.05)
        return change

    def _retire(self, person: _PersonBuffer, reason: str) -> None:
        """Take the oldest entry out of ``person``'s buffer and account for it."""
        entry = person.entries.popleft()
        person.stamps.discard(entry.obs.stamp_ns)
        self.stats.buffered -= 1
        if entry.used:
            self.stats.observations_windowed += 1
        else:
            self.stats.drop(reason)

    def _retire_all(self, person: _PersonBuffer, reason: str) -> None:
        while person.entries:
            self._retire(person, reason)

    def _emit_until(self, horizon_ns: int) -> list[FaceWindow]:
        windows: list[FaceWindow] = []
        while self._next_end_ns <= horizon_ns:
            self._skip_empty_windows(horizon_ns)
            if self._next_end_ns > horizon_ns:
                break
            end = self._next_end_ns
            start = end - self._window_ns
            for person_id in sorted(self._people):
                inside = [e for e in self._people[person_id].entries
                          if start <= e.obs.stamp_ns < end]
                if inside:
                    for entry in inside:
                        entry.used = True
                    windows.append(self._make_window(person_id, start, end, inside))
            self._next_end_ns += self._hop_ns
            self._retire_before(self._next_end_ns - self._window_ns)
        self.stats.windows_emitted += len(windows)
        return windows

    def _skip_empty_windows(self, horizon_ns: int) -> None:
        """Jump over the windows up to ``horizon_ns`` that cannot hold an observation.

        A window ending at or before the oldest buffered stamp holds nothing, so a clock
        leaping forward (a camera switching from boot to epoch time) costs one step here
        instead of one turn of the emit loop per hop in between.
        """
        oldest = [p.entries[0].obs.stamp_ns for p in self._people.values() if p.entries]
        limit_ns = min([horizon_ns, *oldest])
        if limit_ns < self._next_end_ns:
            return
        self._next_end_ns += ((limit_ns - self._next_end_ns) // self._hop_ns + 1) * self._hop_ns
        self._retire_before(self._next_end_ns - self._window_ns)

    def _retire_before(self, start_ns: int) -> None:
        """Retire what no window from ``start_ns`` on can hold, and people left with nothing."""
        for person_id in list(self._people):
            person = self._people[person_id]
            while person.entries and person.entries[0].obs.stamp_ns < start_ns:
                self._retire(person, "late")
            if not person.entries:
                del self._people[person_id]

    def _pick_samples(self, start_ns: int, end_ns: int,
                      inside: list[_Entry]) -> list[FaceObservation]:
        k = self.config.samples_per_window
        events: list[_Entry] = []
        if self.config.event_samples and len(inside) >= 8:
            saliency = np.array([e.saliency for e in inside])
            median = float(np.median(saliency))
            spread = 1.4826 * float(np.median(np.abs(saliency - median))) + 1e-6
            order = np.argsort(-saliency)
            for i in order[: self.config.event_samples * 4]:
                if (saliency[i] - median) / spread < self.config.event_threshold:
                    break
                # One sample per event: skip frames next to an already chosen one.
                if all(abs(inside[i].obs.stamp_ns - e.obs.stamp_ns) > 0.25 * (end_ns - start_ns)
                       / k for e in events):
                    events.append(inside[i])
                if len(events) == self.config.event_samples:
                    break
        slices = max(k - len(events), 1)
        bins: list[list[_Entry]] = [[] for _ in range(slices)]
        span = end_ns - start_ns
        chosen = {id(e) for e in events}
        for entry in inside:
            if id(entry) not in chosen:
                bins[min((entry.obs.stamp_ns - start_ns) * slices // span, slices - 1)].append(
                    entry)
        picks = events + [max(b, key=lambda e: _quality(e.obs)) for b in bins if b]
        return [e.obs for e in sorted(picks, key=lambda e: e.obs.stamp_ns)]

    def _make_window(self, person_id: str, start_ns: int, end_ns: int,
                     inside: list[_Entry]) -> FaceWindow:
        frames = [e.obs for e in inside]
        return FaceWindow(
            person_id=person_id,
            frame_id=self._frame_id,
            start_ns=start_ns,
            end_ns=end_ns,
            frames_used=len(frames),
            frames_expected=self.config.frames_expected,
            samples=self._pick_samples(start_ns, end_ns, inside),
            pose_stability=float(np.mean([o.quality.pose_stability for o in frames])),
            lighting_consistency=float(np.mean([o.quality.lighting_consistency
                                                for o in frames])),
            depth_consistency=_finite_mean([o.quality.depth_consistency for o in frames]),
            head_position_m=(
                _finite_mean([o.head_position_m[0] for o in frames]),
                _finite_mean([o.head_position_m[1] for o in frames]),
                _finite_mean([o.head_position_m[2] for o in frames]),
            ),
            frame_stamps_ns=tuple(o.stamp_ns for o in frames),
            frame_quality=tuple(o.quality for o in frames),
            sharpness=_finite_mean([o.quality.sharpness for o in frames]),
        )
