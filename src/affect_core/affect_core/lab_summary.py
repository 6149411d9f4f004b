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

"""What one ``affect lab`` run did: its summary, printed at the end, and scoring on the rig.

``LabSummary`` holds the counts, the per-stage cost and the latency of a run;
``TruthMatcher`` scores each Emotion against the simulated rig's ground truth, which
only the lab knows.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affect_core import labels
from affect_core.errors import InputError
from affect_core.face.detect import iou
from affect_core.latency import LatencyRecorder
from affect_core.sim.rig import FrameTruth
from affect_core.sim.truth import window_truth
from affect_core.sync.associate import AssociationStats
from affect_core.types import Emotion, FaceFrame, WindowPrediction
from affect_core.window import WindowConfig

RECORDING_DIR = "recording"
OVERLAY_TOPIC = "/affect/overlay"
JSONL_FILE = "emotions.jsonl"


def recording_path(out_dir: Path) -> Path:
    """Where ``affect lab`` writes its /emotion recording inside ``out_dir``."""
    return out_dir / RECORDING_DIR


@dataclass(frozen=True)
class ScoredWindow:
    """One window's estimate next to the rig's truth, with and without fusion."""

    person_id: str
    end_ns: int
    truth: str
    subgroup: str
    fused: str  # top fused label (whether or not the window abstained)
    confidence: float
    abstained: bool
    unfused: str  # top label of the plain mean of the samples, no weighting or smoothing
    unfused_confidence: float
    # The model's output for the window, kept only when the pipeline is asked to
    # (LabPipeline.keep_predictions), so that fusion variants can be re-run on it.
    prediction: WindowPrediction | None = field(default=None, compare=False, repr=False)


@dataclass
class LabSummary:
    """What one run did, for the printed summary and for tests."""

    sensor_s: float = 0.0
    wall_s: float = 0.0
    frames: int = 0
    stereo_frames: int = 0
    frames_without_face: int = 0
    rejected_frames: dict[str, int] = field(default_factory=dict)
    windows: int = 0
    abstentions: int = 0
    abstain_reasons: dict[str, int] = field(default_factory=dict)
    per_label: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    people: int = 0
    stage_ms: dict[str, float] = field(default_factory=dict)
    model_id: str = ""
    model_training_data: str = ""
    execution_provider: str = ""
    out_dir: str = ""
    source: str = ""
    source_problems: dict[str, int] = field(default_factory=dict)
    association: AssociationStats = field(default_factory=AssociationStats)
    window_completeness: float = float("nan")
    truth_answered: int = 0
    truth_correct: int = 0
    truth_windows: int = 0
    scored: list[ScoredWindow] = field(default_factory=list)
    stopped_by: str = ""  # what ended the run before its duration (a signal's name)
    recording_messages: int = 0
    latency: LatencyRecorder = field(default_factory=LatencyRecorder)
    depth_area: float = 0.0  # sum over stereo pairs of the share of the frame matched

    @property
    def truth_accuracy(self) -> float:
        """Share of answered (not abstained) windows whose label matches the rig's truth."""
        return self.truth_correct / self.truth_answered if self.truth_answered else float("nan")

    @property
    def coverage(self) -> float:
        """Share of windows that were answered rather than abstained."""
        return self.truth_answered / self.truth_windows if self.truth_windows else float("nan")

    @property
    def real_time_factor(self) -> float:
        """Sensor seconds processed per wall-clock second (above 1: faster than real time)."""
        return self.sensor_s / self.wall_s if self.wall_s > 0 else float("nan")


