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

"""``affect train``: a seeded supervised run on rig crops, calibration, ONNX export.

The run renders labelled crops (training, validation and two held-out test splits:
curated and heterogeneous), trains AffectViT with cross-entropy plus a valence/arousal
regression loss, stops early when validation loss has not improved for ``patience``
epochs, fits a calibration temperature on the validation split (minimising negative
log-likelihood), and exports ONNX with the affect metadata and the attention-rollout
output. It prints and returns the held-out figures for the model card.

Options, each a switch so that its effect can be measured (``affect train --help``; the
model card gives the rig figures: neither weighting nor balancing helped there, so both
are off by default):

- ``quality_weighting``: each sample's loss is weighted by its capture-quality evidence,
  max(pose stability x lighting consistency, ``quality_floor``), the weight confidence
  fusion gives the same frame at run time; blurred or badly lit crops teach less.
- ``balanced_sampling``: batches are drawn with probability inversely proportional to
  the size of the sample's subgroup, so small subgroups are seen as often as large ones.
- ``attn_scale``: "learned" adds a per-head attention-logit factor (see vit.py).
- ``arch``: "vit" (the emotion ViT) or a timm CNN of training/cnn.py, trained with the
  same recipe for architecture comparisons; a CNN run writes weights and figures but no
  ONNX file (it has no attention rollout to export).
- ``init``: a pretrained backbone (``affect pretrain`` output or DINO weights in timm's
  layout); ``label_fraction`` keeps only that share of the training labels.

After every epoch the full training state goes to ``<out>.ckpt.pt``; ``resume`` picks
it up and continues to the same result as an uninterrupted run. The final weights,
configuration and temperature go to ``<out>.pt`` for ``affect export``.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from affect_core import labels, metrics
from affect_core.errors import TrainingError
from affect_core.model.runtime import preprocess, softmax
from affect_core.training.dataset import CropSet, cached_crops
from affect_core.training.export import export_onnx
from affect_core.training.vit import AffectViT, load_pretrained

CHECKPOINT_FORMAT = "affect-train-checkpoint/1"
WEIGHTS_FORMAT = "affect-weights/1"


C = TypeVar("C", bound="PlainConfig")


class PlainConfig:
    """A training configuration's round trip through plain values (checkpoints, reports)."""

    def to_dict(self) -> dict[str, Any]:
        """Return plain values (lists for tuples), as stored in checkpoints and reports."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in asdict(self).items()}  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any]) -> C:
        """Invert to_dict; keys this version does not know are an error."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(values) - known
        if unknown:
            raise TrainingError(f"unknown training settings {sorted(unknown)}")
        given = dict(values)
        if "expressions" in given:
            given["expressions"] = tuple(given["expressions"])
        return cls(**given)


@dataclass(frozen=True)
class TrainConfig(PlainConfig):
    """What a training run does; the defaults made the shipped model."""

    train_samples: int = 9000
    val_samples: int = 1500
    test_samples: int = 1500
    train_preset_mix: float = 0.5  # fraction of heterogeneous samples in training
    epochs: int = 30
    patience: int = 3
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    size: str = "micro"
    stem: str = "conv"
    crop_size_px: int = 64
    patch_size: int = 8
    seed: int = 0
    threads: int = 2
    expressions: tuple[str, ...] = labels.EXPRESSIONS
    quality_weighting: bool = False  # off: on the rig it costs heterogeneous accuracy
    quality_floor: float = 0.05
    balanced_sampling: bool = False  # off: on the rig it did not help either
    attn_scale: str = "none"
    label_fraction: float = 1.0
    init: str = ""
    arch: str = "vit"


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _concat(parts: list[CropSet], preset: str) -> CropSet:
    return CropSet(
        crops=np.concatenate([p.crops for p in parts]),
        label_index=np.concatenate([p.label_index for p in parts]),
        valence=np.concatenate([p.valence for p in parts]),
        arousal=np.concatenate([p.arousal for p in parts]),
        subgroup=[g for p in parts for g in p.subgroup],
        preset=preset,
        missed=sum(p.missed for p in parts),
        quality=np.concatenate([p.quality for p in parts]),
    )


