"""The lab on a real face: scikit-image's astronaut (NASA, public domain) as a frames source.

The default detector for any source but the rig is BlazeFace: one real face is one
person, and the default model, trained on photographs, reads her smile. A still
photograph must also read as a still head (pose stability), not as low-quality evidence.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_core.face.detectors import resolve_detector
from affect_core.pipeline import JSONL_FILE, LabPipeline

from ..conftest import LAB_YAML

skimage_data = pytest.importorskip("skimage.data", reason="needs scikit-image (test extra)")


def test_auto_detector_is_the_whole_frame_blazeface_on_the_rig_only() -> None:
    assert resolve_detector("auto", simulated=True) == "blazeface_whole"
    assert resolve_detector("auto", simulated=False) == "blazeface"
    assert resolve_detector("blazeface_short", simulated=True) == "blazeface_short"


def test_one_real_face_is_one_person_and_reads_as_happy(tmp_path: Path) -> None:
    grey = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2GRAY)
    frame = cv2.resize(grey, (640, 480)).astype(np.uint16) * 257
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(300):  # 2.5 s at the camera's 120 fps
        assert cv2.imwrite(str(frames / f"{i:06d}.png"), frame)
    out = tmp_path / "out"
    summary = LabPipeline.from_params_file(LAB_YAML).run(2.5, out, progress=False,
                                                         source=f"frames:{frames}")
    assert summary.people == 1
    records = [json.loads(line) for line in (out / JSONL_FILE).read_text().splitlines()]
    assert records and all(r["person_id"] == "p1" for r in records)
    for r in records:
        assert r["expression"] == "happy" and not r["abstained"], r
        assert r["pose_stability"] > 0.8 and r["lighting_consistency"] > 0.8
        assert r["domain_distance"] < 1.0
        assert r["valence"] is None  # the default model has no valence head
