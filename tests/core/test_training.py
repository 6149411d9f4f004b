"""Training on rig crops: beats chance, calibrates, exports an ONNX file that matches PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (PyTorch, timm)")
pytest.importorskip("timm", reason="training needs the train extra (PyTorch, timm)")

import onnx  # noqa: E402

from affect_core import labels, metrics  # noqa: E402
from affect_core.cli import main  # noqa: E402
from affect_core.errors import ModelError  # noqa: E402
from affect_core.model.runtime import EmotionModel, preprocess, softmax  # noqa: E402
from affect_core.training.dataset import render_crops  # noqa: E402
from affect_core.training.export import add_rollout, quantize_int8  # noqa: E402
from affect_core.training.rollout import ExplainedViT  # noqa: E402
from affect_core.training.train import (  # noqa: E402
    TrainConfig,
    export_onnx,
    fit_temperature,
    rig_identity,
    train,
    weights_path,
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


def test_calibration_lowers_ece_on_held_out_data() -> None:
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0.0, 1.5, (6000, 4))
    probs = softmax(true_logits, 1.0)
    truth = np.array([rng.choice(4, p=p) for p in probs])
    overconfident = true_logits * 2.5
    # Fit on one half, score on the other: the held-out ECE must fall.
    temperature = fit_temperature(overconfident[:3000], truth[:3000])
    held_logits, held_truth = overconfident[3000:], truth[3000:]
    raw = metrics.expected_calibration_error(softmax(held_logits, 1.0), held_truth)
    calibrated = metrics.expected_calibration_error(softmax(held_logits, temperature),
                                                    held_truth)
    assert calibrated < 0.5 * raw


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
    export_onnx(model, path, 1.0, TrainConfig(), *rig_identity(TrainConfig()))
    batch = preprocess(list(render_crops(8, "curated", seed=3, progress=False).crops), 64)
    with torch.no_grad():
        logits, va = (t.numpy() for t in model(torch.from_numpy(batch)))
        rollout = ExplainedViT(model)(torch.from_numpy(batch))[2].numpy()
    runtime = EmotionModel(path)
    onnx_logits, onnx_va, onnx_rollout = runtime.session.run(
        ["logits", "valence_arousal", "attention_rollout"], {"crops": batch})
    assert np.max(np.abs(onnx_logits - logits)) < 1e-4
    assert np.max(np.abs(onnx_va - va)) < 1e-4
    assert np.max(np.abs(onnx_rollout - rollout)) < 1e-4
    heatmaps = runtime.explain(list(batch[:, 0]))
    assert heatmaps.shape == (8, 8, 8)
    assert np.allclose(heatmaps.max(axis=(1, 2)), 1.0) and heatmaps.min() > 0.0


def test_int8_export_keeps_metadata_and_answers(tiny_run: tuple[dict, Path],
                                                tmp_path: Path) -> None:
    _, path = tiny_run
    int8 = quantize_int8(path, tmp_path / "int8.onnx")
    assert int8.model_id.endswith("-int8") and int8.labels == TINY_EXPRESSIONS
    data = render_crops(120, "curated", seed=77, progress=False, expressions=TINY_EXPRESSIONS)
    fp32_top = EmotionModel(path).predict(list(data.crops))[0].argmax(axis=1)
    int8_top = EmotionModel(tmp_path / "int8.onnx").predict(list(data.crops))[0].argmax(axis=1)
    assert np.mean(fp32_top == int8_top) > 0.9


def test_export_command_reexports_trained_weights_with_parity(
        tiny_run: tuple[dict, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, path = tiny_run
    out = tmp_path / "again.onnx"
    assert main(["export", "--weights", str(weights_path(path)), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "max abs difference" in printed
    assert EmotionModel(out).metadata.model_id == report["model_id"]  # same graph, same id


def test_label_count_mismatch_fails_with_model_error(tiny_run: tuple[dict, Path],
                                                     tmp_path: Path) -> None:
    _, path = tiny_run
    proto = onnx.load(str(path))
    for prop in proto.metadata_props:
        if prop.key == "affect.labels":
            prop.value = '["neutral", "happy"]'
    bad = tmp_path / "two_labels.onnx"
    onnx.save(proto, str(bad))
    with pytest.raises(ModelError, match="3 class scores but its metadata names 2 labels"):
        EmotionModel(bad)


def test_rollout_added_to_an_export_without_it_matches_pytorch(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = AffectViT(len(labels.EXPRESSIONS)).eval()
    batch = preprocess(list(render_crops(5, "curated", seed=4, progress=False).crops), 64)
    plain = tmp_path / "plain.onnx"  # the two-output layout models were first exported in
    torch.onnx.export(model, (torch.from_numpy(batch[:2]),), str(plain),
                      input_names=["crops"], output_names=["logits", "valence_arousal"],
                      dynamic_axes={"crops": {0: "k"}, "logits": {0: "k"},
                                    "valence_arousal": {0: "k"}},
                      opset_version=17, dynamo=False)
    proto = onnx.load(str(plain))
    proto.metadata_props.add(key="affect.labels", value=json.dumps(list(labels.EXPRESSIONS)))
    proto.metadata_props.add(key="affect.input_size", value="64")
    proto.metadata_props.add(key="affect.model_id", value="plain@0.1.0+0")
    onnx.save(proto, str(plain))
    added = tmp_path / "explained.onnx"
    metadata = add_rollout(plain, added, (8, 8))
    assert metadata.has_rollout and metadata.model_id.startswith("plain@0.1.0+")
    runtime = EmotionModel(added)
    with torch.no_grad():
        reference = [t.numpy() for t in ExplainedViT(model)(torch.from_numpy(batch))]
    got = runtime.session.run(["logits", "attention_rollout"], {"crops": batch})
    assert np.max(np.abs(got[0] - reference[0])) < 1e-4
    assert np.max(np.abs(got[1] - reference[2])) < 1e-4
    with pytest.raises(ModelError, match="already"):
        add_rollout(added, tmp_path / "twice.onnx", (8, 8))
