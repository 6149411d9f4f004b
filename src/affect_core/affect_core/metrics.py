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

"""Evaluation metrics, each in closed form so tests can check them by hand.

- accuracy: fraction of top-1 predictions equal to the truth.
- macro_f1: the unweighted mean over classes present in truth or prediction of
  2PR / (P + R).
- expected_calibration_error: sum over B equal-width confidence bins of
  (n_b / N) x |accuracy_b - mean confidence_b| (Guo et al. 2017), B = 15.
- subgroup accuracy and the gap between the best and the worst subgroup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def accuracy(truth: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64]) -> float:
    """Fraction of correct predictions (NaN for no samples)."""
    return float(np.mean(truth == predicted)) if len(truth) else float("nan")


def macro_f1(truth: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64]) -> float:
    """Macro-averaged F1 over the classes that occur in truth or prediction."""
    classes = np.union1d(truth, predicted)
    scores = []
    for c in classes:
        tp = float(np.sum((predicted == c) & (truth == c)))
        fp = float(np.sum((predicted == c) & (truth != c)))
        fn = float(np.sum((predicted != c) & (truth == c)))
        scores.append(0.0 if tp == 0.0 else 2.0 * tp / (2.0 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


def calibration_error(confidence: npt.NDArray[np.floating], correct: npt.NDArray[np.bool_],
                      bins: int = 15) -> float:
    """ECE of stated confidences against whether each answer was right."""
    if not len(confidence):
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)


def expected_calibration_error(probabilities: npt.NDArray[np.floating],
                               truth: npt.NDArray[np.int64], bins: int = 15) -> float:
    """ECE of the top-1 confidence with equal-width bins."""
    return calibration_error(probabilities.max(axis=1), probabilities.argmax(axis=1) == truth,
                             bins)


def subgroup_accuracy(truth: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64],
                      groups: Sequence[str]) -> dict[str, float]:
    """Accuracy per subgroup name."""
    names = np.asarray(groups)
    return {str(g): accuracy(truth[names == g], predicted[names == g])
            for g in sorted(set(groups))}


def worst_group_gap(per_group: dict[str, float]) -> float:
    """Best minus worst subgroup accuracy (0 with a single group)."""
    values = [v for v in per_group.values() if v == v]
    return float(max(values) - min(values)) if values else float("nan")
