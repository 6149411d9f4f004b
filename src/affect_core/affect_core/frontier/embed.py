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


"""Embed face crops with a model's backbone, with its predictions beside them.

The embedding is the one the domain model reads (affect_core.training.rollout): the mean
of the patch tokens after the last block, before the final norm. It keeps what tells one
kind of face from another and from a non-face, where the class token after the norm has
been squeezed toward the label set. An exported model (``--model``) carries it inside its
graph as the domain model's input, so it is exposed as an extra output of an in-memory
copy of the graph and read with ONNX Runtime: no PyTorch needed. A model exported without
a domain model gives the class token its category head reads instead. PyTorch weights
(``--weights``: a run's ``.pt`` or an ``affect pretrain`` backbone) are read with the
training extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.errors import DataError, ModelError
from affect_core.model.runtime import DEFAULT_MODEL, EmotionModel, preprocess

EMBEDDING_OUTPUT = "embedding"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pgm", ".bmp")


@dataclass(frozen=True)
class Embedded:
    """Crops' embeddings (N, D) and the model's probabilities (N, C), one row per path."""

    paths: list[str]
    embeddings: npt.NDArray[np.float32]
    probabilities: npt.NDArray[np.float64] | None
    labels: tuple[str, ...]
    model_id: str

    def uncertainty(self) -> npt.NDArray[np.float64]:
        """Entropy of each crop's probabilities over log(C), 0 sure .. 1 uniform.

        Without probabilities (a pretrained backbone has no trained head) every crop is
        equally uncertain, so the choice rests on the map alone.
        """
        from affect_core.frontier.curves import entropy

        if self.probabilities is None:
            return np.ones(len(self.paths))
        return entropy(self.probabilities)


def crop_paths(folder: Path) -> list[Path]:
    """Every image under ``folder`` (PNG, JPEG, PGM, BMP), sorted, so runs agree on order."""
    if not folder.is_dir():
        raise DataError(f"crops folder not found: {folder}")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DataError(f"no face crops (PNG/JPEG/PGM/BMP) under {folder}; give the folder "
                        "that `affect synth --mode crops` or the face tracker wrote")
    return paths


def read_crop(path: Path) -> npt.NDArray[np.generic]:
    """Read one crop as a single-channel array (colour images are made grey)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise DataError(f"{path} is not a readable image; remove it or replace it")
    if image.ndim == 3:
        image = cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY)
    return image


def _embedding_graph(path: Path) -> bytes:
    """Return the model's ONNX graph with the domain model's input as an extra output."""
    try:
        import onnx
    except ImportError as err:
        raise ModelError("embedding an ONNX model needs the onnx package: pip install "
                         "'affect-core[train]', or give --weights") from err
    proto = onnx.load(str(path))
    producers = {out: node for node in proto.graph.node for out in node.output}
    node = producers.get("domain_distance")
    feature = None
    while node is not None and node.name.startswith("/domain/"):
        feature = node.input[0]
        node = producers.get(feature)
    if feature is None:  # no domain model: the class token the category head reads
        feature = next((n.input[0] for n in proto.graph.node
                        if n.op_type == "Gemm" and n.name.endswith("head/Gemm")
                        and not n.name.endswith("va_head/Gemm")), None)
    if feature is None:
        raise ModelError(f"model {path} has neither a domain model nor an affect category "
                         "head to read an embedding from; embed with its PyTorch weights "
                         "(--weights) instead")
    proto.graph.output.append(onnx.helper.make_tensor_value_info(
        feature, onnx.TensorProto.FLOAT, None))
    proto.graph.output[-1].name = feature
    return bytes(proto.SerializeToString())


def embed_arrays(crops: list[npt.NDArray[np.generic]], model_path: Path | None = None,
                 batch: int = 256, threads: int = 2
                 ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64], EmotionModel]:
    """Embed and predict crops in memory with an exported affect model (default: shipped)."""
    import onnxruntime as ort

    model = EmotionModel(model_path or DEFAULT_MODEL, provider="cpu",
                         intra_op_threads=threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(_embedding_graph(model.path), options,
                                   providers=["CPUExecutionProvider"])
    name, size = session.get_outputs()[-1].name, model.metadata.input_size_px
    feats, probs = [], []
    for i in range(0, len(crops), batch):
        part = crops[i:i + batch]
        feats.append(session.run([name], {session.get_inputs()[0].name:
                                          preprocess(part, size)})[0])
        probs.append(model.predict(part)[0])
    return np.concatenate(feats).astype(np.float32), np.concatenate(probs), model


def embed_onnx(paths: list[Path], model_path: Path | None = None, batch: int = 256,
               root: Path | None = None) -> Embedded:
    """Embed crops and predict them with an exported affect model (default: shipped)."""
    feats, probs, model = embed_arrays([read_crop(p) for p in paths], model_path, batch)
    return Embedded(_relative(paths, root), feats, probs, model.labels,
                    model.metadata.model_id)


def embed_weights(paths: list[Path], weights: Path, batch: int = 256,
                  root: Path | None = None) -> Embedded:
    """Embed crops with PyTorch weights: a real-face run's ``.pt`` or a pretrained backbone."""
    import torch

    from affect_core.training.faces import _as_unit, features_and_logits
    from affect_core.training.ir_look import standardize
    from affect_core.training.finetune import load_any_weights

    model, labels, model_id, trained_head = load_any_weights(weights)
    size = model.backbone.patch_embed.img_size[0]
    feats, logits = [], []
    for i in range(0, len(paths), batch):
        crops = np.stack([cv2.resize(read_crop(p), (size, size), interpolation=cv2.INTER_AREA)
                          for p in paths[i:i + batch]])
        f, lg = features_and_logits(model, standardize(_as_unit(crops, size)))
        feats.append(f)
        logits.append(lg)
    probabilities = None
    if trained_head:
        probabilities = torch.softmax(torch.from_numpy(np.concatenate(logits)), 1).numpy()
    return Embedded(_relative(paths, root), np.concatenate(feats).astype(np.float32),
                    None if probabilities is None else probabilities.astype(np.float64),
                    labels, model_id)


def _relative(paths: list[Path], root: Path | None) -> list[str]:
    if root is None:
        return [str(p) for p in paths]
    return [p.relative_to(root).as_posix() for p in paths]
