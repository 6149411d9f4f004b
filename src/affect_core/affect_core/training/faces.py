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

"""``affect train --faces DIR``: the emotion ViT on labelled photographs of real faces.

The photographs (any layout affect_core.data.faces reads) are split by identity into
training, validation and test (affect_core.data.splits); each goes through the lab's own
face path (affect_core.data.photos) so the model learns from the crops it will be given.
Rig crops (``rig_samples``, half curated, half heterogeneous) may join the training
split for what photographs lack: valence and arousal targets (the photographs'
valence/arousal loss is masked out) and the rig's own look. They are off by default: on
the validation photographs 3000 of them cost 5 points of accuracy and 7 of macro recall
at the same epochs, so the default model has no valence/arousal (NaN, as its metadata
says) rather than a head trained on drawings only.

- Augmentation: :func:`~affect_core.training.ir_look.geometry` on every crop, and
  :func:`~affect_core.training.ir_look.ir_look` on a share ``ir_look`` of photographs.
- Class imbalance (92 % of the photographs are neutral or happy): cross-entropy with
  class weights (count / max count) ** -``class_weight_power``, capped at
  ``max_class_weight``, so rare classes are heard without the model forgetting how rare
  they are.
- Early stopping on the validation photographs' loss (``patience`` epochs).
- Prior correction (logit adjustment, Menon et al. 2021): tau x log(training prior) is
  taken off the logits (baked into the head's bias), tau chosen on the validation
  photographs for the mean of accuracy and macro recall; then the temperature is fitted
  on them, and a domain model (affect_core.training.domain) on the training crops.

The test split is not looked at here: ``affect eval faces`` scores it.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from tqdm import tqdm

from affect_core import labels
from affect_core.data.faces import LabelledFaces, load_faces
from affect_core.data.photos import PhotoCrops, photo_crops
from affect_core.data.splits import identity_split
from affect_core.errors import TrainingError
from affect_core.face.tracker import FaceTrackerConfig
from affect_core.training.dataset import cached_crops
from affect_core.training.ir_look import geometry, ir_look, standardize
from affect_core.training.train import PlainConfig, fit_temperature, load_state
from affect_core.training.vit import AffectViT

FACES_WEIGHTS_FORMAT = "affect-face-weights/1"
PHOTO_EXPRESSIONS = (labels.NEUTRAL, labels.HAPPY, labels.SAD, labels.SURPRISED,
                     labels.SCARED, labels.DISGUSTED, labels.ANGRY)
TRACKER_CROP_PX = FaceTrackerConfig().crop_size_px
CROP_CACHE_VERSION = "photo-crops/1"


@dataclass(frozen=True)
class FaceTrainConfig(PlainConfig):
    """What a real-face training run does; the defaults made the shipped default model."""

    data: str = ""
    split_seed: int = 0
    rig_samples: int = 0  # rig crops cost real-face accuracy; they teach valence/arousal
    epochs: int = 40
    patience: int = 6
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    size: str = "micro"
    stem: str = "conv"
    crop_size_px: int = 64  # the model's input: the tracker's crop (others are resized)
    patch_size: int = 8
    seed: int = 0
    threads: int = 2
    ir_look: float = 0.5
    class_weight_power: float = 0.75
    max_class_weight: float = 8.0
    label_smoothing: float = 0.0
    # The labels photographs teach; contempt, bored and excited are too rare or absent in
    # public photograph sets, and a label never learnt has no evidence for or against it.
    expressions: tuple[str, ...] = PHOTO_EXPRESSIONS


@dataclass(frozen=True)
class PhotoSplit:
    """One split's photographs with the crops the face path cut from them."""

    faces: LabelledFaces
    crops: PhotoCrops

    def found(self, expressions: tuple[str, ...]) -> tuple[npt.NDArray[np.uint8], list[str]]:
        """Return crops and labels of photographs with a face and a label in ``expressions``."""
        keep = [i for i in np.flatnonzero(self.crops.found)
                if self.faces.records[i].label in expressions]
        return self.crops.crops[keep], [self.faces.records[i].label for i in keep]


def cached_photo_crops(faces: LabelledFaces, cache_dir: Path | None, progress: bool
                       ) -> PhotoCrops:
    """Run photo_crops on ``faces`` (the tracker's defaults), kept in ``cache_dir``."""
    params = {"crop_size_px": TRACKER_CROP_PX}
    key = hashlib.sha256(json.dumps([CROP_CACHE_VERSION, params,
                                     [r.source for r in faces.records]]).encode())
    path = (cache_dir / f"photo_crops_{key.hexdigest()[:16]}.npz") if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path) as stored:
            return PhotoCrops(stored["crops"], stored["found"], stored["faces_found"],
                              stored["quality"])
    crops = photo_crops((r.image() for r in faces.records), len(faces), params, progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, crops=crops.crops, found=crops.found,
                            faces_found=crops.faces_found, quality=crops.quality)
    return crops


