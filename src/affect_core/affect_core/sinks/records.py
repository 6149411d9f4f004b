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

"""Emotion as a message-shaped record: the one mapping from the core type to the contract.

The record has exactly the fields of affect_msgs/msg/Emotion, nested as in the message
(``header.stamp.sec`` ...). The JSON-lines sink, the rosbag2 writer and the ROS 2 node
all build from it, so the three cannot disagree.
"""

from __future__ import annotations

import math
from typing import Any

from affect_core.types import Emotion


def time_fields(stamp_ns: int) -> dict[str, int]:
    """builtin_interfaces/Time fields of a nanosecond stamp."""
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return {"sec": sec, "nanosec": nanosec}


def stamp_ns_of(fields: dict[str, Any]) -> int:
    """Nanoseconds of a builtin_interfaces/Time record."""
    return int(fields["sec"]) * 1_000_000_000 + int(fields["nanosec"])


def emotion_record(emotion: Emotion) -> dict[str, Any]:
    """Convert the Emotion to a nested dict with the message's field names (NaN kept as NaN)."""
    x, y, z = emotion.head_position_m
    return {
        "header": {"stamp": time_fields(emotion.stamp_ns), "frame_id": emotion.frame_id},
        "person_id": emotion.person_id,
        "window_start": time_fields(emotion.window_start_ns),
        "labels": list(emotion.labels),
        "probabilities": [float(p) for p in emotion.probabilities],
        "expression": emotion.expression,
        "valence": float(emotion.valence),
        "arousal": float(emotion.arousal),
        "confidence": float(emotion.confidence),
        "abstained": bool(emotion.abstained),
        "abstain_reason": emotion.abstain_reason,
        "domain_distance": float(emotion.domain_distance),
        "pose_stability": float(emotion.pose_stability),
        "lighting_consistency": float(emotion.lighting_consistency),
        "depth_consistency": float(emotion.depth_consistency),
        "frames_used": int(emotion.frames_used),
        "frames_expected": int(emotion.frames_expected),
        "head_position": {"x": float(x), "y": float(y), "z": float(z)},
        "model_id": emotion.model_id,
    }


def nan_to_none(value: Any) -> Any:
    """Replace float NaN and infinities (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nan_to_none(v) for v in value]
    return value
