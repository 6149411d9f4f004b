"""Shared fixtures: one short lab run on the simulated rig, reused by several tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_core.model.runtime import DEFAULT_MODEL, RIG_MODEL
from affect_core.pipeline import LabPipeline, LabSummary

REPO = Path(__file__).resolve().parent.parent
LAB_YAML = REPO / "config" / "lab.yaml"
LAB_DURATION_S = 6.0
# The lab's machinery is checked against the rig's truth with the model trained on the
# rig; the default model (real photographs) is checked on photographs.
RIG_MODEL_NAME = RIG_MODEL.stem


@pytest.fixture(scope="session")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[LabSummary, Path]:
    """A 6 s curated one-person run with the shipped parameter file and the rig model."""
    if not DEFAULT_MODEL.is_file():
        pytest.fail(f"the shipped model {DEFAULT_MODEL} is missing")
    out = tmp_path_factory.mktemp("lab")
    pipeline = LabPipeline.from_params_file(LAB_YAML, model_path=RIG_MODEL_NAME)
    summary = pipeline.run(LAB_DURATION_S, out, progress=False)
    return summary, out


def write_gray_video(path: Path, frames: int) -> None:
    """Write a 64x48 grey MJPG video whose frames brighten by 2 each (a stand-in camera)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48),
                             isColor=False)
    for i in range(frames):
        writer.write(np.full((48, 64), i * 2, np.uint8))
    writer.release()
