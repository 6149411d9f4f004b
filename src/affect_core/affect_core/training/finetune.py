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


"""``affect train --labels labels.csv --crops DIR``: fine-tune on a lab's own labels.

The starting point (``--init``) is the shipped model (default), any exported affect ViT
(``.onnx``: its weights are read back out of the graph and checked against ONNX Runtime),
a real-face run's or an earlier fine-tune's ``.pt``, or an ``affect pretrain`` backbone
(DINO on the same footage; its head starts untrained). The labels are the standing
decisions of ``affect label`` (skips left out). Training is that of ``affect train
--faces`` (affect_core.training.faces.fit: the same augmentation, class weights and early
stopping on validation loss; the IR look off, since the footage is the lab's own), with
the conv stem's batch statistics frozen and the starting weights kept as a candidate, so
a fine-tune never ends worse on validation than it began. Validation crops are whole SOM
nodes (the node column of labels.csv) held out together: crops of one node are often one
person in one light, and splitting them would measure memory, not generalisation. Then
the calibration, domain model and export of the real-face training, and a card beside
the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from affect_core.data.splits import identity_split
from affect_core.errors import ModelError, TrainingError
from affect_core.frontier.embed import read_crop
from affect_core.frontier.queue import SKIP, current_labels, read_labels
from affect_core.model.runtime import DEFAULT_MODEL, preprocess
from affect_core.training.faces import (FACES_WEIGHTS_FORMAT, PHOTO_EXPRESSIONS,
                                        FaceTrainConfig, TrainingData, _as_unit,
                                        calibrate_and_export, features_and_logits, fit,
                                        load_face_weights)
from affect_core.training.ir_look import standardize
from affect_core.training.train import load_state
from affect_core.training.vit import SIZES, AffectViT, load_pretrained

MIN_LABELS = 20
VAL_FRACTION = 0.2
PARITY_LIMIT = 1e-3  # largest logit difference between the graph and its weights read back
BN_EPS = 1e-5


@dataclass(frozen=True)
class StartingModel:
    """The network a fine-tune (or an embedding) starts from, and what it is."""

    model: AffectViT
    labels: tuple[str, ...]
    name: str
    trained_head: bool
    size: str
    stem: str
    crop_size_px: int
    patch_size: int


def _shape_of(state: dict[str, torch.Tensor]) -> tuple[str, int, int, str]:
    dim = int(state["backbone.cls_token"].shape[-1])
    depth = len({k.split(".")[2] for k in state if k.startswith("backbone.blocks.")})
    size = next((s.name for s in SIZES.values() if (s.embed_dim, s.depth) == (dim, depth)),
                None)
    if size is None:
        raise ModelError(f"no affect ViT size has embedding {dim} and depth {depth}")
    grid = int(round((state["backbone.pos_embed"].shape[1] - 1) ** 0.5))
    return size, dim, grid, "conv" if any(".proj.0." in k for k in state) else "patch"


def onnx_weights(path: Path) -> StartingModel:
    """Read an exported affect ViT's weights back into PyTorch, checked by parity.

    The export folds the stem's batch norms into its convolutions and stores linear
    weights transposed under generated names; both are undone here by the graph's node
    names, the folded norms becoming identities (weight 1, mean 0, variance 1 - eps).
    """
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    from affect_core.model.adapters import metadata_props
    from affect_core.model.metadata import ModelMetadata

    proto = onnx.load(str(path))
    meta = ModelMetadata.from_props(metadata_props(
        path, {p.key: p.value for p in proto.metadata_props}), str(path))
    arrays = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    named = {k: k.removeprefix("model.") for k in arrays
             if k.removeprefix("model.").startswith(("backbone.", "va_head."))}
    state = {v: torch.from_numpy(arrays[k].copy()) for k, v in named.items()}
    if "backbone.cls_token" not in state:
        raise ModelError(f"{path} is not an affect ViT export (no backbone.cls_token)")
    for node in proto.graph.node:
        weights = [x for x in node.input if x in arrays and x not in named]
        if not weights:
            continue
        name = node.name
        if node.op_type == "Conv" and name.startswith("/patch_embed/proj/proj."):
            k = int(name.split("proj.")[1].split("/")[0])
            state[f"backbone.patch_embed.proj.{k}.weight"] = torch.from_numpy(
                arrays[weights[0]].copy())
            bias = torch.from_numpy(arrays[weights[1]].copy())
            bn = f"backbone.patch_embed.proj.{k + 1}."
            state.update({bn + "weight": torch.ones_like(bias), bn + "bias": bias,
                          bn + "running_mean": torch.zeros_like(bias),
                          bn + "running_var": torch.full_like(bias, 1.0 - BN_EPS),
                          bn + "num_batches_tracked": torch.tensor(0)})
        elif node.op_type == "MatMul" and name.startswith(("/qkv", "/blocks.")):
            if name.startswith("/qkv"):  # "/qkv/MatMul" is block 0, "/qkv_3/MatMul" block 3
                segment = name.split("/")[1]
                block = int(segment.split("_")[1]) if "_" in segment else 0
                layer = "attn.qkv"
            else:
                parts = name.split("/")
                block, layer = int(parts[1].split(".")[1]), ".".join(parts[2:-1])
            state[f"backbone.blocks.{block}.{layer}.weight"] = torch.from_numpy(
                arrays[weights[0]].T.copy())
    size, _, grid, stem = _shape_of(state)
    crop_px = meta.input_size_px
    model = AffectViT(len(meta.labels), size, crop_px, crop_px // grid, stem)
    missing = set(model.state_dict()) - set(state)
    if missing:
        raise ModelError(f"{path}: could not read {sorted(missing)[:3]} back from the graph")
    model.load_state_dict({k: state[k] for k in model.state_dict()})
    model.eval()
    probe = preprocess([np.random.default_rng(0).integers(0, 255, (crop_px, crop_px))
                        .astype(np.uint8) for _ in range(4)], crop_px)
    graph = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = graph.run(["logits"], {graph.get_inputs()[0].name: probe})[0]
    with torch.no_grad():
        got = model(torch.from_numpy(probe))[0].numpy()
    if float(np.abs(got - expected).max()) > PARITY_LIMIT:
        raise ModelError(f"{path}: weights read back differ from the graph by "
                         f"{float(np.abs(got - expected).max()):.2e}; start from its .pt")
    return StartingModel(model, tuple(meta.labels), meta.model_id, True, size, stem, crop_px,
                         crop_px // grid)


def starting_model(init: Path | None) -> StartingModel:
    """Load the starting point of a fine-tune (default: the shipped model)."""
    path = init or DEFAULT_MODEL
    if path.suffix == ".onnx":
        return onnx_weights(path)
    state = load_state(path, "starting weights (--init)",
                       (FACES_WEIGHTS_FORMAT, "affect-dino/1"))
    if state["format"] == FACES_WEIGHTS_FORMAT:
        model, config = load_face_weights(path)
        return StartingModel(model, tuple(config.expressions), path.stem, True, config.size,
                             config.stem, config.crop_size_px, config.patch_size)
    config = state["config"]
    model = AffectViT(len(PHOTO_EXPRESSIONS), config["size"], config["crop_size_px"],
                      config["patch_size"], config["stem"])
    load_pretrained(model, path)
    return StartingModel(model.eval(), PHOTO_EXPRESSIONS, path.stem, False, config["size"],
                         config["stem"], config["crop_size_px"], config["patch_size"])


def load_any_weights(path: Path) -> tuple[AffectViT, tuple[str, ...], str, bool]:
    """Model, labels, name and whether its head is trained, for affect_core.frontier."""
    start = starting_model(path)
    return start.model, start.labels, start.name, start.trained_head


def labelled_crops(labels_csv: Path, crops: Path, allowed: tuple[str, ...]
                   ) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Crops, labels and groups (SOM node, or the path itself) of the standing decisions."""
    rows = [r for r in current_labels(read_labels(labels_csv, allowed + (SKIP,))).values()
            if r.label != SKIP]
    if len(rows) < MIN_LABELS:
        raise TrainingError(f"{labels_csv} has {len(rows)} labelled crops; fine-tuning needs "
                            f"{MIN_LABELS} or more (label more with `affect label`)")
    images = [read_crop(crops / r.path) for r in rows]
    groups = [f"node {r.node}" if r.node >= 0 else r.path for r in rows]
    return images, [r.label for r in rows], groups


