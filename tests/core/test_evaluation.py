"""Fusion evaluation: spike counting and figures against hand-made windows."""

from __future__ import annotations

import pytest

from affect_core.evaluation import count_spikes, figures
from affect_core.pipeline import ScoredWindow

HOP_NS = 500_000_000


def _windows(fused: str, truth: str, abstained: str = "", unfused: str | None = None,
             person: str = "p1") -> list[ScoredWindow]:
    """One window per character: n neutral, h happy; abstained marks '1' windows."""
    names = {"n": "neutral", "h": "happy", "s": "sad"}
    unfused = unfused or fused
    return [ScoredWindow(person, (i + 4) * HOP_NS, names[truth[i]], "g", names[f], 0.9,
                         bool(abstained) and abstained[i] == "1", names[u], 0.6)
            for i, (f, u) in enumerate(zip(fused, unfused))]


def test_short_non_neutral_runs_over_neutral_truth_are_spikes() -> None:
    # One window (0.5 s) of happy: a spike; three windows (1.5 s): an expression, not a spike.
    windows = _windows("nnhnnhhhnn", "nnnnnnnnnn")
    assert count_spikes(windows, 0.5, fused=True) == 1
    # Not a spike when the truth was not neutral.
    assert count_spikes(_windows("nnhnn", "nnhnn"), 0.5, fused=True) == 0


def test_abstained_windows_are_not_spikes_but_split_runs() -> None:
    windows = _windows("nhhhn", "nnnnn", abstained="00100")
    assert count_spikes(windows, 0.5, fused=True) == 2  # happy, unknown, happy: flicker
    assert count_spikes(windows, 0.5, fused=False) == 0  # unfused: one 1.5 s run


def test_people_are_counted_separately() -> None:
    windows = _windows("nhn", "nnn", person="p1") + _windows("nsn", "nnn", person="p2")
    assert count_spikes(windows, 0.5, fused=True) == 2


def test_figures_by_hand() -> None:
    windows = _windows("hhnn", "hnnn", abstained="0100", unfused="hhhn")
    result = figures("curated", windows, minutes=0.5, hop_s=0.5)
    assert result.coverage == pytest.approx(0.75)
    assert result.accuracy_answered == pytest.approx(1.0)  # h/h, n/n, n/n
    assert result.accuracy_unfused == pytest.approx(0.5)


def _scored(confidences: list[float], correct: list[bool]) -> list[ScoredWindow]:
    return [ScoredWindow("p1", i, "happy", "g", "happy" if ok else "sad", c, False, "happy",
                         0.5) for i, (c, ok) in enumerate(zip(confidences, correct))]


def test_threshold_for_a_target_precision_keeps_the_most_coverage() -> None:
    from affect_core.evaluation import choose_threshold

    windows = _scored([0.9, 0.8, 0.7, 0.6, 0.5], [True, True, False, True, False])
    # Answering >= 0.8: 2/2 right; >= 0.6: 3/4; >= 0.5: 3/5.
    best = choose_threshold(windows, target_precision=0.75)
    assert best is not None and best.abstain_below == 0.6
    assert best.precision == pytest.approx(0.75) and best.coverage == pytest.approx(0.8)
    assert choose_threshold(windows, target_precision=1.0).abstain_below == 0.8
    assert choose_threshold(_scored([0.9], [False]), target_precision=0.5) is None


def test_threshold_for_a_target_coverage_is_the_highest_that_keeps_it() -> None:
    from affect_core.evaluation import choose_threshold

    windows = _scored([0.9, 0.8, 0.7, 0.6, 0.5], [True, True, False, True, False])
    best = choose_threshold(windows, target_coverage=0.6)
    assert best is not None and best.abstain_below == 0.7 and best.coverage == pytest.approx(0.6)
    with pytest.raises(ValueError):
        choose_threshold(windows)
