"""rviz label markers: placement, text and colour by confidence."""

from __future__ import annotations

import math

import pytest

from affect_core.markers import HEAD_CLEARANCE_M, confidence_colour, label_marker
from affect_core.types import Emotion


def _emotion(confidence: float, abstained: bool, head: tuple[float, float, float]) -> Emotion:
    return Emotion(10, "ir_camera_optical_frame", "p2", 0, ("neutral", "happy"),
                   (1 - confidence, confidence), "unknown" if abstained else "happy", 0.5, 0.2,
                   confidence, abstained, 1.0, 1.0, 1.0, 240, 240, head, "m")


def test_marker_floats_above_the_head_with_label_and_confidence() -> None:
    marker = label_marker(_emotion(0.82, False, (0.1, 0.0, 1.2)), 7, 1.5)
    assert marker is not None
    assert marker.position_m == pytest.approx((0.1, -HEAD_CLEARANCE_M, 1.2))
    assert marker.text == "p2: happy 0.82" and marker.marker_id == 7
    assert marker.frame_id == "ir_camera_optical_frame"


def test_colour_runs_from_red_to_green_and_grey_when_abstaining() -> None:
    low, high = confidence_colour(0.0, False), confidence_colour(1.0, False)
    assert low[0] == 1.0 and low[1] == 0.0 and high[0] == 0.0 and high[1] == 1.0
    assert confidence_colour(0.9, True)[:3] == (0.6, 0.6, 0.6)
    assert label_marker(_emotion(0.3, True, (0, 0, 1)), 1, 1.0).text == "p2: unknown"


def test_no_marker_without_a_head_position() -> None:
    assert label_marker(_emotion(0.9, False, (math.nan,) * 3), 1, 1.0) is None


def test_an_abstained_marker_says_why() -> None:
    from dataclasses import replace

    emotion = replace(_emotion(0.1, True, (0, 0, 1)), abstain_reason="out_of_domain")
    assert label_marker(emotion, 1, 1.0).text == "p2: unknown (out_of_domain)"
