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

Everything is deterministic from ``seed``. The ``curated`` preset is the benchmark
condition (frontal, steady, even light); ``heterogeneous`` widens pose, adds motion,
changing and flickering light, occlusions, micro-expressions, people walking in and
out, and mixes all subgroups. Each factor can also be set on its own (see
affect_core.sim.conditions).
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
from affect_core.sim.conditions import FACTOR_PARAMS, PRESETS, Conditions, conditions_for
from affect_core.sim.expressions import VALENCE_AROUSAL, action_units
from affect_core.sim.face_model import expressive_vertices_m, rotation_matrix
from affect_core.sim.face_render import face_box_px
from affect_core.sim.person import PersonState, ScriptedPerson
from affect_core.sim.render import HeadState, Lighting
from affect_core.sim.scene import SceneRenderer
from affect_core.types import CameraModel, ImageFrame, StereoFrame

PRESET_NAMES = tuple(PRESETS)

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("width_px", 640, "IR and stereo image width in pixels", 64, 4096),
    ParamSpec("height_px", 480, "IR and stereo image height in pixels", 48, 4096),
    ParamSpec("fps", 120.0, "IR frame rate in Hz", 1.0, 1000.0),
    ParamSpec("stereo_rate_hz", 30.0, "stereo pair rate in Hz (at most fps)", 0.0, 1000.0),
    ParamSpec("num_people", 1, "people in front of the camera", 0, 4),
    ParamSpec("preset", "curated", "capture conditions: curated or heterogeneous",
              choices=PRESET_NAMES),
    ParamSpec("seed", 0, "random seed; the same seed gives identical frames", 0, 2**31 - 1),
    ParamSpec("focal_length_px", 560.0, "focal length of all cameras in pixels", 50.0, 10000.0),
    ParamSpec("baseline_m", 0.05, "stereo baseline in metres", 0.005, 1.0),
    ParamSpec("wall_distance_m", 3.0, "distance of the back wall in metres", 1.0, 20.0),
    ParamSpec("expression_hold_s", 2.5, "mean duration of an expression apex in seconds",
              0.2, 60.0),
    *FACTOR_PARAMS,
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
    factors: tuple[tuple[str, Any], ...] = ()  # factor overrides, see conditions.py

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> RigConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        values = resolve(PARAMS, given, "sim_rig")
        factor_names = {spec.name for spec in FACTOR_PARAMS}
        factors = tuple(sorted((k, v) for k, v in values.items() if k in factor_names))
        config = cls(**{k: v for k, v in values.items() if k not in factor_names},
                     factors=factors)
        config.conditions()  # reject inconsistent factors now, not at the first frame
        return config

    def conditions(self) -> Conditions:
        """Build the capture conditions: the preset with this config's factor overrides."""
        return conditions_for(self.preset, dict(self.factors))


@dataclass
class PersonTruth:
    """Ground truth of one person in view in one frame.

    ``category`` is the expression whose intensity is at least 0.5, else neutral;
    ``landmarks_px`` are the projected landmarks (affect_core.sim.face_model names)
    and ``landmarks_m`` the same points in the IR optical frame. ``box_px`` is clipped
    to the image; ``visible_fraction`` is the share of the face box inside it.
    """

    truth_id: str
    subgroup: str
    category: str
    intensity: float
    valence: float
    arousal: float
    micro_expression: bool
    position_m: tuple[float, float, float]
    yaw_pitch_roll_deg: tuple[float, float, float]
    rotation: npt.NDArray[np.float64]
    box_px: tuple[int, int, int, int]  # x, y, width, height
    visible_fraction: float
    landmarks_px: npt.NDArray[np.float64]
    landmarks_m: npt.NDArray[np.float64]
    eyes_closed: float
    occluder: str
    image_speed_px_s: float


@dataclass
class FrameTruth:
    """The ground truth of one frame without its images (cheap to keep for a window)."""

    stamp_ns: int
    people: list[PersonTruth]
    ambient: float
    exposure_gain: float


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

    def truth(self) -> FrameTruth:
        """Extract this frame's ground truth alone."""
        return FrameTruth(self.stamp_ns, self.people, self.ambient, self.exposure_gain)


