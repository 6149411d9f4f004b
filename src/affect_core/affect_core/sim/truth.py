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

"""Ground truth per window, and per-frame truth as plain records for data sets.

A window's category is the most frequent per-frame category among the frames where
the person was in view (ties go to the non-neutral one, then the earlier label); its
valence and arousal are the means over those frames. The record also carries how much
of the window the person was present, occluded, moving and blinking, and the light.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from affect_core import labels
from affect_core.sim.face_model import LANDMARK_NAMES
from affect_core.sim.rig import FrameTruth, PersonTruth


@dataclass
class WindowTruth:
    """What one person did during one window [start_ns, end_ns)."""

    truth_id: str
    subgroup: str
    start_ns: int
    end_ns: int
    category: str
    valence: float
    arousal: float
    present_fraction: float
    occluded_fraction: float
    micro_expression: bool
    mean_speed_px_s: float
    blinks: int
    ambient_mean: float
    exposure_range: tuple[float, float]


def window_truth(frames: Iterable[FrameTruth], start_ns: int, end_ns: int,
                 expected_frames: int) -> list[WindowTruth]:
    """Per-person truth of the frames with stamps in [start_ns, end_ns)."""
    inside = [f for f in frames if start_ns <= f.stamp_ns < end_ns]
    by_person: dict[str, list[PersonTruth]] = {}
    for frame in inside:
        for person in frame.people:
            by_person.setdefault(person.truth_id, []).append(person)
    ambient = [f.ambient for f in inside] or [float("nan")]
    exposure = [f.exposure_gain for f in inside] or [float("nan")]
    result = []
    for truth_id in sorted(by_person):
        seen = by_person[truth_id]
        counts = Counter(p.category for p in seen)
        order = {name: i for i, name in enumerate(labels.EXPRESSIONS)}
        category = max(counts, key=lambda c: (counts[c], c != labels.NEUTRAL, -order[c]))
        closed = np.array([p.eyes_closed for p in seen]) > 0.5
        blinks = int(np.sum(closed[1:] & ~closed[:-1]) + (1 if closed[0] else 0))
        result.append(WindowTruth(
            truth_id=truth_id, subgroup=seen[0].subgroup, start_ns=start_ns, end_ns=end_ns,
            category=category,
            valence=float(np.mean([p.valence for p in seen])),
            arousal=float(np.mean([p.arousal for p in seen])),
            present_fraction=len(seen) / max(expected_frames, 1),
            occluded_fraction=float(np.mean([bool(p.occluder) for p in seen])),
            micro_expression=any(p.micro_expression for p in seen),
            mean_speed_px_s=float(np.mean([p.image_speed_px_s for p in seen])),
            blinks=blinks,
            ambient_mean=float(np.mean(ambient)),
            exposure_range=(float(np.min(exposure)), float(np.max(exposure))),
        ))
    return result


def person_record(frame: FrameTruth, person: PersonTruth) -> dict[str, Any]:
    """One person in one frame as a JSON-ready record (the data set's labels.jsonl)."""
    return {
        "stamp_ns": frame.stamp_ns,
        "truth_id": person.truth_id,
        "subgroup": person.subgroup,
        "category": person.category,
        "intensity": round(person.intensity, 4),
        "valence": round(person.valence, 4),
        "arousal": round(person.arousal, 4),
        "micro_expression": person.micro_expression,
        "position_m": [round(v, 5) for v in person.position_m],
        "yaw_pitch_roll_deg": [round(v, 3) for v in person.yaw_pitch_roll_deg],
        "box_px": list(person.box_px),
        "visible_fraction": round(person.visible_fraction, 4),
        "landmarks_px": {name: [round(float(x), 2), round(float(y), 2)]
                         for name, (x, y) in zip(LANDMARK_NAMES, person.landmarks_px)},
        "eyes_closed": round(person.eyes_closed, 4),
        "occluder": person.occluder,
        "image_speed_px_s": round(person.image_speed_px_s, 2),
        "ambient": round(frame.ambient, 5),
        "exposure_gain": round(frame.exposure_gain, 5),
    }
