"""affect claims: the table of published claims, measured here on the short profile.

The short profile runs the real measurements (rig models, fusion with and without depth,
the windower) at sizes of seconds; the training comparisons take minutes even when
small, so the suite runs them apart (``affect claims --measure short`` does) and checks
their pieces here: micro-expression crops and the verdict arithmetic.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from affect_core.cli import main
from affect_core.report import claims
from affect_core.report.training_runs import micro_expression_crops

VERDICTS = {claims.REPRODUCED, claims.NOT_REPRODUCED, claims.NOT_MEASURABLE}


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict], str, Path]:
    """Run ``affect claims --measure short --no-training`` once: rows, printout, folder."""
    folder = tmp_path_factory.mktemp("claims")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["claims", "--measure", "short", "--no-training", "--results",
                     str(folder)]) == 0
    saved = json.loads((folder / "claims.json").read_text(encoding="utf-8"))
    return {r["claim"]: r for r in saved["rows"]}, buffer.getvalue(), folder


def test_every_claim_has_a_row_and_a_verdict(table: tuple[dict[str, dict], str, Path]) -> None:
    rows, printed, _ = table
    for needle in ("82 %", "false-positive spikes", "SOM", "micro-expressions", "DINO",
                   "patience 3", "depth cues", "2 s windows", "edge GPU"):
        assert any(needle in claim for claim in rows), needle
        assert needle in printed
    assert all(r["verdict"] in VERDICTS and r["why"] for r in rows.values())


def test_rows_say_what_is_missing_and_what_was_measured(
        table: tuple[dict[str, dict], str, Path]) -> None:
    rows, _, _ = table
    assert "affect frontier-curves" in rows["SOM frontier cuts annotation"]["why"]
    gpu = rows["under 20 ms per segment on an edge GPU"]
    assert gpu["verdict"] == claims.NOT_MEASURABLE and "no GPU" in gpu["why"]
    assert "ms" in gpu["why"]  # the CPU figure measured here is given instead
    window = rows["buffer throughput of 2 s windows"]
    assert window["verdict"] == claims.REPRODUCED and window["ours"].startswith("100.00 %")
    rig = rows["curated 82 % vs heterogeneous 44 % accuracy (rig)"]
    assert "synthetic" in rig["data"] and rig["verdict"] != claims.NOT_MEASURABLE
    depth = rows["depth cues raise confidence"]
    assert "IR-only" in depth["ours"] and "stereo at 30 Hz vs none" in depth["data"]
    training = rows["ViT vs ResNet-50 recall on micro-expressions"]
    assert training["verdict"] == claims.NOT_MEASURABLE and "--measure" in training["why"]


def test_report_carries_the_claims_table(table: tuple[dict[str, dict], str, Path],
                                         tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the report extra is not installed")
    _, _, folder = table
    assert main(["report", "--out", str(tmp_path), "--results", str(folder)]) == 0
    text = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<h2 id='claims'>" in text and "frontier-curves" in text
    assert text.count("data-kind='latency'") == 2  # the rig and the default model


def test_verdict_reads_the_interval() -> None:
    assert claims.verdict(0.14, 0.10, 0.05, 0.20, "x")[0] == claims.REPRODUCED
    outcome, why = claims.verdict(0.14, 0.01, -0.02, 0.04, "difference")
    assert outcome == claims.NOT_REPRODUCED and "below" in why
    assert claims.verdict(0.1, 0.3, 0.2, 0.4, "x")[1].count("above") == 1
    assert claims.verdict(0.1, math.nan, math.nan, math.nan, "x")[0] == claims.NOT_MEASURABLE
    # An effect whose interval also holds zero is not reproduced, however close.
    outcome, why = claims.verdict(0.08, 0.012, -0.08, 0.12, "change", effect=True)
    assert outcome == claims.NOT_REPRODUCED and why.startswith("inconclusive")
    assert claims.verdict(0.08, 0.07, 0.02, 0.12, "change", effect=True)[0] == claims.REPRODUCED


def test_bootstrap_resamples_clusters() -> None:
    values = np.array([1.0, 1.0, 0.0, 0.0])
    # Two clusters of identical values: every draw's mean is 0, 0.5 or 1.
    lo, hi = claims.bootstrap(lambda r: float(values[r].mean()), ["a", "a", "b", "b"], 200)
    assert lo == 0.0 and hi == 1.0
    lo, hi = claims.bootstrap(lambda r: float(values[r].mean()), ["a", "b", "c", "d"], 200)
    assert 0.0 <= lo < 0.5 < hi <= 1.0


def test_micro_expression_crops_are_brief_non_neutral_events() -> None:
    crops, truth, events = micro_expression_crops(2.0, 32)
    assert len(crops) == len(truth) == len(events) > 0
    assert crops.shape[1:] == (32, 32) and crops.dtype == np.uint16
    assert "neutral" not in truth
    assert events == sorted(events) and events[0] == 0
    # An event lasts 40-200 ms: at 120 fps, every other frame, at most 12 crops each.
    assert max(np.bincount(events)) <= 12


def test_cnn_arm_is_built_by_the_training_recipe() -> None:
    torch = pytest.importorskip("torch", reason="the train extra is not installed")
    from affect_core.training.train import TrainConfig, build_model

    model = build_model(TrainConfig(arch="resnet10t", crop_size_px=32))
    logits, va = model(torch.zeros(2, 1, 32, 32))
    assert logits.shape == (2, 10) and va.shape == (2, 2)
    assert float(va.abs().max()) <= 1.0
    assert TrainConfig.from_dict(TrainConfig(arch="resnet10t").to_dict()).arch == "resnet10t"


def _frontier(factors: list[float], blind: bool = True) -> dict:
    """Make a frontier result whose SOM curve reaches, at n labels, random's top-1 at f*n.

    Random's top-1 rises by 0.1 per doubling, so the labels saved at each step inside the
    random curve's range are exactly 1 - 1 / f (log-linear reading), per seed.
    """
    steps = [20, 40, 80, 160]
    random = [[0.3 + 0.1 * math.log2(n / 20) for n in steps] for _ in factors]
    som = [[0.3 + 0.1 * math.log2(f * n / 20) for n in steps] for f in factors]
    pool = {"name": "pool", "data": "closed form", "label_blind": blind,
            "summary": {"random": {"accuracy": {"per_seed": random}},
                        "som": {"accuracy": {"per_seed": som}}}}
    return {"kind": "frontier", "steps": steps, "seeds": len(factors), "pools": [pool]}


def test_som_row_reads_each_seed_against_its_random_curve() -> None:
    pool = _frontier([1.25, 1.5, 1.4])["pools"][0]
    changes = claims.frontier_change(pool, [20, 40, 80, 160])
    assert changes == pytest.approx([-0.2, -1 / 3, -1 + 1 / 1.4])
    row = claims.build_rows([{**_frontier([1.25, 1.5, 1.4]), "source_file": "f.json"}])[2]
    assert row.claim == "SOM frontier cuts annotation"
    # Mean -27.3 %, sd 6.76 %: t(2) 4.303 x 3.90 % either side holds the published -30 %.
    assert row.verdict == claims.REPRODUCED and "-27 % labels" in row.ours
    assert "[-44.1 %, -10.5 %]" in row.interval
    # Half the labels on every seed: far beyond the published saving.
    row = claims.build_rows([{**_frontier([2.0, 2.0, 2.0]), "source_file": "f.json"}])[2]
    assert row.verdict == claims.NOT_REPRODUCED and "above" not in row.why
    # A pool whose embedding saw the labels informs, but does not decide.
    row = claims.build_rows([{**_frontier([1.4] * 3, blind=False), "source_file": "f.json"}])[2]
    assert row.verdict == claims.NOT_MEASURABLE and "-29 % labels" in row.ours


def test_frontier_curves_feed_the_claims_table_and_the_report(tmp_path: Path) -> None:
    pytest.importorskip("minisom", reason="the frontier extra is not installed")
    pytest.importorskip("matplotlib", reason="the report extra is not installed")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["frontier-curves", "--quick", "--cache", str(tmp_path / "crops"),
                     "--out", str(tmp_path / "results" / "frontier_curves")]) == 0
    saved = json.loads((tmp_path / "results" / "frontier_curves.json").read_text("utf-8"))
    assert saved["kind"] == "frontier" and saved["pools"][0]["label_blind"]
    assert "synthetic" in saved["pools"][0]["data"]
    som = saved["pools"][0]["summary"]["som"]["accuracy"]
    assert np.allclose(np.mean(som["per_seed"], axis=0), som["mean"])
    row = {r.claim: r for r in claims.table_from_folder(tmp_path / "results")}[
        "SOM frontier cuts annotation"]
    # One seed (the quick profile) gives no interval: a verdict needs several.
    assert row.verdict == claims.NOT_MEASURABLE and "rig" in row.data
    with contextlib.redirect_stdout(buffer):
        assert main(["report", "--out", str(tmp_path / "page"), "--results",
                     str(tmp_path / "results")]) == 0
    text = (tmp_path / "page" / "index.html").read_text(encoding="utf-8")
    assert text.count("data-kind='frontier'") == 1 and "synthetic faces" in text


def _training(stopped: int, predicted_b: list[int]) -> dict:
    """Make a training result whose ViT stopped at ``stopped`` of 40 epochs."""
    truth = [0, 1, 2, 0, 1, 2] * 20

    def arm(epochs: int, predicted: list[int], seconds: float) -> dict:
        return {"epochs_run": epochs, "test_truth": truth, "test_predicted": predicted,
                "test_top2": [int(p == t) for p, t in zip(predicted, truth)],
                "train_s": seconds}

    return {"kind": "training", "profile": "full", "data": "closed form",
            "arms": {"vit": arm(stopped, truth, 20.0),
                     "no_early_stop": arm(40, predicted_b, 50.0)}}


def test_early_stopping_row_says_when_the_weights_are_the_same() -> None:
    truth = [0, 1, 2, 0, 1, 2] * 20
    same = claims._early_stop_row(_training(16, truth))
    assert same.verdict == claims.NOT_REPRODUCED and "+0.000" in same.ours
    assert "same best-validation weights" in same.why and "16 epochs against 40" in same.why
    assert "stopped at epoch 16 of 40" in same.data
    never = claims._early_stop_row(_training(40, truth))
    assert never.verdict == claims.NOT_MEASURABLE and "never stopped" in never.why
    # A different model: the top-2 difference is read with its interval.
    worse = [(t + 1) % 3 if i % 4 == 0 else t for i, t in enumerate(truth)]
    differ = claims._early_stop_row(_training(16, worse))
    assert "same best-validation weights" not in differ.why and "+0.250" in differ.ours
