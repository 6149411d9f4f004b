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

"""``affect eval fusion``: what confidence fusion buys, measured on the simulated rig.

For each preset the lab runs on the rig and every window is scored against the rig's
truth (affect_core.pipeline.ScoredWindow), with and without fusion. "Without fusion"
is the plain mean of the window's sample probabilities: no quality weighting, no
smoothing, no abstention. Reported per preset:

- coverage: answered windows / all windows; abstention rate = 1 - coverage;
- accuracy of the answered windows (fused), and of all windows without fusion;
- ECE of the fused confidence (15 bins) over all windows, and of the unfused top
  probability;
- false-positive emotion spikes per minute: runs of one non-neutral label shorter than
  1 s (fewer than 1 s / hop consecutive windows) while the truth is neutral throughout.

The model's window outputs are kept, so each step of fusion can be switched on in turn
(:func:`ablation`: plain mean, + quality weighting, + smoothing, + calibration,
+ hysteresis, + abstention) and its knobs swept (:func:`sweep`) on the very same windows.
The calibration temperature is fitted (:func:`fit_temperature`, least negative
log-likelihood) on runs of a different seed from the ones it is reported on.

All of it is synthetic data; it measures the method, not performance on people.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from affect_core import labels
from affect_core.fusion import ConfidenceFusion, FusionConfig
from affect_core.metrics import calibration_error
from affect_core.model.runtime import RIG_MODEL
from affect_core.pipeline import LabPipeline, ScoredWindow


def count_spikes(windows: Sequence[ScoredWindow], hop_s: float, fused: bool,
                 max_s: float = 1.0) -> int:
    """Non-neutral runs shorter than ``max_s`` over neutral truth, per person.

    An abstained window states nothing, so it neither ends a run nor lengthens it: what
    a subscriber sees as "happy, unknown, happy" is one run of happy, not two flashes. A
    gap of more than one hop without any window (the person was not tracked) ends a run.
    """
    spikes = 0
    by_person: dict[str, list[ScoredWindow]] = {}
    for window in windows:
        by_person.setdefault(window.person_id, []).append(window)
    for person in by_person.values():
        person.sort(key=lambda w: w.end_ns)
        run: list[ScoredWindow] = []
        last_ns: int | None = None

        def close(run: list[ScoredWindow]) -> int:
            head = _label(run[0], fused)
            span_s = (run[-1].end_ns - run[0].end_ns) / 1e9 + hop_s
            return int(head not in (labels.NEUTRAL, labels.UNKNOWN) and span_s < max_s
                       and all(w.truth == labels.NEUTRAL for w in run))

        for window in person:
            gap = last_ns is not None and window.end_ns - last_ns > hop_s * 1.5e9
            last_ns = window.end_ns
            label = _label(window, fused)
            if label == labels.UNKNOWN and not gap:
                continue
            if run and (gap or label != _label(run[0], fused)):
                spikes += close(run)
                run = []
            if label != labels.UNKNOWN:
                run.append(window)
        if run:
            spikes += close(run)
    return spikes


def _label(window: ScoredWindow, fused: bool) -> str:
    if fused:
        return labels.UNKNOWN if window.abstained else window.fused
    return window.unfused


@dataclass
class FusionFigures:
    """One preset's figures (see the module docstring)."""

    preset: str
    windows: int
    minutes: float
    coverage: float
    accuracy_answered: float
    accuracy_unfused: float
    ece_fused: float
    ece_unfused: float
    spikes_per_min_fused: float
    spikes_per_min_unfused: float
    windows_scored: tuple[ScoredWindow, ...] = ()
    config: FusionConfig | None = None  # the fusion parameters of the run
    hop_s: float = math.nan  # the windows' hop, which spike counting needs


def figures(preset: str, windows: Sequence[ScoredWindow], minutes: float,
            hop_s: float) -> FusionFigures:
    """Compute the figures of one run's scored windows."""
    answered = [w for w in windows if not w.abstained]
    correct_fused = np.array([w.fused == w.truth for w in windows], bool)
    correct_unfused = np.array([w.unfused == w.truth for w in windows], bool)
    return FusionFigures(
        preset=preset, windows=len(windows), minutes=minutes,
        coverage=len(answered) / max(len(windows), 1),
        accuracy_answered=float(np.mean([w.fused == w.truth for w in answered]))
        if answered else float("nan"),
        accuracy_unfused=float(correct_unfused.mean()) if windows else float("nan"),
        ece_fused=calibration_error(np.array([w.confidence for w in windows]), correct_fused),
        ece_unfused=calibration_error(np.array([w.unfused_confidence for w in windows]),
                                      correct_unfused),
        spikes_per_min_fused=count_spikes(windows, hop_s, fused=True) / minutes,
        spikes_per_min_unfused=count_spikes(windows, hop_s, fused=False) / minutes,
        windows_scored=tuple(windows),
        hop_s=hop_s,
    )


