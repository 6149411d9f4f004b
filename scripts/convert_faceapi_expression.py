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

"""Convert face-api's face expression net (npm @vladmandic/face-api 1.7.15) to affect ONNX.

face-api (MIT) defines the network in code and ships only its weights
(``model/face_expression_model-weights_manifest.json`` + ``.bin``, uint8-quantised
kernels, float32 biases). This script rebuilds the network of face-api's source as ONNX
opset-17 nodes (NCHW):

- FaceFeatureExtractor: four dense blocks (``denseBlock4``); dense0 opens with a 3x3
  stride-2 conv + bias, the others with a stride-2 depthwise-separable conv + bias; each
  block sums its convolutions' outputs densely, with ReLUs as in ``denseBlock.ts``; then a
  7x7 average pool over the final 7x7 map (a global average);
- the classifier: one fully connected layer 256 -> 7, whose output are logits (face-api
  applies the softmax afterwards; softmax(logits) is its output).

face-api's preprocessing, ``(rgb - [122.782, 117.001, 104.298]) / 255`` on 0..255 pixels
of a 112x112 RGB image, is baked into the graph: the model declares ``unit_range`` on a
1-channel crop (x in [-1, 1] from the pixel type's full scale), maps it back to 0..255,
subtracts the mean RGB (which also repeats the grey value into three channels) and
divides by 255. A grey 8-bit photograph given as a 1-channel crop thus reaches the
network exactly as the same photograph decoded to RGB reaches face-api.

Parity is checked against face-api's own code running its own weights on tfjs's cpu
backend under Node (scripts/tfjs_parity), on real photographs from scikit-image; the
inputs and tfjs's probabilities are written to the fixture the tests replay.

Needs: numpy, onnx, onnxruntime, scikit-image, opencv, node with scripts/tfjs_parity's
packages installed, and affect_core on PYTHONPATH; scripts/convert_faceapi_expression
sets that up. Nothing here runs at run time or in the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

import convert_peer_tfjs as peer
from affect_core.model.metadata import ModelMetadata

PACKAGE = "@vladmandic/face-api"
VERSION = "1.7.15"
MANIFEST = "model/face_expression_model-weights_manifest.json"
WEIGHTS = "model/face_expression_model.bin"
# FACE_EXPRESSION_LABELS of src/faceExpressionNet/FaceExpressions.ts, in output order.
LABELS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
LABEL_MAP = {
    "neutral": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "scared",
    "disgusted": "disgusted",
    "surprised": "surprised",
}
SIZE_PX = 112
MEAN_RGB = (122.782, 117.001, 104.298)  # src/faceFeatureExtractor/FaceFeatureExtractor.ts
NORMALIZATION = "unit_range"
TRAINING_DATA = (
    "real faces: face-api.js's face expression net (Vincent Mühler, MIT), trained by its "
    "author on a variety of images from publicly available datasets and images scraped "
    "from the web (not further documented), visible light, 7 expressions; never saw IR "
    "or the rig"
)


class FaceApiGraph:
    """The FaceExpressionNet of face-api's source as ONNX nodes."""

    def __init__(self, weights: dict[str, peer.TfjsWeight]) -> None:
        self.w = weights
        self.b = peer.OnnxBuilder()

    def separable(self, x: str, size: int, prefix: str, stride: int) -> tuple[str, int]:
        """``depthwiseSeparableConv``: tf.separableConv2d('same') + bias."""
        w = self.w
        y, size = self.b.conv(x, size, f"{prefix}.depthwise", w[f"{prefix}/depthwise_filter"],
                              stride, True, depthwise=True)
        return self.b.conv(y, size, f"{prefix}.pointwise", w[f"{prefix}/pointwise_filter"], 1,
                           False, bias=w[f"{prefix}/bias"])

    def dense_block(self, x: str, size: int, prefix: str, first: bool) -> tuple[str, int]:
        """``denseBlock4`` with isScaleDown: conv0 halves the size, conv1..3 keep it."""
        b = self.b
        if first:
            out1, size = b.conv(x, size, f"{prefix}/conv0", self.w[f"{prefix}/conv0/filters"],
                                2, True, bias=self.w[f"{prefix}/conv0/bias"])
        else:
            out1, size = self.separable(x, size, f"{prefix}/conv0", 2)
        out1 = b.node("Relu", [out1], f"{prefix}/out1")
        out2, _ = self.separable(out1, size, f"{prefix}/conv1", 1)
        in3 = b.node("Relu", [b.node("Add", [out1, out2], f"{prefix}/sum3")], f"{prefix}/in3")
        out3, _ = self.separable(in3, size, f"{prefix}/conv2", 1)
        # tf.add(out1, tf.add(out2, out3)): the same order of additions as face-api.
        in4 = b.node("Add", [out1, b.node("Add", [out2, out3], f"{prefix}/sum23")],
                     f"{prefix}/sum4")
        in4 = b.node("Relu", [in4], f"{prefix}/in4")
        out4, _ = self.separable(in4, size, f"{prefix}/conv3", 1)
        s34 = b.node("Add", [out3, out4], f"{prefix}/sum34")
        s234 = b.node("Add", [out2, s34], f"{prefix}/sum234")
        return b.node("Relu", [b.node("Add", [out1, s234], f"{prefix}/sum")], prefix), size

    def build(self) -> onnx.ModelProto:
        """Build the whole graph: preprocessing, feature extractor, classifier (logits)."""
        b = self.b
        # unit_range x in [-1, 1] -> 0..255 -> (rgb - mean) / 255, three channels.
        pixels = b.node("Mul", [b.node("Add", ["crops", b.const("one", np.float32(1.0))],
                                       "crops_plus_one"),
                                b.const("half_scale", np.float32(127.5))], "pixels")
        mean = b.const("mean_rgb", np.array(MEAN_RGB, np.float32).reshape(1, 3, 1, 1))
        centred = b.node("Sub", [pixels, mean], "centred_rgb")
        x = b.node("Div", [centred, b.const("full_scale", np.float32(255.0))], "normalized")
        size = SIZE_PX
        for i in range(4):
            x, size = self.dense_block(x, size, f"dense{i}", first=i == 0)
        if size != 7:
            raise ValueError(f"feature map is {size}x{size}, face-api pools a 7x7 map")
        # tf.avgPool(out, [7, 7], [2, 2], 'valid') on a 7x7 map is the global average.
        pooled = b.node("GlobalAveragePool", [x], "pooled")
        flat = b.node("Flatten", [pooled], "features", axis=1)
        fc_w = b.weight("fc.weight", self.w["fc/weights"])  # (256, 7), x @ W as tf.matMul
        fc_b = b.weight("fc.bias", self.w["fc/bias"])
        b.node("Gemm", [flat, fc_w, fc_b], "logits")
        return b.graph(
            "faceapi_expression",
            [helper.make_tensor_value_info("crops", TensorProto.FLOAT,
                                           ["k", 1, SIZE_PX, SIZE_PX])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["k", len(LABELS)])],
            "affect convert_faceapi_expression")


