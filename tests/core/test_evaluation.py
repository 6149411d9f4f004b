"""Fusion evaluation: spike counting and figures against hand-made windows."""

from __future__ import annotations

import numpy as np
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


def test_abstained_windows_neither_end_nor_lengthen_a_run() -> None:
    # happy, unknown, happy spans 1.5 s of happy on screen: one run, not two flashes.
    windows = _windows("nhhhn", "nnnnn", abstained="00100")
    assert count_spikes(windows, 0.5, fused=True) == 0
    # A lone happy between abstentions lasts one window: a spike.
    assert count_spikes(_windows("nhhhn", "nnnnn", abstained="01010"), 0.5, fused=True) == 1
    # Abstentions do not count as the label either: happy, unknown x2 is 0.5 s of happy.
    assert count_spikes(_windows("hhhnn", "nnnnn", abstained="01100"), 0.5, fused=True) == 1


def test_a_tracking_gap_ends_a_run() -> None:
    windows = _windows("hh", "nn")
    later = [ScoredWindow("p1", w.end_ns + 5 * HOP_NS * i, w.truth, w.subgroup, w.fused,
                          w.confidence, w.abstained, w.unfused, w.unfused_confidence)
             for i, w in enumerate(windows)]
    assert count_spikes(later, 0.5, fused=True) == 2


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


def test_fitted_temperature_recovers_the_one_that_generated_the_labels() -> None:
    from affect_core.evaluation import fit_temperature
    from affect_core.fusion import FusionConfig, temper
    from tests.core.test_fusion import LABELS, _prediction

    rng = np.random.default_rng(0)
    true_temperature = 0.5
    windows = []
    for i in range(3000):
        probs = rng.dirichlet([1.0, 1.0, 1.0])
        truth = LABELS[rng.choice(3, p=temper(probs, true_temperature))]
        windows.append(ScoredWindow(f"p{i}", 0, truth, "g", truth, 0.5, False, truth, 0.5,
                                    prediction=_prediction([list(probs)], [1.0])))
    fitted = fit_temperature(windows, FusionConfig(smoothing=0.0))
    assert fitted == pytest.approx(true_temperature, rel=0.12)


def test_refusing_with_the_run_config_reproduces_the_run() -> None:
    from affect_core.evaluation import ablation, refuse
    from affect_core.fusion import ConfidenceFusion, FusionConfig
    from tests.core.test_fusion import _prediction

    config = FusionConfig(smoothing=0.3, switch_margin=0.1, abstain_below=0.5)
    fusion = ConfidenceFusion(config)
    rng = np.random.default_rng(1)
    windows = []
    for i in range(40):
        prediction = _prediction([list(rng.dirichlet([1.0, 1.0, 1.0])) for _ in range(3)],
                                 list(rng.uniform(0.2, 1.0, 3)), end_s=2.0 + 0.5 * i)
        emotion = fusion.fuse(prediction)
        windows.append(ScoredWindow("p1", emotion.stamp_ns, "neutral", "g", emotion.candidate,
                                    emotion.confidence, emotion.abstained, "neutral", 0.5,
                                    prediction=prediction))
    again = refuse(windows, config)
    assert [(w.fused, w.confidence, w.abstained) for w in again] == \
        [(w.fused, w.confidence, w.abstained) for w in windows]
    rows = ablation(figures("curated", windows, 1.0, 0.5), config)
    assert [name for name, _ in rows][0] == "plain mean"
    assert rows[0][1].coverage == 1.0  # no abstention in the plain mean
    assert rows[-1][1].coverage == pytest.approx(np.mean([not w.abstained for w in windows]))


def test_tables_print_every_step_and_setting() -> None:
    from affect_core.evaluation import format_ablation, format_sweep, sweep
    from affect_core.fusion import FusionConfig
    from tests.core.test_fusion import _prediction

    rng = np.random.default_rng(2)
    windows = []
    for i in range(20):
        prediction = _prediction([list(rng.dirichlet([1.0, 1.0, 1.0]))], [1.0],
                                 end_s=2.0 + 0.5 * i)
        windows.append(ScoredWindow("p1", prediction.window.end_ns, "neutral", "g", "neutral",
                                    0.5, False, "neutral", 0.5, prediction=prediction))
    result = figures("curated", windows, 1.0, 0.5)
    ablation_table = format_ablation([result], FusionConfig())
    assert ablation_table.count("curated") == 6 and "plain mean" in ablation_table
    points = sweep([result], FusionConfig(), smoothings=(0.0, 0.5), margins=(0.0, 0.2))
    assert [(p.smoothing, p.switch_margin) for p in points] == \
        [(0.0, 0.0), (0.0, 0.2), (0.5, 0.0), (0.5, 0.2)]
    assert all(0.0 <= p.coverage <= 1.0 for p in points)
    assert len(format_sweep(points).splitlines()) == 2 + len(points)


def test_precision_and_coverage_at_a_threshold_by_hand() -> None:
    from affect_core.evaluation import at_threshold

    windows = _scored([0.9, 0.8, 0.7, 0.6, 0.5], [True, True, False, True, False])
    assert at_threshold(windows, 0.65) == pytest.approx((2 / 3, 0.6))
    assert at_threshold(windows, 0.95)[1] == 0.0
