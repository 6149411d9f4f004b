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

"""Convert human's FER2013 Xception emotion model (npm @vladmandic/human 3.3.6) to ONNX.

human (MIT) ships ``models/emotion.json`` + ``emotion.bin``: a tfjs graph model (float32
weights) of oarriaga/face_classification's Xception-style FER2013 classifier, 64x64x1
NHWC in, 7 softmax probabilities out. This script translates the graph node by node into
ONNX opset-17 nodes (NCHW): ``_FusedConv2D`` (BiasAdd with or without Relu),
``DepthwiseConv2dNative``, ``MaxPool``, ``AddV2``, ``Relu``, ``Mean`` over the spatial
axes (the global average pool), with TensorFlow's 'same' padding. The final ``Softmax``
is left out, so the output is logits and softmax(logits) is human's output.

human's preprocessing (src/gear/emotion.ts) takes the face tensor in 0..1, resizes it
bilinearly to 64x64, weights RGB to grey with (0.2989, 0.5870, 0.1140) and scales
(grey - 0.5) * 2. For a grey photograph (R = G = B = v / 255) that is
((v / 255) * 0.9999 - 0.5) * 2, not quite the project's ``unit_range``
(v / 255 * 2 - 1); the graph declares ``unit_range`` and maps it onto human's value
inside, so a grey 8-bit photograph given as a 1-channel crop reaches the network as
human would give it.

Parity is checked against tfjs-converter running the original graph model on tfjs's cpu
backend under Node after human's own preprocessing (scripts/tfjs_parity), on real
photographs from scikit-image; the inputs and tfjs's probabilities are written to the
fixture the tests replay.

Needs: numpy, onnx, onnxruntime, scikit-image, opencv, node with scripts/tfjs_parity's
packages installed, and affect_core on PYTHONPATH; scripts/convert_human_fer_xception
sets that up. Nothing here runs at run time or in the tests.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

import convert_peer_tfjs as peer
from affect_core.model.metadata import ModelMetadata

PACKAGE = "@vladmandic/human"
VERSION = "3.3.6"
GRAPH = "models/emotion.json"
WEIGHTS = "models/emotion.bin"
# src/gear/emotion.ts, for a one-channel (FER2013) model, in output order.
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
LABEL_MAP = {
    "angry": "angry",
    "disgust": "disgusted",
    "fear": "scared",
    "happy": "happy",
    "sad": "sad",
    "surprise": "surprised",
    "neutral": "neutral",
}
SIZE_PX = 64
GREY_WEIGHTS = (0.2989, 0.5870, 0.1140)  # human's src/tfjs/constants.ts
NORMALIZATION = "unit_range"
TRAINING_DATA = (
    "real faces: FER2013 (48x48 greyscale web photographs, visible light, 7 expressions), "
    "trained by oarriaga/face_classification (MIT), as shipped by human (MIT); never saw "
    "IR or the rig"
)


def _attr(node: Mapping[str, Any], key: str) -> Any:
    """Return a tfjs graph node attribute: list of ints, string, or the raw value."""
    value = node.get("attr", {}).get(key)
    if value is None:
        return None
    if "list" in value:
        listed = value["list"]
        if "i" in listed:
            return [int(i) for i in listed["i"]]
        if "s" in listed:
            return [base64.b64decode(s).decode() for s in listed["s"]]
        return []
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    return value


def translate(topology: Mapping[str, Any], weights: dict[str, peer.TfjsWeight]) -> onnx.ModelProto:
    """Translate the tfjs graph to ONNX nodes, with human's grey preprocessing in front."""
    b = peer.OnnxBuilder()
    # unit_range u in [-1, 1] -> v / 255 -> human's weighted grey -> (grey - 0.5) * 2.
    unit = b.node("Mul", [b.node("Add", ["crops", b.const("one", np.float32(1.0))],
                                 "crops_plus_one"),
                          b.const("half", np.float32(0.5))], "unit")
    weight_sum = np.float32(np.float32(GREY_WEIGHTS[0]) + np.float32(GREY_WEIGHTS[1])
                            + np.float32(GREY_WEIGHTS[2]))
    grey = b.node("Mul", [unit, b.const("grey_weight", weight_sum)], "grayscale")
    centred = b.node("Sub", [grey, b.const("grey_half", np.float32(0.5))], "grayscale_sub")
    scaled = b.node("Mul", [centred, b.const("two", np.float32(2.0))], "grayscale_mul")

    tensors: dict[str, tuple[str, int]] = {}  # tfjs name -> (ONNX name, spatial size)
    logits = None
    for node in topology["node"]:
        op, name = node["op"], node["name"]
        inputs = [i.split(":")[0] for i in node.get("input", [])]
        if op == "Const":
            continue
        if _attr(node, "data_format") not in (None, "NHWC"):
            raise ValueError(f"{name}: data format {_attr(node, 'data_format')}")
        if op == "Placeholder":
            shape = [int(d["size"]) for d in node["attr"]["shape"]["shape"]["dim"]]
            if shape[1:] != [SIZE_PX, SIZE_PX, 1]:
                raise ValueError(f"input {name} has shape {shape}")
            tensors[name] = (scaled, SIZE_PX)
        elif op in ("_FusedConv2D", "DepthwiseConv2dNative"):
            x, size = tensors[inputs[0]]
            strides, dilations = _attr(node, "strides"), _attr(node, "dilations")
            if strides[0] != 1 or strides[3] != 1 or strides[1] != strides[2] or any(
                    d != 1 for d in dilations):
                raise ValueError(f"{name}: strides {strides}, dilations {dilations}")
            same = {"SAME": True, "VALID": False}[_attr(node, "padding")]
            bias = None
            fused = _attr(node, "fused_ops") or []
            if op == "_FusedConv2D":
                if fused not in (["BiasAdd"], ["BiasAdd", "Relu"]) or len(inputs) != 3:
                    raise ValueError(f"{name}: fused ops {fused}")
                bias = weights[inputs[2]]
            out, size = b.conv(x, size, name, weights[inputs[1]], strides[1], same, bias=bias,
                               depthwise=op == "DepthwiseConv2dNative")
            if "Relu" in fused:
                out = b.node("Relu", [out], f"{name}/relu")
            tensors[name] = (out, size)
        elif op == "MaxPool":
            x, size = tensors[inputs[0]]
            ksize, strides = _attr(node, "ksize"), _attr(node, "strides")
            k, s = ksize[1], strides[1]
            if ksize != [1, k, k, 1] or strides != [1, s, s, 1]:
                raise ValueError(f"{name}: ksize {ksize}, strides {strides}")
            # ONNX max-pooling ignores padded cells, as TensorFlow's 'same' mode does.
            before, after = (peer.tf_same_pads(size, k, s) if _attr(node, "padding") == "SAME"
                             else (0, 0))
            out = b.node("MaxPool", [x], name, kernel_shape=[k, k], strides=[s, s],
                         pads=[before, before, after, after])
            tensors[name] = (out, (size + before + after - k) // s + 1)
        elif op == "AddV2":
            (a, size), (c, size_c) = tensors[inputs[0]], tensors[inputs[1]]
            if size != size_c:
                raise ValueError(f"{name}: adds {size} and {size_c} maps")
            tensors[name] = (b.node("Add", [a, c], name), size)
        elif op == "Relu":
            x, size = tensors[inputs[0]]
            tensors[name] = (b.node("Relu", [x], name), size)
        elif op == "Mean":
            x, _ = tensors[inputs[0]]
            axes = weights[inputs[1]].values.tolist()
            if sorted(axes) != [1, 2] or node["attr"]["keep_dims"].get("b", False):
                raise ValueError(f"{name}: mean over axes {axes}")
            pooled = b.node("GlobalAveragePool", [x], f"{name}/pooled")
            tensors[name] = (b.node("Flatten", [pooled], name, axis=1), 1)
        elif op == "Softmax":
            logits = tensors[inputs[0]][0]  # left out: the output is its input, the logits
            tensors[name] = tensors[inputs[0]]
        elif op == "Identity":
            if logits is None or tensors[inputs[0]][0] != logits:
                raise ValueError(f"{name}: the graph does not end with its softmax")
        else:
            raise ValueError(f"{name}: op {op} is not handled")
    if logits is None:
        raise ValueError("the graph has no softmax")
    b.node("Identity", [logits], "logits")
    return b.graph(
        "human_fer_xception",
        [helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["k", 1, SIZE_PX, SIZE_PX])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["k", len(LABELS)])],
        "affect convert_human_fer_xception")


