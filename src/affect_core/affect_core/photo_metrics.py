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

"""Figures of one model on labelled photographs, each in closed form.

Inputs per photograph: the true label, whether a face was found, the fused probability
vector over the model's labels, the fused confidence and whether fusion abstained. A
photograph without a face, or whose true label the model cannot say, counts as wrong.

- top-1: share of photographs with a face whose top label is the truth;
- macro recall: unweighted mean over the scored classes of recall = right / images;
- NLL: mean -log p(truth), p floored at 1e-6 (a label the model cannot say costs 13.8);
- ECE (affect_core.metrics, 15 bins) of the fused confidence, with its reliability table;
- coverage: answered / all photographs (a missed face is not answered), and the accuracy
  of the answered ones; the same at the confidence threshold answering 80 % of faces;
- the coverage-accuracy curve: accuracy of the faces whose confidence is in the top
  share, for shares 5 %, 10 %, ..., 100 % of the faces found (what abstention buys);
- per-class recall and per-subgroup top-1, each with its count and interval.

Intervals are 95 % percentile intervals of a cluster bootstrap over identities
(affect_core.data.splits.identity_bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from affect_core.data.splits import identity_bootstrap
from affect_core.metrics import calibration_error

NLL_FLOOR = 1e-6
ECE_BINS = 15
COVERAGE_TARGET = 0.8


@dataclass(frozen=True)
class PhotoScores:
    """One model's fused outputs on a set of photographs, aligned with their truth."""

    labels: tuple[str, ...]  # the model's labels (columns of probabilities)
    truth: tuple[str, ...]
    identities: tuple[str, ...]
    subgroups: tuple[str, ...]
    found: npt.NDArray[np.bool_]
    probabilities: npt.NDArray[np.float64]  # (N, C); rows of missed faces are NaN
    confidence: npt.NDArray[np.float64]  # fused confidence of the top label; NaN if missed
    abstained: npt.NDArray[np.bool_]  # True also where no face was found
    reasons: tuple[str, ...]  # abstention reason per photograph ("" when answered)

    @property
    def predicted(self) -> list[str]:
        """List the top label of each photograph ("" where no face was found)."""
        top = np.nan_to_num(self.probabilities, nan=-1.0).argmax(axis=1)
        return [self.labels[t] if f else "" for t, f in zip(top, self.found)]


def _top1(correct: npt.NDArray[np.bool_], found: npt.NDArray[np.bool_]) -> float:
    return float(correct[found].mean()) if found.any() else float("nan")


def _macro_recall(correct: npt.NDArray[np.bool_], truth: npt.NDArray[np.str_],
                  classes: Sequence[str]) -> float:
    recalls = [correct[truth == c].mean() for c in classes if (truth == c).any()]
    return float(np.mean(recalls)) if recalls else float("nan")


def _answered(correct: npt.NDArray[np.bool_], abstained: npt.NDArray[np.bool_]
              ) -> tuple[float, float]:
    answered = ~abstained
    coverage = float(answered.mean()) if len(answered) else float("nan")
    accuracy = float(correct[answered].mean()) if answered.any() else float("nan")
    return coverage, accuracy


def _at_coverage(correct: npt.NDArray[np.bool_], confidence: npt.NDArray[np.float64],
                 found: npt.NDArray[np.bool_], share: float) -> tuple[float, float]:
    """Find the threshold answering ``share`` of the faces found, and its accuracy."""
    conf = confidence[found]
    if not len(conf):
        return float("nan"), float("nan")
    threshold = float(np.quantile(conf, 1.0 - share))
    keep = conf >= threshold
    return threshold, float(correct[found][keep].mean())


CURVE_SHARES = tuple(round(0.05 * i, 2) for i in range(1, 21))


def coverage_curve(confidence: npt.NDArray[np.float64], correct: npt.NDArray[np.bool_],
                   shares: Sequence[float] = CURVE_SHARES) -> list[dict[str, float]]:
    """Accuracy when answering only the most confident ``share`` of the samples.

    Samples are ranked by confidence (ties keep their order: stable sort), so each point
    is the accuracy a threshold answering that share would have.
    """
    if not len(confidence):
        return []
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    points = []
    for share in shares:
        count = max(int(round(share * len(order))), 1)
        points.append({"coverage": count / len(order), "accuracy": float(hits[count - 1] / count),
                       "threshold": float(confidence[order[count - 1]])})
    return points


def percentile_interval(values: Sequence[float]) -> list[float]:
    """Return the 2.5th and 97.5th percentiles of the finite ``values`` (NaN for none)."""
    finite = np.array(values, np.float64)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return [float("nan"), float("nan")]
    return [float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))]


