"""``affect train --labels``: fine-tuning on a labels file beats the model it started from.

The "lab's own footage" here is the simulated IR rig (synthetic faces), which the shipped
model (trained on photographs) has never seen: the starting model is near chance on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_core.errors import TrainingError
from affect_core.frontier.queue import LabelRow, write_labels

pytest.importorskip("torch")
pytest.importorskip("onnx")

from affect_core.cli import main  # noqa: E402
from affect_core.frontier.embed import embed_onnx, embed_weights  # noqa: E402
from affect_core.model.runtime import EmotionModel  # noqa: E402
from affect_core.training.dataset import render_crops  # noqa: E402
from affect_core.training.faces import PHOTO_EXPRESSIONS  # noqa: E402
from affect_core.training.finetune import finetune, starting_model  # noqa: E402


@pytest.fixture(scope="module")
def rig_footage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """About 240 labelled rig crops on disc (24 SOM nodes) and about 120 held out."""
    crops = render_crops(380, "curated", seed=31, crop_size_px=64, progress=False,
                         expressions=PHOTO_EXPRESSIONS)
    root = tmp_path_factory.mktemp("footage")
    (root / "crops").mkdir()
    rows = []
    for i, (crop, label) in enumerate(zip(crops.crops[:240], crops.label_index[:240])):
        cv2.imwrite(str(root / "crops" / f"{i:04d}.png"), crop)
        rows.append(LabelRow(f"{i:04d}.png", PHOTO_EXPRESSIONS[label], i % 24, "key", "t"))
    rows.append(LabelRow("0000.png", "skip", 0, "skip", "t2"))  # a later skip: left out
    write_labels(root / "labels.csv", rows)
    return root, crops.crops[240:], crops.label_index[240:]


def test_fine_tune_beats_the_shipped_model_on_held_out_footage(
        rig_footage: tuple[Path, np.ndarray, np.ndarray],
        capsys: pytest.CaptureFixture[str]) -> None:
    root, held_crops, held_labels = rig_footage
    start = EmotionModel().predict(list(held_crops))[0].argmax(1)
    out = root / "model" / "lab.onnx"
    assert main(["train", "--labels", str(root / "labels.csv"), "--crops",
                 str(root / "crops"), "--out", str(out), "--epochs", "12", "--quiet"]) == 0
    assert "from affect_vit_micro_faces" in capsys.readouterr().out
    tuned = EmotionModel(out)
    after = tuned.predict(list(held_crops))[0].argmax(1)
    start_acc, after_acc = (start == held_labels).mean(), (after == held_labels).mean()
    assert after_acc > start_acc + 0.1, (start_acc, after_acc)
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["train_crops"] + report["val_crops"] == 239
    assert report["history"][0]["epoch"] == 0  # the starting weights were a candidate
    assert 0.05 < report["temperature"] < 20
    assert "not a test set" in out.with_suffix(".md").read_text()
    assert tuned.metadata.model_id.startswith("affect_vit_micro_finetuned")
    again = starting_model(out.with_suffix(".pt"))  # a fine-tune can start the next one
    assert again.labels == PHOTO_EXPRESSIONS and again.trained_head
    # affect frontier --weights embeds as --model does: the same backbone, either way.
    paths = sorted((root / "crops").glob("*.png"))[:8]
    from_weights = embed_weights(paths, out.with_suffix(".pt"))
    from_graph = embed_onnx(paths, out)
    assert from_weights.embeddings.shape == (8, 96)
    assert np.abs(from_weights.embeddings - from_graph.embeddings).max() < 1e-3


def test_too_few_labels_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "crops").mkdir()
    cv2.imwrite(str(tmp_path / "crops" / "a.png"), np.zeros((64, 64), np.uint8))
    write_labels(tmp_path / "labels.csv", [LabelRow("a.png", "happy", 0, "key", "t")])
    with pytest.raises(TrainingError, match="1 labelled crops.*affect label"):
        finetune(tmp_path / "labels.csv", tmp_path / "crops", tmp_path / "m.onnx")
