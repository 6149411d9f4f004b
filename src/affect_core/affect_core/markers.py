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

"""What rviz2 shows for each estimate: a label at the head, coloured by confidence.

The ROS-free description (text, position, colour, lifetime); confidence_fusion turns it
into visualization_msgs/MarkerArray on /affect/markers. A person's marker is deleted
when the person has not been seen for ``person_timeout_s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from affect_core import labels
from affect_core.types import Emotion

TEXT_HEIGHT_M = 0.06
HEAD_CLEARANCE_M = 0.15  # the label floats above the head (optical frame: -y is up)


@dataclass(frozen=True)
class LabelMarker:
    """One person's label marker."""

    person_id: str
    marker_id: int
    frame_id: str
    position_m: tuple[float, float, float]
    text: str
    rgba: tuple[float, float, float, float]
    lifetime_s: float


def confidence_colour(confidence: float, abstained: bool) -> tuple[float, float, float, float]:
    """Grey when abstaining, else red (0) through yellow to green (1)."""
    if abstained or not math.isfinite(confidence):
        return (0.6, 0.6, 0.6, 0.8)
    c = min(max(confidence, 0.0), 1.0)
    return (min(1.0, 2.0 * (1.0 - c)), min(1.0, 2.0 * c), 0.1, 0.9)


def label_marker(emotion: Emotion, marker_id: int, lifetime_s: float) -> LabelMarker | None:
    """Make the marker of one Emotion, or None without a head position (no depth)."""
    x, y, z = emotion.head_position_m
    if not all(math.isfinite(v) for v in (x, y, z)):
        return None
    reason = f" ({emotion.abstain_reason})" if emotion.abstain_reason else ""
    text = (f"{emotion.person_id}: {labels.UNKNOWN}{reason}" if emotion.abstained
            else f"{emotion.person_id}: {emotion.expression} {emotion.confidence:.2f}")
    return LabelMarker(emotion.person_id, marker_id, emotion.frame_id,
                       (x, y - HEAD_CLEARANCE_M, z), text,
                       confidence_colour(emotion.confidence, emotion.abstained), lifetime_s)