def _split(groups: list[str], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices, whole groups apart; crop by crop if groups are few."""
    parts = identity_split(groups, (1.0 - VAL_FRACTION, VAL_FRACTION, 0.0), seed=seed,
                           train_only_from=0)
    if len(parts["val"]) < 5 or len(parts["train"]) < 10:
        parts = identity_split([f"{g}#{i}" for i, g in enumerate(groups)],
                               (1.0 - VAL_FRACTION, VAL_FRACTION, 0.0), seed=seed,
                               train_only_from=0)
    return parts["train"], parts["val"]


def accuracy_of(model: AffectViT, x: torch.Tensor, y: np.ndarray) -> tuple[float, float]:
    """Top-1 and macro recall (over the classes present) of standardised crops."""
    _, logits = features_and_logits(model, x)
    hits = logits.argmax(1) == y
    return float(hits.mean()), float(np.mean([hits[y == c].mean() for c in np.unique(y)]))


def finetune(labels_csv: Path, crops: Path, out_path: Path, init: Path | None = None,
             seed: int = 0, epochs: int = 30, threads: int = 2, progress: bool = True,
             learning_rate: float = 3e-4) -> dict[str, Any]:
    """Fine-tune on a labels file; write ``<out>.onnx``, ``.pt``, ``.json`` and ``.md``."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    start = starting_model(init)
    images, names, groups = labelled_crops(labels_csv, crops, start.labels)
    y = np.array([start.labels.index(n) for n in names], np.int64)
    train, val = _split(groups, seed)
    crop_px = start.crop_size_px
    x = torch.cat([_as_unit(img[None], crop_px) for img in images])
    config = FaceTrainConfig(data=str(labels_csv), epochs=epochs, patience=5,
                             batch_size=64, learning_rate=learning_rate, size=start.size,
                             stem=start.stem, crop_size_px=crop_px,
                             patch_size=start.patch_size, seed=seed, threads=threads,
                             ir_look=0.0, expressions=start.labels)
    data = TrainingData(x[train], y[train], torch.full((len(train), 2), float("nan")),
                        len(train), x[val], y[val])
    model = start.model
    before = accuracy_of(model, standardize(data.x_val), data.y_val)
    history = fit(model, data, config, progress, frozen_batch_norm=True, keep_start=True)
    after = accuracy_of(model, standardize(data.x_val), data.y_val)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FACES_WEIGHTS_FORMAT, "config": config.to_dict(),
                "model": model.state_dict(), "history": history},
               str(out_path.with_suffix(".pt")))
    described = (f"a lab's own crops: {len(train)} labelled in {labels_csv.name} (crops from "
                 f"{crops.name}), fine-tuned from {start.name}; validation {len(val)} crops, "
                 "whole SOM nodes held out")
    report = calibrate_and_export(model, config, standardize(data.x), data.y,
                                  standardize(data.x_val), data.y_val, out_path, len(train),
                                  identity=(f"affect_vit_{start.size}_finetuned", described))
    report.update({"history": history, "start": start.name, "train_crops": len(train),
                   "val_crops": len(val), "labels_file": str(labels_csv),
                   "val_before": {"accuracy": before[0], "macro_recall": before[1]},
                   "val_after": {"accuracy": after[0], "macro_recall": after[1]},
                   "label_counts": {n: names.count(n) for n in start.labels}})
    out_path.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n",
                                             encoding="utf-8")
    out_path.with_suffix(".md").write_text(card(report, described), encoding="utf-8")
    return report