class SimRig:
    """A deterministic source of IR frames, stereo pairs and ground truth."""

    def __init__(self, config: RigConfig, start_ns: int = 0) -> None:
        if config.stereo_rate_hz > config.fps:
            raise ValueError(
                f"stereo_rate_hz ({config.stereo_rate_hz}) cannot exceed fps ({config.fps})"
            )
        self.config = config
        self.conditions = config.conditions()
        self.start_ns = start_ns
        self.renderer = SceneRenderer(config.width_px, config.height_px,
                                      config.focal_length_px, config.baseline_m,
                                      config.wall_distance_m, config.seed)
        self._rng = np.random.default_rng([config.seed, 1])
        self._people = [
            ScriptedPerson(i, config.num_people, config.expression_hold_s, self.conditions,
                           np.random.default_rng([config.seed, 100 + i]))
            for i in range(config.num_people)
        ]
        self._last_centre: dict[int, npt.NDArray[np.float64]] = {}
        self._index = 0
        c = self.conditions
        self._exposure = float(self._rng.uniform(c.exposure_min, c.exposure_max))

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
        c = self.conditions
        ambient = c.ambient_min + (c.ambient_max - c.ambient_min) * 0.5 * (
            1.0 + math.sin(2.0 * math.pi * t_s / 7.3))
        ambient *= 1.0 + c.flicker_amplitude * math.sin(2.0 * math.pi * c.flicker_hz * t_s)
        jump_probability = c.exposure_change_hz / self.config.fps
        if jump_probability > 0.0 and self._rng.random() < jump_probability:
            self._exposure = float(self._rng.uniform(c.exposure_min, c.exposure_max))
        return Lighting(ambient=ambient, exposure_gain=self._exposure)

    def step(self) -> SimFrame:
        """Render the next frame."""
        index = self._index
        self._index += 1
        stamp = self.stamp_ns(index)
        t_s = (stamp - self.start_ns) / 1e9
        dt_s = 1.0 / self.config.fps
        camera = self.renderer.ir_camera
        heads: list[HeadState] = []
        truths: list[PersonTruth] = []
        for person in self._people:
            state = person.state_at(t_s, dt_s)
            if not state.present:
                self._last_centre.pop(person.index, None)
                continue
            aus = action_units(state.category, state.intensity)
            aus["blink"] = state.eye_closure
            rotation = rotation_matrix(*state.angles_rad)
            head = HeadState(person.identity, expressive_vertices_m(person.identity, aus),
                             rotation, state.position_m, occluder=state.occluder,
                             action_units=aus)
            landmarks_m = head.landmarks_camera_m()
            landmarks_px = camera.project(landmarks_m)
            centre = landmarks_px.mean(axis=0)
            last = self._last_centre.get(person.index)
            velocity = (centre - last) / dt_s if last is not None else np.zeros(2)
            self._last_centre[person.index] = centre
            blur = velocity * self.conditions.motion_blur_exposure_s
            head.blur_px = (float(blur[0]), float(blur[1]))
            heads.append(head)
            truths.append(self._truth(person, state, head, landmarks_px, landmarks_m,
                                      float(np.linalg.norm(velocity))))
        lighting = self._lighting(t_s)
        patches = self.renderer.draw(heads, lighting)
        ir = self.renderer.render_ir(heads, lighting, self._rng, patches)
        stereo = depth = None
        if self._has_stereo(index):
            left, right, depth_m = self.renderer.render_stereo(heads, self._rng, patches)
            stereo = StereoFrame(stamp, left, right, self.renderer.left_camera,
                                 self.renderer.right_camera)
            depth = ImageFrame(stamp, self.renderer.left_camera.frame_id, "32FC1", depth_m)
        return SimFrame(
            stamp_ns=stamp,
            ir=ImageFrame(stamp, camera.frame_id, "mono16", ir),
            ir_camera=camera,
            stereo=stereo, depth_truth=depth, people=truths,
            ambient=lighting.ambient, exposure_gain=lighting.exposure_gain,
        )

    def _truth(self, person: ScriptedPerson, state: PersonState, head: HeadState,
               landmarks_px: npt.NDArray[np.float64], landmarks_m: npt.NDArray[np.float64],
               speed_px_s: float) -> PersonTruth:
        camera = self.renderer.ir_camera
        x0, y0, x1, y1 = face_box_px(head, camera, margin_px=0)
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1, cy1 = min(x1, camera.width_px), min(y1, camera.height_px)
        full = max((x1 - x0) * (y1 - y0), 1)
        visible = max(cx1 - cx0, 0) * max(cy1 - cy0, 0) / full
        category = state.category if state.intensity >= 0.5 else labels.NEUTRAL
        valence, arousal = VALENCE_AROUSAL[state.category]
        yaw, pitch, roll = (float(np.degrees(a)) for a in state.angles_rad)
        return PersonTruth(
            truth_id=f"sim{person.index}", subgroup=person.identity.subgroup,
            category=category, intensity=state.intensity,
            valence=valence * state.intensity, arousal=arousal * state.intensity,
            micro_expression=state.micro_expression and category != labels.NEUTRAL,
            position_m=(float(state.position_m[0]), float(state.position_m[1]),
                        float(state.position_m[2])),
            yaw_pitch_roll_deg=(yaw, pitch, roll), rotation=head.rotation,
            box_px=(cx0, cy0, max(cx1 - cx0, 0), max(cy1 - cy0, 0)),
            visible_fraction=float(visible), landmarks_px=landmarks_px,
            landmarks_m=landmarks_m, eyes_closed=state.eye_closure,
            occluder=state.occluder, image_speed_px_s=speed_px_s,
        )

    def frames(self, duration_s: float) -> Iterator[SimFrame]:
        """Frames covering ``duration_s`` seconds of sensor time from the current one."""
        count = int(round(duration_s * self.config.fps))
        for _ in range(count):
            yield self.step()