def photo_splits(config: FaceTrainConfig, cache_dir: Path | None, progress: bool
                 ) -> dict[str, PhotoSplit]:
    """Split ``config.data`` by identity into train/val/test, with their crops."""
    faces = load_faces(Path(config.data))
    crops = cached_photo_crops(faces, cache_dir, progress)
    out = {}
    for name, index in identity_split(faces.identities, seed=config.split_seed).items():
        out[name] = PhotoSplit(faces.subset(index),
                               PhotoCrops(crops.crops[index], crops.found[index],
                                          crops.faces_found[index], crops.quality[index]))
    return out


def class_weights(label_index: npt.NDArray[np.int64], classes: int, power: float,
                  largest: float) -> torch.Tensor:
    """Weigh each class min((count / largest count) ** -power, largest); unseen get 0.

    The cap keeps a class of a dozen photographs from dominating the loss (and its noise
    from being learnt as signal).
    """
    counts = np.bincount(label_index, minlength=classes).astype(np.float64)
    weights = np.where(counts > 0, (np.maximum(counts, 1) / counts.max()) ** -power, 0.0)
    return torch.tensor(np.minimum(weights, largest), dtype=torch.float32)


def _as_unit(crops: npt.NDArray[np.generic], size_px: int) -> torch.Tensor:
    """Turn crops (N, S, S) of any integer type into (N, 1, size, size) floats in [0, 1].

    Crops come at the tracker's crop size and are resized as the runtime resizes them
    (affect_core.model.runtime.preprocess: OpenCV, area interpolation).
    """
    scale = float(np.iinfo(crops.dtype).max) if np.issubdtype(crops.dtype, np.integer) else 1.0
    out = np.empty((len(crops), 1, size_px, size_px), np.float32)
    for i, crop in enumerate(crops):
        image = crop.astype(np.float32) / scale
        if image.shape != (size_px, size_px):
            image = cv2.resize(image, (size_px, size_px), interpolation=cv2.INTER_AREA)
        out[i, 0] = image
    return torch.from_numpy(out)


def _indices(names: list[str], expressions: tuple[str, ...]) -> npt.NDArray[np.int64]:
    missing = sorted(set(names) - set(expressions))
    if missing:
        raise TrainingError(f"labels {missing} are not among the model's labels "
                            f"{list(expressions)}")
    return np.array([expressions.index(n) for n in names], np.int64)


