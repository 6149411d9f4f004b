"""Fuzz the message records both ways: Emotion to CDR and back, images to and from messages.

Invariants:

- Emotion -> record -> rosbags message -> CDR -> message -> record gives the record back,
  at the message's own precision (float32 fields rounded, NaN kept), and the JSON-lines
  form gives it back with NaN as null.
- An ImageFrame -> image fields -> CDR -> ImageFrame gives the same stamp, frame, encoding
  and pixels (bit for bit, NaN included).
- Any sensor_msgs/Image, however garbled (any encoding string, dimensions, step, byte
  order, data length), decodes to a frame whose shape and pixels are what its fields
  say, or is an InputError with a message; any bytes, decoded as a CDR image, too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from affect_core.errors import InputError, RecordingError
from affect_core.sinks.jsonl import JsonLinesSink
from affect_core.sinks.messages import build_message, message_record, typestore
from affect_core.sinks.records import emotion_record, nan_to_none
from affect_core.sources.images import IMAGE_TYPE, image_fields, image_from_cdr
from affect_core.sources.images import image_from_message
from affect_core.types import ENCODING_DTYPES, Emotion, ImageFrame

from tests.core.fuzz.values import EDGE_FLOATS
from tests.fuzzing import fuzz_target, scratch_dir

EMOTION_TYPE = "affect_msgs/msg/Emotion"
# builtin_interfaces/Time holds int32 seconds: the stamps a message can carry.
STAMPS_NS = st.integers(-2**31 * 10**9, (2**31 - 1) * 10**9 + 999_999_999)
UINT32 = st.integers(0, 2**32 - 1)
FLOAT32 = st.one_of(st.sampled_from([v for v in EDGE_FLOATS if abs(v) <= 3.4028235e38
                                     or not math.isfinite(v)]),
                    st.floats(width=32))
TEXT = st.text(max_size=20)


@st.composite
def emotions(draw: st.DrawFn) -> Emotion:
    """Draw an Emotion whose every field fits the message (any values, not only sane ones)."""
    labels = tuple(draw(st.lists(TEXT, max_size=11)))
    return Emotion(
        stamp_ns=draw(STAMPS_NS), frame_id=draw(TEXT), person_id=draw(TEXT),
        window_start_ns=draw(STAMPS_NS), labels=labels,
        probabilities=tuple(draw(st.lists(FLOAT32, max_size=11))),
        expression=draw(TEXT), valence=draw(FLOAT32), arousal=draw(FLOAT32),
        confidence=draw(FLOAT32), abstained=draw(st.booleans()),
        pose_stability=draw(FLOAT32), lighting_consistency=draw(FLOAT32),
        depth_consistency=draw(FLOAT32), frames_used=draw(UINT32),
        frames_expected=draw(UINT32),
        head_position_m=(draw(st.floats()), draw(st.floats()), draw(st.floats())),
        model_id=draw(TEXT), candidate=draw(TEXT), abstain_reason=draw(TEXT),
        domain_distance=draw(FLOAT32))


_FLOAT32_FIELDS = {"valence", "arousal", "confidence", "domain_distance", "pose_stability",
                   "lighting_consistency", "depth_consistency"}


def _as_sent(record: dict[str, Any]) -> dict[str, Any]:
    """The record at the message's precision: its float32 fields rounded to float32."""
    sent = dict(record)
    for name in _FLOAT32_FIELDS:
        sent[name] = float(np.float32(record[name]))
    sent["probabilities"] = [float(np.float32(p)) for p in record["probabilities"]]
    return sent


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN, through nested dicts and lists."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@fuzz_target(short=150, long=10_000)
@given(emotions())
def test_an_emotion_survives_cdr_and_json_lines(emotion: Emotion) -> None:
    record = emotion_record(emotion)
    store = typestore()
    raw = store.serialize_cdr(build_message(EMOTION_TYPE, record), EMOTION_TYPE)
    back = message_record(store.deserialize_cdr(bytes(raw), EMOTION_TYPE))
    assert _same(back, _as_sent(record))


