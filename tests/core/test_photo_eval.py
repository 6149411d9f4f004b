"""``affect eval faces``: figures in closed form, and the command on real photographs.

The command test reads a handful of the labelled photographs in ../shared/data/real_faces
(crowd-labelled, visible light) and skips, saying so, where that folder is absent.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from affect_core.cli import main
from affect_core.photo_metrics import PhotoScores, coverage_curve, score

from ..conftest import REPO

REAL_FACES = REPO.parent / "shared" / "data" / "real_faces"
needs_real_faces = pytest.mark.skipif(
    not (REAL_FACES / "labels.csv").is_file(),
    reason=f"the labelled photographs are not here ({REAL_FACES}); they are not shipped")


def _scores() -> PhotoScores:
    labels = ("neutral", "happy")
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [np.nan, np.nan], [0.2, 0.8]])
    return PhotoScores(
        labels=labels, truth=("neutral", "happy", "happy", "neutral", "sad"),
        identities=("a", "b", "b", "c", "d"), subgroups=("x", "x", "y", "y", "y"),
        found=np.array([True, True, True, False, True]), probabilities=probs,
        confidence=np.array([0.9, 0.7, 0.6, np.nan, 0.8]),
        abstained=np.array([False, False, True, True, False]),
        reasons=("", "", "low_confidence", "no_face", ""))


def test_figures_in_closed_form() -> None:
    figures = score(_scores(), ["neutral", "happy", "sad"], draws=20)
    # Right: photos 0 and 1; photo 2 wrong, photo 3 has no face, photo 4 says happy for sad.
    assert figures["top1"] == pytest.approx(2 / 4)
    assert figures["top1_all"] == pytest.approx(2 / 5)
    assert figures["macro_recall"] == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)
    assert figures["face_found"] == pytest.approx(4 / 5)
    assert figures["coverage"] == pytest.approx(3 / 5)
    assert figures["accuracy_answered"] == pytest.approx(2 / 3)
    # NLL over faces found: -log of 0.9, 0.7, 0.4 and the floor for the unsayable "sad".
    nll = -(math.log(0.9) + math.log(0.7) + math.log(0.4) + math.log(1e-6)) / 4
    assert figures["nll"] == pytest.approx(nll)
    assert figures["per_class"]["sad"] == {"n": 1, "recall": 0.0, "interval": [0.0, 0.0],
                                           "sayable": False}
    assert figures["confusion"]["neutral"] == {"neutral": 1, "happy": 0, "no face": 1}
    assert figures["subgroup_top1"] == {"x": 1.0, "y": 0.0}
    assert figures["abstain_reasons"] == {"low_confidence": 1, "no_face": 1}
    lo, hi = figures["intervals"]["top1"]
    assert 0.0 <= lo <= figures["top1"] <= hi <= 1.0
    # Subgroup y: photo 2 wrong, photo 3 no face (not counted), photo 4 wrong.
    assert figures["subgroups"]["y"]["top1"] == 0.0 and figures["subgroups"]["y"]["n"] == 3
    # Faces found ranked by confidence 0.9 (right), 0.8 (wrong), 0.7 (right), 0.6 (wrong).
    curve = {round(p["coverage"], 2): p["accuracy"] for p in figures["coverage_curve"]}
    assert curve[0.25] == 1.0 and curve[0.5] == 0.5 and curve[0.75] == pytest.approx(2 / 3)
    assert curve[1.0] == 0.5


def test_coverage_curve_ranks_by_confidence() -> None:
    confidence = np.array([0.2, 0.9, 0.5, 0.7])
    correct = np.array([False, True, False, True])
    points = coverage_curve(confidence, correct, (0.5, 1.0))
    assert points == [{"coverage": 0.5, "accuracy": 1.0, "threshold": 0.7},
                      {"coverage": 1.0, "accuracy": 0.5, "threshold": 0.2}]


def _subset(tmp_path: Path, per_label: int = 6) -> Path:
    rows = list(csv.DictReader((REAL_FACES / "labels.csv").open(encoding="utf-8")))
    chosen = []
    for label in ("neutral", "happy", "surprised"):
        chosen += [r for r in rows if r["label"] == label][:per_label]
    out = tmp_path / "subset.csv"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "identity", "source"])
        for r in chosen:
            writer.writerow([str(REAL_FACES / r["path"]), r["label"], r["identity"],
                             r["source"]])
    return out


@needs_real_faces
def test_eval_faces_on_real_photographs(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = _subset(tmp_path)
    out = tmp_path / "faces.json"
    assert main(["eval", "faces", "--data", str(data), "--model", "fer_mini_xception",
                 "--draws", "20", "--quiet", "--subgroup-column", "source",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "not IR" in printed and "majority" in printed
    results = json.loads(out.read_text())
    assert results["photographs"] == 18 and results["domain"].startswith("real photographs")
    fer, majority = results["models"]
    assert fer["model_id"].startswith("fer_mini_xception") and not fer["default"]
    assert majority["model_id"] == "majority"
    for model in results["models"]:
        assert model["n"] == 18
        assert {c: v["n"] for c, v in model["per_class"].items()} == {
            "neutral": 6, "happy": 6, "surprised": 6}
        assert 0.0 <= model["coverage"] <= model["face_found"] <= 1.0
    # Tight face crops, framed as a camera would see them: BlazeFace finds nearly all.
    assert fer["face_found"] >= 16 / 18
    # On three balanced classes the majority answer is right a third of the time.
    assert majority["top1"] == pytest.approx(1 / 3, abs=0.07)
    assert fer["top1"] > majority["top1"]


@needs_real_faces
@pytest.mark.train
def test_train_faces_writes_a_calibrated_model_with_its_domain(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="training needs the train extra (PyTorch, timm)")
    from affect_core.model.runtime import EmotionModel

    data = _subset(tmp_path, per_label=60)
    out = tmp_path / "m.onnx"
    assert main(["train", "--faces", str(data), "--epochs", "1", "--batch-size", "32",
                 "--out", str(out), "--quiet"]) == 0
    model = EmotionModel(out)
    meta = model.metadata
    assert meta.model_id.startswith("affect_vit_micro_faces@")
    assert "real faces" in meta.training_data and "never trained on real IR" in \
        meta.training_data
    assert meta.domain_threshold > 0.0 and meta.temperature > 0.0
    assert not meta.has_valence_arousal and len(meta.labels) == 7
    report = json.loads(out.with_suffix(".json").read_text())
    assert len(report["history"]) == 1 and report["rig_crops"] == 0
    assert {row["tau"] for row in report["tau_grid"]} >= {0.0, 1.0}
    # Black and saturated crops are unlike any photograph it was fitted on.
    crops = [np.full((64, 64), 0, np.uint8), np.full((64, 64), 255, np.uint8)]
    *_, domain = model.predict_explained(crops, attention=False)
    assert domain is not None and np.all(domain > 1.0)
