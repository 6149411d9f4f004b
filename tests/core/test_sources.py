"""Sources: recordings, frame folders, videos and cameras replay like the live rig."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_core.calibration import Calibration, load_calibration
from affect_core.camera import IrCameraConfig
from affect_core.errors import ConfigError, SourceError
from affect_core.params import load_params_file
from affect_core.pipeline import JSONL_FILE, LabPipeline
from affect_core.sim.rig import RigConfig
from affect_core.sim.synth import write_dataset
from affect_core.sinks.sensor_bag import SensorBagWriter
from affect_core.sources.base import Pacer, parse_source
from affect_core.sources.concrete import (
    BagSource,
    CameraSource,
    FramesSource,
    SimSource,
    VideoSource,
)

from ..conftest import LAB_YAML, write_gray_video

DURATION_S = 3.0


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("live")
    LabPipeline.from_params_file(LAB_YAML).run(DURATION_S, out, progress=False)
    return out


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bag") / "sensors"
    source = SimSource(RigConfig(), DURATION_S)
    with SensorBagWriter(path, source.ir_camera) as writer:
        for frame in source.frames():
            writer.write(frame)
    return path


def test_recording_preserves_frames_stamps_and_counts(bag: Path) -> None:
    live_frames = list(SimSource(RigConfig(), DURATION_S).frames())
    replayed = list(BagSource(str(bag)).frames())
    irs = [f.ir for f in replayed if f.ir is not None]
    pairs = [f.stereo for f in replayed if f.stereo is not None]
    assert len(irs) == 360 and len(pairs) == 90
    for original, copy in zip(live_frames, irs):
        assert copy.stamp_ns == original.ir.stamp_ns
        assert copy.encoding == "mono16" and np.array_equal(copy.data, original.ir.data)
    originals = [f.stereo for f in live_frames if f.stereo is not None]
    assert all(np.array_equal(a.right, b.right) and a.stamp_ns == b.stamp_ns
               for a, b in zip(originals, pairs))
    assert pairs[0].right_camera.baseline_m == pytest.approx(0.05)


def _rig_replay() -> LabPipeline:
    """The lab for a replay of the rig: 'auto' picks blazeface_whole only for the live rig."""
    params = {k: dict(v) for k, v in load_params_file(LAB_YAML).items()}
    params["face_tracker"]["detector"] = "blazeface_whole"
    return LabPipeline(params)


def test_lab_on_a_recording_gives_the_live_results(live: Path, bag: Path,
                                                   tmp_path: Path) -> None:
    _rig_replay().run(DURATION_S, tmp_path, progress=False, source=f"bag:{bag}")
    assert (tmp_path / JSONL_FILE).read_text() == (live / JSONL_FILE).read_text()


def test_lab_on_frames_gives_the_live_results(live: Path, tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    write_dataset(RigConfig(), DURATION_S, frames, "frames", progress=False)
    out = tmp_path / "out"
    _rig_replay().run(DURATION_S, out, progress=False, source=f"frames:{frames}")
    assert (out / JSONL_FILE).read_text() == (live / JSONL_FILE).read_text()


def test_a_bag_without_the_ir_topic_says_which_topics_it_has(live: Path) -> None:
    with pytest.raises(SourceError, match=r"no /ir/image_raw topic .*/emotion"):
        BagSource(str(live / "recording"))
    with pytest.raises(SourceError, match="cannot open recording"):
        BagSource(str(live / "nothing_here"))


def test_8_bit_frames_where_16_bit_are_expected_fail_clearly(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "000000.png"), np.zeros((48, 64), np.uint8))
    with pytest.raises(SourceError, match="16-bit frames are expected"):
        list(FramesSource(str(tmp_path)).frames())
    eight_bit = list(FramesSource(str(tmp_path), encoding="mono8").frames())
    assert eight_bit[0].ir is not None and eight_bit[0].ir.encoding == "mono8"
    with pytest.raises(SourceError, match="no PNG or TIFF frames"):
        FramesSource(str(tmp_path / "empty"))


def test_a_truncated_video_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "ir.avi"
    write_gray_video(path, 60)
    whole = VideoSource(str(path))
    assert sum(1 for _ in whole.frames()) == 60 and not whole.stats.problems
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    cut = VideoSource(str(path))
    count = sum(1 for _ in cut.frames())
    assert 0 < count < 60
    assert any("truncated" in p for p in cut.stats.problems)
    with pytest.raises(SourceError, match="does not exist"):
        VideoSource(str(tmp_path / "missing.avi"))


def test_a_camera_that_vanishes_ends_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "camera.avi"
    write_gray_video(path, 10)
    source = CameraSource(IrCameraConfig(device=str(path), encoding="mono8", fps=30.0),
                          duration_s=30.0, max_retries=2)
    frames = []
    with pytest.raises(SourceError, match="reconnection attempts"):
        for frame in source.frames():
            frames.append(frame)
            if len(frames) == 10:
                path.unlink()  # unplugged
    assert len(frames) == 10
    assert source.stats.problems["camera read failed; reconnecting"] == 3


def test_calibration_files_round_trip_and_fail_clearly(tmp_path: Path) -> None:
    camera = SimSource(RigConfig(), 0.1).rig.renderer.right_camera
    calibration = Calibration.from_model(camera, "stereo_right")
    path = tmp_path / "right.yaml"
    path.write_text(calibration.to_yaml())
    loaded = load_calibration(f"file://{path}")
    assert loaded == calibration and loaded.is_rectified
    assert loaded.camera_model("stereo_right_optical_frame").baseline_m == pytest.approx(0.05)
    map_x, map_y = loaded.rectify_maps()
    assert np.allclose(map_x[10, :5], np.arange(5), atol=1e-3)
    path.write_text("image_width: 640\nimage_height: 480\ncamera_matrix: {data: [1, 2]}\n")
    with pytest.raises(ConfigError, match="camera_matrix"):
        load_calibration(str(path))
    with pytest.raises(ConfigError, match="unsupported camera_info URL"):
        load_calibration("http://example.org/cam.yaml")


def test_source_specs_and_rates_are_checked() -> None:
    assert parse_source("bag:rec") == ("bag", "rec")
    with pytest.raises(SourceError, match="unknown source"):
        parse_source("usb:0")
    with pytest.raises(SourceError, match="needs an argument"):
        parse_source("video")
    with pytest.raises(SourceError, match="replay rate"):
        Pacer(-1.0)


def test_record_command_writes_a_replayable_bag(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    result = subprocess.run([sys.executable, "-m", "affect_core.cli", "record", "--out",
                             str(out), "--duration", "1", "--quiet"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "120 IR frames, 30 stereo pairs" in result.stdout
    again = subprocess.run([sys.executable, "-m", "affect_core.cli", "record", "--out",
                            str(out), "--duration", "1", "--quiet"],
                           capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr
