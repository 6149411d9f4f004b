"""The lab under faulty input: each fault injected into a real recording of the rig.

A 5 s recording of the simulated rig (120 fps IR, 30 fps stereo) is copied with one fault
injected (a stream that stops and resumes, frames in the wrong encoding or of absurd
size, stamps out of order, duplicated or jumping back) and replayed through the whole
lab. Each test asserts the behaviour the fault must show: a counted, named degradation,
windows that say how many frames they lacked, and a run that carries on.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from affect_core.cli import DEFAULT_PARAMS, main
from affect_core.pipeline import JSONL_FILE, LabPipeline, LabSummary
from affect_core.sinks.messages import typestore
from affect_core.sinks.records import stamp_ns_of

S = 1_000_000_000
FRAME_NS = S // 120
IR = "/ir/image_raw"
IMAGE = "sensor_msgs/msg/Image"
STORE = typestore()
Message = tuple[str, int, bytes]
Fault = Callable[[str, int, bytes, int], Iterable[Message]]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faults") / "base"
    assert main(["record", "--duration", "5", "--out", str(out), "--quiet"]) == 0
    return out


def _faulted(base: Path, out: Path, fault: Fault) -> Path:
    """Copy ``base`` message by message; ``fault`` gets (topic, log time, raw, IR index)."""
    with Reader(base) as reader, Writer(out, version=8,
                                        storage_plugin=StoragePlugin.MCAP) as writer:
        connections = {c.topic: writer.add_connection(c.topic, c.msgtype, typestore=STORE)
                       for c in reader.connections}
        index = 0
        for connection, stamp_ns, raw in reader.messages():
            ir_index = index if connection.topic == IR else -1
            index += connection.topic == IR
            for topic, log_ns, data in fault(connection.topic, stamp_ns, raw, ir_index):
                writer.write(connections[topic], log_ns, data)
    return out


def _edit(raw: bytes, **fields: Any) -> bytes:
    """Re-serialise an Image with some fields changed (``stamp_ns`` sets the header)."""
    msg = STORE.deserialize_cdr(raw, IMAGE)
    for name, value in fields.items():
        if name == "stamp_ns":
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(value, S)
        else:
            setattr(msg, name, value)
    return STORE.serialize_cdr(msg, IMAGE)


def _stamp(raw: bytes) -> int:
    stamp = STORE.deserialize_cdr(raw, IMAGE).header.stamp
    return int(stamp.sec) * S + int(stamp.nanosec)


def _run(base: Path, tmp_path: Path, fault: Fault) -> tuple[LabSummary, list[dict[str, Any]]]:
    bag = _faulted(base, tmp_path / "bag", fault)
    summary = LabPipeline.from_params_file(DEFAULT_PARAMS).run(
        5.0, tmp_path / "lab", progress=False, source=f"bag:{bag}")
    lines = (tmp_path / "lab" / JSONL_FILE).read_text(encoding="utf-8").splitlines()
    return summary, [json.loads(line) for line in lines]


def _span_s(emotion: dict[str, Any]) -> tuple[float, float]:
    return stamp_ns_of(emotion["window_start"]) / S, stamp_ns_of(emotion["header"]["stamp"]) / S


def test_ir_stream_stops_and_resumes(recording: Path, tmp_path: Path) -> None:
    def gap(topic: str, log_ns: int, raw: bytes, i: int) -> Iterable[Message]:
        return [] if topic.startswith("/ir") and 1.5 * S <= log_ns < 2.5 * S else [
            (topic, log_ns, raw)]

    summary, emotions = _run(recording, tmp_path, gap)
    assert summary.frames == 600 - 120
    min_coverage = LabPipeline.from_params_file(DEFAULT_PARAMS).fusion_config.min_coverage
    for emotion in emotions:
        start_s, end_s = _span_s(emotion)
        missing_s = max(0.0, min(end_s, 2.5) - max(start_s, 1.5))
        # Every window counts the frames it really had against the stream's 120 fps.
        assert emotion["frames_expected"] == 240
        assert emotion["frames_used"] <= round(120 * (end_s - start_s - missing_s)) + 1
        coverage = emotion["frames_used"] / emotion["frames_expected"]
        # Confidence shrinks with the frames a window lacks, and says why when it abstains.
        assert emotion["confidence"] <= min(1.0, coverage / min_coverage) + 1e-6
        if coverage < min_coverage:
            assert emotion["abstained"]
            assert emotion["abstain_reason"] in ("few_frames", "low_quality")
    assert max(_span_s(e)[0] for e in emotions) >= 2.5  # windows resumed after the gap
    assert all(e["frames_used"] == 240 for e in emotions if _span_s(e)[0] >= 2.5)


def test_depth_stream_stops_and_resumes(recording: Path, tmp_path: Path) -> None:
    def gap(topic: str, log_ns: int, raw: bytes, i: int) -> Iterable[Message]:
        return [] if topic.startswith("/stereo") and 0.9 * S <= log_ns < 4.0 * S else [
            (topic, log_ns, raw)]

    summary, emotions = _run(recording, tmp_path, gap)
    assert summary.frames == 600  # IR-only processing carries on
    assert summary.association.without_secondary >= 3 * 120 - 12
    blind = [e for e in emotions if _span_s(e)[0] >= 0.95 and _span_s(e)[1] <= 3.95]
    sighted = [e for e in emotions if _span_s(e)[1] <= 0.85 or _span_s(e)[0] >= 4.05
               or _span_s(e)[1] >= 4.5]
    assert blind and sighted
    for emotion in blind:  # no depth: the depth fields say so (null in JSON = NaN)
        assert emotion["depth_consistency"] is None and emotion["head_position"]["z"] is None
        assert emotion["pose_stability"] is not None
    for emotion in sighted:
        assert emotion["depth_consistency"] > 0.5 and 0.5 < emotion["head_position"]["z"] < 3


def test_unusable_frames_are_skipped_each_with_a_counted_reason(
        recording: Path, tmp_path: Path) -> None:
    def bad_frames(topic: str, log_ns: int, raw: bytes, i: int) -> Iterable[Message]:
        if topic != IR:
            return [(topic, log_ns, raw)]
        if i % 50 == 7:
            raw = _edit(raw, encoding="rgb8")
        elif i % 50 == 9:
            raw = _edit(raw, encoding="mono8", step=640, data=np.zeros(640 * 480, np.uint8))
        elif i % 50 == 13:
            raw = _edit(raw, width=0, height=0, step=0, data=np.zeros(0, np.uint8))
        elif i == 102:
            raw = _edit(raw, width=8000, height=8000, step=16000,
                        data=np.zeros(8000 * 16000, np.uint8))
        elif i % 40 in (20, 21):  # swap the stamps of two neighbours
            raw = _edit(raw, stamp_ns=_stamp(raw) + (FRAME_NS if i % 40 == 20 else -FRAME_NS))
        copies = [(topic, log_ns, raw)]
        if i % 30 == 5:
            copies.append((topic, log_ns + 1000, raw))  # the same frame twice
        return copies

    summary, emotions = _run(recording, tmp_path, bad_frames)
    # The source skips what it cannot decode or what breaks its stream ...
    assert summary.source_problems == {
        "/ir/image_raw: image encoding 'rgb8' is not supported; use mono16, mono8 (IR) or "
        "32FC1 (depth)": 12,
        "/ir/image_raw: mono8 frame in a mono16 stream, skipped": 12}
    # ... the face stage rejects what it cannot use, each reason counted once per frame.
    assert summary.rejected_frames == {
        "InputError: IR frame of shape (0, 0) is too small to hold a face of 24 px": 12,
        "InputError: depth (480, 640) is not registered to the IR image (8000, 8000)": 1,
        "InputError: frame out of order or a duplicate, skipped": 15 + 20}
    assert summary.frames == 600 - 24 + 20
    # Windows carry on, counting the frames they had against the stream's rate.
    assert len(emotions) == 7
    skipped = {i for i in range(600) if i % 50 in (7, 9, 13) or i == 102 or i % 40 == 21}
    for emotion in emotions:
        start_s, end_s = _span_s(emotion)
        lost = sum(start_s <= i / 120 < end_s for i in skipped)
        assert emotion["frames_used"] == emotion["frames_expected"] - lost == 240 - lost


def test_a_replay_loop_restarts_the_windows(recording: Path, tmp_path: Path) -> None:
    def loop(topic: str, log_ns: int, raw: bytes, i: int) -> Iterable[Message]:
        if log_ns >= 2.5 * S and topic in (IR, "/stereo/left/image_rect",
                                           "/stereo/right/image_rect"):
            raw = _edit(raw, stamp_ns=_stamp(raw) - 2 * S)  # back to 0.5 s at 2.5 s
        return [(topic, log_ns, raw)]

    summary, emotions = _run(recording, tmp_path, loop)
    assert summary.dropped.get("clock_jump", 0) > 0
    # Depth is matched again on the replayed clock: all but the frames at the jump.
    association = summary.association
    assert association.restarts >= 1
    assert association.without_secondary <= 12, association
    ends = [_span_s(e)[1] for e in emotions]
    jumps = [k for k in range(1, len(ends)) if ends[k] < ends[k - 1]]
    assert not jumps or len(jumps) == 1
    # Windows come again on the replayed timeline, each within the stream it came from.
    assert ends[-1] <= 3.0 + 1e-9 and len(emotions) >= 3
    assert all(e["frames_used"] <= e["frames_expected"] for e in emotions)
    assert all(not math.isnan(e["confidence"]) for e in emotions)


@pytest.mark.parametrize("fault", ["missing", "truncated", "wrong_input_size"])
def test_a_bad_model_file_stops_the_lab_with_one_clear_line(tmp_path: Path, fault: str) -> None:
    from affect_core.model.runtime import DEFAULT_MODEL

    model = tmp_path / f"{fault}.onnx"
    if fault == "truncated":
        model.write_bytes(DEFAULT_MODEL.read_bytes()[:5000])
    elif fault == "wrong_input_size":
        onnx = pytest.importorskip("onnx")
        proto = onnx.load(str(DEFAULT_MODEL))
        for prop in proto.metadata_props:
            if prop.key == "affect.input_size":
                prop.value = "96"
        onnx.save(proto, str(model))
    result = subprocess.run(
        [sys.executable, "-m", "affect_core.cli", "lab", "--duration", "1", "--quiet",
         "--out", str(tmp_path / "out"), "--model", str(model)],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("affect lab: error:")
    expected = {"missing": "not found", "truncated": "cannot load",
                "wrong_input_size": "input shape"}[fault]
    assert expected in error[0] and str(model) in error[0]
