"""The ONNX Runtime model stage: the shipped model, its metadata, and bad model files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from affect_core import labels, metrics
from affect_core.errors import ModelError
from affect_core.model.runtime import DEFAULT_MODEL, RIG_MODEL, EmotionModel, choose_providers
from affect_core.training.dataset import render_crops


@pytest.fixture(scope="module")
def model() -> EmotionModel:
    """The rig-trained model: its figures on the rig are checked against the rig's truth."""
    return EmotionModel(RIG_MODEL)


def test_default_model_is_the_real_face_model_and_says_so() -> None:
    default = EmotionModel()
    meta = default.metadata
    assert default.path == DEFAULT_MODEL
    assert meta.model_id.startswith("affect_vit_micro_faces@")
    assert "real faces" in meta.training_data and "never trained on real IR" in \
        meta.training_data
    assert meta.labels == (labels.NEUTRAL, labels.HAPPY, labels.SAD, labels.SURPRISED,
                           labels.SCARED, labels.DISGUSTED, labels.ANGRY)
    assert not meta.has_valence_arousal and meta.has_rollout
    assert meta.domain_threshold > 0.0
    crops = list(render_crops(3, "curated", seed=7, progress=False).crops)
    probabilities, valence, arousal, maps, domain = default.predict_explained(crops)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.isnan(valence).all() and np.isnan(arousal).all()  # no head: NaN, not zero
    grid = meta.input_size_px // 8
    assert maps is not None and maps.shape == (3, grid, grid)
    assert domain is not None and domain.shape == (3,) and np.all(domain >= 0.0)


def test_shipped_model_carries_its_metadata(model: EmotionModel) -> None:
    meta = model.metadata
    assert meta.labels == labels.EXPRESSIONS
    assert meta.input_size_px == 64
    assert meta.temperature > 0.0
    assert meta.has_valence_arousal
    assert meta.has_rollout
    assert "synthetic" in meta.training_data
    assert meta.model_id.startswith("affect_vit_micro_rig@")
    assert model.provider == "CPUExecutionProvider"


def test_shipped_model_id_version_and_hash_match_its_graph(model: EmotionModel) -> None:
    import hashlib

    import onnx

    proto = onnx.load(str(model.path))
    props = {p.key: p.value for p in proto.metadata_props}
    digest = hashlib.sha256(proto.graph.SerializeToString()).hexdigest()[:12]
    assert props["affect.hash"] == model.metadata.graph_hash == digest
    assert props["affect.version"] == model.metadata.version != ""
    assert model.metadata.model_id.endswith(f"@{props['affect.version']}+{digest}")


def test_shipped_model_beats_chance_on_held_out_rig_crops(model: EmotionModel) -> None:
    # A seed the training run never used: new identities, poses and lighting.
    data = render_crops(300, "curated", seed=999, progress=False)
    probabilities, valence, arousal = model.predict(list(data.crops))
    assert probabilities.shape == (len(data), len(labels.EXPRESSIONS))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    accuracy = metrics.accuracy(data.label_index, probabilities.argmax(axis=1))
    assert accuracy > 0.9  # chance is 0.1 with ten labels
    assert np.corrcoef(valence, data.valence)[0, 1] > 0.9
    assert np.all(np.abs(arousal) <= 1.0)


def test_shipped_model_explains_with_attention_rollout_on_the_face(
        model: EmotionModel) -> None:
    data = render_crops(20, "curated", seed=998, progress=False)
    heatmaps = model.explain(list(data.crops))
    assert heatmaps.shape == (len(data), 8, 8)
    assert np.allclose(heatmaps.max(axis=(1, 2)), 1.0) and heatmaps.min() > 0.0
    # The face's features sit in the middle of the crop; the border is background.
    border = np.ones((8, 8), bool)
    border[1:7, 1:7] = False
    assert heatmaps[:, 2:6, 2:6].mean() > 1.3 * heatmaps[:, border].mean()


def test_batch_of_k_crops_equals_one_by_one(model: EmotionModel) -> None:
    crops = list(render_crops(4, "curated", seed=5, progress=False).crops)
    batch, _, _ = model.predict(crops)
    single = np.concatenate([model.predict([c])[0] for c in crops])
    assert np.allclose(batch, single, atol=1e-5)


def test_missing_corrupt_and_mismatched_models_fail_with_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        EmotionModel(tmp_path / "none.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(DEFAULT_MODEL.read_bytes()[:5000])
    with pytest.raises(ModelError, match="cannot load"):
        EmotionModel(corrupt)
    proto = onnx.load(str(DEFAULT_MODEL))
    kept = [p for p in proto.metadata_props if p.key != "affect.labels"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    unlabelled = tmp_path / "unlabelled.onnx"
    onnx.save(proto, str(unlabelled))
    with pytest.raises(ModelError, match="affect.labels"):
        EmotionModel(unlabelled)
    for prop in proto.metadata_props:
        if prop.key == "affect.input_size":
            prop.value = "96"
    proto.metadata_props.add(key="affect.labels", value='["a", "b"]')
    wrong_size = tmp_path / "wrong_size.onnx"
    onnx.save(proto, str(wrong_size))
    with pytest.raises(ModelError, match="input shape"):
        EmotionModel(wrong_size)


def test_execution_provider_choice() -> None:
    available = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers("auto", available) == available
    assert choose_providers("cuda", available) == available
    with pytest.raises(ModelError, match="not available"):
        choose_providers("tensorrt", available)
