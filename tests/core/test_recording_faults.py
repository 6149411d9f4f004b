"""Recordings survive the ways a run can end: SIGKILL, SIGINT, SIGTERM and a full disk.

Real ``affect lab`` processes are stopped while they write; what they leave is read back
with rosbags (after ``affect repair`` where the writer could not close the file) and
compared with emotions.jsonl line by line.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from rosbags.rosbag2 import Reader

from affect_core.errors import RecordingError, SourceError
from affect_core.sinks.bag import McapRecording
from affect_core.sinks.messages import typestore
from affect_core.sinks.records import stamp_ns_of
from affect_core.sinks.repair import recording_closed, repair
from affect_core.sources.concrete import BagSource

LAB = [sys.executable, "-m", "affect_core.cli", "lab", "--duration", "60", "--quiet"]


def _lines(path: Path) -> list[dict[str, object]]:
    """Parse emotions.jsonl; every line must be whole (the sink flushes per line)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _bag_stamps(bag: Path) -> list[int]:
    store = typestore()
    with Reader(bag) as reader:
        stamps = [store.deserialize_cdr(raw, c.msgtype).header.stamp
                  for c, _, raw in reader.messages()]
    return [s.sec * 1_000_000_000 + s.nanosec for s in stamps]


def _metadata_count(bag: Path) -> int:
    info = yaml.safe_load((bag / "metadata.yaml").read_text(encoding="utf-8"))
    return int(info["rosbag2_bagfile_information"]["message_count"])


def _start_lab(out: Path, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen([*LAB, "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)  # type: ignore


def _wait_for_lines(process: subprocess.Popen[str], jsonl: Path, lines: int) -> None:
    deadline = time.monotonic() + 240.0
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if jsonl.is_file() and jsonl.read_text(encoding="utf-8").count("\n") >= lines:
            return
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"the lab wrote fewer than {lines} lines in 240 s")


def test_a_killed_lab_keeps_every_flushed_message(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = _start_lab(out)
    _wait_for_lines(process, out / "emotions.jsonl", 8)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    bag = out / "recording"
    lines = _lines(out / "emotions.jsonl")
    # metadata.yaml names what was flushed (ros2 bag info reads it as it is) ...
    named = _metadata_count(bag)
    assert not recording_closed(bag)
    with pytest.raises(SourceError, match="affect repair"):
        BagSource(str(bag))
    report = repair(bag)
    assert report.state == "repaired" and (bag / "recording.mcap.unclosed").is_file()
    stamps = _bag_stamps(bag)
    # ... and the repaired file holds at least that, each message the jsonl line of its turn.
    assert named <= len(stamps) == report.messages <= len(lines)
    assert stamps == [stamp_ns_of(line["header"]["stamp"]) for line in lines[:len(stamps)]]
    # What a kill loses is less than one flush interval of message time.
    lost = [stamp_ns_of(line["header"]["stamp"]) for line in lines[len(stamps):]]
    assert not lost or max(lost) - min(lost) < 1_000_000_000
    assert repair(bag).state == "closed"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_the_lab_cleanly(tmp_path: Path, signum: int, code: int) -> None:
    out = tmp_path / "out"
    process = _start_lab(out)
    _wait_for_lines(process, out / "emotions.jsonl", 4)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    name = signal.Signals(signum).name
    assert f"stopped early by {name}" in stdout and "Traceback" not in stderr
    bag = out / "recording"
    assert recording_closed(bag)
    lines = _lines(out / "emotions.jsonl")
    assert _bag_stamps(bag) == [stamp_ns_of(line["header"]["stamp"]) for line in lines]
    assert f"MCAP, {len(lines)} messages" in stdout
    assert f"windows {len(lines)};" in stdout


def _check_full_disk_run(out: Path, process: subprocess.Popen[str], reason: str,
                         scratch: Path) -> None:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 2, (stdout, stderr)
    # One line naming the file, the reason and what stays readable; no traceback.
    error = stderr.strip().splitlines()[-1]
    assert error.startswith("affect lab: error: cannot write") and reason in error, stderr
    assert "Traceback" not in stderr
    bag = out / "recording"
    named = _metadata_count(bag)
    raw_lines = (out / "emotions.jsonl").read_text(encoding="utf-8").split("\n")
    lines = [json.loads(line) for line in raw_lines[:-1]]  # the last one may be cut short
    if "recording" in error.split(":")[2]:
        assert "affect repair" in error and not recording_closed(bag)
    else:
        assert f"the {len(lines)} lines before stay in it" in error
    assert not list(bag.glob(".*.tmp"))
    # Repair needs room for the new file: the user frees space or copies the recording.
    copy = scratch / "copy"
    shutil.copytree(bag, copy)
    repair(copy)
    stamps = _bag_stamps(copy)
    # Nothing flushed is lost, and both files hold the same emotions in the same order.
    assert len(stamps) >= max(named, 1) and len(lines) >= 1
    assert stamps[:len(lines)] == [stamp_ns_of(line["header"]["stamp"])
                                   for line in lines[:len(stamps)]]


def test_a_file_size_limit_stops_the_lab_with_a_clear_error(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes every write past 24 KiB fail (EFBIG), as a full disk would.
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (24 * 1024, 24 * 1024))

    out = tmp_path / "out"
    _check_full_disk_run(out, _start_lab(out, preexec_fn=limit), "File too large",
                         tmp_path)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None,
                    reason="a full disk is simulated with a small tmpfs, which needs root")
def test_a_full_disk_stops_the_lab_with_a_clear_error(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(disk)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        out = disk / "out"
        _check_full_disk_run(out, _start_lab(out), "No space left on device", tmp_path)
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_flushes_bound_what_a_crash_can_lose(tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    recording = McapRecording(bag, {"/x": "std_msgs/msg/String"}, flush_interval_s=1.0)
    copies = []
    for i in range(40):  # 4 s of messages, 10 per second of message time
        recording.write_record("/x", {"data": str(i)}, 1_000_000_000 + i * 100_000_000)
        # A copy of the directory is what SIGKILL would leave at this point.
        if i in (5, 17, 33):
            copy = tmp_path / f"copy{i}"
            shutil.copytree(bag, copy)
            copies.append((copy, i + 1, recording.flushed_messages))
    recording.close()
    for copy, written, flushed in copies:
        assert written - flushed <= 10  # at most 1 s of message time was pending
        assert _metadata_count(copy) == flushed
        assert repair(copy).messages == flushed
        with Reader(copy) as reader:
            texts = [typestore().deserialize_cdr(raw, c.msgtype).data
                     for c, _, raw in reader.messages()]
        assert texts == [str(i) for i in range(flushed)]
    assert recording.flushes >= 3 and _metadata_count(bag) == 40


def test_repair_refuses_what_is_not_a_recording(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="not a recording directory"):
        repair(tmp_path / "missing")
    (tmp_path / "a.mcap").write_bytes(b"")
    (tmp_path / "b.mcap").write_bytes(b"")
    with pytest.raises(RecordingError, match="2 .mcap files"):
        repair(tmp_path)