def main(argv: list[str] | None = None) -> int:
    """Convert, check parity with tfjs, write the model, its record and the fixture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="models/human_fer_xception.onnx")
    parser.add_argument("--fixture", default="tests/core/data/human_fer_xception_parity.npz")
    args = parser.parse_args(argv)

    package = peer.package_dir(PACKAGE)
    info = json.loads((package / "package.json").read_text(encoding="utf-8"))
    if info["version"] != VERSION:
        print(f"error: {package} is version {info['version']}, expected {VERSION}",
              file=sys.stderr)
        return 1
    graph = json.loads((package / GRAPH).read_text(encoding="utf-8"))
    if graph.get("format") != "graph-model":
        print(f"error: {GRAPH} is not a tfjs graph model", file=sys.stderr)
        return 1
    weights = peer.read_tfjs_weights(graph["weightsManifest"], (package / GRAPH).parent)
    model = translate(graph["modelTopology"], weights)

    faces = peer.photo_faces(SIZE_PX)
    reference, reference_desc = peer.tfjs_probabilities("human", faces)
    ours = peer.softmax(peer.onnx_logits(model, faces, NORMALIZATION))
    max_abs = float(np.abs(ours - reference).max())
    agree = float(np.mean(ours.argmax(1) == reference.argmax(1)))

    metadata = ModelMetadata(
        labels=LABELS,
        input_size_px=SIZE_PX,
        normalization=NORMALIZATION,
        temperature=1.0,
        model_id=f"human_fer_xception@{VERSION}+{peer.graph_hash(model)}",
        training_data=TRAINING_DATA,
        has_valence_arousal=False,
        label_map=LABEL_MAP,
    )
    source = {
        **peer.npm_package(PACKAGE),
        "homepage": "https://github.com/vladmandic/human",
        "origin": f"{graph.get('generatedBy')} (converted by {graph.get('convertedBy')})",
        "weights": [GRAPH, WEIGHTS],
        "weights_sha256": {GRAPH: peer.sha256(package / GRAPH),
                           WEIGHTS: peer.sha256(package / WEIGHTS)},
        "preprocessing": "src/gear/emotion.ts and src/tfjs/constants.ts of the package",
        "license": "MIT",
        "license_text": (package / "LICENSE").read_text(encoding="utf-8"),
    }
    conversion = {
        "route": "tfjs graph model read with numpy and translated node by node to ONNX "
                 "opset 17 (scripts/convert_human_fer_xception.py); human's weighted grey "
                 "and (x - 0.5) * 2 baked in behind unit_range; the final softmax left out",
        "parity_reference": f"the original graph model after human's preprocessing, "
                            f"{reference_desc}",
        "parity_inputs": f"{len(faces)} {SIZE_PX}x{SIZE_PX} grey uint8 crops in "
                         f"{args.fixture}, given to the model as grey RGB face tensors",
        "max_abs_probability_difference": max_abs,
        "top1_agreement": agree,
    }
    data = ("trained on FER2013 (real faces, visible-light web photographs); never saw IR "
            "images or the simulated rig")
    out, fixture = Path(args.out), Path(args.fixture)
    peer.save(model, metadata, out, source, conversion, data, fixture, faces, reference)
    peer.report(out, metadata, fixture, faces, ours, reference, LABELS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
