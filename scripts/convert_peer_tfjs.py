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

"""Shared parts of the conversions of tfjs peer models (face-api, human) to affect ONNX.

- reading tfjs weights (JSON manifest + binary shards) with numpy, dequantised exactly as
  tfjs-core's ``decodeWeights`` does (``q * scale + min`` in double, stored as float32);
- an ONNX graph builder (opset 17, NCHW) that keeps uint8-quantised weights quantised in
  the file and dequantises them with the same double arithmetic;
- the parity inputs (real face photographs from scikit-image, variations, textures), the
  run of the original model by tfjs under Node (scripts/tfjs_parity/parity.js), and the
  record written beside each model.

Used by scripts/convert_faceapi_expression.py and scripts/convert_human_fer_xception.py
at conversion time only; nothing here runs at run time or in the tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from affect_core.model.metadata import ModelMetadata

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "scripts" / "tfjs_parity"
# The astronaut's face in scikit-image's photograph (row0, row1, col0, col1), the same
# box as the fer baseline's parity inputs.
ASTRONAUT_FACE = (55, 172, 166, 283)
LFW_FACES = 8  # the first 100 images of scikit-image's LFW subset are faces
_DTYPES = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "uint16": np.uint16}


@dataclass(frozen=True)
class TfjsWeight:
    """One decoded tfjs weight: float values as tfjs holds them, and the stored form."""

    name: str
    values: np.ndarray
    quantized: np.ndarray | None = None  # the uint8/uint16 codes, when quantised
    scale: float = 1.0
    minimum: float = 0.0


def read_tfjs_weights(manifest: Sequence[Mapping[str, Any]], base: Path) -> dict[str, TfjsWeight]:
    """Decode every weight of a tfjs weights manifest, group by group, as tfjs-core does."""
    weights: dict[str, TfjsWeight] = {}
    for group in manifest:
        data = b"".join((base / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = tuple(int(d) for d in spec["shape"])
            size = int(np.prod(shape, dtype=np.int64))
            quant = spec.get("quantization")
            if quant is None:
                dtype = np.dtype(_DTYPES[spec["dtype"]])
                values = np.frombuffer(data, dtype.newbyteorder("<"), size, offset)
                weights[spec["name"]] = TfjsWeight(spec["name"], values.reshape(shape).copy())
                offset += size * dtype.itemsize
                continue
            if spec["dtype"] != "float32" or quant["dtype"] not in ("uint8", "uint16"):
                raise ValueError(f"{spec['name']}: unsupported quantisation {quant}")
            qtype = np.dtype(_DTYPES[quant["dtype"]])
            codes = np.frombuffer(data, qtype.newbyteorder("<"), size, offset)
            codes = codes.astype(qtype).reshape(shape)
            scale, minimum = float(quant["scale"]), float(quant["min"])
            # tfjs: values[i] = v * scale + min, in JavaScript doubles, into a Float32Array.
            values = (codes.astype(np.float64) * scale + minimum).astype(np.float32)
            weights[spec["name"]] = TfjsWeight(spec["name"], values, codes, scale, minimum)
            offset += size * qtype.itemsize
        if offset != len(data):
            raise ValueError(f"weights of {group['paths']} use {offset} of {len(data)} bytes")
    return weights


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Return the padding (before, after) of TensorFlow's 'same' mode (extra pixel after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class OnnxBuilder:
    """Collects ONNX nodes and initializers of an NCHW graph built from tfjs weights."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()

    def unique(self, name: str) -> str:
        """``name``, or ``name`` with a counter when it is taken."""
        candidate, n = name, 1
        while candidate in self._names:
            n += 1
            candidate = f"{name}_{n}"
        self._names.add(candidate)
        return candidate

    def const(self, name: str, value: np.ndarray) -> str:
        """Add an initializer holding ``value`` as it is (dtype kept); return its name."""
        name = self.unique(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: Sequence[str], name: str, **attrs: Any) -> str:
        """Append one node with one output named ``name``; return the output's name."""
        out = self.unique(name)
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=out, **attrs))
        return out

    def weight(self, name: str, weight: TfjsWeight, perm: Sequence[int] | None = None,
               shape: Sequence[int] | None = None) -> str:
        """Add a float32 weight in ONNX layout: reshaped, then axes permuted by ``perm``.

        A quantised weight stays quantised in the file: its codes are stored and
        dequantised in the graph as tfjs does it (double ``q * scale + min``, then float32),
        so the values are the ones tfjs computes. ONNX Runtime folds these constant nodes
        when it loads the model.
        """
        def layout(array: np.ndarray) -> np.ndarray:
            array = array.reshape(shape) if shape is not None else array
            return array.transpose(perm) if perm is not None else array

        if weight.quantized is None:
            return self.const(name, layout(weight.values).astype(np.float32))
        codes = self.const(f"{name}.codes", layout(weight.quantized))
        wide = self.node("Cast", [codes], f"{name}.codes_f64", to=TensorProto.DOUBLE)
        scale = self.const(f"{name}.scale", np.array(weight.scale, np.float64))
        minimum = self.const(f"{name}.min", np.array(weight.minimum, np.float64))
        scaled = self.node("Mul", [wide, scale], f"{name}.scaled")
        shifted = self.node("Add", [scaled, minimum], f"{name}.f64")
        return self.node("Cast", [shifted], name, to=TensorProto.FLOAT)

    def conv(self, x: str, size: int, name: str, kernel_hwio: TfjsWeight, stride: int,
             same: bool, bias: TfjsWeight | None = None, depthwise: bool = False,
             ) -> tuple[str, int]:
        """Add a TF conv (HWIO kernel) or depthwise conv (HWCM kernel) as an ONNX Conv."""
        kh, kw, cin, cout = kernel_hwio.values.shape
        if depthwise:  # TF output channel c * M + m is ONNX group c's m-th filter
            w = self.weight(f"{name}.weight", kernel_hwio, perm=(3, 2, 0, 1),
                            shape=(kh, kw, 1, cin * cout))
            group = cin
        else:
            w = self.weight(f"{name}.weight", kernel_hwio, perm=(3, 2, 0, 1))
            group = 1
        before, after = tf_same_pads(size, kh, stride) if same else (0, 0)
        inputs = [x, w]
        if bias is not None:
            inputs.append(self.weight(f"{name}.bias", bias))
        out = self.node("Conv", inputs, name, kernel_shape=[kh, kw], strides=[stride, stride],
                        pads=[before, before, after, after], group=group)
        return out, (size + before + after - kh) // stride + 1

    def graph(self, name: str, inputs: Sequence[onnx.ValueInfoProto],
              outputs: Sequence[onnx.ValueInfoProto], producer: str) -> onnx.ModelProto:
        """Make the checked ONNX model (opset 17, IR 8) of the collected nodes."""
        graph = helper.make_graph(self.nodes, name, list(inputs), list(outputs),
                                  self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                  producer_name=producer)
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        return model