RIG_MODEL_NAME = RIG_MODEL.stem


def evaluate_fusion(params_file: str, duration_s: float, people: int,
                    seed: int = 0, model_path: str = RIG_MODEL_NAME,
                    presets: Sequence[str] = ("curated", "heterogeneous")
                    ) -> list[FusionFigures]:
    """Run the lab on both presets and compute the figures.

    The rig model is the default here: fusion is measured against the rig's truth, which
    only a model that knows the rig's drawn faces can read (the default model, trained on
    photographs, abstains on them as out of its domain).
    """
    results = []
    for preset in presets:
        pipeline = LabPipeline.from_params_file(params_file, model_path=model_path,
                                                preset=preset, num_people=people, seed=seed)
        pipeline.keep_scored = True
        pipeline.keep_predictions = True
        with tempfile.TemporaryDirectory() as tmp:
            summary = pipeline.run(duration_s, Path(tmp), progress=False)
        minutes = people * summary.sensor_s / 60.0
        result = figures(preset, summary.scored, minutes, pipeline.window_config.hop_s)
        result.config = pipeline.fusion_config
        results.append(result)
    return results


def refuse(windows: Sequence[ScoredWindow], config: FusionConfig) -> list[ScoredWindow]:
    """Fuse the same windows again with ``config``, in their original order.

    Needs the windows' model outputs (LabPipeline.keep_predictions); windows without one
    are dropped, which :func:`ablation` reports by its window count.
    """
    fusion = ConfidenceFusion(config)
    out = []
    for window in windows:
        if window.prediction is None:
            continue
        emotion = fusion.fuse(window.prediction)
        out.append(replace(window, fused=emotion.candidate, confidence=emotion.confidence,
                           abstained=emotion.abstained))
    return out


# Each fusion step switched on in turn; later rows keep the earlier steps.
ABLATION_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("plain mean", ()),
    ("+ quality weighting", ("quality_weighting",)),
    ("+ smoothing", ("quality_weighting", "smoothing")),
    ("+ calibration", ("quality_weighting", "smoothing", "temperature")),
    ("+ hysteresis", ("quality_weighting", "smoothing", "temperature", "switch_margin")),
    ("+ abstention (all)", ("quality_weighting", "smoothing", "temperature", "switch_margin",
                            "abstain_below")),
)
_STEP_OFF: dict[str, Any] = {"quality_weighting": False, "smoothing": 0.0, "temperature": 1.0,
                             "switch_margin": 0.0, "abstain_below": 0.0}


def step_config(config: FusionConfig, steps_on: Sequence[str]) -> FusionConfig:
    """``config`` with every fusion step not in ``steps_on`` switched off."""
    return replace(config, **{k: v for k, v in _STEP_OFF.items() if k not in steps_on})


def refigure(result: FusionFigures, config: FusionConfig) -> FusionFigures:
    """Compute the figures of ``result``'s windows fused again with ``config``."""
    return figures(result.preset, refuse(result.windows_scored, config), result.minutes,
                   result.hop_s)


def ablation(result: FusionFigures, config: FusionConfig) -> list[tuple[str, FusionFigures]]:
    """Figures of each row of ABLATION_STEPS on one run's windows."""
    return [(name, refigure(result, step_config(config, steps)))
            for name, steps in ABLATION_STEPS]


def fit_temperature(windows: Sequence[ScoredWindow], config: FusionConfig) -> float:
    """Find the fusion temperature with the least negative log-likelihood of the true labels.

    Fitted on the fused (weighted and smoothed) probabilities, so it corrects what the
    averaging did to them; a 1-D search over log T, which is all temperature scaling is.
    """
    base = replace(step_config(config, ("quality_weighting", "smoothing")), temperature=1.0)
    rows: list[np.ndarray] = []
    targets: list[int] = []
    fusion = ConfidenceFusion(base)
    for window in windows:
        if window.prediction is None or window.truth not in window.prediction.labels:
            continue
        emotion = fusion.fuse(window.prediction)
        rows.append(np.log(np.maximum(np.array(emotion.probabilities), 1e-12)))
        targets.append(window.prediction.labels.index(window.truth))
    if not rows:
        raise ValueError("no window with a known true label to fit a temperature on")
    log_p = np.stack(rows)
    index = np.arange(len(targets)), np.array(targets)

    def nll(temperature: float) -> float:
        z = log_p / temperature
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[index] - np.log(np.exp(z).sum(axis=1))).mean())

    grid = np.exp(np.linspace(math.log(0.05), math.log(20.0), 241))
    return float(grid[int(np.argmin([nll(t) for t in grid]))])


