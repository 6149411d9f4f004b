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

"""``affect eval model``: any model's figures on the rig's held-out crops, and its speed.

The crops are the test splits the model card reports for the shipped model: per preset
1,500 rendered crops (seed 5 curated, seed 6 heterogeneous, as ``affect train`` with
seed 0 draws them), cut by the pipeline's detector and crop; the metrics are those of
``affect train`` (affect_core.metrics, ECE with 15 bins of the model's own calibrated
top probability). The truth covers the whole vocabulary, so a model that cannot produce
a label (a FER2013 model has no contempt, bored or excited) is wrong on every crop of
it; the figures are therefore also given over the crops whose truth the model can say.

Speed: the median time of one window's batch of K crops through the runtime
(preprocessing, ONNX Runtime, label mapping), on the execution provider and threads
given. All of it is synthetic rig data: it says nothing about real people.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from affect_core import labels, metrics
from affect_core.face.tracker import FaceTrackerConfig
from affect_core.fusion import FusionConfig
from affect_core.model.runtime import EmotionModel
from affect_core.photo_metrics import PhotoScores, score
from affect_core.training.dataset import CropSet, render_crops
from affect_core.window import WindowConfig

TEST_SEEDS = {"curated": 5, "heterogeneous": 6}
ABSTAIN_BELOW = FusionConfig().abstain_below


@dataclass(frozen=True)
class SplitScore:
    """A model's figures on one held-out split."""

    preset: str
    crops: int
    detector_misses: int
    accuracy: float
    macro_f1: float
    ece: float
    sayable_crops: int
    sayable_accuracy: float
    sayable_macro_f1: float


def vocabulary_probabilities(model: EmotionModel, crops: Sequence[npt.NDArray[np.generic]],
                             batch: int = 256) -> npt.NDArray[np.float64]:
    """(N, vocabulary) probabilities: zero where the model has no such label."""
    out = np.zeros((len(crops), len(labels.EXPRESSIONS)), np.float64)
    columns = [labels.EXPRESSIONS.index(name) for name in model.labels]
    for i in range(0, len(crops), batch):
        out[i:i + batch, columns] = model.predict(crops[i:i + batch])[0]
    return out


def score_split(model: EmotionModel, data: CropSet) -> SplitScore:
    """Accuracy, macro-F1 and ECE on ``data``, overall and where the truth is sayable."""
    probabilities = vocabulary_probabilities(model, list(data.crops))
    truth = data.label_index
    predicted = probabilities.argmax(axis=1)
    sayable = np.isin(truth, [labels.EXPRESSIONS.index(n) for n in model.labels])
    return SplitScore(
        preset=data.preset,
        crops=len(data),
        detector_misses=data.missed,
        accuracy=metrics.accuracy(truth, predicted),
        macro_f1=metrics.macro_f1(truth, predicted),
        ece=metrics.expected_calibration_error(probabilities, truth),
        sayable_crops=int(sayable.sum()),
        sayable_accuracy=metrics.accuracy(truth[sayable], predicted[sayable]),
        sayable_macro_f1=metrics.macro_f1(truth[sayable], predicted[sayable]),
    )


def window_times_ms(model: EmotionModel, crops: Sequence[npt.NDArray[np.generic]], k: int,
                    repeats: int = 200) -> list[float]:
    """Milliseconds of each of ``repeats`` runs of one window of ``k`` crops (a histogram)."""
    window = list(crops[:k])
    model.predict(window)  # the first run allocates
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(window)
        times.append(1e3 * (time.perf_counter() - start))
    return times


def window_ms(model: EmotionModel, crops: Sequence[npt.NDArray[np.generic]], k: int,
              repeats: int = 200) -> float:
    """Median milliseconds for one window of ``k`` crops."""
    return float(np.median(window_times_ms(model, crops, k, repeats)))


def split_figures(model: EmotionModel, data: CropSet, draws: int = 500) -> dict[str, Any]:
    """Compute the photograph figures (affect_core.photo_metrics) of ``model`` on a rig split.

    Each crop is its own person (the rig draws a new identity per crop), so the
    intervals are a plain bootstrap over crops; the confidence is the model's calibrated
    top probability, and a crop abstains below ``ABSTAIN_BELOW`` (the shipped fusion
    threshold). Crops the detector missed are not in ``data`` (``detector_misses``).
    """
    probabilities = model.predict(list(data.crops))[0] if len(data) else np.zeros(
        (0, len(model.labels)))
    confidence = probabilities.max(axis=1) if len(data) else np.zeros(0)
    truth = tuple(labels.EXPRESSIONS[i] for i in data.label_index)
    scores = PhotoScores(tuple(model.labels), truth, tuple(f"crop{i}" for i in range(len(data))),
                         tuple(data.subgroup), np.ones(len(data), bool), probabilities,
                         confidence, confidence < ABSTAIN_BELOW,
                         tuple("low_confidence" if c < ABSTAIN_BELOW else "" for c in confidence))
    classes = [c for c in labels.EXPRESSIONS if c in set(truth)]
    return {"preset": data.preset, "crops": len(data), "detector_misses": data.missed,
            "domain": f"synthetic rig, {data.preset} preset (drawn IR faces; not real people)",
            **score(scores, classes, draws)}


