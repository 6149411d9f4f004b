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

"""Capture conditions: every factor the rig varies, as data, and the two presets.

``curated`` is the benchmark condition of curated data sets: frontal, steady, even
light, one subgroup, nothing in the way. ``heterogeneous`` turns every factor up. Each
factor is also a rig parameter of its own (``-1`` keeps the preset's value), so an
ablation can change exactly one thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any

from affect_core.errors import ConfigError
from affect_core.params import ParamSpec
from affect_core.sim.face_model import SUBGROUPS

OCCLUDERS = ("hand", "hair", "mask")


@dataclass(frozen=True)
class Conditions:
    """The capture factors of one rig run (units in the names)."""

    pose_amplitude_deg: float  # slow head turning: yaw amplitude (pitch half, roll 0.3x)
    pose_jitter_deg: float  # shaky head: std of fast head motion
    drift_speed_mps: float  # moving about in the room
    ambient_min: float  # ambient IR (sunlight) as signal at albedo 1, fraction of full scale
    ambient_max: float
    exposure_min: float  # auto-exposure gain range
    exposure_max: float
    exposure_change_hz: float  # how often the gain jumps
    flicker_amplitude: float  # relative modulation of ambient light by mains lighting
    flicker_hz: float  # 100 Hz (50 Hz mains) or 120 Hz (60 Hz mains)
    motion_blur_exposure_s: float  # sensor exposure time that smears moving faces (0: none)
    occlusion_rate_hz: float  # hand, hair or mask events per person per second
    micro_expression_rate_hz: float  # 40-200 ms expressions per person per second
    enter_leave: bool  # people walk in and out of view
    subgroups: tuple[str, ...]


PRESETS: Mapping[str, Conditions] = MappingProxyType({
    "curated": Conditions(
        pose_amplitude_deg=2.0, pose_jitter_deg=0.1, drift_speed_mps=0.0,
        ambient_min=0.02, ambient_max=0.02, exposure_min=1.0, exposure_max=1.0,
        exposure_change_hz=0.0, flicker_amplitude=0.0, flicker_hz=100.0,
        motion_blur_exposure_s=0.0, occlusion_rate_hz=0.0, micro_expression_rate_hz=0.0,
        enter_leave=False, subgroups=("high_reflectance",)),
    "heterogeneous": Conditions(
        pose_amplitude_deg=25.0, pose_jitter_deg=1.2, drift_speed_mps=0.05,
        ambient_min=0.01, ambient_max=0.12, exposure_min=0.7, exposure_max=1.25,
        exposure_change_hz=0.5, flicker_amplitude=0.15, flicker_hz=100.0,
        motion_blur_exposure_s=0.004, occlusion_rate_hz=0.1, micro_expression_rate_hz=0.2,
        enter_leave=True, subgroups=SUBGROUPS),
})

# One rig parameter per factor; -1 (or "preset") keeps the preset's value.
FACTOR_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("pose_amplitude_deg", -1.0, "head-turn amplitude in degrees (-1: preset)",
              -1.0, 90.0),
    ParamSpec("pose_jitter_deg", -1.0, "shaky head motion std in degrees (-1: preset)",
              -1.0, 20.0),
    ParamSpec("drift_speed_mps", -1.0, "moving about, in m/s (-1: preset)", -1.0, 2.0),
    ParamSpec("ambient_min", -1.0, "least ambient IR, fraction of full scale (-1: preset)",
              -1.0, 4.0),
    ParamSpec("ambient_max", -1.0, "most ambient IR; above about 1 it saturates (-1: preset)",
              -1.0, 4.0),
    ParamSpec("exposure_min", -1.0, "least auto-exposure gain (-1: preset)", -1.0, 10.0),
    ParamSpec("exposure_max", -1.0, "most auto-exposure gain (-1: preset)", -1.0, 10.0),
    ParamSpec("exposure_change_hz", -1.0, "auto-exposure jumps per second (-1: preset)",
              -1.0, 100.0),
    ParamSpec("flicker_amplitude", -1.0, "relative ambient flicker (-1: preset)", -1.0, 1.0),
    ParamSpec("flicker_hz", -1.0, "flicker frequency in Hz (-1: preset)", -1.0, 1000.0),
    ParamSpec("motion_blur_exposure_s", -1.0, "exposure time smearing motion (-1: preset)",
              -1.0, 0.1),
    ParamSpec("occlusion_rate_hz", -1.0, "occlusions per person per second (-1: preset)",
              -1.0, 10.0),
    ParamSpec("micro_expression_rate_hz", -1.0,
              "micro-expressions per person per second (-1: preset)", -1.0, 10.0),
    ParamSpec("enter_leave", "preset", "people walk in and out: on, off or preset",
              choices=("preset", "on", "off")),
    ParamSpec("subgroups", "preset",
              "comma-separated subgroups to draw people from, or preset: "
              + ", ".join(SUBGROUPS)),
)


def conditions_for(preset: str, overrides: Mapping[str, Any]) -> Conditions:
    """Make the preset's conditions with the given factor parameters applied."""
    base = PRESETS[preset]
    changes: dict[str, Any] = {}
    names = {f.name for f in fields(Conditions)}
    for name, value in overrides.items():
        if name not in names:
            continue
        if name == "enter_leave":
            if value != "preset":
                changes[name] = value == "on"
        elif name == "subgroups":
            if value != "preset":
                groups = tuple(g.strip() for g in str(value).split(",") if g.strip())
                unknown = sorted(set(groups) - set(SUBGROUPS))
                if not groups or unknown:
                    raise ConfigError(f"subgroups must name some of {', '.join(SUBGROUPS)}; "
                                      f"got {value!r}")
                changes[name] = groups
        elif value != -1.0:
            changes[name] = float(value)
    conditions = replace(base, **changes)
    if conditions.ambient_min > conditions.ambient_max:
        raise ConfigError(f"ambient_min ({conditions.ambient_min}) exceeds ambient_max "
                          f"({conditions.ambient_max})")
    if conditions.exposure_min > conditions.exposure_max:
        raise ConfigError(f"exposure_min ({conditions.exposure_min}) exceeds exposure_max "
                          f"({conditions.exposure_max})")
    if conditions.exposure_min <= 0.0:
        raise ConfigError("exposure_min must be positive")
    return conditions