def graph_hash(model: onnx.ModelProto) -> str:
    """Return the ``affect.hash`` of a model: sha256 of its serialised graph, 12 digits."""
    return hashlib.sha256(model.graph.SerializeToString()).hexdigest()[:12]


def photo_faces(size_px: int) -> np.ndarray:
    """Return real face crops (N, size, size) uint8 from scikit-image, with variations."""
    import cv2
    from skimage import color, data

    grey = (color.rgb2gray(data.astronaut()) * 255.0).round().astype(np.uint8)
    r0, r1, c0, c1 = ASTRONAUT_FACE
    face = cv2.resize(grey[r0:r1, c0:c1], (size_px, size_px))
    faces = [face, face[:, ::-1]]
    for gamma in (0.6, 1.6):
        faces.append((255.0 * (face / 255.0) ** gamma).round().astype(np.uint8))
    for lfw in data.lfw_subset()[:LFW_FACES]:  # 25x25 grey faces in [0, 1]
        small = (lfw * 255.0).round().astype(np.uint8)
        faces.append(cv2.resize(small, (size_px, size_px)))
    rng = np.random.default_rng(0)
    for _ in range(2):  # smooth random textures: off-domain inputs exercise every path
        coarse = rng.integers(0, 256, (8, 8)).astype(np.float32)
        faces.append(cv2.resize(coarse, (size_px, size_px)).round().astype(np.uint8))
    return np.stack(faces)