@dataclass(frozen=True)
class SweepPoint:
    """One setting of smoothing and switch margin, pooled over presets."""

    smoothing: float
    switch_margin: float
    accuracy_answered: float
    coverage: float
    ece: float
    spikes_per_min: float


def sweep(results: Sequence[FusionFigures], config: FusionConfig,
          smoothings: Sequence[float] = (0.0, 0.3, 0.5, 0.7),
          margins: Sequence[float] = (0.0, 0.1, 0.2, 0.3)) -> list[SweepPoint]:
    """Accuracy, coverage, ECE and spikes for each smoothing x switch margin, all presets."""
    points = []
    for smoothing in smoothings:
        for margin in margins:
            variant = replace(config, smoothing=smoothing, switch_margin=margin)
            runs = [refigure(r, variant) for r in results]
            scored = [w for r in runs for w in r.windows_scored]
            answered = [w for w in scored if not w.abstained]
            correct = np.array([w.fused == w.truth for w in scored], bool)
            points.append(SweepPoint(
                smoothing, margin,
                float(np.mean([w.fused == w.truth for w in answered])) if answered else math.nan,
                len(answered) / max(len(scored), 1),
                calibration_error(np.array([w.confidence for w in scored]), correct),
                sum(r.spikes_per_min_fused * r.minutes for r in runs)
                / max(sum(r.minutes for r in runs), 1e-9)))
    return points


def _plain(r: FusionFigures) -> dict[str, Any]:
    correct = np.array([w.fused == w.truth for w in r.windows_scored], bool)
    answered = [w.confidence for w in r.windows_scored if not w.abstained]
    return {"windows": r.windows, "person_minutes": r.minutes, "coverage": r.coverage,
            "accuracy_answered": r.accuracy_answered, "accuracy_unfused": r.accuracy_unfused,
            "ece_fused": r.ece_fused, "ece_unfused": r.ece_unfused,
            "mean_confidence": float(np.mean([w.confidence for w in r.windows_scored]))
            if r.windows else math.nan,
            "mean_confidence_answered": float(np.mean(answered)) if answered else math.nan,
            "spikes_fused": round(r.spikes_per_min_fused * r.minutes),
            "spikes_unfused": round(r.spikes_per_min_unfused * r.minutes),
            "spikes_per_min_fused": r.spikes_per_min_fused,
            "spikes_per_min_unfused": r.spikes_per_min_unfused,
            "windows_correct": int(correct.sum())}


def fusion_json(results: Sequence[FusionFigures], config: FusionConfig, duration_s: float,
                people: int, model: str, with_ablation: bool = True) -> dict[str, Any]:
    """Gather what ``affect eval fusion --json`` saves: per preset, and each ablation step."""
    out: dict[str, Any] = {
        "kind": "fusion", "model": model, "duration_s": duration_s, "people": people,
        "data": f"synthetic rig, {duration_s:.0f} s per preset, {people} people",
        "domain": "synthetic rig (drawn IR faces; not real people)",
        "presets": {r.preset: _plain(r) for r in results}}
    if with_ablation:
        out["ablation"] = {r.preset: [{"step": name, **_plain(f)}
                                      for name, f in ablation(r, config)] for r in results}
    return out


def format_ablation(results: Sequence[FusionFigures], config: FusionConfig) -> str:
    """Each fusion step's effect, per preset, on the same windows."""
    lines = ["each step of fusion on the same windows (synthetic rig):",
             f"{'preset':<14}{'step':<22}{'coverage':>9}{'acc@cov':>8}{'ECE':>7}"
             f"{'spikes/min':>11}{'(n)':>5}{'vs plain':>9}"]
    for result in results:
        rows = ablation(result, config)
        base = rows[0][1].spikes_per_min_fused
        for name, r in rows:
            change = (r.spikes_per_min_fused / base - 1.0) if base else math.nan
            lines.append(f"{result.preset:<14}{name:<22}{100 * r.coverage:>8.1f}%"
                         f"{100 * r.accuracy_answered:>7.1f}%{r.ece_fused:>7.3f}"
                         f"{r.spikes_per_min_fused:>11.2f}"
                         f"{round(r.spikes_per_min_fused * r.minutes):>5d}{100 * change:>+8.0f}%")
    lines.append("(n): spikes counted; with few events a change is within the counting "
                 "noise (about +-sqrt(n))")
    return "\n".join(lines)


def format_sweep(points: Sequence[SweepPoint]) -> str:
    """Format the smoothing x switch-margin table, both presets pooled."""
    lines = ["smoothing x switch_margin, both presets pooled (synthetic rig):",
             f"{'smoothing':>10}{'margin':>8}{'coverage':>9}{'acc@cov':>8}{'ECE':>7}"
             f"{'spikes/min':>11}"]
    for p in points:
        lines.append(f"{p.smoothing:>10.2f}{p.switch_margin:>8.2f}{100 * p.coverage:>8.1f}%"
                     f"{100 * p.accuracy_answered:>7.1f}%{p.ece:>7.3f}{p.spikes_per_min:>11.2f}")
    return "\n".join(lines)


