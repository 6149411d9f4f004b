"""Fuzz the ROS 2 side of message conversion (affect_ros.convert) with rclpy messages.

Invariants: an Emotion -> affect_msgs/Emotion -> Emotion round trip keeps every field at
the message's precision (float32 rounded, NaN kept); an Emotion survives serialisation
by rclpy as well. Any sensor_msgs/Image, however garbled, converts to an ImageFrame
whose shape and pixels are what its fields say, or to an InputError with a message,
never a cv_bridge or numpy error. The module skips, as every ROS 2 test here does, where
ROS 2 or the built workspace is absent (tests/ros/conftest.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from affect_core.errors import InputError
from affect_core.types import ENCODING_DTYPES, Emotion

from tests.core.fuzz.test_fuzz_messages import ENCODINGS, STAMPS_NS, UINT32
from tests.core.fuzz.values import EDGE_FLOATS
from tests.fuzzing import fuzz_target

try:
    from affect_msgs.msg import Emotion as EmotionMsg
    from affect_ros.convert import emotion_to_msg, msg_to_emotion, msg_to_image
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image
except ImportError:  # conftest skips every test here, with the reason
    EmotionMsg = None


# ROS 2 strings end at a NUL (rclpy truncates there; rosbags keeps it): text without one.
# Nor lone surrogates, which are not Unicode text (UTF-8 cannot carry them).
TEXT = st.text(st.characters(blacklist_characters='\x00', blacklist_categories=('Cs',)),
               max_size=20)
# rclpy's float32 fields take NaN, infinities and [-3.402823466e38, 3.402823466e38]: a
# hair below float32's own largest value, which it refuses.
FLOAT32 = st.one_of(st.sampled_from([v for v in EDGE_FLOATS if not abs(v) < math.inf
                                     or abs(v) <= 3.4e38]),
                    st.floats(-3.3999999521443642e38, 3.3999999521443642e38, width=32))


@st.composite
def emotions(draw: st.DrawFn) -> Emotion:
    """Draw an Emotion the message can hold (stamps of int32 seconds, uint32 counts)."""
    labels = tuple(draw(st.lists(TEXT, max_size=5)))
    abstained = draw(st.booleans())
    return Emotion(
        stamp_ns=draw(STAMPS_NS), frame_id=draw(TEXT), person_id=draw(TEXT),
        window_start_ns=draw(STAMPS_NS), labels=labels,
        probabilities=tuple(draw(st.lists(FLOAT32, max_size=5))), expression=draw(TEXT),
        valence=draw(FLOAT32), arousal=draw(FLOAT32), confidence=draw(FLOAT32),
        abstained=abstained, pose_stability=draw(FLOAT32),
        lighting_consistency=draw(FLOAT32), depth_consistency=draw(FLOAT32),
        frames_used=draw(UINT32), frames_expected=draw(UINT32),
        head_position_m=(draw(st.floats()), draw(st.floats()), draw(st.floats())),
        model_id=draw(TEXT), abstain_reason=draw(TEXT), domain_distance=draw(FLOAT32))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _f32(value: float) -> float:
    return float(np.float32(value))


_FLOAT32_FIELDS = ("valence", "arousal", "confidence", "pose_stability",
                   "lighting_consistency", "depth_consistency", "domain_distance")


@fuzz_target(short=100, long=3_000)
@given(emotions())
def test_an_emotion_survives_the_ros_message_and_its_serialisation(emotion: Emotion) -> None:
    msg = emotion_to_msg(emotion)
    back = msg_to_emotion(deserialize_message(serialize_message(msg), EmotionMsg))
    for name in ("stamp_ns", "frame_id", "person_id", "window_start_ns", "labels",
                 "expression", "abstained", "frames_used", "frames_expected",
                 "head_position_m", "model_id", "abstain_reason"):
        assert _same(getattr(back, name), getattr(emotion, name)), name
    for name in _FLOAT32_FIELDS:
        assert _same(getattr(back, name), _f32(getattr(emotion, name))), name
    assert _same(back.probabilities, tuple(_f32(p) for p in emotion.probabilities))
    if back.abstained and back.probabilities and len(back.labels) == len(back.probabilities):
        assert back.candidate in back.labels
    else:
        assert back.candidate == emotion.expression


@st.composite
def image_messages(draw: st.DrawFn) -> Any:
    """Draw a sensor_msgs/Image with any fields; its data sometimes the right length."""
    dims = st.one_of(st.integers(0, 12), st.sampled_from([2**31, 2**32 - 1]), UINT32)
    height, width = draw(dims), draw(dims)
    step = min(draw(st.one_of(dims, st.sampled_from([width, 2 * width, 3 * width,
                                                     4 * width + 3]))), 2**32 - 1)
    size = draw(st.one_of(st.integers(0, 300), st.just(height * step)).filter(
        lambda n: n <= 4096))
    msg = Image()
    msg.header.stamp.sec = draw(st.integers(-2**31, 2**31 - 1))
    msg.header.stamp.nanosec = draw(UINT32)
    msg.header.frame_id = draw(TEXT)
    msg.height, msg.width, msg.step = height, width, step
    msg.encoding = draw(ENCODINGS)
    msg.is_bigendian = draw(st.integers(0, 1))
    msg.data = draw(st.binary(min_size=size, max_size=size))
    return msg


def _expected_pixels(msg: Any) -> np.ndarray:
    dtype = np.dtype(ENCODING_DTYPES[msg.encoding]).newbyteorder(
        '>' if msg.is_bigendian else '<')
    row_bytes = msg.width * dtype.itemsize
    data = bytes(msg.data)
    rows = [np.frombuffer(data[r * msg.step: r * msg.step + row_bytes], dtype)
            for r in range(msg.height)]
    return np.array(rows, dtype.newbyteorder('=')).reshape(msg.height, msg.width)


def _rows_fit_their_step(msg: Any) -> bool:
    """Tell whether the message's step holds a row (see the expected failure below)."""
    from cv_bridge import CvBridge

    try:
        dtype, channels = CvBridge().encoding_to_dtype_with_channels(msg.encoding)
    except Exception:  # noqa: BLE001 - cv_bridge raises assorted errors for unknown names
        return True
    pixel_bytes = np.dtype(dtype).itemsize * channels
    return msg.step >= msg.width * pixel_bytes and msg.step % np.dtype(dtype).itemsize == 0