def reliability(confidence: npt.NDArray[np.float64], correct: npt.NDArray[np.bool_],
                bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Tabulate per confidence bin: range, count, mean confidence, accuracy (non-empty)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    for b in range(bins):
        members = index == b
        if members.any():
            rows.append({"low": float(edges[b]), "high": float(edges[b + 1]),
                         "n": int(members.sum()),
                         "confidence": float(confidence[members].mean()),
                         "accuracy": float(correct[members].mean())})
    return rows


@dataclass(frozen=True)
class _Outcomes:
    """Per-photograph arrays every figure is computed from, derived once per model."""

    truth: npt.NDArray[np.str_]
    predicted: npt.NDArray[np.str_]
    found: npt.NDArray[np.bool_]
    correct: npt.NDArray[np.bool_]
    confidence: npt.NDArray[np.float64]
    abstained: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, scores: PhotoScores) -> _Outcomes:
        """Derive the outcomes of ``scores``: a missed face or an unsayable label is wrong."""
        truth, predicted = np.asarray(scores.truth), np.asarray(scores.predicted)
        return cls(truth, predicted, scores.found, scores.found & (predicted == truth),
                   scores.confidence, scores.abstained)


def _figures(outcomes: _Outcomes, rows: npt.NDArray[np.int64], classes: Sequence[str],
             threshold_80: float | None = None) -> dict[str, float]:
    truth = outcomes.truth[rows]
    found = outcomes.found[rows]
    correct = outcomes.correct[rows]
    conf = outcomes.confidence[rows]
    coverage, answered = _answered(correct, outcomes.abstained[rows])
    threshold, at_80 = _at_coverage(correct, conf, found, COVERAGE_TARGET)
    if threshold_80 is not None:  # bootstrap draws keep the full set's threshold
        keep = found & (np.nan_to_num(conf, nan=-1.0) >= threshold_80)
        at_80 = float(correct[keep].mean()) if keep.any() else float("nan")
    return {
        "top1": _top1(correct, found),
        "top1_all": float(correct.mean()) if len(correct) else float("nan"),
        "macro_recall": _macro_recall(correct, truth, classes),
        "ece": calibration_error(conf[found], correct[found], ECE_BINS),
        "coverage": coverage,
        "accuracy_answered": answered,
        "threshold_80": threshold,
        "accuracy_at_80": at_80,
    }


def score(scores: PhotoScores, classes: Sequence[str], draws: int = 500, seed: int = 0
          ) -> dict[str, Any]:
    """Compute every figure of the module docstring, with intervals by identity."""
    outcomes = _Outcomes.of(scores)
    point = _figures(outcomes, np.arange(len(scores.truth)), classes)
    draws_rows = identity_bootstrap(scores.identities, draws, seed)
    samples = [_figures(outcomes, rows, classes, point["threshold_80"]) for rows in draws_rows]
    intervals = {key: percentile_interval([s[key] for s in samples])
                 for key in ("top1", "macro_recall", "ece", "coverage", "accuracy_answered",
                             "accuracy_at_80")}
    truth, predicted, correct = outcomes.truth, outcomes.predicted, outcomes.correct
    per_class = {c: {"n": int((truth == c).sum()),
                     "recall": float(correct[truth == c].mean()) if (truth == c).any()
                     else float("nan"),
                     "interval": percentile_interval(
                         [_top1(correct[rows], truth[rows] == c) for rows in draws_rows]),
                     "sayable": c in scores.labels}
                 for c in classes}
    columns = [*scores.labels, ""]
    confusion = {c: {p or "no face": int(((truth == c) & (predicted == p)).sum())
                     for p in columns} for c in classes}
    p_truth = np.array([row[scores.labels.index(t)] if f and t in scores.labels else 0.0
                        for row, t, f in zip(scores.probabilities, truth, scores.found)])
    nll = float(np.mean(-np.log(np.maximum(p_truth[scores.found], NLL_FLOOR))))
    groups = sorted({g for g in scores.subgroups if g})
    names = np.asarray(scores.subgroups)
    subgroup = {g: _top1(correct[names == g], scores.found[names == g]) for g in groups}
    subgroup_detail = {g: {"top1": subgroup[g], "n": int((names == g).sum()),
                           "interval": percentile_interval(
                               [_top1(correct[rows], scores.found[rows] & (names[rows] == g))
                                for rows in draws_rows])}
                       for g in groups}
    finite = [v for v in subgroup.values() if v == v]
    reasons: dict[str, int] = {}
    for reason in scores.reasons:
        if reason:
            reasons[reason] = reasons.get(reason, 0) + 1
    faces = int(scores.found.sum())
    return {
        **point, "intervals": intervals, "n": len(truth),
        "out_of_domain": reasons.get("out_of_domain", 0) / faces if faces else float("nan"),
        "face_found": float(scores.found.mean()) if len(truth) else float("nan"),
        "nll": nll, "per_class": per_class, "confusion": confusion,
        "reliability": reliability(scores.confidence[scores.found], correct[scores.found]),
        "coverage_curve": coverage_curve(scores.confidence[scores.found],
                                         correct[scores.found]),
        "subgroup_top1": subgroup, "subgroups": subgroup_detail,
        "subgroup_gap": float(max(finite) - min(finite)) if len(finite) > 1 else float("nan"),
        "abstain_reasons": reasons,
    }