def features_and_logits(model: AffectViT, x: torch.Tensor, batch: int = 512
                        ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Compute domain features (rollout.forward_explained) and logits of crops."""
    from affect_core.training.rollout import forward_explained

    model.eval()
    feats, logits = [], []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out, _, _, features = forward_explained(model, x[i:i + batch])
            feats.append(features.numpy())
            logits.append(out.numpy())
    return np.concatenate(feats), np.concatenate(logits)


@dataclass(frozen=True)
class TrainingData:
    """A run's training crops (photographs first, then rig crops) and validation crops.

    Crops are (N, 1, S, S) in [0, 1], not yet standardised (augmentation comes first);
    valence/arousal targets are NaN for photographs.
    """

    x: torch.Tensor
    y: npt.NDArray[np.int64]
    va: torch.Tensor
    photos: int
    x_val: torch.Tensor
    y_val: npt.NDArray[np.int64]


def training_data(config: FaceTrainConfig, cache_dir: Path | None, progress: bool
                  ) -> TrainingData:
    """Build a run's crops: the split's photographs, the rig's share, the validation split."""
    names, size = config.expressions, config.crop_size_px
    splits = photo_splits(config, cache_dir, progress)
    train_crops, train_names = splits["train"].found(names)
    val_crops, val_names = splits["val"].found(names)
    photos_x, photos_y = _as_unit(train_crops, size), _indices(train_names, names)
    half = config.rig_samples // 2
    rig = [cached_crops(cache_dir, n, preset, config.seed * 10 + 21 + i, TRACKER_CROP_PX,
                        progress, names)
           for i, (n, preset) in enumerate(((half, "curated"),
                                            (config.rig_samples - half, "heterogeneous")))
           if n > 0]
    rig_x = torch.cat([_as_unit(r.crops, size) for r in rig]) if rig else torch.zeros(
        0, 1, size, size)
    rig_y = np.concatenate([r.label_index for r in rig]) if rig else np.zeros(0, np.int64)
    rig_va = (np.concatenate([np.stack([r.valence, r.arousal], 1) for r in rig])
              if rig else np.zeros((0, 2), np.float32))
    va = np.concatenate([np.full((len(photos_x), 2), np.nan, np.float32),
                         rig_va.astype(np.float32)])
    return TrainingData(torch.cat([photos_x, rig_x]), np.concatenate([photos_y, rig_y]),
                        torch.from_numpy(va), len(photos_x), _as_unit(val_crops, size),
                        _indices(val_names, names))


def _freeze_batch_norm(model: AffectViT) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()


def _validation_loss(model: AffectViT, xv: torch.Tensor, yv: torch.Tensor) -> tuple[
        float, npt.NDArray[np.float32]]:
    _, val_logits = features_and_logits(model, xv)
    return float(F.cross_entropy(torch.from_numpy(val_logits), yv)), val_logits


def fit(model: AffectViT, data: TrainingData, config: FaceTrainConfig, progress: bool,
        frozen_batch_norm: bool = False, keep_start: bool = False
        ) -> list[dict[str, float]]:
    """Train ``model`` on ``data`` with early stopping; leave it at its best epoch.

    Early stopping keeps the epoch of least validation loss. ``frozen_batch_norm`` keeps
    the conv stem's batch statistics as they are: a fine-tune on a few hundred labels
    would otherwise replace them with a few batches' worth (and a stem folded out of an
    exported model has none to learn from). ``keep_start`` makes the starting weights
    (epoch 0) a candidate too, so a fine-tune never ends worse on validation than it began.
    """
    names = config.expressions
    x, y, va = data.x, torch.from_numpy(data.y), data.va
    xv, yv = standardize(data.x_val), torch.from_numpy(data.y_val)
    is_photo = torch.arange(len(x)) < data.photos
    weights = class_weights(data.y[:data.photos], len(names), config.class_weight_power,
                            config.max_class_weight)
    weights = torch.where(weights > 0, weights, torch.ones_like(weights))  # rig-only classes
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    steps = config.epochs * math.ceil(len(x) / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate,
                                                   total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(config.seed)
    best_loss, best_state, stale, history = math.inf, None, 0, []
    if keep_start:
        best_loss, _ = _validation_loss(model, xv, yv)
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
        history.append({"epoch": 0, "val_loss": best_loss})
    for epoch in range(config.epochs):
        if stale >= config.patience:
            break
        model.train()
        if frozen_batch_norm:
            _freeze_batch_norm(model)
        order = torch.randperm(len(x), generator=gen)
        running = 0.0
        bar = tqdm(range(0, len(x), config.batch_size), desc=f"epoch {epoch + 1}",
                   disable=not progress, unit="batch", leave=False)
        for i in bar:
            idx = order[i:i + config.batch_size]
            batch = geometry(x[idx], gen)
            to_ir = is_photo[idx] & (torch.rand(len(idx), generator=gen) < config.ir_look)
            if to_ir.any():
                batch[to_ir] = ir_look(batch[to_ir], gen)
            logits, va_pred = model(standardize(batch))
            loss = F.cross_entropy(logits, y[idx], weight=weights,
                                   label_smoothing=config.label_smoothing)
            has_va = ~torch.isnan(va[idx][:, 0])
            if has_va.any():
                loss = loss + F.mse_loss(va_pred[has_va], va[idx][has_va])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            running += loss.item() * len(idx)
        val_loss, val_logits = _validation_loss(model, xv, yv)
        hits = val_logits.argmax(1) == yv.numpy()
        val_acc = float(hits.mean())
        val_recall = float(np.mean([hits[yv.numpy() == c].mean()
                                    for c in np.unique(yv.numpy())]))
        history.append({"epoch": epoch + 1, "train_loss": running / len(x),
                        "val_loss": val_loss, "val_accuracy": val_acc,
                        "val_macro_recall": val_recall})
        print(f"epoch {epoch + 1}: train loss {running / len(x):.3f}, val loss "
              f"{val_loss:.3f}, val accuracy {val_acc:.3f}, macro recall {val_recall:.3f}",
              flush=True)
        if val_loss < best_loss - 1e-4:
            best_loss, stale = val_loss, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
    if best_state is None:
        raise TrainingError("training ran no epoch; raise epochs")
    model.load_state_dict(best_state)
    return history


def train_faces(config: FaceTrainConfig, out_path: Path, cache_dir: Path | None = None,
                progress: bool = True) -> dict[str, Any]:
    """Train on the photographs (and rig crops); write ``<out>.pt`` and a report JSON."""
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    data = training_data(config, cache_dir, progress)
    model = AffectViT(len(config.expressions), config.size, config.crop_size_px,
                      config.patch_size, config.stem)
    history = fit(model, data, config, progress)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FACES_WEIGHTS_FORMAT, "config": config.to_dict(),
                "model": model.state_dict(), "history": history},
               str(out_path.with_suffix(".pt")))
    report = calibrate_and_export(model, config, standardize(data.x), data.y,
                                  standardize(data.x_val), data.y_val, out_path, data.photos)
    report.update({"history": history, "train_photos": data.photos,
                   "val_photos": int(len(data.x_val)),
                   "rig_crops": int(len(data.x) - data.photos)})
    out_path.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n",
                                             encoding="utf-8")
    return report


