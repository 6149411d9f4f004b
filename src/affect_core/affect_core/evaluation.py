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

All of it is synthetic data; it measures the method, not performance on people.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affect_core import labels
from affect_core.metrics import calibration_error
from affect_core.pipeline import LabPipeline, ScoredWindow


def count_spikes(windows: Sequence[ScoredWindow], hop_s: float, fused: bool,
                 max_s: float = 1.0) -> int:
    """Non-neutral runs shorter than ``max_s`` over neutral truth, per person."""
    spikes = 0
    by_person: dict[str, list[ScoredWindow]] = {}
    for window in windows:
        by_person.setdefault(window.person_id, []).append(window)
    for person in by_person.values():
        person.sort(key=lambda w: w.end_ns)
        run: list[ScoredWindow] = []
        for window in [*person, None]:
            label = None if window is None else _label(window, fused)
            if run and (window is None or label != _label(run[0], fused)
                        or window.end_ns - run[-1].end_ns > hop_s * 1.5e9):
                head = _label(run[0], fused)
                if (head not in (labels.NEUTRAL, labels.UNKNOWN) and len(run) * hop_s < max_s
                        and all(w.truth == labels.NEUTRAL for w in run)):
                    spikes += 1
                run = []
            if window is not None:
                run.append(window)
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
    )


def evaluate_fusion(params_file: str, duration_s: float, people: int,
                    seed: int = 0) -> list[FusionFigures]:
    """Run the lab on both presets and compute the figures."""
    results = []
    for preset in ("curated", "heterogeneous"):
        pipeline = LabPipeline.from_params_file(params_file, preset=preset, num_people=people,
                                                seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            summary = pipeline.run(duration_s, Path(tmp), progress=False)
        minutes = people * summary.sensor_s / 60.0
        results.append(figures(preset, summary.scored, minutes,
                               pipeline.window_config.hop_s))
    return results


def format_fusion(results: Sequence[FusionFigures], duration_s: float, people: int,
                  target_precision: float | None = None,
                  target_coverage: float | None = None) -> str:
    """The printed table, and the thresholds meeting the targets when given."""
    lines = [f"confidence fusion on the simulated rig (synthetic; {duration_s:.0f} s, {people} "
             "people per preset):",
             f"{'preset':<14}{'windows':>8}{'coverage':>9}{'acc@cov':>8}{'acc raw':>8}"
             f"{'ECE':>7}{'ECE raw':>8}{'spikes/min':>11}{'raw':>6}{'cut':>6}"]
    for r in results:
        cut = (1.0 - r.spikes_per_min_fused / r.spikes_per_min_unfused
               if r.spikes_per_min_unfused else float("nan"))
        lines.append(f"{r.preset:<14}{r.windows:>8}{100 * r.coverage:>8.1f}%"
                     f"{100 * r.accuracy_answered:>7.1f}%{100 * r.accuracy_unfused:>7.1f}%"
                     f"{r.ece_fused:>7.3f}{r.ece_unfused:>8.3f}"
                     f"{r.spikes_per_min_fused:>11.2f}{r.spikes_per_min_unfused:>6.2f}"
                     f"{100 * cut:>5.0f}%")
    lines.append("acc@cov: accuracy of answered windows; raw: plain mean of the samples, no "
                 "fusion; spikes: non-neutral labels under 1 s against neutral truth")
    for r in results:
        for name, target in (("precision", target_precision), ("coverage", target_coverage)):
            if target is None:
                continue
            chosen = (choose_threshold(r.windows_scored, target_precision=target)
                      if name == "precision" else
                      choose_threshold(r.windows_scored, target_coverage=target))
            lines.append(f"{r.preset}: {name} {target:.2f} " + (
                "cannot be met" if chosen is None else
                f"-> abstain_below {chosen.abstain_below:.3f} (precision "
                f"{100 * chosen.precision:.1f} %, coverage {100 * chosen.coverage:.1f} %)"))
    return "\n".join(lines)


@dataclass(frozen=True)
class Threshold:
    """An abstention threshold and what it gives on the scored windows."""

    abstain_below: float
    precision: float
    coverage: float


def choose_threshold(windows: Sequence[ScoredWindow], target_precision: float | None = None,
                     target_coverage: float | None = None) -> Threshold | None:
    """The ``abstain_below`` meeting a target precision (most coverage) or coverage.

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
