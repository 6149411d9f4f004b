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


"""Eye openness, blinks and pupil size against the scripted people's truth."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from affect_core.face.eyes import EyeFeatures, eye_aspect_ratio
from affect_core.sim.conditions import PRESETS
from affect_core.sim.expressions import action_units
from affect_core.sim.face_model import expressive_landmarks_m, rotation_matrix
from affect_core.sim.person import ScriptedPerson
from affect_core.sim.rig import RigConfig, SimRig

FPS = 120.0


def _script(seconds: float, preset: str, seed: int
            ) -> list[tuple[int, npt.NDArray[np.float64], float]]:
    """(stamp, landmark pixels, eye closure) of one scripted person, as the rig projects
    them, without rendering images (the rig's truth at a fraction of its cost)."""
    camera = SimRig(RigConfig()).ir_camera
    person = ScriptedPerson(0, 1, 2.5, PRESETS[preset], np.random.default_rng([seed, 100]))
    result = []
    for i in range(int(seconds * FPS)):
        t_s = i / FPS
        state = person.state_at(t_s, 1.0 / FPS)
        aus = action_units(state.category, state.intensity)
        aus["blink"] = state.eye_closure
        head_m = expressive_landmarks_m(person.identity, aus)
        points_m = head_m @ rotation_matrix(*state.angles_rad).T + state.position_m
        result.append((int(round(t_s * 1e9)), camera.project(points_m), state.eye_closure))
    return result


def _true_blinks(closure: npt.NDArray[np.float64], stamps: npt.NDArray[np.int64]
                 ) -> list[int]:
    closed = closure > 0.5
    starts = np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
    return [int(stamps[i]) for i in starts]


def test_blinks_match_the_truth_and_openness_follows_the_lids() -> None:
    run = _script(30.0, "heterogeneous", seed=4)
    rng = np.random.default_rng(0)
    eyes = EyeFeatures()
    events, openness, closure = [], [], []
    for stamp, points, closed in run:
        state = eyes.update(stamp, points + rng.normal(0.0, 0.2, points.shape))
        if state.blink:
            events.append(stamp)
        if state.openness_confidence > 0.0:
            openness.append(state.openness)
            closure.append(closed)
    stamps = np.array([r[0] for r in run])
    truth = _true_blinks(np.array([r[2] for r in run]), stamps)
    assert len(truth) >= 5
    # Every true blink is matched by one event within 200 ms after it, and no extra ones.
    matched = sum(any(0 <= e - t <= 200_000_000 for e in events) for t in truth)
    assert matched == len(truth) and len(events) == len(truth)
    shut, wide = np.array(closure) > 0.9, np.array(closure) == 0.0
    # Expressions move the lids too (AU5 widens, AU7 and AU43 narrow), blinks shut them.
    assert float(np.max(np.array(openness)[shut])) < 0.25
    assert float(np.median(np.array(openness)[shut])) < 0.12
    assert float(np.median(np.array(openness)[wide])) > 0.8
    state = eyes.update(stamps[-1] + 8_333_333, run[-1][1])
    assert state.blink_rate_per_min == pytest.approx(len(truth) * 2.0, abs=2.1)
    assert state.blink_rate_confidence == pytest.approx(state.openness_confidence * 0.5,
                                                        rel=0.02)


def test_hysteresis_counts_long_closures_and_ignores_flicker() -> None:
    run = _script(3.0, "curated", seed=1)
    open_points = next(p for _, p, c in run if c == 0.0)
    closed_points = open_points.copy()
    for top, bottom in ((7, 9), (11, 13)):
        closed_points[top] = closed_points[bottom]
    eyes = EyeFeatures()
    stamp = 0
    # Two seconds open to learn the reference, then: a 16 ms flicker, a 100 ms blink, a
    # 1 s closure.
    schedule = [(open_points, 240), (closed_points, 2), (open_points, 60),
                (closed_points, 12), (open_points, 60), (closed_points, 120), (open_points, 10)]
    blinks = []
    for points, frames in schedule:
        for _ in range(frames):
            blinks.append(eyes.update(stamp, points).blink)
            stamp += int(1e9 / FPS)
    assert sum(blinks) == 1 and eyes.blinks == 1 and eyes.closures == 1


def test_pupil_size_needs_an_open_eye_and_enough_pixels() -> None:
    run = _script(1.5, "curated", seed=2)
    eyes = EyeFeatures()
    for stamp, points, _ in run[:-1]:
        eyes.update(stamp, points)
    stamp, points, _ = run[-1]
    iris = np.array([[0.0, 0.0, 3.0], [0.0, 0.0, 3.4]])
    state = eyes.update(stamp, points, iris_px=iris, depth_m=1.0, focal_px=560.0)
    assert state.pupil_diameter_px == pytest.approx(6.4)
    assert state.pupil_diameter_mm == pytest.approx(6.4 / 560.0 * 1000.0)
    assert 0.0 < state.pupil_confidence < 1.0
    tiny = eyes.update(stamp + 1, points, iris_px=iris / 4.0)
    assert math.isnan(tiny.pupil_diameter_px) and tiny.pupil_confidence == 0.0
    no_depth = eyes.update(stamp + 2, points, iris_px=iris)
    assert math.isnan(no_depth.pupil_diameter_mm) and no_depth.pupil_diameter_px > 0


def test_missing_eye_landmarks_give_nan_with_zero_confidence() -> None:
    points = np.full((26, 2), np.nan)
    assert all(math.isnan(v) for v in eye_aspect_ratio(points))
    state = EyeFeatures().update(0, points)
    assert math.isnan(state.openness) and state.openness_confidence == 0.0


def test_blinks_are_found_from_landmarks_at_a_third_of_the_frame_rate() -> None:
    run = _script(30.0, "heterogeneous", seed=4)[::3]  # 40 Hz, as landmark_every_n=3
    rng = np.random.default_rng(1)
    eyes = EyeFeatures()
    events = [stamp for stamp, points, _ in run
              if eyes.update(stamp, points + rng.normal(0.0, 0.2, points.shape)).blink]
    truth = _true_blinks(np.array([r[2] for r in run]), np.array([r[0] for r in run]))
    matched = sum(any(0 <= e - t <= 200_000_000 for e in events) for t in truth)
    # One of the seven blinks falls inside a squint (lids below the closing threshold for
    # over 500 ms before it): by definition a closure, not a blink.
    assert len(truth) == 7 and matched == 6 and len(events) == 6
