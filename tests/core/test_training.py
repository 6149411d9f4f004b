"""Training on rig crops: beats chance, calibrates, exports an ONNX file that matches PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (PyTorch, timm)")
pytest.importorskip("timm", reason="training needs the train extra (PyTorch, timm)")

from affect_core import labels  # noqa: E402
from affect_core.model.runtime import EmotionModel, preprocess  # noqa: E402
from affect_core.training.dataset import render_crops  # noqa: E402
from affect_core.training.train import (  # noqa: E402
    TrainConfig,
    export_onnx,
    fit_temperature,
    train,
)
from affect_core.training.vit import AffectViT  # noqa: E402

pytestmark = pytest.mark.train

TINY_EXPRESSIONS = (labels.NEUTRAL, labels.HAPPY, labels.SURPRISED)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("train") / "tiny.onnx"
    # Three clearly different expressions, curated conditions: small enough for a test.
    config = TrainConfig(train_samples=900, val_samples=200, test_samples=200, epochs=8,
                         batch_size=64, learning_rate=2e-3, seed=11, train_preset_mix=0.0,
                         expressions=TINY_EXPRESSIONS)
    return train(config, out, progress=False), out


def test_a_tiny_run_beats_chance_on_held_out_rig_data(tiny_run: tuple[dict, Path]) -> None:
    report, _ = tiny_run
    chance = 1.0 / len(TINY_EXPRESSIONS)
    assert report["test"]["curated"]["accuracy"] > 2.0 * chance
    assert report["test"]["curated"]["samples"] >= 190
    assert set(report["test"]["heterogeneous"]["subgroup_accuracy"]) == {
        "high_reflectance", "low_reflectance", "glasses", "facial_hair"}


def test_temperature_scaling_does_not_raise_held_out_nll_or_ece(
        tiny_run: tuple[dict, Path]) -> None:
    report, _ = tiny_run
    curated = report["test"]["curated"]
    assert report["temperature"] > 0.0
    assert curated["ece_calibrated"] <= curated["ece_uncalibrated"] + 0.02


def test_fit_temperature_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0.0, 2.0, (4000, 5))
    probs = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    truth = np.array([rng.choice(5, p=p) for p in probs])
    # Logits that are 3x too sharp: the fitted temperature must undo it.
    assert fit_temperature(true_logits * 3.0, truth) == pytest.approx(3.0, rel=0.1)


def test_exported_model_carries_metadata(tiny_run: tuple[dict, Path]) -> None:
    report, path = tiny_run
    runtime = EmotionModel(path)
    assert runtime.metadata.labels == TINY_EXPRESSIONS
    assert runtime.metadata.model_id == report["model_id"]
    assert runtime.metadata.temperature == pytest.approx(report["temperature"])
    assert "synthetic" in runtime.metadata.training_data


def test_onnx_export_matches_pytorch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = AffectViT(len(labels.EXPRESSIONS)).eval()
    path = tmp_path / "parity.onnx"
    export_onnx(model, path, 1.0, TrainConfig())
    batch = preprocess(list(render_crops(8, "curated", seed=3, progress=False).crops), 64)
    with torch.no_grad():
        logits, va = (t.numpy() for t in model(torch.from_numpy(batch)))
    session = EmotionModel(path).session
    onnx_logits, onnx_va = session.run(["logits", "valence_arousal"], {"crops": batch})
    assert np.max(np.abs(onnx_logits - logits)) < 1e-4
    assert np.max(np.abs(onnx_va - va)) < 1e-4