def model_json(model: EmotionModel, splits: dict[str, CropSet], draws: int = 500,
               latency_repeats: int = 200, threads: int = 1) -> dict[str, Any]:
    """Gather what ``affect eval model --json`` saves: both splits' figures and latencies.

    ``threads`` is the intra-op thread count ``model`` was opened with, recorded beside
    its latencies because they depend on it.
    """
    samples = max((len(d) + d.missed for d in splits.values()), default=0)
    figures = {preset: split_figures(model, data, draws) for preset, data in splits.items()}
    k = WindowConfig().samples_per_window
    crops = list(render_crops(k, "curated", 99, progress=False).crops)
    return {"kind": "model", "model_id": model.metadata.model_id, "file": model.path.name,
            "training_data": model.metadata.training_data,
            "data": f"held-out synthetic rig crops ({samples} rendered per preset, seeds "
                    f"{', '.join(f'{p} {s}' for p, s in TEST_SEEDS.items())})",
            "abstain_below": ABSTAIN_BELOW, "splits": figures,
            "latency": {"k": k, "provider": model.provider, "threads": threads,
                        "window_ms": window_times_ms(model, crops, k, latency_repeats),
                        "data": f"one window of {k} rig crops, {model.provider}, {threads} "
                                f"thread(s), this machine"}}


def bench_models(models: Sequence[EmotionModel], crops: Sequence[npt.NDArray[np.generic]],
                 k: int, rounds: int = 5, repeats: int = 100) -> list[list[float]]:
    """Per model, the median ms per window of each round; models take turns every round.

    Taking turns spreads a shared machine's changing load over all models alike, so
    their ratio holds even when the absolute figures drift.
    """
    times: list[list[float]] = [[] for _ in models]
    for _ in range(rounds):
        for i, model in enumerate(models):
            times[i].append(window_ms(model, crops, k, repeats))
    return times


def format_bench(models: Sequence[EmotionModel], times: Sequence[Sequence[float]],
                 k: int) -> str:
    """Format the printed speed table."""
    lines = [f"one window of K = {k} crops through the runtime (preprocess, ONNX Runtime, "
             "label map), median over rounds of each round's median:",
             f"{'model':<44}{'ms':>8}{'min':>8}{'max':>8}  provider"]
    for model, ms in zip(models, times):
        lines.append(f"{model.metadata.model_id:<44}{float(np.median(ms)):>8.2f}"
                     f"{min(ms):>8.2f}{max(ms):>8.2f}  {model.provider}")
    return "\n".join(lines)


def test_splits(samples: int = 1500, progress: bool = True) -> dict[str, CropSet]:
    """Render both held-out splits, crops cut at the face_tracker's size."""
    size_px = FaceTrackerConfig().crop_size_px
    return {preset: render_crops(samples, preset, seed, size_px, progress)
            for preset, seed in TEST_SEEDS.items()}


def score_model(model: EmotionModel, samples: int = 1500, progress: bool = True,
                splits: dict[str, CropSet] | None = None) -> list[SplitScore]:
    """Score the model on both held-out splits (rendered here unless ``splits`` is given)."""
    splits = splits if splits is not None else test_splits(samples, progress)
    return [score_split(model, data) for data in splits.values()]


def format_scores(model: EmotionModel, scores: Sequence[SplitScore], ms: float,
                  k: int) -> str:
    """Format the printed table."""
    missing = [n for n in labels.EXPRESSIONS if n not in model.labels]
    lines = [
        f"model {model.metadata.model_id} ({model.path.name}), labels: "
        f"{', '.join(model.labels)}" + (f"; cannot say: {', '.join(missing)}" if missing
                                        else ""),
        "held-out synthetic rig crops (as in the model card); says nothing about real people",
        f"{'split':<15}{'crops':>6}{'missed':>7}{'acc':>7}{'mF1':>7}{'ECE':>7}"
        f"{' | sayable':>10}{'acc':>7}{'mF1':>7}",
    ]
    for s in scores:
        lines.append(f"{s.preset:<15}{s.crops:>6}{s.detector_misses:>7}{s.accuracy:>7.3f}"
                     f"{s.macro_f1:>7.3f}{s.ece:>7.3f}{' |':<2}{s.sayable_crops:>8}"
                     f"{s.sayable_accuracy:>7.3f}{s.sayable_macro_f1:>7.3f}")
    lines.append(f"speed: {ms:.2f} ms per window of K = {k} crops, median, "
                 f"{model.provider}")
    return "\n".join(lines)
