"""`affect lab` end to end on the simulated rig: windows, probabilities, stamps, recording."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from rosbags.rosbag2 import Reader

from affect_core import labels
from affect_core.params import load_params_file
from affect_core.pipeline import JSONL_FILE, RECORDING_DIR, LabPipeline, LabSummary
from affect_core.sinks.messages import message_record, typestore
from affect_core.sinks.records import nan_to_none, stamp_ns_of
from affect_core.sim.rig import RigConfig, SimRig

from ..conftest import LAB_DURATION_S, LAB_YAML, RIG_MODEL_NAME


def _jsonl(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / JSONL_FILE).read_text().splitlines()]


def test_window_count_follows_length_and_hop(lab_run: tuple[LabSummary, Path]) -> None:
    summary, out = lab_run
    window_s, hop_s = 2.0, 0.5
    expected = math.floor((LAB_DURATION_S - window_s) / hop_s + 1e-9) + 1
    assert summary.people == 1
    assert summary.windows == expected == len(_jsonl(out))


def test_probabilities_are_distributions_over_the_labels(
        lab_run: tuple[LabSummary, Path]) -> None:
    _, out = lab_run
    fusion = load_params_file(LAB_YAML)["confidence_fusion"]
    for record in _jsonl(out):
        assert tuple(record["labels"]) == labels.EXPRESSIONS
        probabilities = np.array(record["probabilities"])
        assert probabilities.shape == (len(labels.EXPRESSIONS),)
        assert np.all(probabilities >= 0.0)
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-6)
        if record["abstained"]:
            assert record["expression"] == labels.UNKNOWN
        else:
            # The top label, or the label the person holds while no other leads it by the
            # switch margin (hysteresis).
            held = probabilities[labels.EXPRESSIONS.index(record["expression"])]
            assert probabilities.max() - held < fusion["switch_margin"] + 1e-6
            assert record["confidence"] >= fusion["abstain_below"]
        assert 0.0 <= record["confidence"] <= 1.0
        assert -1.0 <= record["valence"] <= 1.0 and -1.0 <= record["arousal"] <= 1.0


def test_stamps_are_monotonic_and_tile_time_by_the_hop(
        lab_run: tuple[LabSummary, Path]) -> None:
    _, out = lab_run
    records = _jsonl(out)
    ends = [stamp_ns_of(r["header"]["stamp"]) for r in records]
    starts = [stamp_ns_of(r["window_start"]) for r in records]
    assert np.all(np.diff(ends) == 500_000_000)
    assert all(end - start == 2_000_000_000 for start, end in zip(starts, ends))
    assert starts[0] == 0  # the first window starts with the stream


def test_coverage_and_head_position_match_the_rig(lab_run: tuple[LabSummary, Path]) -> None:
    _, out = lab_run
    truth_z = SimRig(RigConfig()).step().people[0].position_m[2]
    for record in _jsonl(out):
        assert record["frames_expected"] == 240
        assert 230 <= record["frames_used"] <= 240
        assert record["header"]["frame_id"] == "ir_camera_optical_frame"
        # The head sways a few centimetres; stereo depth at the face is within ~1 cm.
        assert record["head_position"]["z"] == pytest.approx(truth_z, abs=0.06)
        assert 0.0 <= record["depth_consistency"] <= 1.0


def test_recording_reads_back_into_the_same_values(lab_run: tuple[LabSummary, Path]) -> None:
    _, out = lab_run
    store = typestore()
    from_bag = []
    metadata = yaml.safe_load((out / RECORDING_DIR / "metadata.yaml").read_text())
    assert metadata["rosbag2_bagfile_information"]["storage_identifier"] == "mcap"
    with Reader(out / RECORDING_DIR) as reader:
        connections = [c for c in reader.connections if c.topic == "/emotion"]
        assert [c.msgtype for c in connections] == ["affect_msgs/msg/Emotion"]
        for connection, stamp_ns, raw in reader.messages(connections=connections):
            msg = store.deserialize_cdr(raw, connection.msgtype)
            record = message_record(msg)
            assert stamp_ns == stamp_ns_of(record["header"]["stamp"])
            from_bag.append(nan_to_none(record))
    from_json = _jsonl(out)
    assert len(from_bag) == len(from_json)
    for bag_record, json_record in zip(from_bag, from_json):
        _assert_close(bag_record, json_record)


def _assert_close(a: object, b: object) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_close(a[key], b[key])
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_close(x, y)
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-6)  # float32 in the message
    else:
        assert a == b


def test_cli_runs_and_prints_a_summary(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "affect_core.cli", "lab", "--duration", "2.5", "--out",
         str(tmp_path), "--quiet", "--params", str(LAB_YAML)],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "real-time factor" in result.stdout
    assert "windows 2;" in result.stdout
    assert "synthetic" in result.stdout
    again = subprocess.run(
        [sys.executable, "-m", "affect_core.cli", "lab", "--duration", "1", "--out",
         str(tmp_path), "--quiet"], capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 2
    assert "already exists" in again.stderr


def test_cli_rejects_a_bad_parameter_file(tmp_path: Path) -> None:
    params = tmp_path / "bad.yaml"
    params.write_text("window_sync:\n  ros__parameters:\n    hop_s: -1.0\n")
    result = subprocess.run(
        [sys.executable, "-m", "affect_core.cli", "lab", "--duration", "1", "--out",
         str(tmp_path / "out"), "--params", str(params), "--quiet"],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "hop_s" in result.stderr and "minimum" in result.stderr


def test_lab_needs_no_pytorch(tmp_path: Path) -> None:
    # Importing torch or timm anywhere on the lab's path fails this run.
    script = (
        "import sys; sys.modules['torch'] = None; sys.modules['timm'] = None\n"
        "from affect_core.cli import main\n"
        f"sys.exit(main(['lab', '--duration', '2.0', '--out', {str(tmp_path)!r}, '--quiet']))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "windows 1;" in result.stdout


def test_lab_scores_itself_against_the_rig_truth(lab_run: tuple[LabSummary, Path]) -> None:
    summary, _ = lab_run
    assert summary.truth_windows == summary.windows  # every window matched a true person
    assert summary.truth_answered == summary.windows - summary.abstentions
    # Ten labels: chance is 0.1; windows straddling an expression change may disagree.
    assert summary.truth_accuracy > 0.6


def test_each_window_has_its_latency_and_depth_is_matched_at_the_face(
        lab_run: tuple[LabSummary, Path]) -> None:
    summary, out = lab_run
    latency = summary.latency
    # Every window but those the end of the run closes (they wait for nothing live).
    assert 0 < len(latency) < summary.windows == len(_jsonl(out))
    waits = np.frombuffer(latency.wait_ms, np.float64)
    work = np.frombuffer(latency.processing_ms, np.float64)
    # Windows end on a frame's stamp and close on it: no wait for the stream.
    assert (waits == 0.0).all()
    assert (work > 0.0).all() and np.isfinite(work).all()
    p50, p95, p99 = latency.percentiles()
    assert p50 <= p95 <= p99 <= float(latency.total_ms().max())
    assert "p99" in latency.describe()
    # One face: its region is a small part of each pair (the first pair is whole).
    share = summary.depth_area / summary.stereo_frames
    assert 0.01 < share < 0.2


def test_full_depth_and_face_depth_give_the_same_head_positions(tmp_path: Path) -> None:
    runs = {}
    for full in (False, True):
        pipeline = LabPipeline.from_params_file(LAB_YAML, model_path=RIG_MODEL_NAME)
        pipeline.stereo_config = replace(pipeline.stereo_config, match_at_faces=not full)
        pipeline.render_in_process = not full
        summary = pipeline.run(3.0, tmp_path / str(full), progress=False)
        runs[full] = [(r["header"]["stamp"], r["head_position"]["z"], r["expression"])
                      for r in _jsonl(tmp_path / str(full))]
        assert summary.depth_area / summary.stereo_frames == (1.0 if full else
                                                              pytest.approx(0.04, abs=0.03))
    assert len(runs[True]) == len(runs[False]) > 0
    for (stamp_a, z_a, label_a), (stamp_b, z_b, label_b) in zip(runs[True], runs[False]):
        assert stamp_a == stamp_b and label_a == label_b
        assert z_a == pytest.approx(z_b, abs=0.005)