@fuzz_target(short=150, long=5_000)
@given(image_messages().filter(_rows_fit_their_step))
def test_a_garbled_image_message_converts_as_its_fields_say_or_is_an_input_error(
        msg: Any) -> None:
    try:
        frame = msg_to_image(msg)
    except InputError as err:
        assert str(err)
        return
    assert frame.encoding == msg.encoding
    assert frame.data.shape[:2] == (msg.height, msg.width)
    assert len(msg.data) == msg.height * msg.step
    if msg.encoding in ENCODING_DTYPES:
        assert frame.data.dtype == np.dtype(ENCODING_DTYPES[msg.encoding])
        assert frame.data.tobytes() == _expected_pixels(msg).tobytes()


@pytest.mark.parametrize(('height', 'width', 'step', 'encoding'),
                         [(1, 1, 0, 'mono16'), (2, 4, 4, 'mono16'), (480, 640, 640, 'mono16'),
                          (1, 1, 0, 'bgr8'), (1, 2, 5, 'bgr8')])
def test_an_image_whose_step_does_not_hold_a_row_is_an_input_error(
        height: int, width: int, step: int, encoding: str) -> None:
    # Found by the image target: 1x1 mono16 (and bgr8) with step 0 became a (1, 0) frame,
    # 640x480 mono16 with step 640 a frame 320 wide.
    msg = Image(height=height, width=width, step=step, encoding=encoding)
    msg.data = bytes(i % 251 for i in range(height * step))
    with pytest.raises(InputError, match='step'):
        msg_to_image(msg)


def test_a_row_padded_by_an_odd_byte_is_read_from_its_step() -> None:
    # 2x1 mono16 with step 3 once came out with the second row's pixel shifted by a byte.
    msg = Image(height=2, width=1, step=3, encoding='mono16')
    msg.data = bytes(range(6))
    frame = msg_to_image(msg)
    assert frame.data.tobytes() == _expected_pixels(msg).tobytes()
    assert frame.data.tolist() == [[0x0100], [0x0403]]
