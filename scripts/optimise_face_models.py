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

"""Rewrite each PRelu of the face models as Relu(x) + slope * Min(x, 0), with equal outputs.

ONNX Runtime's CPU PRelu is a generic broadcasting kernel outside its blocked (NCHWc)
convolution layout, so each one costs a layout change each way: in the face mesh and
iris models PRelu and those reorders took 60-70 % of the time. The same function written
as Relu, Min, Mul and Add stays in the fast layout. For x >= 0 it gives x + slope * 0 and
for x < 0 it gives 0 + slope * x, so the outputs are equal bit for bit; ``main`` checks
that on random and constant inputs and prints the time per run before and after.

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


def rewrite_prelu(model: onnx.ModelProto) -> int:
    """Replace every PRelu node of ``model`` in place; return how many were replaced."""
    graph = model.graph
    nodes: list[onnx.NodeProto] = []
    zero = "prelu_rewrite_zero"
    replaced = 0
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope = node.input
        stem = f"prelu_rewrite_{replaced}"
        nodes += [
            helper.make_node("Relu", [x], [f"{stem}_positive"], name=f"{stem}_relu"),
            helper.make_node("Min", [x, zero], [f"{stem}_negative"], name=f"{stem}_min"),
            helper.make_node("Mul", [f"{stem}_negative", slope], [f"{stem}_scaled"],
                             name=f"{stem}_mul"),
            helper.make_node("Add", [f"{stem}_positive", f"{stem}_scaled"], list(node.output),
                             name=f"{stem}_add"),
        ]
        replaced += 1
    if replaced:
        graph.initializer.append(numpy_helper.from_array(np.zeros((), np.float32), zero))
        del graph.node[:]
        graph.node.extend(nodes)
        onnx.checker.check_model(model)
    return replaced


def _session(model: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
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
        worst = max(float(np.abs(a - b).max())
                    for x in inputs
                    for a, b in zip(old.run(None, {name: x}), new.run(None, {name: x})))
        if worst != 0.0:
            print(f"{path.name}: rewritten outputs differ by {worst:g}; file left unchanged")
            return 1
        old_ms, new_ms = _ms_per_run(old, inputs[0]), _ms_per_run(new, inputs[0])
        path.write_bytes(after)
        print(f"{path.name}: {replaced} PRelu rewritten, max abs difference {worst:g}, "
              f"{old_ms:.2f} -> {new_ms:.2f} ms per run on 1 thread "
              f"({old_ms / new_ms:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else
                  Path(__file__).resolve().parent.parent / "models" / "face"))