def _finite_or_nan(emotion: Emotion) -> bool:
    values = [emotion.valence, emotion.arousal, emotion.confidence, emotion.domain_distance,
              emotion.pose_stability, emotion.lighting_consistency, emotion.depth_consistency,
              *emotion.probabilities, *emotion.head_position_m]
    return not any(math.isinf(v) for v in values)


@fuzz_target(short=100, long=3_000)
@given(emotions().filter(_finite_or_nan))
def test_an_emotion_survives_json_lines_with_nan_as_null(emotion: Emotion) -> None:
    path = _scratch_dir() / "emotions.jsonl"
    with JsonLinesSink(path) as sink:
        sink.write(emotion)
        sink.write(emotion)
    lines = path.read_text(encoding="utf-8").splitlines()
    expected = nan_to_none(emotion_record(emotion))
    assert len(lines) == 2 and all(_same(json.loads(line, parse_constant=_not_json), expected)
                                   for line in lines)


def _not_json(constant: str) -> Any:
    """Refuse NaN and Infinity, which Python's json writes but JSON does not have."""
    raise AssertionError(f"{constant} in a JSON line")


_SCRATCH: list[Path] = []


def _scratch_dir() -> Path:
    """Return this session's scratch folder (hypothesis examples get no tmp_path)."""
    if not _SCRATCH:
        _SCRATCH.append(scratch_dir("affect-fuzz-messages-"))
    return _SCRATCH[0]


@st.composite
def image_frames(draw: st.DrawFn) -> ImageFrame:
    """Draw a frame of any supported encoding and size (empty ones included)."""
    encoding = draw(st.sampled_from(sorted(ENCODING_DTYPES)))
    shape = draw(st.tuples(st.integers(0, 9), st.integers(0, 9)))
    data = draw(hnp.arrays(np.dtype(ENCODING_DTYPES[encoding]), shape))
    return ImageFrame(draw(STAMPS_NS), draw(TEXT), encoding, data)


@fuzz_target(short=150, long=8_000)
@given(image_frames())
def test_an_image_survives_cdr_bit_for_bit(frame: ImageFrame) -> None:
    store = typestore()
    raw = store.serialize_cdr(build_message(IMAGE_TYPE, image_fields(frame)), IMAGE_TYPE)
    back = image_from_cdr(bytes(raw))
    assert (back.stamp_ns, back.frame_id, back.encoding) == (
        frame.stamp_ns, frame.frame_id, frame.encoding)
    assert back.data.dtype == frame.data.dtype and back.data.shape == frame.data.shape
    assert back.data.tobytes() == frame.data.tobytes()


ENCODINGS = st.one_of(st.sampled_from([*ENCODING_DTYPES, "bgr8", "rgb8", "mono32", "8UC1",
                                       "MONO16", "32FC1 ", "", "yuv422"]), TEXT)
DIMS = st.one_of(st.integers(0, 12), st.sampled_from([2**31, 2**32 - 1]), UINT32)


@st.composite
def image_messages(draw: st.DrawFn) -> Any:
    """Draw a sensor_msgs/Image with any fields; its data is sometimes the right length."""
    height, width = draw(DIMS), draw(DIMS)
    step = draw(st.one_of(DIMS, st.sampled_from([width, 2 * width, 4 * width, 4 * width + 3])))
    size = draw(st.one_of(st.integers(0, 300), st.sampled_from([height * step])))
    assume(size <= 4096 and step < 2**32)  # a uint32 field holds no more
    record = {
        "header": {"stamp": {"sec": draw(st.integers(-2**31, 2**31 - 1)),
                             "nanosec": draw(UINT32)},
                   "frame_id": draw(TEXT)},
        "height": height, "width": width, "encoding": draw(ENCODINGS),
        "is_bigendian": draw(st.integers(0, 255)), "step": step,
        "data": np.frombuffer(draw(st.binary(min_size=size, max_size=size)), np.uint8),
    }
    return build_message(IMAGE_TYPE, record)


