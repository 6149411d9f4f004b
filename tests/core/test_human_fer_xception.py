"""human's FER2013 Xception through the model adapter: parity, labels, metadata.

Parity is checked against a recorded fixture, tests/core/data/human_fer_xception_parity.npz,
written by scripts/convert_human_fer_xception: 14 grey 64x64 uint8 crops (the astronaut's
face from scikit-image and three variations of it, eight faces of scikit-image's LFW
subset, two smooth random textures) with the probabilities that human 3.3.6's
models/emotion graph model gives for them on tfjs's cpu backend under Node, after
human's own preprocessing of a grey RGB face tensor. Neither Node nor the npm package is
needed here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from affect_core import labels
from affect_core.model.runtime import EmotionModel
from affect_core.pipeline import JSONL_FILE, LabPipeline

from ..conftest import LAB_YAML, REPO

MODEL = REPO / "models" / "human_fer_xception.onnx"
FIXTURE = Path(__file__).resolve().parent / "data" / "human_fer_xception_parity.npz"
HUMAN_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
MAPPED = ("neutral", "happy", "sad", "surprised", "scared", "disgusted", "angry")
# The port computes what tfjs computes (same float32 weights, same preprocessing); float32
# rounding in a different order leaves 5e-7 at most on the fixture when converted.
TFJS_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def human() -> EmotionModel:
    return EmotionModel(MODEL)


def test_human_model_speaks_the_vocabulary(human: EmotionModel) -> None:
    meta = human.metadata
    assert meta.labels == HUMAN_LABELS
    assert human.labels == MAPPED  # vocabulary order, only what the model can say
    assert meta.label_map["fear"] == labels.SCARED
    assert meta.label_map["disgust"] == labels.DISGUSTED
    assert not {labels.CONTEMPT, labels.BORED, labels.EXCITED} & set(human.labels)
    assert not meta.has_valence_arousal and not meta.has_rollout
    assert meta.model_id.startswith("human_fer_xception@3.3.6+")
    assert meta.version == "3.3.6"
    assert (meta.input_size_px, meta.input_channels, meta.input_layout) == (64, 1, "nchw")
    assert (meta.normalization, meta.output_kind, meta.temperature) == (
        "unit_range", "logits", 1.0)
    assert "FER2013" in meta.training_data and "never saw IR" in meta.training_data


def test_onnx_port_matches_human_on_tfjs(human: EmotionModel) -> None:
    data = np.load(FIXTURE)
    faces, reference = data["faces"], data["tfjs_probabilities"].astype(np.float64)
    assert faces.shape == (14, 64, 64) and faces.dtype == np.uint8
    # The shipped model and metadata as a node runs them: 8-bit crops, unit_range, human's
    # weighted grey and (x - 0.5) * 2 inside the graph, labels onto the vocabulary.
    mapped, valence, arousal = human.predict(list(faces))
    for column, name in enumerate(HUMAN_LABELS):
        target = human.labels.index(human.metadata.label_map[name])
        assert np.abs(mapped[:, target] - reference[:, column]).max() < TFJS_TOLERANCE
    ours = mapped[:, [human.labels.index(human.metadata.label_map[n])
                      for n in HUMAN_LABELS]]
    assert np.array_equal(ours.argmax(axis=1), reference.argmax(axis=1))
    assert np.all(np.isnan(valence)) and np.all(np.isnan(arousal))


def test_the_pixel_full_scale_is_what_counts(human: EmotionModel) -> None:
    # unit_range: the same photograph as 8-bit, 16-bit and float [0, 1] reads the same.
    faces = np.load(FIXTURE)["faces"][:6]
    eight, _, _ = human.predict(list(faces))
    sixteen, _, _ = human.predict([f.astype(np.uint16) * 257 for f in faces])
    unit, _, _ = human.predict([f.astype(np.float32) / 255.0 for f in faces])
    assert np.allclose(eight, sixteen, atol=1e-5)
    assert np.allclose(eight, unit, atol=1e-5)
    # A crop of another size is resized to 64 first; a single crop reads as in a batch.
    bigger, _, _ = human.predict([np.kron(faces[0], np.ones((2, 2), np.uint8))])
    assert human.labels[int(bigger[0].argmax())] == labels.HAPPY
    single = np.concatenate([human.predict([f])[0] for f in faces])
    assert np.allclose(single, eight, atol=1e-6)


def test_record_beside_the_model_matches_the_file(human: EmotionModel) -> None:
    proto = onnx.load(str(MODEL))
    embedded = {p.key: p.value for p in proto.metadata_props}
    record = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["metadata_props"] == embedded
    assert record["model_id"] == human.metadata.model_id
    digest = hashlib.sha256(proto.graph.SerializeToString()).hexdigest()[:12]
    assert embedded["affect.hash"] == human.metadata.graph_hash == digest
    inputs, outputs = proto.graph.input, proto.graph.output
    assert [i.name for i in inputs] == ["crops"] and [o.name for o in outputs] == ["logits"]
    assert proto.opset_import[0].version == 17
    source = record["source"]
    assert source["package"].startswith("@vladmandic/human 3.3.6")
    assert source["tarball_integrity"].startswith("sha512-")
    assert all(len(h) == 64 for h in source["weights_sha256"].values())
    assert source["license"] == "MIT" and "MIT License" in source["license_text"]
    assert "Permission is hereby granted" in source["license_text"]
    conversion = record["conversion"]
    assert conversion["max_abs_probability_difference"] < TFJS_TOLERANCE
    assert conversion["top1_agreement"] == 1.0
    assert MODEL.stat().st_size < 1_000_000


def test_real_photographs(human: EmotionModel) -> None:
    from skimage import color, data

    grey = (color.rgb2gray(data.astronaut()) * 255.0).round().astype(np.uint8)
    face = grey[55:172, 166:283]  # the fer baseline's crop of the astronaut's face
    lfw = [(f * 255.0).round().astype(np.uint8) for f in data.lfw_subset()[:100]]
    probabilities, _, _ = human.predict([face, face[:, ::-1], *lfw])
    for name, row in zip(("astronaut", "astronaut mirrored"), probabilities[:2], strict=True):
        shown = ", ".join(f"{n} {p:.3f}" for n, p in zip(human.labels, row, strict=True))
        print(f"{name}: {shown}")
    top = [human.labels[i] for i in probabilities[2:].argmax(axis=1)]
    print("LFW subset, 100 faces, top label counts:",
          {name: top.count(name) for name in human.labels})
    # The astronaut smiles broadly; the model is sure of it either way round.
    assert human.labels[int(probabilities[0].argmax())] == labels.HAPPY
    assert probabilities[:2, human.labels.index(labels.HAPPY)].min() > 0.9


def test_lab_runs_on_the_human_model(tmp_path: Path) -> None:
    # By its shipped name, as `affect lab --model human_fer_xception` takes it.
    pipeline = LabPipeline.from_params_file(LAB_YAML, model_path="human_fer_xception")
    summary = pipeline.run(3.0, tmp_path, progress=False)
    records = [json.loads(line) for line in (tmp_path / JSONL_FILE).read_text().splitlines()]
    assert summary.windows == len(records) == 3
    for record in records:
        assert tuple(record["labels"]) == MAPPED
        assert record["model_id"].startswith("human_fer_xception@")
        assert sum(record["probabilities"]) == pytest.approx(1.0, abs=1e-6)
        assert record["valence"] is None and record["arousal"] is None
