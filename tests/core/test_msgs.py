"""The .msg files: they parse with rosbags, and the core fills exactly their fields."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from rosbags.typesys import get_types_from_msg

from affect_core.sinks.messages import MSG_DIR, build_message, message_files, typestore
from affect_core.sinks.records import emotion_record
from affect_core.types import Emotion

from ..conftest import REPO

MSG_PACKAGE_DIR = REPO / "src" / "affect_msgs" / "msg"


def _emotion() -> Emotion:
    return Emotion(
        stamp_ns=12_500_000_000, frame_id="ir_camera_optical_frame", person_id="p1",
        window_start_ns=10_500_000_000, labels=("neutral", "happy"),
        probabilities=(0.25, 0.75), expression="happy", valence=0.5, arousal=math.nan,
        confidence=0.75, abstained=False, pose_stability=0.9, lighting_consistency=0.8,
        depth_consistency=math.nan, frames_used=230, frames_expected=240,
        head_position_m=(0.1, -0.05, 1.2), model_id="m@1")


@pytest.mark.parametrize("path", sorted(MSG_PACKAGE_DIR.glob("*.msg")), ids=lambda p: p.stem)
def test_every_msg_parses_with_rosbags(path: Path) -> None:
    types = get_types_from_msg(path.read_text(), f"affect_msgs/msg/{path.stem}")
    assert f"affect_msgs/msg/{path.stem}" in types


def test_core_ships_the_same_msg_files_as_affect_msgs() -> None:
    shipped = {p.name: p.read_bytes() for p in message_files()}
    package = {p.name: p.read_bytes() for p in MSG_PACKAGE_DIR.glob("*.msg")}
    assert shipped == package
    assert MSG_DIR.resolve() == MSG_PACKAGE_DIR.resolve()


def test_emotion_record_has_exactly_the_message_fields() -> None:
    store = typestore()

    def check(msgtype: str, record: dict) -> None:
        fields = dict(store.fielddefs[msgtype][1])
        assert set(record) == set(fields), msgtype
        for name, (kind, detail) in fields.items():
            if kind == 2:  # a nested message
                check(detail, record[name])

    check("affect_msgs/msg/Emotion", emotion_record(_emotion()))


def test_emotion_round_trips_through_cdr() -> None:
    store = typestore()
    msg = build_message("affect_msgs/msg/Emotion", emotion_record(_emotion()))
    back = store.deserialize_cdr(store.serialize_cdr(msg, "affect_msgs/msg/Emotion"),
                                 "affect_msgs/msg/Emotion")
    assert back.header.stamp.sec == 12 and back.header.stamp.nanosec == 500_000_000
    assert back.window_start.sec == 10
    assert list(back.labels) == ["neutral", "happy"]
    assert back.probabilities.tolist() == [0.25, 0.75]
    assert math.isnan(back.arousal) and math.isnan(back.depth_consistency)
    assert back.frames_used == 230 and back.expression == "happy"
    assert back.head_position.z == pytest.approx(1.2)


def test_expression_constants_match_the_core_vocabulary() -> None:
    from affect_core import labels
    from affect_core.fusion import ABSTAIN_REASONS

    text = (MSG_PACKAGE_DIR / "Emotion.msg").read_text()
    constants = {line.split()[1].split("=")[0]: line.split("=")[1].strip()
                 for line in text.splitlines() if line.startswith("string ") and "=" in line}
    reasons = {k: v for k, v in constants.items() if k.startswith("ABSTAIN_")}
    expressions = {v for k, v in constants.items() if not k.startswith("ABSTAIN_")}
    assert expressions == {*labels.EXPRESSIONS, labels.UNKNOWN}
    assert set(reasons.values()) == set(ABSTAIN_REASONS)
