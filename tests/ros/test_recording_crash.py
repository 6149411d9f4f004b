"""A recording whose writer was killed opens in ROS 2's tools, before and after repair."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from affect_core.pipeline import JSONL_FILE, RECORDING_DIR
from affect_core.sinks.repair import repair

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the recording of an ``affect lab`` killed with SIGKILL mid-run."""
    out = tmp_path_factory.mktemp("killed")
    process = subprocess.Popen([sys.executable, "-m", "affect_core.cli", "lab", "--duration",
                                "60", "--quiet", "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    jsonl = out / JSONL_FILE
    deadline = time.monotonic() + 240.0
    while not (jsonl.is_file() and jsonl.read_text(encoding="utf-8").count("\n") >= 6):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the lab wrote fewer than 6 lines in 240 s"
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    return out / RECORDING_DIR


def _info_count(bag: Path) -> int:
    result = subprocess.run(["ros2", "bag", "info", str(bag)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("Messages:"))
    return int(line.split()[1])


def _play_count(bag: Path) -> int:
    import rosbag2_py

    reader = rosbag2_py.SequentialReader()
    reader.open(rosbag2_py.StorageOptions(uri=str(bag), storage_id="mcap"),
                rosbag2_py.ConverterOptions("cdr", "cdr"))
    count = 0
    while reader.has_next():
        reader.read_next()
        count += 1
    return count


def test_ros2_reads_a_killed_recording_and_its_repair_alike(killed: Path) -> None:
    named = yaml.safe_load((killed / "metadata.yaml").read_text())[
        "rosbag2_bagfile_information"]["message_count"]
    # As the kill left it: ros2 bag info reads metadata.yaml, rosbag2's MCAP reader scans
    # the chunks (no index) and finds at least what metadata.yaml names.
    assert _info_count(killed) == named >= 1
    in_file = _play_count(killed)
    assert in_file >= named
    report = repair(killed)
    assert report.state == "repaired" and report.messages == in_file
    assert _info_count(killed) == _play_count(killed) == in_file