def _expected_pixels(msg: Any) -> np.ndarray:
    """Decode the message the slow, obvious way: row by row from its own fields."""
    dtype = np.dtype(ENCODING_DTYPES[msg.encoding]).newbyteorder(
        ">" if msg.is_bigendian else "<")
    if msg.height * msg.width == 0:
        return np.zeros((msg.height, msg.width), dtype.newbyteorder("="))
    row_bytes = msg.width * dtype.itemsize
    data = bytes(msg.data)
    rows = [np.frombuffer(data[r * msg.step: r * msg.step + row_bytes], dtype)
            for r in range(msg.height)]
    return np.array(rows, dtype.newbyteorder("=")).reshape(msg.height, msg.width)


@fuzz_target(short=200, long=12_000)
@given(image_messages())
def test_a_garbled_image_message_decodes_as_its_fields_say_or_is_an_input_error(
        msg: Any) -> None:
    try:
        frame = image_from_message(msg)
    except InputError as err:
        assert str(err)
        assert (msg.encoding not in ENCODING_DTYPES
                or msg.step < msg.width * np.dtype(ENCODING_DTYPES[msg.encoding]).itemsize
                or len(msg.data) < msg.height * msg.step)
        return
    assert frame.encoding == msg.encoding in ENCODING_DTYPES
    assert frame.data.shape == (msg.height, msg.width)
    assert frame.data.dtype == np.dtype(ENCODING_DTYPES[msg.encoding])
    assert frame.stamp_ns == msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
    assert frame.data.tobytes() == _expected_pixels(msg).tobytes()


@st.composite
def cdr_bytes(draw: st.DrawFn) -> bytes:
    """Draw CDR bytes: random, or a valid image message truncated, extended or bit-flipped."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    frame = draw(image_frames())
    raw = bytearray(typestore().serialize_cdr(
        build_message(IMAGE_TYPE, image_fields(frame)), IMAGE_TYPE))
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(raw) - 1))
        raw[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(raw)))
    return bytes(raw[:cut]) + draw(st.binary(max_size=8))


@fuzz_target(short=200, long=12_000)
@given(cdr_bytes())
def test_any_bytes_as_a_cdr_image_decode_or_are_an_input_error(raw: bytes) -> None:
    try:
        frame = image_from_cdr(raw)
    except InputError as err:
        assert str(err)
        return
    assert frame.encoding in ENCODING_DTYPES
    assert frame.data.ndim == 2
    assert frame.data.dtype == np.dtype(ENCODING_DTYPES[frame.encoding])


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\x00\x00", b"\x00\x01\x00\x00" + b"\xff" * 40])
def test_a_corrupt_cdr_image_is_an_input_error_saying_so(raw: bytes) -> None:
    with pytest.raises(InputError, match="corrupt sensor_msgs/msg/Image message"):
        image_from_cdr(raw)


def _emotion(**changes: Any) -> Emotion:
    values: dict[str, Any] = dict(
        stamp_ns=12_500_000_000, frame_id="cam", person_id="p1", window_start_ns=10**10,
        labels=("neutral", "happy"), probabilities=(0.25, 0.75), expression="happy",
        valence=0.5, arousal=math.nan, confidence=0.75, abstained=False, pose_stability=0.9,
        lighting_consistency=0.8, depth_consistency=math.nan, frames_used=230,
        frames_expected=240, head_position_m=(0.1, -0.05, 1.2), model_id="m@1")
    values.update(changes)
    return Emotion(**values)


@pytest.mark.parametrize("changes", [{"valence": 1e300}, {"stamp_ns": 2**31 * 10**9},
                                     {"frames_used": -1}, {"frames_expected": 2**32}],
                         ids=["float32_overflow", "stamp_after_2038", "negative_count",
                              "count_over_uint32"])
def test_an_emotion_the_message_cannot_hold_is_a_recording_error(
        changes: dict[str, Any]) -> None:
    record = emotion_record(_emotion(**changes))
    with pytest.raises(RecordingError, match="Emotion"):
        typestore().serialize_cdr(build_message(EMOTION_TYPE, record), EMOTION_TYPE)


def test_an_emotion_with_an_infinite_value_is_written_with_null(tmp_path: Path) -> None:
    with JsonLinesSink(tmp_path / "emotions.jsonl") as sink:
        sink.write(_emotion(domain_distance=math.inf))
    line = (tmp_path / "emotions.jsonl").read_text(encoding="utf-8")
    assert json.loads(line)["domain_distance"] is None
