"""``affect eval rig``: real-face models and landmarks on the rig, and the sim-to-real rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from affect_core.cli import main


def test_eval_rig_prints_both_presets_and_says_what_it_did_not_measure(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rig.json"
    assert main(["eval", "rig", "--samples", "40", "--duration", "3", "--quiet",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "synthetic, not real people" in printed and "needs --data" in printed
    result = json.loads(out.read_text())
    assert result["sim_to_real"]["measured"] is False
    for preset in ("curated", "heterogeneous"):
        peers = result["peers"][preset]
        assert peers["crops"] + peers["missed_by_detector"] == 40
        for model in peers["models"]:
            per_class = model["per_class"]
            # Each model is scored on exactly the classes it can say, with counts adding up.
            assert sum(c["n"] for c in per_class.values()) <= peers["crops"]
            assert 0.0 <= model["macro_recall"] <= 1.0
            lo, hi = model["macro_interval"]
            assert lo <= model["macro_recall"] <= hi
    stage = result["face_stage"]["curated"]
    # The rig's faces are real enough for BlazeFace on the whole frame and the face mesh.
    assert stage["detection_recall"] == 1.0 and stage["mesh_nme_mean"] < 0.06
