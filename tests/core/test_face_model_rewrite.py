# Copyright 2026 affect maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""scripts/optimise_face_models.py: PRelu rewritten, same outputs; shipped models rewritten.

The reference is PRelu's definition in numpy (x where x >= 0, slope * x elsewhere, the
slope broadcast per channel) on a small Conv -> PRelu -> Conv graph with random weights.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from affect_core.face.onnx_models import FACE_MODEL_DIR

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper, numpy_helper, TensorProto  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "optimise_face_models.py"


def _script():
    spec = importlib.util.spec_from_file_location("optimise_face_models", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _prelu_graph(rng: np.random.Generator) -> tuple[onnx.ModelProto, np.ndarray, np.ndarray]:
    weight = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
    slope = rng.uniform(-0.5, 0.9, size=(1, 8, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("PRelu", ["c", "s"], ["p"]),
             helper.make_node("PRelu", ["p", "s"], ["y"])]
    graph = helper.make_graph(
        nodes, "prelu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(slope, "s")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    return model, weight, slope


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_rewritten_prelu_gives_the_same_outputs_as_prelu() -> None:
    rng = np.random.default_rng(3)
    model, _, slope = _prelu_graph(rng)
    x = rng.normal(size=(1, 3, 16, 16)).astype(np.float32)
    before = _run(model, x)
    conv_only = onnx.ModelProto()
    conv_only.CopyFrom(model)
    assert _script().rewrite_prelu(model) == 2
    assert [n.op_type for n in model.graph.node].count("PRelu") == 0
    after = _run(model, x)
    # x + (1 - slope) * -x against slope * x: rounding only.
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
    # Against the definition: PRelu twice on the convolution's output.
    del conv_only.graph.node[1:]
    conv_only.graph.output[0].name = "c"
    c = _run(conv_only, x)
    once = np.where(c >= 0, c, slope * c)
    np.testing.assert_allclose(after, np.where(once >= 0, once, slope * once),
                               rtol=1e-5, atol=1e-6)
    assert (before < 0).any() and (before > 0).any()  # both branches were exercised


def test_rewriting_twice_changes_nothing() -> None:
    model, _, _ = _prelu_graph(np.random.default_rng(4))
    script = _script()
    script.rewrite_prelu(model)
    once = model.SerializeToString()
    assert script.rewrite_prelu(model) == 0
    assert model.SerializeToString() == once


def test_a_slope_computed_by_the_graph_is_refused_by_name() -> None:
    model, _, _ = _prelu_graph(np.random.default_rng(5))
    model.graph.node[1].input[1] = "c"  # the slope is now a tensor of the graph
    with pytest.raises(ValueError, match="not an initializer"):
        _script().rewrite_prelu(model)


@pytest.mark.parametrize(("name", "prelus"),
                         [("face_landmark.onnx", 23), ("iris_landmark.onnx", 53)])
def test_shipped_landmark_models_carry_no_prelu(name: str, prelus: int) -> None:
    nodes = onnx.load(str(FACE_MODEL_DIR / name)).graph.node
    ops = [node.op_type for node in nodes]
    assert "PRelu" not in ops and "Min" not in ops and "Mul" not in ops
    rewritten = [n for n in nodes if n.name.startswith("prelu_rewrite_")]
    assert len(rewritten) == 4 * prelus  # negate, relu, scale, add per PRelu
