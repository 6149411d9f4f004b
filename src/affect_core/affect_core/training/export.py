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

"""``affect export``: ONNX with the affect metadata inside, a parity check, optional INT8.

The exported graph has three outputs: ``logits`` (K, C), ``valence_arousal`` (K, 2)
and ``attention_rollout`` (K, gh, gw), the explanation heatmap of each crop (see
rollout.py), and a fourth, ``domain_distance`` (K,), when a domain model is given
(affect_core.training.domain). Everything a node needs to run it (labels, input size,
normalisation, calibration temperature, training data, model id = name@version+hash of
the graph) goes into the file's ``metadata_props``. INT8 is ONNX Runtime's dynamic quantisation of
the matrix products (weights int8, activations quantised on the fly), which suits a
transformer on a CPU; the metadata is carried over and the id marked ``-int8``.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from affect_core.errors import ModelError
from affect_core.model.metadata import ModelMetadata
from affect_core.training.rollout import ExplainedViT
from affect_core.training.vit import AffectViT

if TYPE_CHECKING:
    from affect_core.training.domain import DomainModel

VERSION = "0.1.0"
OUTPUTS = ("logits", "valence_arousal", "attention_rollout")
DOMAIN_OUTPUT = "domain_distance"


class ExportSettings(Protocol):
    """What export needs of a training configuration (rig or real-face runs)."""

    crop_size_px: int
    expressions: tuple[str, ...]


def _write_metadata(path: Path, metadata: ModelMetadata) -> None:
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in metadata.to_props().items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))


def export_onnx(model: AffectViT, path: Path, temperature: float, config: ExportSettings,
                name: str, training_data: str, domain: DomainModel | None = None,
                domain_threshold: float = 0.0, valence_arousal: bool = True) -> ModelMetadata:
    """Export to ONNX with the affect metadata; the model id is ``name@version+graph hash``."""
    import onnx

    from affect_core.training.domain import DomainDistance

    model.eval()
    size = config.crop_size_px
    dummy = torch.zeros(2, 1, size, size)
    outputs = [*OUTPUTS, DOMAIN_OUTPUT] if domain is not None else list(OUTPUTS)
    wrapper = ExplainedViT(model, DomainDistance(domain) if domain is not None else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # timm's input-size asserts become constants in the trace: expected, the size is
        # fixed by the metadata and checked by the runtime.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # The wrapper must be in eval mode too: the exporter restores the mode it finds.
        torch.onnx.export(wrapper.eval(), (dummy,), str(path),
                          input_names=["crops"], output_names=outputs,
                          dynamic_axes={name: {0: "k"} for name in ("crops", *outputs)},
                          opset_version=17, dynamo=False)
    digest = hashlib.sha256(onnx.load(str(path)).graph.SerializeToString()).hexdigest()[:12]
    metadata = ModelMetadata(
        labels=config.expressions,
        input_size_px=size,
        normalization="per_crop_standardize",
        temperature=temperature,
        model_id=f"{name}@{VERSION}+{digest}",
        training_data=training_data,
        has_valence_arousal=valence_arousal,
        has_rollout=True,
        domain_threshold=domain_threshold if domain is not None else 0.0,
    )
    _write_metadata(path, metadata)
    return metadata


def quantize_int8(source: Path, target: Path) -> ModelMetadata:
    """Dynamic INT8 quantisation of ``source``'s matrix products, metadata carried over."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    props = {p.key: p.value for p in onnx.load(str(source)).metadata_props}
    metadata = ModelMetadata.from_props(props, str(source))
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Gemm"])
    int8 = ModelMetadata(**{**metadata.__dict__, "model_id": metadata.model_id + "-int8"})
    _write_metadata(target, int8)
    return int8


def add_rollout(source: Path, target: Path, grid: tuple[int, int]) -> ModelMetadata:
    """Append the attention-rollout output to an exported affect ViT that lacks it.

    The exported graph already computes every layer's attention (one Softmax per
    block); the rollout is built from those tensors with plain ONNX operators, so a
    model exported before the rollout output existed gains it without its weights
    changing. The model id's hash is recomputed over the new graph.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    proto = onnx.load(str(source))
    props = {p.key: p.value for p in proto.metadata_props}
    metadata = ModelMetadata.from_props(props, str(source))
    if metadata.has_rollout or any(o.name == "attention_rollout" for o in proto.graph.output):
        raise ModelError(f"{source} already has an attention_rollout output")
    softmaxes = [n for n in proto.graph.node if n.op_type == "Softmax" and "/attn/" in n.name]
    if not softmaxes:
        raise ModelError(f"{source} has no attention Softmax nodes; is it an affect ViT?")
    tokens = grid[0] * grid[1] + 1  # patch tokens + class token
    graph = proto.graph

    def const(name: str, value: np.ndarray) -> str:
        graph.initializer.append(numpy_helper.from_array(value, name))
        return name

    eye = const("rollout/eye", np.eye(tokens, dtype=np.float32))
    last_axis = const("rollout/last_axis", np.array([-1], np.int64))
    shape = const("rollout/shape", np.array([-1, grid[0], grid[1]], np.int64))
    starts = const("rollout/starts", np.array([1], np.int64))
    ends = const("rollout/ends", np.array([tokens], np.int64))
    cls_index = const("rollout/cls", np.array(0, np.int64))
    joint = ""
    for i, node in enumerate(softmaxes):
        p = f"rollout/{i}/"
        graph.node.extend([
            helper.make_node("ReduceMean", [node.output[0]], [p + "mean"], axes=[1],
                             keepdims=0),
            helper.make_node("Add", [p + "mean", eye], [p + "plus"]),
            helper.make_node("ReduceSum", [p + "plus", last_axis], [p + "rows"], keepdims=1),
            helper.make_node("Div", [p + "plus", p + "rows"], [p + "step"]),
        ])
        if joint:
            graph.node.append(helper.make_node("MatMul", [p + "step", joint], [p + "joint"]))
            joint = p + "joint"
        else:
            joint = p + "step"
    graph.node.extend([
        helper.make_node("Gather", [joint, cls_index], ["rollout/cls_row"], axis=1),
        helper.make_node("Slice", ["rollout/cls_row", starts, ends, last_axis],
                         ["rollout/patches"]),
        helper.make_node("Reshape", ["rollout/patches", shape], ["rollout/map"]),
        helper.make_node("ReduceMax", ["rollout/map"], ["rollout/max"], axes=[1, 2],
                         keepdims=1),
        helper.make_node("Div", ["rollout/map", "rollout/max"], ["attention_rollout"]),
    ])
    graph.output.append(helper.make_tensor_value_info(
        "attention_rollout", TensorProto.FLOAT, ["k", grid[0], grid[1]]))
    onnx.checker.check_model(proto)
    digest = hashlib.sha256(proto.graph.SerializeToString()).hexdigest()[:12]
    name = metadata.model_id.split("+", 1)[0]
    updated = ModelMetadata(**{**metadata.__dict__, "model_id": f"{name}+{digest}",
                               "has_rollout": True})
    onnx.save(proto, str(target))
    _write_metadata(target, updated)
    return updated


def parity(model: AffectViT, path: Path, batch: np.ndarray) -> dict[str, float]:
    """Largest absolute difference per output between PyTorch and ONNX Runtime on ``batch``."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load exported model {path}: {err}") from err
    with torch.no_grad():
        reference = [t.numpy() for t in ExplainedViT(model.eval())(torch.from_numpy(batch))]
    got = session.run(list(OUTPUTS), {"crops": batch})
    return {name: float(np.max(np.abs(a - b))) for name, a, b in zip(OUTPUTS, got, reference)}
