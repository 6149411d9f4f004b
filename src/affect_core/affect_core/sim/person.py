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

"""One scripted person: identity, expressions over time, blinks, head motion, presence.

Expressions follow onset, apex and offset; micro-expressions (40-200 ms) interrupt them;
blinks close the eyes for 150 ms every 2-6 s; the head turns slowly and shakes by the
conditions' amounts; occlusions (hand, hair, mask) come and go; with ``enter_leave``
the person walks out of view and back. Every random choice comes from the person's own
generator, so a person's script does not depend on how many others share the room.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from affect_core import labels
from affect_core.sim.conditions import OCCLUDERS, Conditions
from affect_core.sim.face_model import Identity, sample_identity

BLINK_S = 0.15
WALK_S = 0.8
SPREAD_M = 0.26
MICRO_MIN_S, MICRO_MAX_S = 0.04, 0.2


@dataclass
class Segment:
    """An expression episode: onset ramp, apex hold, offset ramp."""

    category: str
    start_s: float
    onset_s: float
    apex_s: float
    offset_s: float
    peak: float = 1.0
    micro: bool = False

    @property
    def end_s(self) -> float:
        """When the offset ends."""
        return self.start_s + self.onset_s + self.apex_s + self.offset_s

    def envelope(self, t_s: float) -> float:
        """Intensity in [0, peak] at time ``t_s``."""
        u = t_s - self.start_s
        if u < 0.0 or u >= self.onset_s + self.apex_s + self.offset_s:
            return 0.0
        if u < self.onset_s:
            return self.peak * u / self.onset_s
        if u < self.onset_s + self.apex_s:
            return self.peak
        return self.peak * (1.0 - (u - self.onset_s - self.apex_s) / self.offset_s)


@dataclass
class PersonState:
    """What the person does at one instant."""

    present: bool
    category: str
    intensity: float
    micro_expression: bool
    eye_closure: float
    angles_rad: npt.NDArray[np.float64]
    position_m: npt.NDArray[np.float64]
    occluder: str


class ScriptedPerson:
    """Draws a person's behaviour lazily as time advances (see the module docstring)."""

    def __init__(self, index: int, count: int, hold_s: float, cond: Conditions,
                 rng: np.random.Generator) -> None:
        self.rng = rng
        self.index = index
        self.cond = cond
        subgroup = cond.subgroups[index % len(cond.subgroups)]
        self.identity: Identity = sample_identity(rng, index, subgroup)
        self.base = np.array([(index - (count - 1) / 2.0) * SPREAD_M,
                              float(rng.uniform(-0.05, 0.05)), float(rng.uniform(0.85, 1.25))])
        self.hold_s = hold_s
        self._segments: list[Segment] = []
        self._micro: list[Segment] = []
        self._next_start_s = float(rng.uniform(0.2, 0.8))
        self._next_micro_s = self._poisson_gap(cond.micro_expression_rate_hz)
        self._next_blink_s = float(rng.uniform(0.5, 4.0))
        self._blink_start_s = -1.0
        self._phase = rng.uniform(0.0, 2.0 * np.pi, size=3)
        self._freq_hz = rng.uniform(0.05, 0.25, size=3)
        self._jitter = np.zeros(3)
        self._drift_dir = rng.normal(size=2)
        self._occlusion: tuple[str, float, float] | None = None  # kind, start, end
        self._next_occlusion_s = self._poisson_gap(cond.occlusion_rate_hz)
        # Presence: [enter, leave) intervals; everyone is in view at the start.
        self._enter_s = 0.0
        self._leave_s = float(rng.uniform(6.0, 20.0)) if cond.enter_leave else math.inf
        self._side = 1.0 if rng.random() < 0.5 else -1.0

    def _poisson_gap(self, rate_hz: float) -> float:
        return float(self.rng.exponential(1.0 / rate_hz)) if rate_hz > 0.0 else math.inf

    def _extend(self, t_s: float) -> None:
        while self._next_start_s <= t_s + 5.0:
            category = labels.EXPRESSIONS[int(self.rng.integers(0, len(labels.EXPRESSIONS)))]
            seg = Segment(category, self._next_start_s, float(self.rng.uniform(0.15, 0.5)),
                          float(self.rng.uniform(0.6, 1.4)) * self.hold_s,
                          float(self.rng.uniform(0.15, 0.5)))
            self._segments.append(seg)
            self._next_start_s = seg.end_s + float(self.rng.uniform(0.3, 1.2))
        while self._next_micro_s <= t_s + 5.0:
            duration = float(self.rng.uniform(MICRO_MIN_S, MICRO_MAX_S))
            category = labels.EXPRESSIONS[int(self.rng.integers(1, len(labels.EXPRESSIONS)))]
            self._micro.append(Segment(category, self._next_micro_s, 0.3 * duration,
                                       0.4 * duration, 0.3 * duration,
                                       peak=float(self.rng.uniform(0.7, 1.0)), micro=True))
            self._next_micro_s += duration + self._poisson_gap(
                self.cond.micro_expression_rate_hz)
        self._segments = [s for s in self._segments if s.end_s >= t_s - 1.0]
        self._micro = [s for s in self._micro if s.end_s >= t_s - 1.0]

    def _expression(self, t_s: float) -> tuple[str, float, bool]:
        self._extend(t_s)
        for seg in (*self._micro, *self._segments):
            env = seg.envelope(t_s)
            if env > 0.0:
                return seg.category, env, seg.micro
        return labels.NEUTRAL, 0.0, False

    def _eye_closure(self, t_s: float) -> float:
        while t_s >= self._next_blink_s:
            self._blink_start_s = self._next_blink_s
            self._next_blink_s += float(self.rng.uniform(2.0, 6.0))
        u = t_s - self._blink_start_s
        return 1.0 - abs(2.0 * u / BLINK_S - 1.0) if 0.0 <= u < BLINK_S else 0.0

    def _occluder(self, t_s: float) -> str:
        if self._occlusion is not None and t_s >= self._occlusion[2]:
            self._occlusion = None
        if self._occlusion is None and t_s >= self._next_occlusion_s:
            kind = OCCLUDERS[int(self.rng.integers(0, len(OCCLUDERS)))]
            end = t_s + float(self.rng.uniform(0.4, 2.0))
            self._occlusion = (kind, t_s, end)
            self._next_occlusion_s = end + self._poisson_gap(self.cond.occlusion_rate_hz)
        return self._occlusion[0] if self._occlusion is not None else ""

    def _presence_offset_m(self, t_s: float) -> float | None:
        """Sideways offset while walking in or out; None when out of view."""
        while t_s >= self._leave_s + WALK_S:
            self._enter_s = self._leave_s + WALK_S + float(self.rng.uniform(1.0, 5.0))
            self._leave_s = self._enter_s + float(self.rng.uniform(6.0, 20.0))
            self._side = 1.0 if self.rng.random() < 0.5 else -1.0
        if t_s < self._enter_s - WALK_S:
            return None
        if t_s < self._enter_s and self._enter_s > 0.0:
            return self._side * (self._enter_s - t_s) / WALK_S
        if t_s >= self._leave_s:
            return self._side * (t_s - self._leave_s) / WALK_S
        return 0.0

    def state_at(self, t_s: float, dt_s: float) -> PersonState:
        """Advance the person to ``t_s`` (call with increasing times; ``dt_s`` since the last)."""
        category, intensity, micro = self._expression(t_s)
        closure = self._eye_closure(t_s)
        occluder = self._occluder(t_s)
        amp = np.radians(self.cond.pose_amplitude_deg) * np.array([1.0, 0.5, 0.3])
        smooth = amp * np.sin(2.0 * np.pi * self._freq_hz * t_s + self._phase)
        alpha = min(dt_s / 0.05, 1.0)
        self._jitter += alpha * (np.radians(self.cond.pose_jitter_deg)
                                 * self.rng.normal(size=3) - self._jitter)
        drift = self.cond.drift_speed_mps * t_s
        position = self.base + np.array([
            0.08 * math.sin(drift / 0.08 * self._drift_dir[0]) if drift else 0.0, 0.0,
            0.2 * math.sin(drift / 0.2 * self._drift_dir[1]) if drift else 0.0])
        walk = self._presence_offset_m(t_s)
        if walk is not None:
            position = position + np.array([walk * 0.9, 0.0, 0.0])
        return PersonState(walk is not None, category, intensity, micro, closure,
                           smooth + self._jitter, position, occluder)
