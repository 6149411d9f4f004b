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


"""Eye features from the 120 fps IR stream: openness, blinks and blink rate, pupil size.

Definitions (each feature comes with its own confidence in [0, 1]):

- openness: the eye aspect ratio (lid opening |top - bottom| over eye width
  |outer - inner|, both eyes averaged) divided by the person's open-eye reference, the
  90th percentile of their aspect ratio over the last ``reference_s`` seconds, clipped to
  [0, 1]. The reference makes it independent of eye shape and of how far the person is.
  Confidence: the landmark model's confidence times min(eye width / 12 px, 1) (small
  eyes give a lid opening of a pixel or two), and 0 until the reference has 1 s of data.
- blink: the eye closes (openness below ``close_below``) and reopens (above
  ``open_above``, hysteresis so noise at one threshold does not count twice) within 50 to
  500 ms; a longer closure is counted as a closure, not a blink. The thresholds apply to
  the median openness over the last 35 ms (five frames at 120 fps, fewer when landmarks
  come less often): a lid a few pixels high moves by a large share of its height with a
  pixel of landmark noise, and a median that short still keeps a blink (the lids are
  shut for about 75 ms). The event is
  reported on the reopening frame. Raw, unsmoothed landmarks must be given: a smoothing filter
  would lag and flatten a 150 ms blink.
- blink rate: blinks per minute over the last 60 s (or since the person appeared);
  confidence grows with the time observed (1 after 60 s) and with openness confidence.
- pupil: the iris diameter in pixels (twice the mean radius of the irises the landmark
  model resolves) and in millimetres when the face depth is known (size = pixels x depth
  / focal length). Resolvable when the eye is open and the diameter is at least 3 px;
  confidence rises from 0 at 3 px to 1 at 9 px. NaN when not resolvable.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt

from affect_core.sim.face_model import landmark_index
from affect_core.types import NAN, EyeState

_EYES = tuple(
    tuple(landmark_index(f"eye_{side}_{part}") for part in ("outer", "inner", "top", "bottom"))
    for side in ("r", "l")
)
BLINK_MIN_S = 0.05
BLINK_MAX_S = 0.5
RATE_WINDOW_S = 60.0
MIN_EYE_WIDTH_PX = 12.0
MIN_PUPIL_PX = 3.0
FULL_PUPIL_PX = 9.0
MEDIAN_NS = 35_000_000  # openness is a median over the last 35 ms (5 frames at 120 fps)


def eye_aspect_ratio(points_px: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Mean lid opening / eye width over both eyes, and the mean eye width in pixels.

    NaN when no eye has finite landmarks.
    """
    ratios, widths = [], []
    for outer, inner, top, bottom in _EYES:
        width = float(np.linalg.norm(points_px[outer] - points_px[inner]))
        opening = float(np.linalg.norm(points_px[top] - points_px[bottom]))
        if math.isfinite(width) and math.isfinite(opening) and width > 1e-6:
            ratios.append(opening / width)
            widths.append(width)
    if not ratios:
        return NAN, NAN
    return float(np.mean(ratios)), float(np.mean(widths))