def _mixed(count: int, mix: float, seed: int, size: int, progress: bool,
           expressions: tuple[str, ...], cache: Path | None) -> CropSet:
    n_het = int(round(count * mix))
    return _concat([cached_crops(cache, count - n_het, "curated", seed, size, progress,
                                 expressions),
                    cached_crops(cache, n_het, "heterogeneous", seed + 1, size, progress,
                                 expressions)], "mixed")


def _subset(data: CropSet, keep: np.ndarray) -> CropSet:
    return CropSet(data.crops[keep], data.label_index[keep], data.valence[keep],
                   data.arousal[keep], [data.subgroup[i] for i in keep], data.preset,
                   data.missed, data.quality[keep])


def sample_weights(data: CropSet, config: TrainConfig) -> np.ndarray:
    """Per-sample loss weights: quality evidence with a floor, or all ones when switched off."""
    if not config.quality_weighting:
        return np.ones(len(data), np.float32)
    return np.maximum(data.quality, config.quality_floor).astype(np.float32)


def balanced_probabilities(subgroups: list[str]) -> np.ndarray:
    """Draw probabilities giving every subgroup the same total share."""
    names, inverse, counts = np.unique(np.array(subgroups), return_inverse=True,
                                       return_counts=True)
    weights = 1.0 / (len(names) * counts[inverse])
    return weights / weights.sum()


def _tensors(data: CropSet, size: int) -> tuple[torch.Tensor, ...]:
    x = torch.from_numpy(preprocess(list(data.crops), size))
    y = torch.from_numpy(data.label_index)
    va = torch.from_numpy(np.stack([data.valence, data.arousal], axis=1))
    return x, y, va


def _logits(model: AffectViT, x: torch.Tensor, batch: int = 512) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(x[i:i + batch])[0].numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config["num_classes"]))


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """Find the temperature T > 0 minimising the NLL of softmax(logits / T) (Guo et al. 2017)."""
    log_t = torch.zeros(1, requires_grad=True)
    z = torch.from_numpy(logits.astype(np.float64))
    y = torch.from_numpy(truth)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = F.cross_entropy(z / torch.exp(log_t).double(), y)
        loss.backward()
        return loss

    optimiser.step(closure)
    return float(torch.exp(log_t).item())


def evaluate(logits: np.ndarray, data: CropSet, temperature: float) -> dict[str, Any]:
    """Accuracy, macro-F1, ECE before/after calibration and subgroup figures of one split."""
    truth = data.label_index
    raw = softmax(logits, 1.0)
    calibrated = softmax(logits, temperature)
    predicted = calibrated.argmax(axis=1)
    per_group = metrics.subgroup_accuracy(truth, predicted, data.subgroup)
    return {
        "samples": int(len(truth)),
        "detector_misses": int(data.missed),
        "accuracy": metrics.accuracy(truth, predicted),
        "macro_f1": metrics.macro_f1(truth, predicted),
        "ece_uncalibrated": metrics.expected_calibration_error(raw, truth),
        "ece_calibrated": metrics.expected_calibration_error(calibrated, truth),
        "subgroup_accuracy": per_group,
        "worst_group_gap": metrics.worst_group_gap(per_group),
    }


