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

"""The simulated rig: scripted people before an IR camera and a stereo pair, with truth.

Ground truth comes with every frame.

Everything is deterministic from ``seed``. The ``curated`` preset is the benchmark
condition (frontal, steady, even light); ``heterogeneous`` widens pose, adds motion and
changing light and mixes all subgroups.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from affect_core import labels
from affect_core.params import ParamSpec, resolve
from affect_core.sim.expressions import VALENCE_AROUSAL, action_units
from affect_core.sim.face_model import (
    SUBGROUPS,
    Identity,
    expressive_landmarks_m,
    rotation_matrix,
    sample_identity,
)
from affect_core.sim.render import HeadState, Lighting, face_box_px
from affect_core.sim.scene import SceneRenderer
from affect_core.types import CameraModel, ImageFrame, StereoFrame

PRESETS = ("curated", "heterogeneous")

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("width_px", 640, "IR and stereo image width in pixels", 64, 4096),
    ParamSpec("height_px", 480, "IR and stereo image height in pixels", 48, 4096),
    ParamSpec("fps", 120.0, "IR frame rate in Hz", 1.0, 1000.0),
    ParamSpec("stereo_rate_hz", 30.0, "stereo pair rate in Hz (at most fps)", 0.0, 1000.0),
    ParamSpec("num_people", 1, "people in front of the camera", 0, 4),
    ParamSpec("preset", "curated", "capture conditions: curated or heterogeneous",
              choices=PRESETS),
    ParamSpec("seed", 0, "random seed; the same seed gives identical frames", 0, 2**31 - 1),
    ParamSpec("focal_length_px", 560.0, "focal length of all cameras in pixels", 50.0, 10000.0),
    ParamSpec("baseline_m", 0.05, "stereo baseline in metres", 0.005, 1.0),
    ParamSpec("wall_distance_m", 3.0, "distance of the back wall in metres", 1.0, 20.0),
    ParamSpec("expression_hold_s", 2.5, "mean duration of an expression apex in seconds",
              0.2, 60.0),
)


@dataclass(frozen=True)
class RigConfig:
    """Validated rig parameters (see PARAMS for meaning and ranges)."""

    width_px: int = 640
    height_px: int = 480
    fps: float = 120.0
    stereo_rate_hz: float = 30.0
    num_people: int = 1
    preset: str = "curated"
    seed: int = 0
    focal_length_px: float = 560.0
    baseline_m: float = 0.05
    wall_distance_m: float = 3.0
    expression_hold_s: float = 2.5

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> RigConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        return cls(**resolve(PARAMS, given, "sim_rig"))


@dataclass(frozen=True)
class PresetConditions:
    """The capture factors a preset sets; each may be overridden for ablations."""

    pose_amplitude_deg: float
    pose_jitter_deg: float
    drift_speed_mps: float
    ambient_range: tuple[float, float]
    exposure_range: tuple[float, float]
    subgroups: tuple[str, ...]


CONDITIONS: Mapping[str, PresetConditions] = {
    "curated": PresetConditions(2.0, 0.1, 0.0, (0.02, 0.02), (1.0, 1.0),
                                ("high_reflectance",)),
    "heterogeneous": PresetConditions(25.0, 1.2, 0.05, (0.01, 0.12), (0.7, 1.25), SUBGROUPS),
}


@dataclass
class PersonTruth:
    """Ground truth of one person in one frame."""

    truth_id: str
    subgroup: str
    category: str
    intensity: float
    valence: float
    arousal: float
    position_m: tuple[float, float, float]
    yaw_pitch_roll_deg: tuple[float, float, float]
    box_px: tuple[int, int, int, int]  # x, y, width, height
    eyes_closed: float


@dataclass
class SimFrame:
    """One tick of the rig: an IR frame, maybe a stereo pair, and ground truth."""

    stamp_ns: int
    ir: ImageFrame
    ir_camera: CameraModel
    stereo: StereoFrame | None
    depth_truth: ImageFrame | None
    people: list[PersonTruth] = field(default_factory=list)
    ambient: float = 0.0
    exposure_gain: float = 1.0


@dataclass
class _Segment:
    category: str
    start_s: float
    onset_s: float
    apex_s: float
    offset_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.onset_s + self.apex_s + self.offset_s

    def envelope(self, t_s: float) -> float:
        u = t_s - self.start_s
        if u < 0.0 or u >= self.onset_s + self.apex_s + self.offset_s:
            return 0.0
        if u < self.onset_s:
            return u / self.onset_s
        if u < self.onset_s + self.apex_s:
            return 1.0
        return 1.0 - (u - self.onset_s - self.apex_s) / self.offset_s


class _Person:
    """One scripted person: identity, expression timeline, blinks and head motion."""

    def __init__(self, index: int, count: int, config: RigConfig, cond: PresetConditions,
                 rng: np.random.Generator) -> None:
        self.rng = rng
        self.index = index
        subgroup = cond.subgroups[index % len(cond.subgroups)]
        self.identity: Identity = sample_identity(rng, index, subgroup)
        spread = 0.26
        self.base = np.array([(index - (count - 1) / 2.0) * spread,
                              float(rng.uniform(-0.05, 0.05)),
                              float(rng.uniform(0.85, 1.25))])
        self.hold_s = config.expression_hold_s
        self.cond = cond
        self.segments: list[_Segment] = []
        self._next_start_s = float(rng.uniform(0.2, 0.8))
        self._next_blink_s = float(rng.uniform(0.5, 4.0))
        self._blink_start_s = -1.0
        self.phase = rng.uniform(0.0, 2.0 * np.pi, size=3)
        self.freq_hz = rng.uniform(0.05, 0.25, size=3)
        self.jitter = np.zeros(3)
        self.drift_dir = rng.normal(size=2)

    def _extend(self, t_s: float) -> None:
        while self._next_start_s <= t_s + 5.0:
            category = labels.EXPRESSIONS[int(self.rng.integers(0, len(labels.EXPRESSIONS)))]
            onset = float(self.rng.uniform(0.15, 0.5))
            apex = float(self.rng.uniform(0.6, 1.4)) * self.hold_s
            offset = float(self.rng.uniform(0.15, 0.5))
            seg = _Segment(category, self._next_start_s, onset, apex, offset)
            self.segments.append(seg)
            self._next_start_s = seg.end_s + float(self.rng.uniform(0.3, 1.2))
        self.segments = [s for s in self.segments if s.end_s >= t_s - 1.0]

    def expression_at(self, t_s: float) -> tuple[str, float]:
        self._extend(t_s)
        for seg in self.segments:
            env = seg.envelope(t_s)
            if env > 0.0:
                return seg.category, env
        return labels.NEUTRAL, 0.0

    def eye_closure_at(self, t_s: float) -> float:
        if t_s >= self._next_blink_s:
            self._blink_start_s = self._next_blink_s
            self._next_blink_s += float(self.rng.uniform(2.0, 6.0))
        u = t_s - self._blink_start_s
        blink_s = 0.15
        if 0.0 <= u < blink_s:
            return 1.0 - abs(2.0 * u / blink_s - 1.0)
        return 0.0

    def pose_at(self, t_s: float, dt_s: float) -> tuple[npt.NDArray[np.float64], np.ndarray]:
        amp = np.radians(self.cond.pose_amplitude_deg) * np.array([1.0, 0.5, 0.3])
        smooth = amp * np.sin(2.0 * np.pi * self.freq_hz * t_s + self.phase)
        alpha = min(dt_s / 0.05, 1.0)
        self.jitter += alpha * (
            np.radians(self.cond.pose_jitter_deg) * self.rng.normal(size=3) - self.jitter
        )
        angles = smooth + self.jitter
        drift = self.cond.drift_speed_mps * t_s
        offset = np.array([
            0.15 * math.sin(drift / 0.15 * self.drift_dir[0]) if drift else 0.0,
            0.0,
            0.2 * math.sin(drift / 0.2 * self.drift_dir[1]) if drift else 0.0,
        ])
        return angles, self.base + offset


class SimRig:
    """A deterministic source of IR frames, stereo pairs and ground truth."""

    def __init__(self, config: RigConfig, start_ns: int = 0) -> None:
        if config.stereo_rate_hz > config.fps:
            raise ValueError(
                f"stereo_rate_hz ({config.stereo_rate_hz}) cannot exceed fps ({config.fps})"
            )
        self.config = config
        self.conditions = CONDITIONS[config.preset]
        self.start_ns = start_ns
        self.renderer = SceneRenderer(config.width_px, config.height_px,
                                      config.focal_length_px, config.baseline_m,
                                      config.wall_distance_m, config.seed)
        self._rng = np.random.default_rng([config.seed, 1])
        self._people = [
            _Person(i, config.num_people, config, self.conditions,
                    np.random.default_rng([config.seed, 100 + i]))
            for i in range(config.num_people)
        ]
        self._index = 0
        self._exposure = 1.0

    @property
    def ir_camera(self) -> CameraModel:
        """Intrinsics of the IR camera."""
        return self.renderer.ir_camera

    def stamp_ns(self, index: int) -> int:
        """Stamp of frame ``index``, computed from the index so long runs do not drift."""
        return self.start_ns + int(round(index * 1e9 / self.config.fps))

    def _has_stereo(self, index: int) -> bool:
        rate = self.config.stereo_rate_hz
        if rate <= 0.0:
            return False
        ratio = rate / self.config.fps
        previous = math.floor((index - 1) * ratio + 1e-9)
        return index == 0 or math.floor(index * ratio + 1e-9) > previous

    def _lighting(self, t_s: float) -> Lighting:
        lo, hi = self.conditions.ambient_range
        ambient = lo + (hi - lo) * 0.5 * (1.0 + math.sin(2.0 * math.pi * t_s / 7.3))
        elo, ehi = self.conditions.exposure_range
        if elo != ehi and self._rng.random() < 1.0 / (2.0 * self.config.fps):
            self._exposure = float(self._rng.uniform(elo, ehi))
        return Lighting(ambient=ambient, exposure_gain=self._exposure if elo != ehi else elo)

    def step(self) -> SimFrame:
        """Render the next frame."""
        index = self._index
        self._index += 1
        stamp = self.stamp_ns(index)
        t_s = (stamp - self.start_ns) / 1e9
        dt_s = 1.0 / self.config.fps
        heads: list[HeadState] = []
        truths: list[PersonTruth] = []
        for person in self._people:
            category, envelope = person.expression_at(t_s)
            closure = person.eye_closure_at(t_s)
            aus = action_units(category, envelope)
            aus["blink"] = closure
            angles, position = person.pose_at(t_s, dt_s)
            rotation = rotation_matrix(*angles)
            head = HeadState(person.identity, expressive_landmarks_m(person.identity, aus),
                             rotation, position)
            heads.append(head)
            x0, y0, x1, y1 = face_box_px(head, self.renderer.ir_camera, margin_px=0)
            truth_category = category if envelope >= 0.5 else labels.NEUTRAL
            valence, arousal = VALENCE_AROUSAL[category]
            truths.append(PersonTruth(
                truth_id=f"sim{person.index}", subgroup=person.identity.subgroup,
                category=truth_category, intensity=envelope,
                valence=valence * envelope, arousal=arousal * envelope,
                position_m=(float(position[0]), float(position[1]), float(position[2])),
                yaw_pitch_roll_deg=(float(np.degrees(angles[0])), float(np.degrees(angles[1])),
                                    float(np.degrees(angles[2]))),
                box_px=(x0, y0, x1 - x0, y1 - y0), eyes_closed=closure,
            ))
        lighting = self._lighting(t_s)
        ir = self.renderer.render_ir(heads, lighting, self._rng)
        stereo = depth = None
        if self._has_stereo(index):
            left, right, depth_m = self.renderer.render_stereo(heads, self._rng)
            stereo = StereoFrame(stamp, left, right, self.renderer.left_camera,
                                 self.renderer.right_camera)
            depth = ImageFrame(stamp, self.renderer.left_camera.frame_id, "32FC1", depth_m)
        return SimFrame(
            stamp_ns=stamp,
            ir=ImageFrame(stamp, self.renderer.ir_camera.frame_id, "mono16", ir),
            ir_camera=self.renderer.ir_camera,
            stereo=stereo, depth_truth=depth, people=truths,
            ambient=lighting.ambient, exposure_gain=lighting.exposure_gain,
        )

    def frames(self, duration_s: float) -> Iterator[SimFrame]:
        """Frames covering ``duration_s`` seconds of sensor time from the current one."""
        count = int(round(duration_s * self.config.fps))
        for _ in range(count):
            yield self.step()