def card(report: dict[str, Any], described: str) -> str:
    """Write the fine-tuned model's card: its data, its start and what its figures mean."""
    best = min(report["history"], key=lambda h: h["val_loss"])
    counts = ", ".join(f"{k} {v}" for k, v in report["label_counts"].items() if v)
    return (f"# Model card: {report['model_id']}\n\n"
            f"Trained on {described}. Labels: {counts}.\n\n"
            f"- Started from `{report['start']}`; early stopping kept epoch {best['epoch']} "
            "(0 is the starting weights).\n"
            f"- Validation (the held-out SOM nodes of the same footage, "
            f"{report['val_crops']} crops): top-1 {report['val_before']['accuracy']:.3f} -> "
            f"{report['val_after']['accuracy']:.3f}, macro recall "
            f"{report['val_before']['macro_recall']:.3f} -> "
            f"{report['val_after']['macro_recall']:.3f} (before prior correction and "
            "temperature).\n"
            f"- Temperature {report['temperature']:.3f}, domain threshold "
            f"{report['domain_threshold']:.2f}, prior correction tau "
            f"{report['prior_correction']:.3f}, all fitted on the validation crops.\n"
            "- These crops were also what chose the epoch and the calibration: they are not a "
            "test set. Score the model on footage it has never seen before you report it.\n")