def render_splits(config: TrainConfig, progress: bool, cache: Path | None = None) -> tuple[
        CropSet, CropSet, dict[str, CropSet]]:
    """Training, validation and held-out test crops of a run, all from its seed."""
    size, names = config.crop_size_px, config.expressions
    train_set = _mixed(config.train_samples, config.train_preset_mix, config.seed * 10 + 1,
                       size, progress, names, cache)
    val_set = _mixed(config.val_samples, config.train_preset_mix, config.seed * 10 + 3, size,
                     progress, names, cache)
    tests = {preset: cached_crops(cache, config.test_samples, preset,
                                  config.seed * 10 + 5 + i, size, progress, names)
             for i, preset in enumerate(("curated", "heterogeneous"))}
    if config.label_fraction < 1.0:
        keep_count = max(int(round(len(train_set) * config.label_fraction)), 1)
        order = np.random.default_rng([config.seed, 13]).permutation(len(train_set))
        train_set = _subset(train_set, np.sort(order[:keep_count]))
    return train_set, val_set, tests


def rig_identity(config: TrainConfig) -> tuple[str, str]:
    """Name the model and describe its training data, for a rig-trained run's metadata."""
    mix = config.train_preset_mix
    return (f"affect_vit_{config.size}_rig",
            "synthetic: procedural faces rendered by the affect simulated IR rig "
            f"({config.train_samples} crops, curated/heterogeneous mix "
            f"{1 - mix:.2f}/{mix:.2f}, seed {config.seed}"
            + (f", {config.label_fraction:.0%} of labels" if config.label_fraction < 1 else "")
            + "); says nothing about real people")


def build_model(config: TrainConfig) -> AffectViT:
    """Build the untrained (or pretrained, with ``config.init``) model of a run."""
    if config.arch != "vit":
        from affect_core.training.cnn import AffectCNN

        return AffectCNN(len(config.expressions), config.arch)  # type: ignore[return-value]
    model = AffectViT(len(config.expressions), config.size, config.crop_size_px,
                      config.patch_size, config.stem, config.attn_scale)
    if config.init:
        load_pretrained(model, config.init)
    return model


def checkpoint_path(out_path: Path) -> Path:
    """Where a run keeps its resumable state."""
    return out_path.with_suffix(".ckpt.pt")


def weights_path(out_path: Path) -> Path:
    """Where a run leaves its final weights for ``affect export``."""
    return out_path.with_suffix(".pt")


def load_state(path: Path, kind: str,
               formats: tuple[str, ...] = (CHECKPOINT_FORMAT, WEIGHTS_FORMAT)
               ) -> dict[str, Any]:
    """Read a training state file of one of ``formats`` (never unpickled)."""
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise TrainingError(f"{kind} not found: {path}") from err
    except Exception as err:  # torch raises assorted untyped errors for bad files
        raise TrainingError(f"cannot read {kind} {path}: {err}") from err
    if not isinstance(state, dict) or state.get("format") not in formats:
        raise TrainingError(f"{path} is not an affect {kind}")
    return state


def load_weights(path: Path) -> tuple[AffectViT, TrainConfig, float]:
    """Model, configuration and temperature saved by a finished run (``<out>.pt``)."""
    state = load_state(path, "weights file")
    config = TrainConfig.from_dict(state["config"])
    model = build_model(replace(config, init=""))  # the weights replace any init anyway
    model.load_state_dict(state["model"])
    return model.eval(), config, float(state["temperature"])