def format_fusion(results: Sequence[FusionFigures], duration_s: float, people: int,
                  target_precision: float | None = None,
                  target_coverage: float | None = None) -> str:
    """Format the printed table, and the thresholds meeting the targets when given."""
    lines = [f"confidence fusion on the simulated rig (synthetic; {duration_s:.0f} s, {people} "
             "people per preset):",
             f"{'preset':<14}{'windows':>8}{'coverage':>9}{'acc@cov':>8}{'acc raw':>8}"
             f"{'ECE':>7}{'ECE raw':>8}{'spikes/min':>11}{'(n)':>5}{'raw':>6}{'(n)':>5}"
             f"{'cut':>6}"]
    for r in results:
        cut = (1.0 - r.spikes_per_min_fused / r.spikes_per_min_unfused
               if r.spikes_per_min_unfused else float("nan"))
        lines.append(f"{r.preset:<14}{r.windows:>8}{100 * r.coverage:>8.1f}%"
                     f"{100 * r.accuracy_answered:>7.1f}%{100 * r.accuracy_unfused:>7.1f}%"
                     f"{r.ece_fused:>7.3f}{r.ece_unfused:>8.3f}"
                     f"{r.spikes_per_min_fused:>11.2f}"
                     f"{round(r.spikes_per_min_fused * r.minutes):>5d}"
                     f"{r.spikes_per_min_unfused:>6.2f}"
                     f"{round(r.spikes_per_min_unfused * r.minutes):>5d}{100 * cut:>5.0f}%")
    lines.append("acc@cov: accuracy of answered windows; raw: plain mean of the samples, no "
                 "fusion; spikes: non-neutral labels under 1 s against neutral truth, per "
                 "person-minute; (n): how many")
    for r in results:
        for name, target in (("precision", target_precision), ("coverage", target_coverage)):
            if target is None:
                continue
            chosen = (choose_threshold(r.windows_scored, target_precision=target)
                      if name == "precision" else
                      choose_threshold(r.windows_scored, target_coverage=target))
            if chosen is None:
                lines.append(f"{r.preset}: {name} {target:.2f} cannot be met")
                continue
            # What the threshold chosen on this preset gives on every preset.
            effects = []
            for other in results:
                precision, coverage = at_threshold(other.windows_scored, chosen.abstain_below)
                effects.append(f"{other.preset} precision {100 * precision:.1f} %, coverage "
                               f"{100 * coverage:.1f} %")
            lines.append(f"{r.preset}: {name} {target:.2f} -> abstain_below "
                         f"{chosen.abstain_below:.3f} ({'; '.join(effects)})")
    return "\n".join(lines)


def at_threshold(windows: Sequence[ScoredWindow], abstain_below: float) -> tuple[float, float]:
    """Precision and coverage of ``windows`` answered at confidence >= ``abstain_below``."""
    answered = [w for w in windows if w.confidence >= abstain_below]
    if not answered:
        return math.nan, 0.0
    return (float(np.mean([w.fused == w.truth for w in answered])),
            len(answered) / len(windows))


@dataclass(frozen=True)
class Threshold:
    """An abstention threshold and what it gives on the scored windows."""

    abstain_below: float
    precision: float
    coverage: float


def choose_threshold(windows: Sequence[ScoredWindow], target_precision: float | None = None,
                     target_coverage: float | None = None) -> Threshold | None:
    """Choose the ``abstain_below`` meeting a target precision (most coverage) or coverage.

    Precision is the accuracy of the windows answered at that threshold; coverage their
    share. With a target precision, the lowest threshold reaching it; with a target
    coverage, the highest threshold keeping it. None when no threshold meets the target.
    """
    if (target_precision is None) == (target_coverage is None):
        raise ValueError("give exactly one of target_precision and target_coverage")
    if not windows:
        return None
    order = sorted(windows, key=lambda w: -w.confidence)
    correct = np.cumsum([w.fused == w.truth for w in order])
    candidates = []
    for i, window in enumerate(order):
        if i + 1 < len(order) and order[i + 1].confidence == window.confidence:
            continue  # a threshold keeps every window of equal confidence together
        candidates.append(Threshold(window.confidence, float(correct[i]) / (i + 1),
                                    (i + 1) / len(order)))
    if target_precision is not None:
        meeting = [c for c in candidates if c.precision >= target_precision]
        return max(meeting, key=lambda c: c.coverage) if meeting else None
    assert target_coverage is not None
    meeting = [c for c in candidates if c.coverage >= target_coverage]
    return min(meeting, key=lambda c: c.coverage) if meeting else None
