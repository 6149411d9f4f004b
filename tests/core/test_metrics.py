"""Metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from affect_core import metrics


def test_accuracy_and_macro_f1_by_hand() -> None:
    truth = np.array([0, 0, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0])
    assert metrics.accuracy(truth, predicted) == pytest.approx(3 / 5)
    # class 0: tp1 fp1 fn1 -> 0.5; class 1: tp2 fp1 fn0 -> 0.8; class 2: tp0 -> 0
    assert metrics.macro_f1(truth, predicted) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_ece_by_hand() -> None:
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    truth = np.array([0, 1, 0, 0])
    # bin of 0.9: accuracy 0.5 -> |0.5 - 0.9| = 0.4; bin of 0.6: accuracy 1 -> 0.4
    assert metrics.expected_calibration_error(probs, truth) == pytest.approx(0.4)
    perfect = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert metrics.expected_calibration_error(perfect, np.array([0, 1])) == pytest.approx(0.0)


def test_subgroup_gap() -> None:
    truth = np.array([0, 0, 1, 1])
    predicted = np.array([0, 0, 0, 1])
    per_group = metrics.subgroup_accuracy(truth, predicted, ["a", "a", "b", "b"])
    assert per_group == {"a": 1.0, "b": 0.5}
    assert metrics.worst_group_gap(per_group) == pytest.approx(0.5)
