"""The real-face peers converted from tfjs, through the model adapter: parity, labels, metadata.

Two models, the same checks (each row of PEERS says what differs):

- ``faceapi_expression``: face-api 1.7.15's FaceExpressionNet, 112x112, face-api's own
  (rgb - mean) / 255 inside the graph;
- ``human_fer_xception``: human 3.3.6's models/emotion graph model, 64x64, human's weighted
  grey and (x - 0.5) * 2 inside the graph.

Parity is checked against recorded fixtures, tests/core/data/<model>_parity.npz, written by
scripts/convert_<model>: 14 grey uint8 crops (the astronaut's face from scikit-image and
three variations of it, eight faces of scikit-image's LFW subset, two smooth random
textures) with the probabilities the original model gives for them on tfjs's cpu backend
under Node. Neither Node nor the npm packages are needed here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest

from affect_core import labels
from affect_core.model.runtime import EmotionModel
from affect_core.pipeline import JSONL_FILE, LabPipeline

from ..conftest import LAB_YAML, REPO

MAPPED = ("neutral", "happy", "sad", "surprised", "scared", "disgusted", "angry")
# Each port computes what tfjs computes (same weights, same preprocessing); float32
# rounding in a different order leaves 2e-6 (face-api) and 5e-7 (human) at most on the
# fixtures when converted.
TFJS_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Peer:
    """What one converted model is, as its files must say."""

    name: str
    version: str
    package: str
    own_labels: tuple[str, ...]
    renamed: dict[str, str]  # own label -> vocabulary label, where they differ
    size_px: int
    training_words: tuple[str, ...]
    max_bytes: int

    @property
    def model(self) -> Path:
        return REPO / "models" / f"{self.name}.onnx"

    @property
    def fixture(self) -> Path:
        return Path(__file__).resolve().parent / "data" / f"{self.name}_parity.npz"


PEERS = (
    Peer("faceapi_expression", "1.7.15", "@vladmandic/face-api 1.7.15",
         ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"),
         {"fearful": labels.SCARED}, 112, ("never saw IR",), 500_000),
    Peer("human_fer_xception", "3.3.6", "@vladmandic/human 3.3.6",
         ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"),
         {"fear": labels.SCARED, "disgust": labels.DISGUSTED}, 64,
         ("FER2013", "never saw IR"), 1_000_000),
)


@pytest.fixture(scope="module", params=PEERS, ids=[p.name for p in PEERS])
def peer(request: pytest.FixtureRequest) -> tuple[Peer, EmotionModel]:
    spec: Peer = request.param
    return spec, EmotionModel(spec.model)


def test_model_speaks_the_vocabulary(peer: tuple[Peer, EmotionModel]) -> None:
    spec, model = peer
    meta = model.metadata
    assert meta.labels == spec.own_labels
    assert model.labels == MAPPED  # vocabulary order, only what the model can say
    for own, vocabulary in spec.renamed.items():
        assert meta.label_map[own] == vocabulary
    assert not {labels.CONTEMPT, labels.BORED, labels.EXCITED} & set(model.labels)
    assert not meta.has_valence_arousal and not meta.has_rollout
    assert meta.model_id.startswith(f"{spec.name}@{spec.version}+")
    assert meta.version == spec.version
    assert (meta.input_size_px, meta.input_channels, meta.input_layout) == (
        spec.size_px, 1, "nchw")
    assert (meta.normalization, meta.output_kind, meta.temperature) == (
        "unit_range", "logits", 1.0)
    assert all(words in meta.training_data for words in spec.training_words)


def test_onnx_port_matches_the_original_on_tfjs(peer: tuple[Peer, EmotionModel]) -> None:
    spec, model = peer
    data = np.load(spec.fixture)
    faces, reference = data["faces"], data["tfjs_probabilities"].astype(np.float64)
    assert faces.shape == (14, spec.size_px, spec.size_px) and faces.dtype == np.uint8
    # The shipped model and metadata as a node runs them: 8-bit crops, unit_range, the
    # origin's own preprocessing inside the graph, labels onto the vocabulary.
    mapped, valence, arousal = model.predict(list(faces))
    columns = [model.labels.index(model.metadata.label_map[n]) for n in spec.own_labels]
    for column, target in enumerate(columns):
        assert np.abs(mapped[:, target] - reference[:, column]).max() < TFJS_TOLERANCE
    assert np.array_equal(mapped[:, columns].argmax(axis=1), reference.argmax(axis=1))
    assert np.all(np.isnan(valence)) and np.all(np.isnan(arousal))


def test_the_pixel_full_scale_is_what_counts(peer: tuple[Peer, EmotionModel]) -> None:
    spec, model = peer
    # unit_range: the same photograph as 8-bit, 16-bit and float [0, 1] reads the same.
    faces = np.load(spec.fixture)["faces"][:6]
    eight, _, _ = model.predict(list(faces))
    sixteen, _, _ = model.predict([f.astype(np.uint16) * 257 for f in faces])
    unit, _, _ = model.predict([f.astype(np.float32) / 255.0 for f in faces])
    assert np.allclose(eight, sixteen, atol=1e-5)
    assert np.allclose(eight, unit, atol=1e-5)
    # A crop of another size is resized first; a single crop reads as in a batch.
    bigger, _, _ = model.predict([np.kron(faces[0], np.ones((2, 2), np.uint8))])
    assert model.labels[int(bigger[0].argmax())] == labels.HAPPY
    single = np.concatenate([model.predict([f])[0] for f in faces])
    assert np.allclose(single, eight, atol=1e-6)


def test_record_beside_the_model_matches_the_file(peer: tuple[Peer, EmotionModel]) -> None:
    spec, model = peer
    proto = onnx.load(str(spec.model))
    embedded = {p.key: p.value for p in proto.metadata_props}
    record = json.loads(spec.model.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["metadata_props"] == embedded
    assert record["model_id"] == model.metadata.model_id
    digest = hashlib.sha256(proto.graph.SerializeToString()).hexdigest()[:12]
    assert embedded["affect.hash"] == model.metadata.graph_hash == digest
    inputs, outputs = proto.graph.input, proto.graph.output
    assert [i.name for i in inputs] == ["crops"] and [o.name for o in outputs] == ["logits"]
    assert proto.opset_import[0].version == 17
    source = record["source"]
    assert source["package"].startswith(spec.package)
    assert source["tarball_integrity"].startswith("sha512-")
    assert all(len(h) == 64 for h in source["weights_sha256"].values())
    assert source["license"] == "MIT" and "MIT License" in source["license_text"]
    assert "Permission is hereby granted" in source["license_text"]
    conversion = record["conversion"]
    assert conversion["max_abs_probability_difference"] < TFJS_TOLERANCE
    assert conversion["top1_agreement"] == 1.0
    assert spec.model.stat().st_size < spec.max_bytes


def test_real_photographs(peer: tuple[Peer, EmotionModel]) -> None:
    from skimage import color, data

    _, model = peer
    grey = (color.rgb2gray(data.astronaut()) * 255.0).round().astype(np.uint8)
    face = grey[55:172, 166:283]  # the fer baseline's crop of the astronaut's face
    lfw = [(f * 255.0).round().astype(np.uint8) for f in data.lfw_subset()[:100]]
    probabilities, _, _ = model.predict([face, face[:, ::-1], *lfw])
    for name, row in zip(("astronaut", "astronaut mirrored"), probabilities[:2], strict=True):
        shown = ", ".join(f"{n} {p:.3f}" for n, p in zip(model.labels, row, strict=True))
        print(f"{name}: {shown}")
    top = [model.labels[i] for i in probabilities[2:].argmax(axis=1)]
    print("LFW subset, 100 faces, top label counts:",
          {name: top.count(name) for name in model.labels})
    # The astronaut smiles broadly; the model is sure of it either way round.
    assert model.labels[int(probabilities[0].argmax())] == labels.HAPPY
    assert probabilities[:2, model.labels.index(labels.HAPPY)].min() > 0.9


@pytest.mark.parametrize("spec", PEERS, ids=[p.name for p in PEERS])
def test_lab_runs_on_the_model(spec: Peer, tmp_path: Path) -> None:
    # By its shipped name, as `affect lab --model <name>` takes it.
    pipeline = LabPipeline.from_params_file(LAB_YAML, model_path=spec.name)
    summary = pipeline.run(3.0, tmp_path, progress=False)
    records = [json.loads(line) for line in (tmp_path / JSONL_FILE).read_text().splitlines()]
    assert summary.windows == len(records) == 3
    for record in records:
        assert tuple(record["labels"]) == MAPPED
        assert record["model_id"].startswith(f"{spec.name}@")
        assert sum(record["probabilities"]) == pytest.approx(1.0, abs=1e-6)
        assert record["valence"] is None and record["arousal"] is None
