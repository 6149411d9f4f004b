"""Confidence fusion against closed-form values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from affect_core.fusion import ConfidenceFusion, FusionConfig
from affect_core.types import NAN, FaceObservation, FaceWindow, FrameQuality, WindowPrediction

LABELS = ("neutral", "happy", "sad")


def _config(**given: object) -> FusionConfig:
    """Parameters with tempering and hysteresis off unless a test turns them on."""
    return FusionConfig(**{"temperature": 1.0, "switch_margin": 0.0, **given})  # type: ignore


def _prediction(probs: list[list[float]], qualities: list[float], end_s: float = 2.0,
                frames_used: int = 240, valence: list[float] | None = None) -> WindowPrediction:
    samples = [FaceObservation(int(end_s * 1e9) - 1000 * (i + 1), "p1", (0, 0, 1, 1),
                               (NAN, NAN, NAN), FrameQuality(q, 1.0, NAN, 1.0),
                               np.zeros((1, 1), np.uint16), "mono16")
               for i, q in enumerate(qualities)]
    window = FaceWindow("p1", "cam", int((end_s - 2.0) * 1e9), int(end_s * 1e9), frames_used,
                        240, samples, 1.0, 1.0, NAN, (NAN, NAN, NAN))
    va = np.array(valence if valence is not None else [NAN] * len(probs))
    return WindowPrediction(window, LABELS, np.array(probs), va, va.copy(), "m")


def test_quality_weighted_mean_of_sample_probabilities() -> None:
    fusion = ConfidenceFusion(_config(smoothing=0.0, quality_floor=0.0))
    emotion = fusion.fuse(_prediction([[0.1, 0.8, 0.1], [0.6, 0.2, 0.2]], [0.9, 0.1],
                                      valence=[0.5, -0.5]))
    expected = (0.9 * np.array([0.1, 0.8, 0.1]) + 0.1 * np.array([0.6, 0.2, 0.2])) / 1.0
    assert emotion.probabilities == pytest.approx(tuple(expected))
    assert emotion.expression == "happy" and not emotion.abstained
    assert emotion.confidence == pytest.approx(expected[1])
    assert emotion.valence == pytest.approx(0.9 * 0.5 + 0.1 * -0.5)


def test_no_valence_head_gives_nan_not_zero() -> None:
    emotion = ConfidenceFusion(_config()).fuse(_prediction([[0.2, 0.6, 0.2]], [1.0]))
    assert math.isnan(emotion.valence) and math.isnan(emotion.arousal)


def test_abstains_below_the_threshold_and_on_low_coverage() -> None:
    fusion = ConfidenceFusion(_config(abstain_below=0.5, smoothing=0.0))
    weak = fusion.fuse(_prediction([[0.35, 0.45, 0.2]], [1.0]))
    assert weak.abstained and weak.expression == "unknown"
    assert weak.probabilities == pytest.approx((0.35, 0.45, 0.2))  # still reported
    sparse = ConfidenceFusion(_config(abstain_below=0.5, min_coverage=0.5)).fuse(
        _prediction([[0.0, 0.9, 0.1]], [1.0], frames_used=48))
    # coverage 0.2 against min_coverage 0.5 scales confidence by 0.4: 0.9 * 0.4 = 0.36
    assert sparse.confidence == pytest.approx(0.36)
    assert sparse.abstained


def test_smoothing_blends_with_the_previous_window() -> None:
    fusion = ConfidenceFusion(_config(smoothing=0.25, quality_floor=0.0))
    fusion.fuse(_prediction([[1.0, 0.0, 0.0]], [1.0], end_s=2.0))
    second = fusion.fuse(_prediction([[0.0, 1.0, 0.0]], [1.0], end_s=2.5))
    assert second.probabilities == pytest.approx((0.25, 0.75, 0.0))
    # After the person's timeout, nothing carries over.
    third = fusion.fuse(_prediction([[0.0, 0.0, 1.0]], [1.0], end_s=10.0))
    assert third.probabilities == pytest.approx((0.0, 0.0, 1.0))


def test_temperature_tempers_the_fused_distribution_in_closed_form() -> None:
    from affect_core.fusion import temper

    # p^(1/0.5) = p^2, renormalised: (0.25, 0.0625, 0.0625) / 0.375.
    assert temper(np.array([0.5, 0.25, 0.25]), 0.5) == pytest.approx((2 / 3, 1 / 6, 1 / 6))
    assert temper(np.array([0.5, 0.25, 0.25]), 1.0) == pytest.approx((0.5, 0.25, 0.25))
    flat = temper(np.array([0.98, 0.01, 0.01]), 20.0)
    assert flat.max() - flat.min() < 0.25 and flat.sum() == pytest.approx(1.0)
    fusion = ConfidenceFusion(_config(smoothing=0.0, temperature=0.5, abstain_below=0.0))
    emotion = fusion.fuse(_prediction([[0.25, 0.5, 0.25]], [1.0]))
    assert emotion.probabilities == pytest.approx((1 / 6, 2 / 3, 1 / 6))
    assert emotion.confidence == pytest.approx(2 / 3)


def test_hysteresis_keeps_the_held_label_until_another_clearly_leads() -> None:
    fusion = ConfidenceFusion(_config(smoothing=0.0, switch_margin=0.2, abstain_below=0.3))
    first = fusion.fuse(_prediction([[0.2, 0.7, 0.1]], [1.0], end_s=2.0))
    assert first.expression == "happy"
    # sad leads happy by 0.1 < 0.2: happy is kept, with its own probability as confidence.
    close = fusion.fuse(_prediction([[0.1, 0.4, 0.5]], [1.0], end_s=2.5))
    assert close.expression == "happy" and close.candidate == "happy"
    assert close.confidence == pytest.approx(0.4)
    assert fusion.stats.held_switches == 1
    # A lead of 0.7 switches; from then on sad is held.
    clear = fusion.fuse(_prediction([[0.1, 0.1, 0.8]], [1.0], end_s=3.0))
    assert clear.expression == "sad"
    # An abstention does not release the held label.
    weak = fusion.fuse(_prediction([[0.35, 0.4, 0.25]], [1.0], end_s=3.5))
    assert weak.abstained and weak.candidate == "sad"
    assert weak.confidence == pytest.approx(0.25)


def test_quality_weighting_can_be_switched_off_for_ablation() -> None:
    fusion = ConfidenceFusion(_config(smoothing=0.0, quality_weighting=False))
    emotion = fusion.fuse(_prediction([[0.1, 0.8, 0.1], [0.6, 0.2, 0.2]], [0.9, 0.1]))
    assert emotion.probabilities == pytest.approx((0.35, 0.5, 0.15))


def test_nan_quality_falls_back_to_the_floor_not_to_nan_probabilities() -> None:
    fusion = ConfidenceFusion(_config(smoothing=0.0, quality_floor=0.0))
    emotion = fusion.fuse(_prediction([[0.1, 0.8, 0.1], [0.6, 0.2, 0.2]], [NAN, NAN]))
    assert emotion.probabilities == pytest.approx((0.35, 0.5, 0.15))


def _window_quality(prediction: WindowPrediction, pose: float, lighting: float
                    ) -> WindowPrediction:
    prediction.window.pose_stability = pose
    prediction.window.lighting_consistency = lighting
    return prediction


def test_abstention_reasons() -> None:
    fusion = ConfidenceFusion(_config(abstain_below=0.5, min_coverage=0.5, min_quality=0.2))
    answered = fusion.fuse(_prediction([[0.0, 0.9, 0.1]], [1.0]))
    assert not answered.abstained and answered.abstain_reason == ""
    weak = fusion.fuse(_prediction([[0.35, 0.45, 0.2]], [1.0], end_s=10.0))
    assert weak.abstain_reason == "low_confidence"
    sparse = fusion.fuse(_prediction([[0.0, 0.9, 0.1]], [1.0], frames_used=48, end_s=20.0))
    assert sparse.abstain_reason == "few_frames"


def test_quality_acts_on_confidence_in_absolute_terms() -> None:
    """A window whose every frame is badly lit must not publish high confidence."""
    fusion = ConfidenceFusion(_config(abstain_below=0.5, min_quality=0.2))
    dark = fusion.fuse(_window_quality(_prediction([[0.0, 0.9, 0.1]], [1.0]), 1.0, 0.05))
    # lighting 0.05 against min_quality 0.2 scales confidence by 0.25: 0.9 * 0.25
    assert dark.confidence == pytest.approx(0.225)
    assert dark.abstained and dark.abstain_reason == "low_quality"
    # Relative weights alone would not have moved it: all samples share the same quality.
    assert dark.probabilities == pytest.approx((0.0, 0.9, 0.1))
    good = ConfidenceFusion(_config(abstain_below=0.5, min_quality=0.2)).fuse(
        _window_quality(_prediction([[0.0, 0.9, 0.1]], [1.0]), 0.5, 0.3))
    assert good.confidence == pytest.approx(0.9)
    unmeasured = ConfidenceFusion(_config(min_quality=0.2)).fuse(
        _window_quality(_prediction([[0.0, 0.9, 0.1]], [1.0]), NAN, NAN))
    assert unmeasured.confidence == pytest.approx(0.9)


def test_out_of_domain_lowers_confidence_and_abstains() -> None:
    fusion = ConfidenceFusion(_config(abstain_below=0.3))
    near = _prediction([[0.0, 0.9, 0.1], [0.0, 0.9, 0.1], [0.0, 0.9, 0.1]], [1.0, 1.0, 1.0])
    near.domain_distance = np.array([0.2, 0.9, 5.0])  # median 0.9: inside the domain
    inside = fusion.fuse(near)
    assert not inside.abstained and inside.domain_distance == pytest.approx(0.9)
    assert inside.confidence == pytest.approx(0.9)
    far = _prediction([[0.0, 0.95, 0.05]], [1.0], end_s=10.0)
    far.domain_distance = np.array([2.0])
    outside = fusion.fuse(far)
    # confidence x (1 / 2) ** 2, and an abstention whatever the threshold
    assert outside.confidence == pytest.approx(0.95 / 4)
    assert outside.abstained and outside.abstain_reason == "out_of_domain"
    assert outside.expression == "unknown"
    plain = fusion.fuse(_prediction([[0.0, 0.9, 0.1]], [1.0], end_s=20.0))
    assert math.isnan(plain.domain_distance) and not plain.abstained
