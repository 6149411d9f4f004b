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

"""Rewrite each PRelu of the face models as x + (1 - slope) * Relu(-x), in 1x1 convolutions.

ONNX Runtime's CPU PRelu is a generic broadcasting kernel outside its blocked (NCHWc)
convolution layout, so each one costs a layout change each way: in the face mesh and
iris models PRelu and those reorders took 60-70 % of the time. Elementwise Relu, Min,
Mul and Add (an earlier rewrite) still ran outside that layout, at half the cost. Here
each PRelu becomes a depthwise 1x1 convolution by -1 with its Relu fused, a depthwise 1x1
convolution by (1 - slope), and an Add of x, all of which ONNX Runtime keeps in the
blocked layout and fuses with the neighbouring convolutions. For x >= 0 it gives x + 0;
for x < 0 it gives x + (1 - slope) * -x = slope * x. The floating-point sums differ from
PRelu's product by rounding only; ``main`` checks the outputs against the unrewritten model
on random and constant inputs (at most 1e-5 of the outputs' scale) and prints the time
per run before and after.

Usage: python scripts/optimise_face_models.py [models/face] (needs onnx and onnxruntime).
Run by scripts/convert_face_models after conversion; running it twice changes nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

# Largest difference from the unrewritten model allowed, as a share of its outputs' scale.
TOLERANCE = 1e-5


def rewrite_prelu(model: onnx.ModelProto) -> int:
    """Replace every PRelu node of ``model`` in place; return how many were replaced.

    Each PRelu's slope must be a per-channel initializer (shape (C, 1, 1) or (1, C, 1, 1)),
    as in every MediaPipe model converted here: the depthwise convolutions need C.
    """
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    nodes: list[onnx.NodeProto] = []
    added: dict[str, onnx.TensorProto] = {}
    replaced = 0
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope_name = node.input
        if slope_name not in initializers:
            raise ValueError(f"PRelu {node.name!r} takes its slope {slope_name!r} from the "
                             "graph, not an initializer; it cannot be rewritten")
        slope = numpy_helper.to_array(initializers[slope_name]).astype(np.float32)
        if slope.ndim not in (3, 4) or slope.shape[-2:] != (1, 1) or slope.size != slope.shape[-3]:
            raise ValueError(f"PRelu {node.name!r} has slope shape {slope.shape}; only "
                             "per-channel slopes (C, 1, 1) are rewritten")
        channels = slope.size
        negate = f"prelu_rewrite_negate_{channels}"
        if negate not in added:
            added[negate] = numpy_helper.from_array(
                np.full((channels, 1, 1, 1), -1.0, np.float32), negate)
        stem = f"prelu_rewrite_{replaced}"
        added[f"{stem}_gain"] = numpy_helper.from_array(
            (1.0 - slope).reshape(channels, 1, 1, 1), f"{stem}_gain")
        depthwise = {"group": channels, "kernel_shape": [1, 1]}
        nodes += [
            helper.make_node("Conv", [x, negate], [f"{stem}_negated"],
                             name=f"{stem}_negate", **depthwise),
            helper.make_node("Relu", [f"{stem}_negated"], [f"{stem}_below"],
                             name=f"{stem}_relu"),
            helper.make_node("Conv", [f"{stem}_below", f"{stem}_gain"], [f"{stem}_scaled"],
                             name=f"{stem}_scale", **depthwise),
            helper.make_node("Add", [x, f"{stem}_scaled"], list(node.output),
                             name=f"{stem}_add"),
        ]
        replaced += 1
    if replaced:
        graph.initializer.extend(added.values())
        del graph.node[:]
        graph.node.extend(nodes)
        used = {name for n in graph.node for name in n.input}
        kept = [i for i in graph.initializer if i.name in used]
        del graph.initializer[:]
        graph.initializer.extend(kept)
        onnx.checker.check_model(model)
    return replaced


def _session(model: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # the unused slopes are pruned; no warning for each
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _ms_per_run(session: ort.InferenceSession, x: np.ndarray, runs: int = 100) -> float:
    name = session.get_inputs()[0].name
    for _ in range(5):
        session.run(None, {name: x})
    start = time.perf_counter()
    for _ in range(runs):
        session.run(None, {name: x})
    return 1000.0 * (time.perf_counter() - start) / runs


def main(folder: Path) -> int:
    """Rewrite the models in ``folder``; print nodes replaced, largest difference, ms/run."""
    rng = np.random.default_rng(0)
    for path in sorted(folder.glob("*.onnx")):
        model = onnx.load(str(path))
        before = model.SerializeToString()
        replaced = rewrite_prelu(model)
        if not replaced:
            print(f"{path.name}: no PRelu, unchanged")
            continue
        after = model.SerializeToString()
        old, new = _session(before), _session(after)
        shape = [int(d.dim_value) for d in model.graph.input[0].type.tensor_type.shape.dim]
        inputs = [rng.random(shape, dtype=np.float32) for _ in range(8)]
        inputs += [np.zeros(shape, np.float32), np.ones(shape, np.float32)]
        name = old.get_inputs()[0].name
        outputs = [(old.run(None, {name: x}), new.run(None, {name: x})) for x in inputs]
        # Per output (mesh points in pixels, a presence logit): its own scale.
        worst, scale = 0.0, 1.0
        for k in range(len(outputs[0][0])):
            diff = max(float(np.abs(a[k] - b[k]).max()) for a, b in outputs)
            size = max(float(np.abs(a[k]).max()) for a, _ in outputs)
            if diff > TOLERANCE * max(size, 1.0):
                print(f"{path.name}: rewritten output {k} differs by {diff:g} (its scale "
                      f"{size:g}); file left unchanged")
                return 1
            if diff / max(size, 1.0) >= worst / scale:
                worst, scale = diff, max(size, 1.0)
        # Old and new alternately, medians of three: one run, the same machine state.
        times = [(_ms_per_run(old, inputs[0]), _ms_per_run(new, inputs[0])) for _ in range(3)]
        old_ms, new_ms = (float(np.median(t)) for t in zip(*times, strict=True))
        path.write_bytes(after)
        print(f"{path.name}: {replaced} PRelu rewritten, largest difference {worst:g} "
              f"(output scale {scale:g}), "
              f"{old_ms:.2f} -> {new_ms:.2f} ms per run on 1 thread "
              f"({old_ms / new_ms:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else
                  Path(__file__).resolve().parent.parent / "models" / "face"))
