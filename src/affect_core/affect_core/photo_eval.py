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

"""``affect eval faces --data DIR``: every model on labelled photographs of real faces.

Each photograph goes through the lab's per-frame path (affect_core.data.photos: the
detector, the tracker's crop), then each model (emotion_vit's runtime) and confidence
fusion of that one sample, with the parameter file's fusion settings: the threshold a
user's /emotion would abstain at. A "majority" row always answers the most frequent label
of the scored photographs with its share as confidence: the figure to beat.

The data are visible-light photographs converted to grey: figures on them say how a
model reads real faces, not how it does on an IR camera (which they do not measure).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from affect_core.data.faces import LabelledFaces, load_faces
from affect_core.data.photos import PHOTO_FRAME_ID, PhotoCrops, photo_crops
from affect_core.data.splits import SPLITS, identity_split
from affect_core.errors import DataError
from affect_core.fusion import ConfidenceFusion, FusionConfig
from affect_core.model.runtime import DEFAULT_MODEL, EmotionModel
from affect_core.photo_metrics import PhotoScores, score
from affect_core.sinks.records import nan_to_none
from affect_core.types import FaceObservation, FaceWindow, FrameQuality, WindowPrediction

DOMAIN = "real photographs (visible light, converted to grey; not IR)"
MAJORITY = "majority"
BATCH = 256


@dataclass(frozen=True)
class PhotoSet:
    """The photographs scored, with what the face path found in each."""

    faces: LabelledFaces
    crops: PhotoCrops
    split: str


def load_photo_set(data: Path, split: str, exclude: Sequence[str], split_seed: int,
                   tracker_params: dict[str, Any], progress: bool,
                   subgroup_column: str = "subgroup") -> PhotoSet:
    """Load ``split`` (or all) minus ``exclude`` labels and run it through the face path."""
    faces = load_faces(data, subgroup_column).without(exclude)
    if split != "all":
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; use all or one of {', '.join(SPLITS)}")
        faces = faces.subset(identity_split(faces.identities, seed=split_seed)[split])
    if not len(faces):
        raise DataError(f"{data}: no photographs left in split {split!r}")
    crops = photo_crops((r.image() for r in faces.records), len(faces), tracker_params,
                        progress)
    return PhotoSet(faces, crops, split)


def single_frame_window(index: int, crop: npt.NDArray[np.uint8],
                        quality: npt.NDArray[np.float64]) -> FaceWindow:
    """Make a window of one frame, the photograph's face, as the lab would hand fusion."""
    q = FrameQuality(*(float(v) for v in quality))
    stamp = (index + 1) * 1_000_000_000
    obs = FaceObservation(stamp, f"photo{index}", (0, 0, crop.shape[1], crop.shape[0]),
                          (np.nan, np.nan, np.nan), q, crop, "mono8")
    return FaceWindow(f"photo{index}", PHOTO_FRAME_ID, stamp - 1, stamp, 1, 1, [obs],
                      q.pose_stability, q.lighting_consistency, q.depth_consistency,
                      (np.nan, np.nan, np.nan), (stamp,), (q,), q.sharpness)


def model_scores(model: EmotionModel, photos: PhotoSet, fusion: FusionConfig) -> PhotoScores:
    """Run the model and fusion on every photograph (NaN where no face was found)."""
    n, labels = len(photos.faces), model.labels
    probs = np.full((n, len(labels)), np.nan)
    confidence = np.full(n, np.nan)
    abstained = np.ones(n, bool)
    reasons = ["no_face"] * n
    fuse = ConfidenceFusion(fusion)
    found = np.flatnonzero(photos.crops.found)
    for start in range(0, len(found), BATCH):
        rows = found[start:start + BATCH]
        p, valence, arousal, _, domain = model.predict_explained(
            [photos.crops.crops[i] for i in rows], attention=False)
        for j, i in enumerate(rows):
            window = single_frame_window(int(i), photos.crops.crops[i], photos.crops.quality[i])
            emotion = fuse.fuse(WindowPrediction(
                window, labels, p[j:j + 1], valence[j:j + 1], arousal[j:j + 1],
                model.metadata.model_id, None,
                None if domain is None else domain[j:j + 1]))
            probs[i] = emotion.probabilities
            confidence[i] = emotion.confidence
            abstained[i] = emotion.abstained
            reasons[i] = emotion.abstain_reason
    return _scores(photos, labels, probs, confidence, abstained, reasons)


def majority_scores(photos: PhotoSet, abstain_below: float) -> PhotoScores:
    """Answer the most frequent label always, with its share as the confidence."""
    counts = Counter(photos.faces.labels)
    label, count = counts.most_common(1)[0]
    share = count / len(photos.faces)
    n = len(photos.faces)
    found = photos.crops.found
    probs = np.where(found[:, None], 1.0, np.nan)
    confidence = np.where(found, share, np.nan)
    abstained = ~found | (share < abstain_below)
    reasons = ["no_face" if not f else ("low_confidence" if a else "")
               for f, a in zip(found, abstained)]
    return _scores(photos, (label,), probs.reshape(n, 1), confidence, abstained, reasons)