def tfjs_probabilities(which: str, faces: np.ndarray) -> tuple[np.ndarray, str]:
    """Run the original model by tfjs under Node; return probabilities and tfjs's name."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "crops.json"
        spec.write_text(json.dumps({"shape": list(faces.shape),
                                    "data": base64.b64encode(faces.tobytes()).decode()}))
        done = subprocess.run(["node", str(NODE_DIR / "parity.js"), which, str(spec)],
                              check=True, capture_output=True, text=True, cwd=NODE_DIR)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    described = f"tfjs {result['tfjs']} ({result['backend']} backend) under Node"
    return np.asarray(result["probabilities"], np.float64), described


def onnx_logits(model: onnx.ModelProto, crops: np.ndarray, normalization: str) -> np.ndarray:
    """Run the converted graph on (N, S, S) uint8 crops with ONNX Runtime; return logits."""
    import onnxruntime as ort

    from affect_core.model.adapters import scale_crops

    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    batch = scale_crops(list(crops), crops.shape[1], normalization)
    return session.run(["logits"], {"crops": batch})[0].astype(np.float64)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return the row-wise softmax."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def npm_package(name: str) -> dict[str, str]:
    """Return version, tarball address and npm integrity of a package (package-lock)."""
    lock = json.loads((NODE_DIR / "package-lock.json").read_text(encoding="utf-8"))
    entry = lock["packages"][f"node_modules/{name}"]
    basename = name.rpartition("/")[2]
    tarball = entry.get("resolved", f"https://registry.npmjs.org/{name}/-/"
                                    f"{basename}-{entry['version']}.tgz")
    return {"package": f"{name} {entry['version']} (npm)", "tarball": tarball,
            "tarball_integrity": entry["integrity"]}


def package_dir(name: str) -> Path:
    """Return where npm installed ``name`` for the parity run."""
    return NODE_DIR / "node_modules" / name


def sha256(path: Path) -> str:
    """Return the hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(model: onnx.ModelProto, metadata: ModelMetadata, out: Path, source: Mapping[str, Any],
         conversion: Mapping[str, Any], data: str, fixture: Path, faces: np.ndarray,
         reference: np.ndarray) -> None:
    """Write the model with its metadata, the record beside it and the parity fixture."""
    for key, value in metadata.to_props().items():
        model.metadata_props.add(key=key, value=value)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    record = {"model_id": metadata.model_id, "metadata_props": metadata.to_props(),
              "source": dict(source), "conversion": dict(conversion), "data": data}
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    fixture.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(fixture, faces=faces, tfjs_probabilities=reference.astype(np.float32))


def report(out: Path, metadata: ModelMetadata, fixture: Path, faces: np.ndarray,
           ours: np.ndarray, reference: np.ndarray, labels: Sequence[str]) -> None:
    """Print what was written and the parity figures."""
    max_abs = float(np.abs(ours - reference).max())
    agree = int(np.sum(ours.argmax(1) == reference.argmax(1)))
    print(f"wrote {out} ({out.stat().st_size} bytes), id {metadata.model_id}")
    print(f"wrote {fixture} ({fixture.stat().st_size} bytes): {len(faces)} crops with tfjs's "
          "probabilities")
    print(f"parity with tfjs: max |dp| = {max_abs:.2e}, top-1 agreement {agree}/{len(faces)}")
    names = ("astronaut", "mirrored", "gamma 0.6", "gamma 1.6")
    for name, row in zip(names, ours[:4], strict=True):
        shown = ", ".join(f"{lab} {p:.2f}" for lab, p in zip(labels, row, strict=True))
        print(f"  {name}: {shown}")
