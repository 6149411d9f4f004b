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

"""A procedural face: landmarks in the head frame, moved by action units and identity.

The head frame follows the camera optical convention when the person faces the camera:
x to the image right, y down, z away from the camera, origin between the eyes, metres.
Each action unit moves only the landmarks its muscle moves (a table, so tests can check
that AU4 moves the brows and nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from affect_core.sim.expressions import ACTION_UNITS

LANDMARK_NAMES: tuple[str, ...] = (
    "brow_r_outer", "brow_r_mid", "brow_r_inner", "brow_l_inner", "brow_l_mid", "brow_l_outer",
    "eye_r_outer", "eye_r_top", "eye_r_inner", "eye_r_bottom",
    "eye_l_inner", "eye_l_top", "eye_l_outer", "eye_l_bottom",
    "nose_tip", "nose_r_ala", "nose_l_ala",
    "mouth_r_corner", "lip_upper", "mouth_l_corner", "lip_lower",
    "lip_upper_inner", "lip_lower_inner",
    "chin", "jaw_r", "jaw_l",
)
_INDEX = {name: i for i, name in enumerate(LANDMARK_NAMES)}

# Neutral landmark positions (x, y, z) in metres for an average face.
_NEUTRAL = {
    "brow_r_outer": (-0.052, -0.022, 0.012), "brow_r_mid": (-0.034, -0.028, 0.004),
    "brow_r_inner": (-0.014, -0.024, 0.0), "brow_l_inner": (0.014, -0.024, 0.0),
    "brow_l_mid": (0.034, -0.028, 0.004), "brow_l_outer": (0.052, -0.022, 0.012),
    "eye_r_outer": (-0.046, 0.0, 0.012), "eye_r_top": (-0.032, -0.006, 0.006),
    "eye_r_inner": (-0.018, 0.0, 0.008), "eye_r_bottom": (-0.032, 0.005, 0.006),
    "eye_l_inner": (0.018, 0.0, 0.008), "eye_l_top": (0.032, -0.006, 0.006),
    "eye_l_outer": (0.046, 0.0, 0.012), "eye_l_bottom": (0.032, 0.005, 0.006),
    "nose_tip": (0.0, 0.042, -0.022), "nose_r_ala": (-0.014, 0.048, -0.006),
    "nose_l_ala": (0.014, 0.048, -0.006),
    "mouth_r_corner": (-0.024, 0.074, 0.004), "lip_upper": (0.0, 0.068, -0.006),
    "mouth_l_corner": (0.024, 0.074, 0.004), "lip_lower": (0.0, 0.082, -0.004),
    "lip_upper_inner": (0.0, 0.073, -0.004), "lip_lower_inner": (0.0, 0.075, -0.004),
    "chin": (0.0, 0.112, 0.0), "jaw_r": (-0.062, 0.07, 0.03), "jaw_l": (0.062, 0.07, 0.03),
}
NEUTRAL_LANDMARKS_M: npt.NDArray[np.float64] = np.array(
    [_NEUTRAL[name] for name in LANDMARK_NAMES], dtype=np.float64
)

# Displacement (dx, dy, dz) in metres of each landmark at AU intensity 1.
_AU_MOTION: dict[str, dict[str, tuple[float, float, float]]] = {
    "AU1": {"brow_r_inner": (0.0, -0.009, 0.0), "brow_l_inner": (0.0, -0.009, 0.0),
            "brow_r_mid": (0.0, -0.004, 0.0), "brow_l_mid": (0.0, -0.004, 0.0)},
    "AU2": {"brow_r_outer": (0.0, -0.009, 0.0), "brow_l_outer": (0.0, -0.009, 0.0),
            "brow_r_mid": (0.0, -0.005, 0.0), "brow_l_mid": (0.0, -0.005, 0.0)},
    "AU4": {"brow_r_inner": (0.005, 0.007, 0.0), "brow_l_inner": (-0.005, 0.007, 0.0),
            "brow_r_mid": (0.002, 0.006, 0.0), "brow_l_mid": (-0.002, 0.006, 0.0),
            "brow_r_outer": (0.0, 0.003, 0.0), "brow_l_outer": (0.0, 0.003, 0.0)},
    "AU5": {"eye_r_top": (0.0, -0.004, 0.0), "eye_l_top": (0.0, -0.004, 0.0)},
    "AU6": {"eye_r_bottom": (0.0, -0.003, 0.0), "eye_l_bottom": (0.0, -0.003, 0.0),
            "eye_r_outer": (0.0, -0.001, 0.0), "eye_l_outer": (0.0, -0.001, 0.0)},
    "AU7": {"eye_r_top": (0.0, 0.002, 0.0), "eye_l_top": (0.0, 0.002, 0.0),
            "eye_r_bottom": (0.0, -0.002, 0.0), "eye_l_bottom": (0.0, -0.002, 0.0)},
    "AU9": {"nose_r_ala": (0.0, -0.004, 0.0), "nose_l_ala": (0.0, -0.004, 0.0),
            "lip_upper": (0.0, -0.004, 0.0), "lip_upper_inner": (0.0, -0.003, 0.0)},
    "AU12": {"mouth_r_corner": (-0.007, -0.008, 0.0), "mouth_l_corner": (0.007, -0.008, 0.0)},
    "AU12R": {"mouth_r_corner": (-0.007, -0.008, 0.0)},
    "AU14R": {"mouth_r_corner": (0.002, -0.003, 0.003)},
    "AU15": {"mouth_r_corner": (0.0, 0.008, 0.0), "mouth_l_corner": (0.0, 0.008, 0.0)},
    "AU17": {"lip_lower": (0.0, -0.004, 0.0), "lip_lower_inner": (0.0, -0.002, 0.0),
             "chin": (0.0, -0.004, 0.0)},
    "AU20": {"mouth_r_corner": (-0.01, 0.002, 0.0), "mouth_l_corner": (0.01, 0.002, 0.0)},
    "AU23": {"lip_upper": (0.0, 0.003, 0.0), "lip_lower": (0.0, -0.003, 0.0),
             "mouth_r_corner": (0.004, 0.0, 0.0), "mouth_l_corner": (-0.004, 0.0, 0.0)},
    "AU25": {"lip_lower_inner": (0.0, 0.006, 0.0), "lip_lower": (0.0, 0.003, 0.0)},
    "AU26": {"lip_lower_inner": (0.0, 0.012, 0.0), "lip_lower": (0.0, 0.014, 0.0),
             "chin": (0.0, 0.016, 0.0), "jaw_r": (0.0, 0.008, 0.0), "jaw_l": (0.0, 0.008, 0.0)},
    # Eye closure: the upper lid comes down onto the lower one (AU43 partly, blink fully).
    "AU43": {"eye_r_top": (0.0, 0.011, 0.0), "eye_l_top": (0.0, 0.011, 0.0)},
    "blink": {"eye_r_top": (0.0, 0.011, 0.0), "eye_l_top": (0.0, 0.011, 0.0)},
}


def _motion_basis() -> npt.NDArray[np.float64]:
    basis = np.zeros((len(ACTION_UNITS), len(LANDMARK_NAMES), 3), dtype=np.float64)
    for a, au in enumerate(ACTION_UNITS):
        for name, delta in _AU_MOTION[au].items():
            basis[a, _INDEX[name]] = delta
    return basis


AU_BASIS_M: npt.NDArray[np.float64] = _motion_basis()


def landmark_index(name: str) -> int:
    """Index of landmark ``name`` in LANDMARK_NAMES."""
    return _INDEX[name]


def moved_landmarks(au: str) -> frozenset[str]:
    """Names of the landmarks that action unit ``au`` moves."""
    return frozenset(_AU_MOTION[au])


@dataclass(frozen=True)
class Identity:
    """What makes one synthetic person look different from another.

    ``ir_reflectance`` is the skin's reflectance at the illuminator's wavelength (850 nm
    band), which varies between people independently of visible skin tone.
    """

    person_index: int
    subgroup: str
    scale: float
    width_ratio: float
    eye_spacing: float
    mouth_width: float
    ir_reflectance: float
    facial_hair: bool
    glasses: bool

    def neutral_landmarks_m(self) -> npt.NDArray[np.float64]:
        """Neutral landmarks of this identity (shape and proportions applied)."""
        points = NEUTRAL_LANDMARKS_M.copy()
        points[:, 0] *= self.width_ratio
        for name in ("eye_r_outer", "eye_r_top", "eye_r_inner", "eye_r_bottom",
                     "eye_l_inner", "eye_l_top", "eye_l_outer", "eye_l_bottom"):
            points[_INDEX[name], 0] *= self.eye_spacing
        for name in ("mouth_r_corner", "mouth_l_corner"):
            points[_INDEX[name], 0] *= self.mouth_width
        return points * self.scale


SUBGROUPS: tuple[str, ...] = ("high_reflectance", "low_reflectance", "glasses", "facial_hair")


def sample_identity(rng: np.random.Generator, person_index: int, subgroup: str) -> Identity:
    """Draw an identity of ``subgroup`` (one of SUBGROUPS)."""
    if subgroup not in SUBGROUPS:
        raise ValueError(f"unknown subgroup {subgroup!r}; known: {', '.join(SUBGROUPS)}")
    reflectance = (
        rng.uniform(0.35, 0.55) if subgroup == "low_reflectance" else rng.uniform(0.6, 0.9)
    )
    return Identity(
        person_index=person_index,
        subgroup=subgroup,
        scale=float(rng.uniform(0.9, 1.1)),
        width_ratio=float(rng.uniform(0.9, 1.12)),
        eye_spacing=float(rng.uniform(0.92, 1.08)),
        mouth_width=float(rng.uniform(0.9, 1.12)),
        ir_reflectance=float(reflectance),
        facial_hair=subgroup == "facial_hair",
        glasses=subgroup == "glasses",
    )


def expressive_landmarks_m(
    identity: Identity, au_intensities: dict[str, float]
) -> npt.NDArray[np.float64]:
    """Landmarks of ``identity`` with the given AU intensities (each clipped to [0, 1])."""
    weights = np.zeros(len(ACTION_UNITS), dtype=np.float64)
    for a, au in enumerate(ACTION_UNITS):
        weights[a] = min(max(au_intensities.get(au, 0.0), 0.0), 1.0)
    unknown = set(au_intensities) - set(ACTION_UNITS)
    if unknown:
        raise ValueError(f"unknown action unit(s): {', '.join(sorted(unknown))}")
    delta = np.tensordot(weights, AU_BASIS_M, axes=1)
    points = identity.neutral_landmarks_m() + delta * identity.scale
    # The upper lid cannot pass below the lower one, whatever the AU mix.
    for top, bottom in (("eye_r_top", "eye_r_bottom"), ("eye_l_top", "eye_l_bottom")):
        t, b = _INDEX[top], _INDEX[bottom]
        points[t, 1] = min(points[t, 1], points[b, 1] - 0.0005)
    return points


def rotation_matrix(yaw_rad: float, pitch_rad: float, roll_rad: float) -> npt.NDArray[np.float64]:
    """Head rotation in the optical frame: yaw about y (down), pitch about x, roll about z."""
    cy, sy = np.cos(yaw_rad), np.sin(yaw_rad)
    cp, sp = np.cos(pitch_rad), np.sin(pitch_rad)
    cr, sr = np.cos(roll_rad), np.sin(roll_rad)
    r_yaw = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    r_pitch = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return r_yaw @ r_pitch @ r_roll
