"""`affect lab` recordings open in ROS 2's own tools: ros2 bag and rosbag2_py."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

from affect_core.pipeline import JSONL_FILE, RECORDING_DIR, LabPipeline

from ..conftest import LAB_YAML

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lab")
    LabPipeline.from_params_file(LAB_YAML).run(3.0, out, progress=False)
    return out


def test_ros2_bag_info_reads_the_recording(recording: Path) -> None:
    result = subprocess.run(["ros2", "bag", "info", str(recording / RECORDING_DIR)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "Storage id:        mcap" in result.stdout
    assert "Topic: /emotion | Type: affect_msgs/msg/Emotion | Count: 3" in result.stdout


def test_rosbag2_py_deserialises_the_same_values(recording: Path) -> None:
    import rosbag2_py
    from affect_msgs.msg import Emotion
    from rclpy.serialization import deserialize_message

    reader = rosbag2_py.SequentialReader()
    reader.open(rosbag2_py.StorageOptions(uri=str(recording / RECORDING_DIR),
                                          storage_id="mcap"),
                rosbag2_py.ConverterOptions("cdr", "cdr"))
    messages = []
    while reader.has_next():
        topic, raw, stamp_ns = reader.read_next()
        assert topic == "/emotion"
        msg = deserialize_message(raw, Emotion)
        assert stamp_ns == msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        messages.append(msg)
    records = [json.loads(line) for line in (recording / JSONL_FILE).read_text().splitlines()]
    assert len(messages) == len(records) == 3
    for msg, record in zip(messages, records):
        assert msg.person_id == record["person_id"]
        assert list(msg.labels) == record["labels"]
        assert msg.expression == record["expression"] and msg.abstained == record["abstained"]
        assert msg.frames_used == record["frames_used"]
        for got, want in zip(msg.probabilities, record["probabilities"]):
            assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-7)
        assert math.isclose(msg.confidence, record["confidence"], rel_tol=1e-6)
        assert math.isclose(msg.head_position.z, record["head_position"]["z"], rel_tol=1e-6)
