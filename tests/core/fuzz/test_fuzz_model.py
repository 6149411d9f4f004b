"""Fuzz model metadata and model files: garbage is a ModelError, never a crash downstream.

Invariants: ``ModelMetadata.from_props`` either gives metadata a runtime can use (labels,
a positive bounded input size, a finite positive temperature, a finite non-negative
domain threshold, known choices) that survives ``to_props`` and back unchanged, or a
ModelError naming the model. Loading a model file (truncated, bit-flipped or random
bytes; any metadata, with or without a ``.json`` beside it) either gives a model whose
predictions are probabilities over its labels, or a ModelError naming the file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from affect_core.errors import ModelError
from affect_core.labels import EXPRESSIONS
from affect_core.model.metadata import (
    CHANNELS,
    LAYOUTS,
    MAX_INPUT_SIZE_PX,
    NORMALIZATIONS,
    OUTPUT_KINDS,
    ModelMetadata,
)
from affect_core.model.runtime import EmotionModel

from tests.fuzzing import fuzz_target, scratch_dir

onnx = pytest.importorskip("onnx")

SOURCE = "fuzzed.onnx"
SIZE_PX = 8
_TEXT = st.text(max_size=16)
_NUMBERS = st.sampled_from(["0", "-1", "1", "8", "64", "1.5", "nan", "inf", "-inf", "1e400",
                            "1_000", " 8 ", "0x10", "9" * 30, "4096", "4097", ""])


def _json_labels() -> st.SearchStrategy[str]:
    names = st.sampled_from([*EXPRESSIONS, "anger", "", "x"])
    return st.one_of(st.lists(names, max_size=4).map(json.dumps),
                     st.sampled_from(['"happy"', "[1, 2]", "{}", "null", "[", "[[]]",
                                      '["a", null]']), _TEXT)


# Garbage per key: what a hand edit, another exporter or a corrupt file could leave.
GARBAGE: dict[str, st.SearchStrategy[str]] = {
    "affect.labels": _json_labels(),
    "affect.input_size": _NUMBERS | _TEXT,
    "affect.normalization": _TEXT,
    "affect.temperature": _NUMBERS | _TEXT,
    "affect.domain_threshold": _NUMBERS | _TEXT,
    "affect.has_valence_arousal": st.sampled_from(["true", "True", "1", ""]),
    "affect.has_rollout": st.sampled_from(["true", "yes"]),
    "affect.label_map": st.one_of(
        st.dictionaries(st.sampled_from(["neutral", "happy", "x"]),
                        st.sampled_from([*EXPRESSIONS, "joy"]), max_size=3).map(json.dumps),
        st.sampled_from(["{}", "[]", '{"a": 1}', "{", "null"]), _TEXT),
    "affect.input_layout": _TEXT,
    "affect.input_channels": st.sampled_from(["3", "2", "01", "1.0"]) | _TEXT,
    "affect.output": st.sampled_from(["probs", ""]) | _TEXT,
    "affect.output_kind": _TEXT,
}


@st.composite
def valid_props(draw: st.DrawFn, size_px: int | None = None) -> dict[str, str]:
    """Draw metadata a runtime can use (for the tiny model's 8 px input when asked)."""
    labels = draw(st.lists(st.sampled_from(EXPRESSIONS), min_size=1, max_size=3,
                           unique=True))
    props = {
        "affect.labels": json.dumps(labels),
        "affect.input_size": str(size_px or draw(st.integers(1, 4096))),
        "affect.normalization": draw(st.sampled_from(NORMALIZATIONS)),
        "affect.temperature": repr(draw(st.floats(0.01, 100.0))),
        "affect.output_kind": draw(st.sampled_from(OUTPUT_KINDS)),
    }
    for key in ("affect.model_id", "affect.training_data"):
        if draw(st.booleans()):
            props[key] = draw(_TEXT)
    return props


@st.composite
def metadata_props(draw: st.DrawFn, size_px: int | None = None) -> dict[str, str]:
    """Draw usable metadata with 0 to 3 faults: a garbage value, a lost key, a stray key."""
    props = draw(valid_props(size_px))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        fault = draw(st.sampled_from(["garbage", "garbage", "lost", "stray"]))
        if fault == "garbage":
            key = draw(st.sampled_from(sorted(GARBAGE)))
            props[key] = draw(GARBAGE[key])
        elif fault == "lost":
            props.pop(draw(st.sampled_from(sorted(props))), None)
        else:
            props[draw(_TEXT)] = draw(_TEXT)
    return props


def _check_usable(meta: ModelMetadata) -> None:
    assert meta.labels and all(isinstance(x, str) for x in meta.labels)
    assert 1 <= meta.input_size_px <= MAX_INPUT_SIZE_PX
    assert math.isfinite(meta.temperature) and meta.temperature > 0.0
    assert math.isfinite(meta.domain_threshold) and meta.domain_threshold >= 0.0
    assert meta.normalization in NORMALIZATIONS and meta.input_layout in LAYOUTS
    assert meta.input_channels in CHANNELS and meta.output_kind in OUTPUT_KINDS


@fuzz_target(short=250, long=8_000)
@given(metadata_props())
def test_metadata_is_usable_and_round_trips_or_is_a_model_error(props: dict[str, str]) -> None:
    try:
        meta = ModelMetadata.from_props(props, SOURCE)
    except ModelError as err:
        assert SOURCE in str(err)
        event("refused")
        return
    event("accepted")
    _check_usable(meta)
    again = ModelMetadata.from_props(meta.to_props(), SOURCE)
    assert again == meta


def _tiny_model(props: dict[str, str], classes: int = 2) -> Any:
    """A linear classifier on (K, 1, 8, 8) crops with the given metadata: fast to load."""
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(0).normal(size=(SIZE_PX * SIZE_PX, classes))
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["crops"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "w"], ["logits"])],
        "tiny",
        [helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["K", 1, SIZE_PX, SIZE_PX])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["K", classes])],
        [numpy_helper.from_array(weights.astype(np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    return model


_VALID_PROPS = {"affect.labels": json.dumps(["neutral", "happy"]),
                "affect.input_size": str(SIZE_PX), "affect.model_id": "tiny@1"}
_VALID_BYTES = _tiny_model(_VALID_PROPS).SerializeToString()


@st.composite
def model_files(draw: st.DrawFn) -> tuple[bytes, bytes | None]:
    """Draw model bytes (a valid tiny model, mutated or with fuzzed metadata) and a sidecar."""
    kind = draw(st.sampled_from(["mutated", "metadata", "metadata", "random"]))
    if kind == "random":
        data = draw(st.binary(max_size=300))
    elif kind == "metadata":
        props = draw(metadata_props(SIZE_PX))
        classes = _label_count(props) if draw(st.booleans()) else draw(st.integers(1, 3))
        data = _tiny_model(props, classes).SerializeToString()
    else:
        raw = bytearray(_VALID_BYTES)
        for _ in range(draw(st.integers(0, 6))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        data = bytes(raw[:draw(st.integers(0, len(raw)))])
    if draw(st.booleans()):
        return data, None
    sidecar = draw(st.one_of(
        st.binary(max_size=40),
        metadata_props(SIZE_PX).map(lambda p: json.dumps({"metadata_props": p}).encode()),
        st.sampled_from([b"[]", b'{"metadata_props": 3}', b'{"metadata_props": {"a": 1}}'])))
    return data, sidecar


def _label_count(props: dict[str, str]) -> int:
    """Return how many labels the metadata names (2 where it names none readably)."""
    try:
        labels = json.loads(props.get("affect.labels", "[]"))
    except json.JSONDecodeError:
        return 2
    return len(labels) if isinstance(labels, list) and labels else 2


_SCRATCH: list[Path] = []


def _scratch_model(data: bytes, sidecar: bytes | None) -> Path:
    """Write the model (and its sidecar, or none) into this session's scratch folder."""
    if not _SCRATCH:
        _SCRATCH.append(scratch_dir("affect-fuzz-model-") / "fuzzed_model.onnx")
    path = _SCRATCH[0]
    path.write_bytes(data)
    side = path.with_suffix(".json")
    if sidecar is None:
        side.unlink(missing_ok=True)
    else:
        side.write_bytes(sidecar)
    return path


_CROPS = [np.random.default_rng(1).integers(0, 65535, (SIZE_PX, SIZE_PX)).astype(np.uint16),
          np.zeros((5, 11), np.uint8)]


@fuzz_target(short=60, long=2_500)
@given(model_files())
def test_a_model_file_loads_and_predicts_probabilities_or_is_a_model_error(
        case: tuple[bytes, bytes | None]) -> None:
    path = _scratch_model(*case)
    try:
        model = EmotionModel(path)
    except ModelError as err:
        assert path.stem in str(err)  # the model file, or the .json beside it
        event("refused")
        return
    event("loaded")
    _check_usable(model.metadata)
    try:
        probabilities, valence, arousal = model.predict(_CROPS)
    except ModelError as err:  # a graph that loads but does not compute what it declares
        assert path.stem in str(err)
        return
    assert probabilities.shape == (len(_CROPS), len(model.labels))
    assert np.all(probabilities >= 0.0) and np.allclose(probabilities.sum(axis=1), 1.0)
    assert valence.shape == arousal.shape == (len(_CROPS),)


@pytest.mark.parametrize(("key", "value"), [("affect.input_size", "0"),
                                            ("affect.input_size", "-3"),
                                            ("affect.input_size", "100000"),
                                            ("affect.temperature", "inf"),
                                            ("affect.domain_threshold", "inf")])
def test_metadata_a_runtime_cannot_use_is_a_model_error(key: str, value: str) -> None:
    # Found by the metadata target: each was accepted, to fail later in cv2.resize, as a
    # huge allocation, or as silently uniform probabilities / a domain never left.
    props = {**_VALID_PROPS, key: value}
    with pytest.raises(ModelError, match=key):
        ModelMetadata.from_props(props, SOURCE)


def test_a_model_whose_metadata_is_not_utf8_is_a_model_error(tmp_path: Path) -> None:
    # Found by the model-file target (long run): a flipped byte in a metadata value made
    # onnxruntime's custom_metadata_map raise UnicodeDecodeError.
    path = tmp_path / "model.onnx"
    path.write_bytes(_VALID_BYTES.replace(b"tiny@1", b"\x80iny@1"))
    with pytest.raises(ModelError, match="not UTF-8"):
        EmotionModel(path)