class EyeFeatures:
    """One person's eye features over time (one instance per track)."""

    def __init__(self, close_below: float = 0.4, open_above: float = 0.7,
                 reference_s: float = 10.0, reference_every: int = 4) -> None:
        if not 0.0 < close_below < open_above <= 1.0:
            raise ValueError("need 0 < close_below < open_above <= 1")
        self.close_below = close_below
        self.open_above = open_above
        self._history: deque[float] = deque(
            maxlen=max(int(reference_s * 120.0 / reference_every), 8))
        self._every = reference_every
        self._count = 0
        self._reference = NAN
        self._first_ns: int | None = None
        self._closed_since_ns: int | None = None
        self._recent: deque[tuple[int, float]] = deque()
        self._blinks: deque[int] = deque()
        self.blinks = 0
        self.closures = 0

    def update(self, stamp_ns: int, points_px: npt.NDArray[np.float64],
               landmark_confidence: float = 1.0,
               iris_px: npt.NDArray[np.float64] | None = None,
               depth_m: float = NAN, focal_px: float = NAN) -> EyeState:
        """Features of one frame from its raw (unsmoothed) landmarks."""
        if self._first_ns is None:
            self._first_ns = stamp_ns
        ratio, width_px = eye_aspect_ratio(points_px)
        if not math.isfinite(ratio):
            return EyeState(blink_rate_per_min=self._rate(stamp_ns)[0],
                            blink_rate_confidence=0.0)
        if self._count % self._every == 0:
            self._history.append(ratio)
            if len(self._history) >= 8:
                self._reference = float(np.percentile(self._history, 90))
        self._count += 1
        if not math.isfinite(self._reference) or self._reference <= 0.0:
            return EyeState()
        openness = min(max(ratio / self._reference, 0.0), 1.0)
        warm = min(len(self._history) * self._every / 120.0, 1.0)
        confidence = float(np.clip(landmark_confidence, 0.0, 1.0)) * min(
            width_px / MIN_EYE_WIDTH_PX, 1.0) * (1.0 if warm >= 1.0 else 0.0)
        self._recent.append((stamp_ns, openness))
        while stamp_ns - self._recent[0][0] > MEDIAN_NS:
            self._recent.popleft()
        blink = self._blink(stamp_ns, float(np.median([v for _, v in self._recent])))
        rate, observed_s = self._rate(stamp_ns)
        pupil_px, pupil_mm, pupil_conf = self._pupil(iris_px, openness, depth_m, focal_px)
        return EyeState(openness, confidence, blink, rate,
                        confidence * min(observed_s / RATE_WINDOW_S, 1.0),
                        pupil_px, pupil_mm, pupil_conf * confidence)

    def _blink(self, stamp_ns: int, openness: float) -> bool:
        if self._closed_since_ns is None:
            if openness < self.close_below:
                self._closed_since_ns = stamp_ns
            return False
        if openness <= self.open_above:
            return False
        duration_s = (stamp_ns - self._closed_since_ns) * 1e-9
        self._closed_since_ns = None
        # Closing and reopening are seen one sample late at most: at 40 Hz a 60 ms
        # closure can measure 50 or 25 ms, so the shortest blink is 50 ms less a sample.
        interval_s = (self._recent[-1][0] - self._recent[-2][0]) * 1e-9 if len(
            self._recent) > 1 else 0.0
        if BLINK_MIN_S - interval_s <= duration_s <= BLINK_MAX_S:
            self.blinks += 1
            self._blinks.append(stamp_ns)
            return True
        if duration_s > BLINK_MAX_S:
            self.closures += 1
        return False

    def _rate(self, stamp_ns: int) -> tuple[float, float]:
        """Blinks per minute over the last minute, and the seconds it covers."""
        horizon = stamp_ns - int(RATE_WINDOW_S * 1e9)
        while self._blinks and self._blinks[0] < horizon:
            self._blinks.popleft()
        first = self._first_ns if self._first_ns is not None else stamp_ns
        observed_s = min((stamp_ns - first) * 1e-9, RATE_WINDOW_S)
        if observed_s < 1.0:
            return NAN, observed_s
        return len(self._blinks) * 60.0 / observed_s, observed_s

    def _pupil(self, iris_px: npt.NDArray[np.float64] | None, openness: float,
               depth_m: float, focal_px: float) -> tuple[float, float, float]:
        if iris_px is None or openness < self.open_above:
            return NAN, NAN, 0.0
        radii = iris_px[:, 2][np.isfinite(iris_px[:, 2]) & (iris_px[:, 2] > 0.0)]
        if radii.size == 0:
            return NAN, NAN, 0.0
        diameter_px = 2.0 * float(np.mean(radii))
        if diameter_px < MIN_PUPIL_PX:
            return NAN, NAN, 0.0
        confidence = min((diameter_px - MIN_PUPIL_PX) / (FULL_PUPIL_PX - MIN_PUPIL_PX), 1.0)
        diameter_mm = (diameter_px * depth_m / focal_px * 1000.0
                       if math.isfinite(depth_m) and math.isfinite(focal_px) and focal_px > 0
                       else NAN)
        return diameter_px, diameter_mm, confidence