def train(config: TrainConfig, out_path: Path, progress: bool = True, resume: bool = False,
          stop_after_epochs: int | None = None, cache: Path | None = None) -> dict[str, Any]:
    """Run training end to end; write the ONNX model and a metrics JSON beside it.

    ``resume`` continues from ``<out>.ckpt.pt`` (same configuration required);
    ``stop_after_epochs`` ends the run early as an interruption would, leaving the
    checkpoint (and returning an empty report). ``cache`` keeps rendered crops between
    runs (see dataset.cached_crops).
    """
    _seed_everything(config.seed)
    torch.set_num_threads(config.threads)
    train_set, val_set, tests = render_splits(config, progress, cache)
    if len(train_set) < config.batch_size:
        raise TrainingError(f"only {len(train_set)} training crops were rendered; "
                            "raise train_samples or label_fraction")
    size = config.crop_size_px
    x, y, va = _tensors(train_set, size)
    xv, yv, vav = _tensors(val_set, size)
    weights = torch.from_numpy(sample_weights(train_set, config))
    draw = (torch.from_numpy(balanced_probabilities(train_set.subgroup))
            if config.balanced_sampling else None)
    model = build_model(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    steps = config.epochs * math.ceil(len(x) / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate,
                                                   total_steps=steps, pct_start=0.1)
    best_loss, best_state, stale, history = math.inf, None, 0, []
    generator = torch.Generator().manual_seed(config.seed)
    first_epoch = 0
    ckpt = checkpoint_path(out_path)
    if resume:
        state = load_state(ckpt, "training checkpoint")
        if state["config"] != config.to_dict():
            raise TrainingError(f"{ckpt} was written by a run with other settings; "
                                "resume with the same options or start afresh")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        best_loss, best_state = state["best_loss"], state["best_state"]
        stale, history, first_epoch = state["stale"], state["history"], state["epoch"]
    for epoch in range(first_epoch, config.epochs):
        if stale >= config.patience:
            break
        model.train()
        if draw is None:
            order = torch.randperm(len(x), generator=generator)
        else:
            order = torch.multinomial(draw, len(x), replacement=True, generator=generator)
        running = 0.0
        bar = tqdm(range(0, len(x), config.batch_size), desc=f"epoch {epoch + 1}",
                   disable=not progress, unit="batch", leave=False)
        for i in bar:
            idx = order[i:i + config.batch_size]
            batch = x[idx]
            # Augmentation: horizontal flips would swap contempt's side, so only noise.
            batch = batch + 0.05 * torch.randn_like(batch)
            logits, va_pred = model(batch)
            per_sample = (F.cross_entropy(logits, y[idx], reduction="none")
                          + F.mse_loss(va_pred, va[idx], reduction="none").mean(dim=1))
            w = weights[idx]
            loss = (w * per_sample).sum() / w.sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            running += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            val_logits, val_va = model(xv)
            val_loss = float(F.cross_entropy(val_logits, yv) + F.mse_loss(val_va, vav))
            val_acc = float((val_logits.argmax(1) == yv).float().mean())
        history.append({"epoch": epoch + 1, "train_loss": running / len(x),
                        "val_loss": val_loss, "val_accuracy": val_acc})
        if progress:
            print(f"epoch {epoch + 1}: train loss {running / len(x):.3f}, "
                  f"val loss {val_loss:.3f}, val accuracy {val_acc:.3f}")
        if val_loss < best_loss - 1e-4:
            best_loss, stale = val_loss, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        out_path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"format": CHECKPOINT_FORMAT, "config": config.to_dict(),
                    "epoch": epoch + 1, "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(), "schedule": schedule.state_dict(),
                    "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
                    "best_loss": best_loss, "best_state": best_state, "stale": stale,
                    "history": history}, str(ckpt))
        if stop_after_epochs is not None and epoch + 1 >= stop_after_epochs:
            return {}
    if best_state is not None:
        model.load_state_dict(best_state)
    temperature = fit_temperature(_logits(model, xv), yv.numpy())
    results = {name: evaluate(_logits(model, _tensors(data, size)[0]), data, temperature)
               for name, data in tests.items()}
    torch.save({"format": WEIGHTS_FORMAT, "config": config.to_dict(),
                "model": model.state_dict(), "temperature": temperature},
               str(weights_path(out_path)))
    model_id = (export_onnx(model, out_path, temperature, config, *rig_identity(config)).model_id
                if config.arch == "vit" else f"{config.arch}_rig (not exported)")
    report = {"model_id": model_id, "temperature": temperature,
              "config": config.to_dict(), "train_crops": len(train_set),
              "history": history, "test": results,
              "data": "synthetic faces from the affect simulated rig (not real people)"}
    out_path.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n",
                                             encoding="utf-8")
    return report
