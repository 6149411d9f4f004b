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

"""The confidence_fusion stage: quality-weighted fusion, smoothing, calibrated abstention.

Per window, in this order:

1. Quality weighting: the K per-sample probability vectors are averaged with weights
   w_k = max(pose_stability_k x lighting_consistency_k, quality_floor) (all 1 when
   ``quality_weighting`` is off): a mixture of calibrated distributions, which stays a
   distribution.
2. Smoothing: across a person's consecutive windows the fused vector is blended with the
   previous window's (``smoothing`` is the previous window's weight; 0 disables it).
3. Calibration: the fused vector is tempered, p_i proportional to p_i^(1 / temperature).
   Averaging over samples and windows flattens distributions; ``temperature`` is fitted on
   the rig by ``affect eval fusion --fit-temperature`` (1 leaves them unchanged).
4. Hysteresis: the label a person holds changes only when another label's probability
   exceeds the held one's by ``switch_margin``; otherwise the held label is published
   with its own probability. Short false switches (emotion "spikes") are what this cuts.
5. Confidence and abstention: the confidence is the published label's probability times
   three evidence factors, each 1 when the evidence is good:

   - coverage, min(1, coverage / min_coverage), where coverage = frames_used /
     frames_expected;
   - capture quality in absolute terms, min(1, q / min_quality), where q is the lower of
     the window's pose stability and lighting consistency: relative weights alone
     (step 1) would let a window whose every frame is bad publish full confidence;
   - the model's domain, min(1, 1 / d)^2, where d is the median of the samples'
     domain distances in units of the model's threshold (models without a domain model
     give NaN and the factor 1).

   The estimate abstains ("unknown") when the confidence is below ``abstain_below`` or
   d > 1, with the reason (ABSTAIN_REASONS): ``out_of_domain`` when d > 1, otherwise
   the weakest evidence factor below 1 (``low_quality``, ``few_frames``), otherwise
   ``low_confidence``. An abstention does not release the held label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from affect_core import labels as vocab
from affect_core.params import ParamSpec, resolve
from affect_core.types import Emotion, WindowPrediction

LOW_CONFIDENCE = "low_confidence"
LOW_QUALITY = "low_quality"
OUT_OF_DOMAIN = "out_of_domain"
FEW_FRAMES = "few_frames"
ABSTAIN_REASONS = (LOW_CONFIDENCE, LOW_QUALITY, OUT_OF_DOMAIN, FEW_FRAMES)

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("abstain_below", 0.465, "abstain when the fused confidence is below this",
              0.0, 1.0),
    ParamSpec("smoothing", 0.0,
              "weight of the previous window's fused probabilities (0 = no smoothing)",
              0.0, 0.95),
    ParamSpec("min_coverage", 0.5,
              "coverage (frames used / expected) below which confidence is scaled down",
              0.01, 1.0),
    ParamSpec("min_quality", 0.1,
              "pose stability or lighting consistency of a window below which confidence is "
              "scaled down", 0.0, 1.0),
    ParamSpec("quality_floor", 0.5, "smallest weight a sample gets in the fusion", 0.0, 1.0),
    ParamSpec("person_timeout_s", 2.0,
              "forget a person's smoothing state after this long without a window", 0.0, 600.0),
    ParamSpec("quality_weighting", True,
              "weight samples by pose stability x lighting consistency (false: plain mean)"),
    ParamSpec("temperature", 0.9,
              "calibration temperature of the fused probabilities (1 = unchanged)", 0.05, 20.0),
    ParamSpec("switch_margin", 0.1,
              "probability lead another label needs over the held one to replace it", 0.0, 1.0),
)


@dataclass(frozen=True)
class FusionConfig:
    """Validated confidence_fusion parameters (see PARAMS)."""

    abstain_below: float = 0.465
    smoothing: float = 0.0
    min_coverage: float = 0.5
    min_quality: float = 0.1
    quality_floor: float = 0.5
    person_timeout_s: float = 2.0
    quality_weighting: bool = True
    temperature: float = 0.9
    switch_margin: float = 0.1

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> FusionConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        return cls(**resolve(PARAMS, given, "confidence_fusion"))


@dataclass
class _PersonState:
    probabilities: npt.NDArray[np.float64]  # smoothed, before tempering
    labels: tuple[str, ...]
    end_ns: int
    held: int  # index of the label this person holds (hysteresis)


@dataclass
class FusionStats:
    """Counts for diagnostics."""

    windows: int = 0
    abstentions: int = 0
    held_switches: int = 0  # windows whose top label was overruled by the held label
    per_label: dict[str, int] = field(default_factory=dict)
    abstain_reasons: dict[str, int] = field(default_factory=dict)


def temper(probabilities: npt.NDArray[np.float64], temperature: float
           ) -> npt.NDArray[np.float64]:
    """``probabilities`` raised to 1 / temperature and renormalised (log-space, no underflow)."""
    if temperature == 1.0:
        return probabilities
    logits = np.log(np.maximum(probabilities, 1e-12)) / temperature
    logits -= logits.max()
    tempered = np.exp(logits)
    return np.asarray(tempered / tempered.sum(), np.float64)


def _quality_factor(pose_stability: float, lighting_consistency: float,
                    min_quality: float) -> float:
    """Scale for quality: min(1, q / min_quality), q the weaker of the two; 1 if unmeasured."""
    measured = [v for v in (pose_stability, lighting_consistency) if v == v]
    if not measured or min_quality <= 0.0:
        return 1.0
    return min(1.0, max(min(measured), 0.0) / min_quality)


def weighted_mean(values: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]) -> float:
    """Weighted mean over finite values; NaN when none is finite."""
    finite = np.isfinite(values)
    if not finite.any():
        return math.nan
    return float(np.sum(values[finite] * weights[finite]) / np.sum(weights[finite]))


class ConfidenceFusion:
    """Turns WindowPredictions into Emotions (see the module docstring)."""

    def __init__(self, config: FusionConfig) -> None:
        self.config = config
        self.stats = FusionStats()
        self._people: dict[str, _PersonState] = {}

    def fuse(self, prediction: WindowPrediction) -> Emotion:
        """Fuse one window's prediction into its Emotion."""
        window = prediction.window
        cfg = self.config
        if cfg.quality_weighting:
            quality = np.array([s.quality.pose_stability * s.quality.lighting_consistency
                                for s in window.samples], np.float64)
            weights = np.maximum(np.nan_to_num(quality, nan=0.0), cfg.quality_floor)
        else:
            weights = np.ones(len(window.samples), np.float64)
        if not weights.sum() > 0.0:
            weights = np.ones_like(weights)
        probs = prediction.probabilities
        if len(probs):
            fused = (weights[:, None] * probs).sum(axis=0) / weights.sum()
        else:
            fused = np.full(len(prediction.labels), 1.0 / len(prediction.labels))
        timeout_ns = int(cfg.person_timeout_s * 1e9)
        state = self._people.get(window.person_id)
        if (state is None or state.labels != prediction.labels
                or not 0 <= window.end_ns - state.end_ns <= timeout_ns):
            state = None
        if state is not None and cfg.smoothing > 0.0:
            fused = (1.0 - cfg.smoothing) * fused + cfg.smoothing * state.probabilities
        fused = fused / fused.sum()
        published = temper(fused, cfg.temperature)

        top = int(np.argmax(published))
        held = top
        if state is not None and published[top] - published[state.held] < cfg.switch_margin:
            held = state.held
            self.stats.held_switches += int(held != top)
        self._people[window.person_id] = _PersonState(fused, prediction.labels, window.end_ns,
                                                      held)
        self._forget(window.end_ns)

        coverage = window.frames_used / max(window.frames_expected, 1)
        frames_factor = min(1.0, coverage / cfg.min_coverage)
        quality_factor = _quality_factor(window.pose_stability, window.lighting_consistency,
                                         cfg.min_quality)
        domain = (float(np.median(prediction.domain_distance))
                  if prediction.domain_distance is not None and len(prediction.domain_distance)
                  else math.nan)
        domain_factor = min(1.0, 1.0 / domain) ** 2 if domain > 0.0 else 1.0
        confidence = float(np.clip(published[held] * frames_factor * quality_factor
                                   * domain_factor, 0.0, 1.0))
        abstained = confidence < cfg.abstain_below or not len(probs) or domain > 1.0
        reason = ""
        if abstained:
            if domain > 1.0:
                reason = OUT_OF_DOMAIN
            elif not len(probs):
                reason = FEW_FRAMES
            elif min(quality_factor, frames_factor) < 1.0:
                reason = LOW_QUALITY if quality_factor < frames_factor else FEW_FRAMES
            else:
                reason = LOW_CONFIDENCE
        expression = vocab.UNKNOWN if abstained else prediction.labels[held]
        self.stats.windows += 1
        self.stats.abstentions += int(abstained)
        if reason:
            self.stats.abstain_reasons[reason] = self.stats.abstain_reasons.get(reason, 0) + 1
        self.stats.per_label[expression] = self.stats.per_label.get(expression, 0) + 1
        return Emotion(
            stamp_ns=window.end_ns,
            frame_id=window.frame_id,
            person_id=window.person_id,
            window_start_ns=window.start_ns,
            labels=prediction.labels,
            probabilities=tuple(float(p) for p in published),
            expression=expression,
            valence=weighted_mean(prediction.valence, weights),
            arousal=weighted_mean(prediction.arousal, weights),
            confidence=confidence,
            abstained=abstained,
            pose_stability=window.pose_stability,
            lighting_consistency=window.lighting_consistency,
            depth_consistency=window.depth_consistency,
            frames_used=window.frames_used,
            frames_expected=window.frames_expected,
            head_position_m=window.head_position_m,
            model_id=prediction.model_id,
            candidate=prediction.labels[held],
            abstain_reason=reason,
            domain_distance=domain,
        )

    def _forget(self, now_ns: int) -> None:
        timeout_ns = int(self.config.person_timeout_s * 1e9)
        stale = [pid for pid, st in self._people.items() if now_ns - st.end_ns > timeout_ns]
        for pid in stale:
            del self._people[pid]
