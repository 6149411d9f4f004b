"""`affect synth` and the per-window ground truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_core.errors import RecordingError
from affect_core.sim.rig import FrameTruth, RigConfig, SimRig
from affect_core.sim.synth import write_dataset
from affect_core.sim.truth import window_truth


def test_crops_data_set_layout_and_counts(tmp_path: Path) -> None:
    config = RigConfig(num_people=2, seed=1)
    summary = write_dataset(config, 3.0, tmp_path, "crops", progress=False)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["synthetic"] is True and manifest["layout_version"] == 1
    assert manifest["conditions"]["pose_amplitude_deg"] == 2.0
    labels = [json.loads(line) for line in (tmp_path / "labels.jsonl").open()]
    assert len(labels) == summary.person_frames == 360 * 2
    assert summary.crops + summary.crops_missed == len(labels)
    assert summary.crops_missed == 0
    crop = cv2.imread(str(tmp_path / labels[0]["crop"]), cv2.IMREAD_UNCHANGED)
    assert crop.dtype == np.uint16 and crop.shape == (64, 64)
    windows = [json.loads(line) for line in (tmp_path / "windows.jsonl").open()]
    expected = (math.floor((3.0 - 2.0) / 0.5) + 1) * 2
    assert len(windows) == summary.windows == expected
    assert all(w["present_fraction"] == 1.0 for w in windows)


def test_frames_data_set_reads_back_bit_exact(tmp_path: Path) -> None:
    config = RigConfig(seed=2)
    write_dataset(config, 0.1, tmp_path, "frames", progress=False)
    frames = list(SimRig(config).frames(0.1))
    for index in (0, 5):
        saved = cv2.imread(str(tmp_path / "ir" / f"{index:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(saved, frames[index].ir.data)
    depth = cv2.imread(str(tmp_path / "depth" / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16
    truth_mm = frames[0].depth_truth.data * 1000.0
    assert np.max(np.abs(depth.astype(np.float64) - truth_mm)) <= 0.5
    with pytest.raises(RecordingError, match="not empty"):
        write_dataset(config, 0.1, tmp_path, "frames", progress=False)


def test_window_truth_majority_and_means() -> None:
    rig = SimRig(RigConfig())
    template = rig.step().people[0]

    def person(category: str, valence: float) -> object:
        from dataclasses import replace

        return replace(template, category=category, valence=valence, eyes_closed=0.0)

    frames = [FrameTruth(i * 10, [person("happy" if i < 6 else "neutral", 0.5 if i < 6
                                         else 0.0)], 0.02, 1.0) for i in range(10)]
    (truth,) = window_truth(frames, 0, 100, expected_frames=10)
    assert truth.category == "happy"
    assert truth.valence == pytest.approx(0.3)
    assert truth.present_fraction == 1.0
    (partial,) = window_truth(frames[:5], 0, 100, expected_frames=10)
    assert partial.present_fraction == 0.5