def load_face_weights(path: Path) -> tuple[AffectViT, FaceTrainConfig]:
    """Load model and configuration of a real-face run's ``<out>.pt`` (never unpickled)."""
    state = load_state(path, "real-face weights file (`affect train --faces`)",
                       (FACES_WEIGHTS_FORMAT,))
    config = FaceTrainConfig.from_dict(state["config"])
    model = AffectViT(len(config.expressions), config.size, config.crop_size_px,
                      config.patch_size, config.stem)
    model.load_state_dict(state["model"])
    return model.eval(), config


def export_face_weights(path: Path, out_path: Path, cache_dir: Path | None = None,
                        progress: bool = False) -> dict[str, Any]:
    """Calibrate and export a real-face run's weights again (same splits, same recipe)."""
    model, config = load_face_weights(path)
    data = training_data(config, cache_dir, progress)
    return calibrate_and_export(model, config, standardize(data.x), data.y,
                                standardize(data.x_val), data.y_val, out_path, data.photos)


def face_identity(config: FaceTrainConfig, photos: int, rig: int) -> tuple[str, str]:
    """Name the model and describe its training data, for a real-face run's metadata."""
    rig_text = f", plus {rig} synthetic crops of the affect simulated IR rig" if rig else ""
    return (f"affect_vit_{config.size}_faces",
            f"real faces: {photos} labelled photographs from {Path(config.data).name} "
            "(visible light converted to grey, crowd labels; identity-disjoint split "
            f"{config.split_seed}), with IR-look augmentation{rig_text}; never trained on "
            "real IR images")


def calibrate_and_export(model: AffectViT, config: FaceTrainConfig, x_train: torch.Tensor,
                         y_train: npt.NDArray[np.int64], x_val: torch.Tensor,
                         y_val: npt.NDArray[np.int64], out_path: Path,
                         photos: int | None = None,
                         identity: tuple[str, str] | None = None) -> dict[str, Any]:
    """Calibrate on the validation photographs, fit the domain model, export ONNX.

    The temperature and domain threshold come from the validation photographs, the domain
    model from the training crops; returns what was fitted.

    ``x_train`` and ``x_val`` are standardised crops; ``photos`` is the number of
    photographs among ``x_train`` (the rest are rig crops), all of them when None.
    ``identity`` (model name, training data) replaces face_identity's, for a fine-tune
    on data that are not photographs.
    """
    from affect_core.training.domain import fit_domain, threshold
    from affect_core.training.export import export_onnx

    train_features, _ = features_and_logits(model, x_train)
    val_features, val_logits = features_and_logits(model, x_val)
    prior = np.bincount(y_train, minlength=len(config.expressions)) + 1.0
    log_prior = np.log(prior / prior.sum())
    tau, choice = prior_correction(val_logits, y_val, log_prior)
    with torch.no_grad():
        model.backbone.head.bias -= torch.tensor(tau * log_prior, dtype=torch.float32)
    val_logits = val_logits - tau * log_prior
    temperature = fit_temperature(val_logits, y_val)
    domain = fit_domain(train_features, y_train)
    limit = threshold(domain, val_features)
    photos = len(x_train) if photos is None else photos
    metadata = export_onnx(model, out_path.with_suffix(".onnx"), temperature, config,
                           *(identity or face_identity(config, photos, len(x_train) - photos)),
                           domain=domain, domain_threshold=limit,
                           valence_arousal=config.rig_samples > 0)
    return {"model_id": metadata.model_id, "temperature": temperature,
            "domain_threshold": limit, "prior_correction": tau, "tau_grid": choice,
            "config": config.to_dict()}


TAU_GRID = tuple(i / 8 for i in range(9))  # 0 .. 1


def prior_correction(logits: npt.NDArray[np.float32], truth: npt.NDArray[np.int64],
                     log_prior: npt.NDArray[np.float64]) -> tuple[float, list[dict[str, float]]]:
    """Pick the tau of TAU_GRID with the best mean of accuracy and macro recall."""
    rows = []
    for tau in TAU_GRID:
        hits = (logits - tau * log_prior).argmax(axis=1) == truth
        recall = float(np.mean([hits[truth == c].mean() for c in np.unique(truth)]))
        rows.append({"tau": tau, "accuracy": float(hits.mean()), "macro_recall": recall})
    best = max(rows, key=lambda r: r["accuracy"] + r["macro_recall"])
    return best["tau"], rows
