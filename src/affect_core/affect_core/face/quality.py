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

"""Per-frame capture-quality evidence, each score in [0, 1] with 1 = best.

Definitions (documented here because confidence fusion and the Emotion message use them):

- pose_stability: exp(-speed / speed_ref), where speed is the face box's motion in face
  widths per second (centre and size, smoothed over about 50 ms). A still face scores 1;
  a face moving half its width per second scores about 0.37.
- lighting_consistency: product of (a) exposure: the face's median level inside
  [5 %, 85 %] of full scale scores 1, falling linearly to 0 at 0 % and at 100 %; (b)
  saturation: 1 - 5 x the fraction of face pixels at 98 % of full scale or more; (c)
  stability: exp(-|m - m_slow| / (0.15 m_slow)) comparing the face's median with its slow
  running median (a light change of 15 % scores 0.37).
- depth_consistency: fraction of valid depth pixels in the inner face box times
  exp(-|z - z_slow| / 0.05 m) (a head-depth jump of 5 cm against its running value
  scores 0.37); NaN when no depth frame is associated.
- sharpness: 1 - exp(-v / v_ref), v the variance of the Laplacian of the standardised
  face crop; a blurred or featureless crop scores near 0.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

SPEED_REF_WIDTHS_PER_S = 0.5
LIGHT_CHANGE_REF = 0.15
DEPTH_JUMP_REF_M = 0.05
SHARPNESS_REF = 0.05


def exposure_score(median_level: float) -> float:
    """Exposure part of lighting consistency for a face median level in [0, 1]."""
    if median_level < 0.05:
        return max(median_level / 0.05, 0.0)
    if median_level > 0.85:
        return max((1.0 - median_level) / 0.15, 0.0)
    return 1.0


def lighting_consistency(face_levels: npt.NDArray[np.float32], slow_median: float) -> float:
    """Lighting consistency of a face region (levels in [0, 1]) given its running median."""
    median = float(np.median(face_levels))
    saturated = float(np.mean(face_levels >= 0.98))
    stability = math.exp(-abs(median - slow_median) / (LIGHT_CHANGE_REF * max(slow_median, 1e-3)))
    return float(np.clip(exposure_score(median) * (1.0 - 5.0 * saturated) * stability, 0.0, 1.0))


def pose_stability(speed_widths_per_s: float) -> float:
    """Pose stability from the face's speed in face widths per second."""
    return math.exp(-max(speed_widths_per_s, 0.0) / SPEED_REF_WIDTHS_PER_S)


def depth_consistency(valid_fraction: float, depth_m: float, slow_depth_m: float) -> float:
    """Depth consistency from valid-depth fraction and the jump against the running depth."""
    if not math.isfinite(depth_m) or not math.isfinite(slow_depth_m):
        return 0.0 if valid_fraction == 0.0 else valid_fraction
    jump_m = abs(depth_m - slow_depth_m)
    return float(np.clip(valid_fraction * math.exp(-jump_m / DEPTH_JUMP_REF_M), 0.0, 1.0))


def sharpness(crop: npt.NDArray[np.float32]) -> float:
    """Sharpness of a face crop (any scale; standardised inside)."""
    std = float(crop.std())
    if std < 1e-6:
        return 0.0
    standard = (crop - float(crop.mean())) / std
    variance = float(cv2.Laplacian(standard, cv2.CV_32F).var())
    return 1.0 - math.exp(-variance / SHARPNESS_REF)