def main(argv: list[str] | None = None) -> int:
    """Convert, check parity with tfjs, write the model, its record and the fixture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="models/faceapi_expression.onnx")
    parser.add_argument("--fixture", default="tests/core/data/faceapi_expression_parity.npz")
    args = parser.parse_args(argv)

    package = peer.package_dir(PACKAGE)
    info = json.loads((package / "package.json").read_text(encoding="utf-8"))
    if info["version"] != VERSION:
        print(f"error: {package} is version {info['version']}, expected {VERSION}",
              file=sys.stderr)
        return 1
    manifest = json.loads((package / MANIFEST).read_text(encoding="utf-8"))
    weights = peer.read_tfjs_weights(manifest, (package / MANIFEST).parent)
    expected = {f"dense{i}/conv{j}/{p}" for i in range(4) for j in range(4)
                for p in (("filters", "bias") if i == 0 and j == 0
                          else ("depthwise_filter", "pointwise_filter", "bias"))}
    expected |= {"fc/weights", "fc/bias"}
    if set(weights) != expected:
        print(f"error: unexpected weights {sorted(set(weights) ^ expected)}", file=sys.stderr)
        return 1
    model = FaceApiGraph(weights).build()

    faces = peer.photo_faces(SIZE_PX)
    reference, reference_desc = peer.tfjs_probabilities("faceapi", faces)
    ours = peer.softmax(peer.onnx_logits(model, faces, NORMALIZATION))
    max_abs = float(np.abs(ours - reference).max())
    agree = float(np.mean(ours.argmax(1) == reference.argmax(1)))

    metadata = ModelMetadata(
        labels=LABELS,
        input_size_px=SIZE_PX,
        normalization=NORMALIZATION,
        temperature=1.0,
        model_id=f"faceapi_expression@{VERSION}+{peer.graph_hash(model)}",
        training_data=TRAINING_DATA,
        has_valence_arousal=False,
        label_map=LABEL_MAP,
    )
    source = {
        **peer.npm_package(PACKAGE),
        "homepage": "https://github.com/vladmandic/face-api (fork of "
                    "https://github.com/justadudewhohacks/face-api.js)",
        "weights": [MANIFEST, WEIGHTS],
        "weights_sha256": {MANIFEST: peer.sha256(package / MANIFEST),
                           WEIGHTS: peer.sha256(package / WEIGHTS)},
        "architecture": "src/faceExpressionNet, src/faceFeatureExtractor, src/faceProcessor "
                        "of the package (FaceFeatureExtractor + fully connected layer)",
        "license": "MIT",
        "license_text": (package / "LICENSE").read_text(encoding="utf-8"),
    }
    conversion = {
        "route": "tfjs weights manifest read with numpy, network rebuilt from face-api's source "
                 "as ONNX opset 17 (scripts/convert_faceapi_expression.py); uint8 kernels "
                 "kept quantised and dequantised in the graph as tfjs does; face-api's "
                 "(rgb - mean) / 255 baked in behind unit_range; the final softmax left out",
        "parity_reference": f"face-api's own FaceExpressionNet and weights, {reference_desc}",
        "parity_inputs": f"{len(faces)} {SIZE_PX}x{SIZE_PX} grey uint8 crops in "
                         f"{args.fixture}, given to face-api as grey RGB images",
        "max_abs_probability_difference": max_abs,
        "top1_agreement": agree,
    }
    data = ("trained by face-api.js's author on images from public datasets and the web "
            "(real faces, visible light); never saw IR images or the simulated rig")
    out, fixture = Path(args.out), Path(args.fixture)
    peer.save(model, metadata, out, source, conversion, data, fixture, faces, reference)
    peer.report(out, metadata, fixture, faces, ours, reference, LABELS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