def format_summary(summary: LabSummary) -> str:
    """Format the human-readable end-of-run summary."""
    counts = ", ".join(f"{name} {summary.per_label.get(name, 0)}"
                       for name in (*labels.EXPRESSIONS, labels.UNKNOWN)
                       if summary.per_label.get(name, 0))
    drops = ", ".join(f"{k} {v}" for k, v in sorted(summary.dropped.items())) or "none"
    rejected = ", ".join(f"{k} {v}" for k, v in sorted(summary.rejected_frames.items())) or "none"
    stages = ", ".join(f"{k} {v:.2f}" for k, v in summary.stage_ms.items())
    return "\n".join([
        f"affect lab: {summary.sensor_s:.1f} s of sensor time from {summary.source} in "
        f"{summary.wall_s:.1f} s wall (real-time factor {summary.real_time_factor:.2f})"
        + (f"; stopped early by {summary.stopped_by}" if summary.stopped_by else ""),
        *(f"  source problem: {k} ({v}x)" for k, v in summary.source_problems.items()),
        f"  frames {summary.frames} IR, {summary.stereo_frames} stereo; "
        f"frames without a face {summary.frames_without_face}; rejected frames: {rejected}",
        f"  people tracked {summary.people}; windows {summary.windows}; abstentions "
        f"{summary.abstentions} ({100.0 * summary.abstentions / max(summary.windows, 1):.1f} %)"
        + (" by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(
            summary.abstain_reasons.items())) if summary.abstain_reasons else ""),
        f"  per label: {counts or 'none'}",
        f"  stereo matched on {100.0 * summary.depth_area / max(summary.stereo_frames, 1):.0f} "
        "% of each pair on average (around tracked faces; whole pairs while none is)",
        f"  depth associated with {summary.association.associated} of "
        f"{summary.association.primary} IR frames ({summary.association.without_secondary} "
        f"without depth within the maximum age); depth frames unused "
        f"{summary.association.secondary_unused}",
        f"  window completeness {100.0 * summary.window_completeness:.2f} % (observations "
        f"windowed / received); dropped observations: {drops}",
        *([f"  agreement with the rig's ground truth: {summary.truth_correct} of "
           f"{summary.truth_answered} answered windows ({100.0 * summary.truth_accuracy:.1f} "
           f"%), coverage {100.0 * summary.coverage:.1f} % of {summary.truth_windows} windows"]
          if summary.truth_windows else []),
        f"  model {summary.model_id} on {summary.execution_provider}",
        f"  cost per IR frame in ms: {stages}",
        f"  {summary.latency.describe()}",
        *(["  data: synthetic (simulated rig); these labels say nothing about real people"]
          if summary.truth_windows else []),
        f"  model trained on: {summary.model_training_data} (see its card in models/)",
        f"  wrote {summary.out_dir}/{RECORDING_DIR} (rosbag2, MCAP, "
        f"{summary.recording_messages} messages) and {summary.out_dir}/{JSONL_FILE}",
    ])


def count_rejected(summary: LabSummary, err: InputError) -> None:
    """Count a frame the pipeline could not use, by the first clause of its reason."""
    reason = type(err).__name__ + ": " + str(err).split(";")[0]
    summary.rejected_frames[reason] = summary.rejected_frames.get(reason, 0) + 1


class TruthMatcher:
    """Scores each emitted Emotion against the rig's ground truth for that window.

    A track is matched to the simulated person whose true face box it overlaps most
    often (IoU at least 0.3); the window's true expression is the majority per-frame
    truth (affect_core.sim.truth). Only the lab does this: it alone knows the truth.
    """

    def __init__(self, config: WindowConfig) -> None:
        self._keep_ns = int(3 * config.window_s * 1e9)
        self._expected = config.frames_expected
        self._frames: deque[FrameTruth] = deque()
        self._by_stamp: dict[int, FrameTruth] = {}
        self._votes: dict[str, Counter[str]] = {}

    def add(self, frame: FrameTruth) -> None:
        self._frames.append(frame)
        self._by_stamp[frame.stamp_ns] = frame
        while self._frames and self._frames[0].stamp_ns < frame.stamp_ns - self._keep_ns:
            del self._by_stamp[self._frames.popleft().stamp_ns]

    def vote(self, faces: FaceFrame) -> None:
        frame = self._by_stamp.get(faces.stamp_ns)
        if frame is None:
            return
        for obs in faces.faces:
            best = max(frame.people, key=lambda p: iou(obs.box_px, p.box_px), default=None)
            if best is not None and iou(obs.box_px, best.box_px) >= 0.3:
                self._votes.setdefault(obs.person_id, Counter())[best.truth_id] += 1

    def score(self, emotion: Emotion, prediction: WindowPrediction, summary: LabSummary,
              keep_scored: bool = False, keep_prediction: bool = False) -> None:
        votes = self._votes.get(emotion.person_id)
        if not votes:
            return
        truth_id = votes.most_common(1)[0][0]
        truths = [t for t in window_truth(self._frames, emotion.window_start_ns,
                                          emotion.stamp_ns, self._expected)
                  if t.truth_id == truth_id]
        if not truths:
            return
        summary.truth_windows += 1
        if not emotion.abstained:
            summary.truth_answered += 1
            summary.truth_correct += int(emotion.expression == truths[0].category)
        if not keep_scored:
            return
        # The same window without fusion: the plain mean of the samples' probabilities.
        raw = prediction.probabilities.mean(axis=0) if len(prediction.probabilities) else None
        summary.scored.append(ScoredWindow(
            person_id=emotion.person_id, end_ns=emotion.stamp_ns, truth=truths[0].category,
            subgroup=truths[0].subgroup, fused=emotion.candidate,
            confidence=emotion.confidence, abstained=emotion.abstained,
            unfused=prediction.labels[int(np.argmax(raw))] if raw is not None else "",
            unfused_confidence=float(np.max(raw)) if raw is not None else 0.0,
            prediction=prediction if keep_prediction else None))