def _scores(photos: PhotoSet, labels: tuple[str, ...], probs: npt.NDArray[np.float64],
            confidence: npt.NDArray[np.float64], abstained: npt.NDArray[np.bool_],
            reasons: list[str]) -> PhotoScores:
    records = photos.faces.records
    return PhotoScores(labels, tuple(r.label for r in records),
                       tuple(r.identity for r in records), tuple(r.subgroup for r in records),
                       photos.crops.found.copy(), probs, confidence, abstained,
                       tuple(reasons))


def evaluate_photos(photos: PhotoSet, models: Sequence[Path], fusion: FusionConfig,
                    draws: int = 500) -> dict[str, Any]:
    """Score each model and the majority baseline (see affect_core.photo_metrics)."""
    classes = list(photos.faces.counts())
    results = []
    for path in models:
        model = EmotionModel(path)
        figures = score(model_scores(model, photos, fusion), classes, draws)
        results.append({"model_id": model.metadata.model_id, "file": path.name,
                        "default": path.resolve() == DEFAULT_MODEL.resolve(),
                        "training_data": model.metadata.training_data, **figures})
    results.append({"model_id": MAJORITY, "file": "", "default": False,
                    "training_data": "none: the most frequent label of the scored photographs",
                    **score(majority_scores(photos, fusion.abstain_below), classes, draws)})
    return {"kind": "faces", "data": photos.faces.origin, "domain": DOMAIN, "split": photos.split,
            "photographs": len(photos.faces), "identities": len(set(photos.faces.identities)),
            "classes": photos.faces.counts(), "abstain_below": fusion.abstain_below,
            "models": results}


def write_json(results: dict[str, Any], path: Path) -> None:
    """Write the figures as JSON (NaN written as null)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nan_to_none(results), indent=2) + "\n", encoding="utf-8")


def _short(model: dict[str, Any]) -> str:
    return model["model_id"].split("+")[0]


def _ci(model: dict[str, Any], key: str) -> str:
    lo, hi = model["intervals"][key]
    return f"{model[key]:.3f} [{lo:.3f}, {hi:.3f}]"


def format_photos(results: dict[str, Any]) -> str:
    """Format the side-by-side table, then per model: recall, confusion, reliability."""
    models = results["models"]
    counts = ", ".join(f"{k} {v}" for k, v in results["classes"].items())
    lines = [f"affect eval faces: {results['photographs']} photographs of "
             f"{results['identities']} people from {results['data']} (split {results['split']})",
             f"data: {results['domain']}; crowd labels: {counts}",
             "intervals: 95 % bootstrap over identities; abstention threshold "
             f"{results['abstain_below']:.3f} (the parameter file's)", ""]
    rows = [("face found", lambda m: f"{m['face_found']:.3f}"),
            ("top-1 (faces found)", lambda m: _ci(m, "top1")),
            ("top-1 (all photos)", lambda m: f"{m['top1_all']:.3f}"),
            ("macro recall", lambda m: _ci(m, "macro_recall")),
            ("NLL", lambda m: f"{m['nll']:.3f}"),
            ("ECE", lambda m: _ci(m, "ece")),
            ("coverage at threshold", lambda m: _ci(m, "coverage")),
            ("accuracy answered", lambda m: _ci(m, "accuracy_answered")),
            ("accuracy at 80 % coverage", lambda m: _ci(m, "accuracy_at_80")),
            ("subgroup gap (top-1)", lambda m: f"{m['subgroup_gap']:.3f}"),
            ("out of domain (faces)", lambda m: f"{m['out_of_domain']:.3f}")]
    width = max(26, *(len(_short(m)) + 2 for m in models))
    lines.append(f"{'':28}" + "".join(f"{_short(m):>{width}}" for m in models))
    for name, cell in rows:
        lines.append(f"{name:28}" + "".join(f"{cell(m):>{width}}" for m in models))
    for m in models:
        lines += ["", f"{_short(m)}{' (default)' if m['default'] else ''}: {m['training_data']}",
                  "  per-class recall: " + ", ".join(
                      f"{c} {v['recall']:.2f} (n {v['n']}{'' if v['sayable'] else ', unsayable'})"
                      for c, v in m["per_class"].items())]
        columns = list(next(iter(m["confusion"].values())))
        lines.append("  confusion (rows truth, columns predicted): " + " | ".join(columns))
        for truth, row in m["confusion"].items():
            lines.append(f"    {truth:>10}: " + " ".join(f"{row[c]:5d}" for c in columns))
        lines.append("  reliability (confidence bin: n, mean confidence, accuracy): " + "; ".join(
            f"{r['low']:.2f}-{r['high']:.2f}: {r['n']}, {r['confidence']:.2f}, "
            f"{r['accuracy']:.2f}" for r in m["reliability"]))
        if m["abstain_reasons"]:
            lines.append("  abstentions: " + ", ".join(
                f"{k} {v}" for k, v in sorted(m["abstain_reasons"].items())))
        if m["subgroup_top1"]:
            lines.append("  top-1 per subgroup: " + ", ".join(
                f"{k} {v:.3f}" for k, v in m["subgroup_top1"].items()))
    return "\n".join(lines)
