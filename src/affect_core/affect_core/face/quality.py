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

- pose_stability: exp(-w / 30 deg/s) x exp(-j / 8 deg), where w is the head's angular
  speed from the smoothed head pose over a 250 ms baseline and j the jitter, the RMS
  angle between a frame's raw pose and the smoothed one. Each is taken less its own
  noise floor, its 10th percentile over the track's last few seconds: from landmarks a
  pixel apart, a perfectly still head already shows some speed and jitter. A still head
  scores 1; one turning 30 deg/s faster, or shaking 8 degrees more, than its floor about
  0.37. Without landmarks (no pose) it falls back to the face box: exp(-speed / 0.5),
  speed in face widths per second.
- lighting_consistency: product of (a) exposure: the face's median level inside
  [5 %, 85 %] of full scale scores 1, falling linearly to 0 at 0 % and at 100 %; (b)
  saturation: 1 - 5 x the fraction of face pixels at 98 % of full scale or more; (c)
  level stability: exp(-|m - m_slow| / (0.15 m_slow)) comparing the face's median with
  its slow running median (a light change of 15 % scores 0.37); (d) contrast: the RMS
  contrast c = std / mean of the face region scores min(c / 0.05, 1) (a washed-out face
  scores low); (e) contrast stability: exp(-|c - c_slow| / (0.25 c_slow)) (ambient light
  that flattens the face's shading changes its contrast before its level).
- depth_consistency: fraction of valid depth pixels in the inner face box times
  exp(-|z - z_slow| / 0.05 m) (a head-depth jump of 5 cm against its running value
  scores 0.37), times exp(-v / 0.03), where v is the part of the face's apparent shape
  change over the last 100 ms that the change of viewing angle explains: shape change is
  the mean landmark displacement after removing position and scale (in inter-ocular
  distances); the viewing-angle part is the same measure for the canonical face
  projected under the two head poses, and v = min(apparent, predicted). A head turn that
  makes a face look different (and could pass for an expression change) lowers the score;
  a genuine expression change with a steady head does not. NaN when no depth frame is
  associated.
- sharpness: (1 - exp(-v / v_ref)) x (1 - exp(-snr / 20)), v the variance of the
  Laplacian of the standardised face crop less what sensor noise contributes to it (20
  sigma^2 for the 4-neighbour Laplacian, taken 10 % high for the estimate's error), snr
  the crop's mean level over its noise sigma (Immerkaer's fast estimate, whose kernel
  cancels edges to first order). A blurred, featureless or noise-dominated crop scores
  near 0; noise alone cannot make a crop look sharp.
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
ANGULAR_SPEED_REF_DEG_S = 30.0
JITTER_REF_DEG = 8.0
CONTRAST_MIN = 0.05
CONTRAST_CHANGE_REF = 0.25
VIEW_CHANGE_REF = 0.03
SNR_REF = 20.0
_LAPLACIAN_NOISE_GAIN = 20.0  # variance gain of the 4-neighbour Laplacian on white noise
# Immerkaer (1996): the difference of two Laplacians, blind to edges and ramps.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def exposure_score(median_level: float) -> float:
    """Exposure part of lighting consistency for a face median level in [0, 1]."""
    if median_level < 0.05:
        return max(median_level / 0.05, 0.0)
    if median_level > 0.85:
        return max((1.0 - median_level) / 0.15, 0.0)
    return 1.0


def rms_contrast(face_levels: npt.NDArray[np.float32]) -> float:
    """RMS contrast (std / mean) of a face region; 0 for a black one."""
    mean, std = (float(v[0][0]) for v in cv2.meanStdDev(face_levels))
    return std / mean if mean > 1e-6 else 0.0


def lighting_consistency(face_levels: npt.NDArray[np.float32], slow_median: float,
                         slow_contrast: float = float("nan"),
                         median: float = float("nan")) -> float:
    """Lighting consistency of a face region (levels in [0, 1]).

    ``slow_median`` and ``slow_contrast`` are the region's running median and contrast
    (NaN contrast: not known yet, its stability is not scored); ``median`` the region's
    median when the caller has it already.
    """
    if not math.isfinite(median):
        median = float(np.median(face_levels))
    saturated = float(np.mean(face_levels >= 0.98))
    stability = math.exp(-abs(median - slow_median) / (LIGHT_CHANGE_REF * max(slow_median, 1e-3)))
    contrast = rms_contrast(face_levels)
    score = exposure_score(median) * (1.0 - 5.0 * saturated) * stability
    score *= min(contrast / CONTRAST_MIN, 1.0)
    if math.isfinite(slow_contrast) and slow_contrast > 0.0:
        score *= math.exp(-abs(contrast - slow_contrast) / (CONTRAST_CHANGE_REF * slow_contrast))
    return float(np.clip(score, 0.0, 1.0))


def pose_stability(speed_widths_per_s: float) -> float:
    """Pose stability from the face box's speed in face widths per second (no pose known)."""
    return math.exp(-max(speed_widths_per_s, 0.0) / SPEED_REF_WIDTHS_PER_S)


def pose_stability_from_pose(angular_speed_deg_s: float, jitter_deg: float) -> float:
    """Pose stability from the head's angular speed and its frame-to-frame jitter."""
    return math.exp(-max(angular_speed_deg_s, 0.0) / ANGULAR_SPEED_REF_DEG_S
                    - max(jitter_deg, 0.0) / JITTER_REF_DEG)


def depth_consistency(valid_fraction: float, depth_m: float, slow_depth_m: float,
                      view_explained: float = 0.0) -> float:
    """Depth consistency of one face in one frame (see the module docstring).

    From the valid-depth fraction, the jump against the running depth and the shape
    change the viewing angle explains (view_explained_change; NaN: not scored).
    """
    view = math.exp(-max(view_explained, 0.0) / VIEW_CHANGE_REF) if math.isfinite(
        view_explained) else 1.0
    if not math.isfinite(depth_m) or not math.isfinite(slow_depth_m):
        return valid_fraction * view
    jump_m = abs(depth_m - slow_depth_m)
    return float(np.clip(valid_fraction * math.exp(-jump_m / DEPTH_JUMP_REF_M) * view, 0.0, 1.0))


def normalised_shape(points_px: npt.NDArray[np.float64],
                     eye_index: tuple[int, int, int, int]) -> npt.NDArray[np.float64]:
    """Landmarks less their centroid, in inter-ocular distances.

    ``eye_index`` holds the outer and inner corner of the right then the left eye; their
    midpoints are the eye centres.
    """
    r = (points_px[eye_index[0]] + points_px[eye_index[1]]) / 2.0
    left = (points_px[eye_index[2]] + points_px[eye_index[3]]) / 2.0
    iod = float(np.linalg.norm(left - r))
    centred = points_px - points_px.mean(axis=0)
    return centred / iod if iod > 1e-6 else np.full_like(points_px, np.nan)


def shape_change(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    """Mean landmark displacement between two normalised shapes."""
    return float(np.mean(np.linalg.norm(a - b, axis=1)))


def view_explained_change(apparent: float, predicted: float) -> float:
    """Compute the part of an apparent shape change that the viewing-angle change accounts for."""
    if not (math.isfinite(apparent) and math.isfinite(predicted)):
        return float("nan")
    return min(apparent, predicted)


def sharpness(crop: npt.NDArray[np.float32]) -> float:
    """Noise-corrected sharpness times an SNR score of a face crop (any scale)."""
    mean, std = (float(v[0][0]) for v in cv2.meanStdDev(crop))
    if std < 1e-6:
        return 0.0
    laplacian = cv2.Laplacian(crop, cv2.CV_32F)
    residual = cv2.filter2D(crop, cv2.CV_32F, _NOISE_KERNEL)[1:-1, 1:-1]
    noise = math.sqrt(math.pi / 2.0) * float(cv2.mean(np.abs(residual))[0]) / 6.0
    variance = float(laplacian.var()) / (std * std)
    # 10 % over the noise's share: the estimates' own error must not read as detail.
    signal = max(variance - 1.1 * _LAPLACIAN_NOISE_GAIN * (noise / std) ** 2, 0.0)
    snr = mean / noise if noise > 1e-12 else math.inf
    return (1.0 - math.exp(-signal / SHARPNESS_REF)) * (1.0 - math.exp(-snr / SNR_REF))
