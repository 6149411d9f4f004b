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

"""A synthetic person's face: the canonical mesh shaped by identity, moved by action units.

The head frame follows the camera optical convention when the person faces the camera:
x to the image right, y down, z away from the camera, origin between the eyes, metres
(affect_core.sim.face_geometry). Each action unit is a displacement field over the
vertices of its region: its anchors (the vertices of the named landmarks its muscle
moves) move by the table's vector and the vertices around them follow with a smooth
fall-off, limited to the side of the mouth or eye line the muscle acts on. Vertices
outside an action unit's region never move with it (``moved_vertices``), so a test can
check that AU4 moves the brows and nothing else. Eye closure moves each upper-lid vertex
onto the lower-lid vertex below it, so a closed eye is closed on the surface that the
camera sees.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from affect_core.sim.expressions import ACTION_UNITS
from affect_core.sim.face_geometry import (
    LANDMARK_NAMES,
    MESH_INDEX,
    face_mesh,
    names_from_mesh,
)

__all__ = ["LANDMARK_NAMES", "NEUTRAL_LANDMARKS_M", "SUBGROUPS", "Identity",
           "expressive_landmarks_m", "expressive_vertices_m", "landmark_index",
           "moved_landmarks", "moved_vertices", "rotation_matrix", "sample_identity"]

_INDEX = {name: i for i, name in enumerate(LANDMARK_NAMES)}
NAMES_FROM_MESH = names_from_mesh()
LID_GAP_M = 0.0004  # a closed lid stays this far above the lower one (no interpenetration)
NEUTRAL_EYE_OPENING = 0.3
LID_BULGE_M = 0.001  # a shut upper lid lies this far in front of the lower one
EXPRESSION_GAIN = 1.5  # apex displacements, set so that real-face models read them
EXPRESSION_REACH = 1.4

# Anchor displacements (dx, dy, dz) in metres at AU intensity 1 (anchors: named landmarks,
# or mesh vertex indices), the fall-off radius in metres, and the side of the face the
# field is limited to ("" for none).
_AU_MOTION: dict[str, tuple[dict[str | int, tuple[float, float, float]], float, str]] = {
    # Brow raises of about 7 mm at the apex, within what adults show in surprise; at 11 mm
    # the whole-frame face detector lost a third of the rig's sad, surprised and scared
    # faces beyond a metre.
    "AU1": ({"brow_r_inner": (0.0, -0.0066, 0.0), "brow_l_inner": (0.0, -0.0066, 0.0),
             "brow_r_mid": (0.0, -0.0024, 0.0), "brow_l_mid": (0.0, -0.0024, 0.0)},
            0.016, "above_eyes"),
    "AU2": ({"brow_r_outer": (0.0, -0.0066, 0.0), "brow_l_outer": (0.0, -0.0066, 0.0),
             "brow_r_mid": (0.0, -0.003, 0.0), "brow_l_mid": (0.0, -0.003, 0.0)},
            0.016, "above_eyes"),
    "AU4": ({"brow_r_inner": (0.006, 0.008, -0.002), "brow_l_inner": (-0.006, 0.008, -0.002),
             "brow_r_mid": (0.002, 0.007, 0.0), "brow_l_mid": (-0.002, 0.007, 0.0),
             "brow_r_outer": (0.0, 0.003, 0.0), "brow_l_outer": (0.0, 0.003, 0.0)},
            0.014, "above_eyes"),
    "AU5": ({"eye_r_top": (0.0, -0.0016, 0.0), "eye_l_top": (0.0, -0.0016, 0.0)},
            0.012, "upper_lids"),
    "AU6": ({"eye_r_bottom": (0.0, -0.0025, 0.0), "eye_l_bottom": (0.0, -0.0025, 0.0),
             50: (0.0, -0.005, -0.004), 280: (0.0, -0.005, -0.004)},  # the cheeks
            0.022, "below_eyes"),
    "AU7": ({"eye_r_top": (0.0, 0.0015, 0.0), "eye_l_top": (0.0, 0.0015, 0.0),
             "eye_r_bottom": (0.0, -0.0015, 0.0), "eye_l_bottom": (0.0, -0.0015, 0.0)},
            0.012, ""),
    "AU9": ({"nose_r_ala": (0.0, -0.005, -0.001), "nose_l_ala": (0.0, -0.005, -0.001),
             "lip_upper": (0.0, -0.007, -0.002), "lip_upper_inner": (0.0, -0.006, 0.0)},
            0.018, "above_mouth"),
    "AU12": ({"mouth_r_corner": (-0.011, -0.012, 0.004),
              "mouth_l_corner": (0.011, -0.012, 0.004)}, 0.016, ""),
    "AU12R": ({"mouth_r_corner": (-0.011, -0.012, 0.004)}, 0.016, ""),
    "AU14R": ({"mouth_r_corner": (0.002, -0.003, 0.004)}, 0.014, ""),
    "AU15": ({"mouth_r_corner": (0.0, 0.011, 0.0), "mouth_l_corner": (0.0, 0.011, 0.0)},
             0.016, ""),
    "AU17": ({"lip_lower": (0.0, -0.004, -0.002), "lip_lower_inner": (0.0, -0.002, 0.0),
              "chin": (0.0, -0.004, -0.002)}, 0.02, "below_mouth"),
    "AU20": ({"mouth_r_corner": (-0.013, 0.004, 0.002),
              "mouth_l_corner": (0.013, 0.004, 0.002)}, 0.016, ""),
    "AU23": ({"lip_upper": (0.0, 0.002, -0.002), "lip_lower": (0.0, -0.002, -0.002),
              "mouth_r_corner": (0.004, 0.0, 0.0), "mouth_l_corner": (-0.004, 0.0, 0.0)},
             0.012, ""),
    "AU25": ({"lip_lower_inner": (0.0, 0.008, 0.0), "lip_lower": (0.0, 0.005, 0.0)},
             0.012, "below_mouth"),
    "AU26": ({"lip_lower_inner": (0.0, 0.013, 0.002), "lip_lower": (0.0, 0.014, 0.002),
              "chin": (0.0, 0.016, 0.003), "jaw_r": (0.0, 0.008, 0.0),
              "jaw_l": (0.0, 0.008, 0.0)}, 0.045, "below_mouth"),
}
_CLOSURES = ("AU43", "blink")  # upper lids onto the lower ones (AU43 partly in expressions)


def _side_masks(v: npt.NDArray[np.float64]) -> dict[str, npt.NDArray[np.bool_]]:
    """Which vertices lie on which side of the eye and mouth lines."""
    mesh = face_mesh()
    upper_inner, lower = mesh.inner_lips(v, corners="upper")
    order = np.argsort(v[upper_inner, 0])
    xs, ys = v[upper_inner, 0][order], v[upper_inner, 1][order]
    mouth_y = np.interp(v[:, 0], xs, ys)
    above_mouth = v[:, 1] <= mouth_y + 1e-9
    lower_inner = np.isin(np.arange(len(v)), lower)
    eye_y = np.full(len(v), np.inf)
    near_eye = np.zeros(len(v), bool)
    for side in ("r", "l"):
        ring = mesh.eye_r if side == "r" else mesh.eye_l
        lo, hi = v[ring, 0].min() - 0.01, v[ring, 0].max() + 0.01
        inside = (v[:, 0] >= lo) & (v[:, 0] <= hi)
        eye_y[inside] = v[ring, 1].mean()
        near_eye |= inside
    upper_lid = np.zeros(len(v), bool)
    for side in ("r", "l"):
        upper_lid[face_mesh().lids(side)[0]] = True
    return {
        "above_mouth": above_mouth & ~lower_inner,
        "below_mouth": ~above_mouth | lower_inner,
        "above_eyes": v[:, 1] < np.where(near_eye, eye_y - 0.004, -0.005),
        "below_eyes": near_eye & (v[:, 1] > eye_y) & (v[:, 1] < eye_y + 0.035),
        "upper_lids": near_eye & ((v[:, 1] < eye_y) | upper_lid)
        & (v[:, 1] > eye_y - 0.012),
    }


def _falloff(distance_m: npt.NDArray[np.float64], radius_m: float) -> npt.NDArray[np.float64]:
    """Raised-cosine weight: 1 at the anchor, 0 from ``radius_m`` on."""
    inside = distance_m < radius_m
    ramp = np.minimum(distance_m / radius_m, 1.0)
    return np.where(inside, 0.5 * (1.0 + np.cos(np.pi * ramp)), 0.0)


def _au_field(v: npt.NDArray[np.float64], au: str,
              sides: dict[str, npt.NDArray[np.bool_]]) -> npt.NDArray[np.float64]:
    """Displacement (468, 3) of the vertices at intensity 1 of action unit ``au``."""
    if au in _CLOSURES:
        return _closure_field(v, sides, margin_too=False)
    anchors, radius, side = _AU_MOTION[au]
    radius *= EXPRESSION_REACH
    total = np.zeros_like(v)
    weight_sum = np.zeros(len(v))
    for name, delta in anchors.items():
        # Lids move by their anatomical millimetres: an eye is only about 9 mm high.
        gain = 1.0 if isinstance(name, str) and name.startswith("eye_") else EXPRESSION_GAIN
        for index in (MESH_INDEX[name] if isinstance(name, str) else (name,)):
            w = _falloff(np.linalg.norm(v - v[index], axis=1), radius)
            total += w[:, None] * np.asarray(delta) * gain
            weight_sum += w
    field = total / np.maximum(weight_sum, 1.0)[:, None]
    if side:
        field[~sides[side]] = 0.0
    return field


def _closure_field(v: npt.NDArray[np.float64], sides: dict[str, npt.NDArray[np.bool_]],
                   margin_too: bool = True) -> npt.NDArray[np.float64]:
    """Each upper-lid vertex down onto its lower-lid partner; the lid skin above follows.

    Without ``margin_too`` the lid margin itself stays (the skin above still follows).
    """
    field = np.zeros_like(v)
    mesh = face_mesh()
    margins, drops = [], []
    for side in ("r", "l"):
        upper, lower = mesh.lids(side)
        drop = v[lower] - v[upper]
        drop[:, 1] -= LID_GAP_M
        drop[:, 2] = np.minimum(drop[:, 2], 0.0) - 0.001  # the lid bulges over the eyeball
        # Without the margin, expressive_vertices_m closes it onto wherever the lower lid is.
        field[upper] = drop if margin_too else 0.0
        margins.append(upper)
        drops.append(drop)
    margin = np.concatenate(margins)
    drop_all = np.concatenate(drops)
    # Skin between the lid margin and the crease follows, less and less; corners stay.
    fixed = np.concatenate([margin, mesh.eye_r, mesh.eye_l])
    for i in np.flatnonzero(sides["upper_lids"] & ~np.isin(np.arange(len(v)), fixed)):
        d = np.linalg.norm(v[margin] - v[i], axis=1)
        k = int(np.argmin(d))
        field[i] = drop_all[k] * 0.5 * _falloff(d[k:k + 1], 0.01)[0]
    return field


@dataclass(frozen=True)
class Identity:
    """What makes one synthetic person look different from another.

    ``ir_reflectance`` is the skin's reflectance at the illuminator's wavelength (850 nm
    band), which varies between people independently of visible skin tone;
    ``hair_reflectance`` and ``brow_darkness`` are relative to it.
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
    face_length: float = 1.0
    nose_depth: float = 1.0
    hair_reflectance: float = 0.45
    brow_darkness: float = 0.5
    iris_reflectance: float = 0.45

    def neutral_vertices_m(self) -> npt.NDArray[np.float64]:
        """Neutral face surface of this identity (468, 3): shape and proportions applied."""
        return _neutral_vertices(self).copy()

    def neutral_landmarks_m(self) -> npt.NDArray[np.float64]:
        """Neutral named landmarks of this identity."""
        return NAMES_FROM_MESH @ _neutral_vertices(self)


@lru_cache(maxsize=1)
def _canonical_neutral() -> npt.NDArray[np.float64]:
    """Put the canonical face at rest: lips closed, eyes opened by a third of their closure."""
    v = _closed_mouth(face_mesh().vertices_m.copy())
    v -= NEUTRAL_EYE_OPENING * _closure_field(v, _side_masks(v))
    v.setflags(write=False)
    return v


@lru_cache(maxsize=64)
def _neutral_vertices(identity: Identity) -> npt.NDArray[np.float64]:
    v = _canonical_neutral().copy()
    # Proportions: overall width, the eyes' spacing, the mouth's width, face length below
    # the eyes, and how far the nose stands out; each a smooth warp of its region.
    v[:, 0] *= identity.width_ratio
    eye_w = _falloff(np.abs(v[:, 1]), 0.03) * _falloff(np.abs(np.abs(v[:, 0]) - 0.032), 0.03)
    v[:, 0] += eye_w * v[:, 0] * (identity.eye_spacing - 1.0)
    mouth_w = _falloff(np.hypot(v[:, 0] / 2.0, v[:, 1] - 0.07), 0.03)
    v[:, 0] += mouth_w * v[:, 0] * (identity.mouth_width - 1.0)
    v[:, 1] = np.where(v[:, 1] > 0.0, v[:, 1] * identity.face_length, v[:, 1])
    nose = _falloff(np.hypot(v[:, 0], v[:, 1] - 0.03), 0.035)
    front = v[:, 2] - 0.0
    v[:, 2] += nose * np.minimum(front, 0.0) * (identity.nose_depth - 1.0)
    v *= identity.scale
    v.setflags(write=False)
    return v


def _closed_mouth(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Close the canonical face's slightly parted lips: the lower lip up onto the upper."""
    upper, lower = face_mesh().inner_lips(v, corners="neither")
    order_u = np.argsort(v[upper, 0])
    target = np.interp(v[lower, 0], v[upper, 0][order_u], v[upper, 1][order_u])
    lift = np.zeros(len(v))
    lift[lower] = v[lower, 1] - target - 0.0004
    sides = _side_masks(v)
    for i in np.flatnonzero(sides["below_mouth"] & ~np.isin(np.arange(len(v)), lower)):
        d = np.linalg.norm(v[lower] - v[i], axis=1)
        k = int(np.argmin(d))
        lift[i] = lift[lower[k]] * _falloff(d[k:k + 1], 0.02)[0]
    out = v.copy()
    out[:, 1] -= lift
    return out


def _basis(identity: Identity) -> npt.NDArray[np.float64]:
    """(len(ACTION_UNITS), 468, 3) displacement per unit intensity for ``identity``.

    The fields are laid out once on the reference face and scaled with the person: the
    proportion warps move the anchors by millimetres, the fields' reach is centimetres.
    """
    return _reference_basis() * identity.scale


@lru_cache(maxsize=1)
def _reference_basis() -> npt.NDArray[np.float64]:
    v = _neutral_vertices(_reference_identity())
    sides = _side_masks(v)
    basis = np.stack([_au_field(v, au, sides) for au in ACTION_UNITS])
    basis.setflags(write=False)
    return basis


@lru_cache(maxsize=1)
def _reference_identity() -> Identity:
    return Identity(0, "high_reflectance", 1.0, 1.0, 1.0, 1.0, 0.75, False, False)


NEUTRAL_LANDMARKS_M: npt.NDArray[np.float64] = _reference_identity().neutral_landmarks_m()


def landmark_index(name: str) -> int:
    """Index of landmark ``name`` in LANDMARK_NAMES."""
    return _INDEX[name]


def moved_vertices(au: str) -> frozenset[int]:
    """Mesh vertices that action unit ``au`` moves on the reference face."""
    field = _basis(_reference_identity())[ACTION_UNITS.index(au)]
    moved = {int(i) for i in np.flatnonzero(np.abs(field).sum(axis=1) > 0.0)}
    if au in _CLOSURES:  # the lid margins close onto the lower lids (expressive_vertices_m)
        for side in ("r", "l"):
            moved.update(int(i) for i in face_mesh().lids(side)[0])
    return frozenset(moved)


def moved_landmarks(au: str) -> frozenset[str]:
    """Names of the landmarks with a vertex in the region of action unit ``au``."""
    region = moved_vertices(au)
    return frozenset(name for name in LANDMARK_NAMES if region & set(MESH_INDEX[name]))


SUBGROUPS: tuple[str, ...] = ("high_reflectance", "low_reflectance", "glasses", "facial_hair")


def _child_stream(rng: np.random.Generator) -> np.random.Generator:
    """Make a generator seeded from ``rng``'s state without drawing from it.

    (Generator.spawn does this from numpy 1.25 on; ROS 2 Humble's Debian numpy is 1.24.)
    """
    key = hashlib.sha256(repr(rng.bit_generator.state).encode()).digest()[:8]
    return np.random.default_rng(int.from_bytes(key, "little"))


def sample_identity(rng: np.random.Generator, person_index: int, subgroup: str) -> Identity:
    """Draw an identity of ``subgroup`` (one of SUBGROUPS)."""
    if subgroup not in SUBGROUPS:
        raise ValueError(f"unknown subgroup {subgroup!r}; known: {', '.join(SUBGROUPS)}")
    reflectance = (
        rng.uniform(0.35, 0.55) if subgroup == "low_reflectance" else rng.uniform(0.6, 0.9)
    )
    scale, width = float(rng.uniform(0.9, 1.1)), float(rng.uniform(0.92, 1.08))
    eyes, mouth = float(rng.uniform(0.94, 1.06)), float(rng.uniform(0.9, 1.1))
    # The finer traits come from a child stream, which leaves ``rng``'s own sequence (and
    # so everything drawn after the identity, such as a person's script) as it was.
    child = _child_stream(rng)
    return Identity(
        person_index=person_index,
        subgroup=subgroup,
        scale=scale,
        width_ratio=width,
        eye_spacing=eyes,
        mouth_width=mouth,
        ir_reflectance=float(reflectance),
        facial_hair=subgroup == "facial_hair",
        glasses=subgroup == "glasses",
        face_length=float(child.uniform(0.93, 1.07)),
        nose_depth=float(child.uniform(0.8, 1.2)),
        hair_reflectance=float(child.uniform(0.25, 0.8)),
        brow_darkness=float(child.uniform(0.35, 0.65)),
        iris_reflectance=float(child.uniform(0.3, 0.6)),
    )


def expressive_vertices_m(identity: Identity,
                          au_intensities: dict[str, float]) -> npt.NDArray[np.float64]:
    """Face surface (468, 3) of ``identity`` with the given AU intensities (each in [0, 1])."""
    unknown = set(au_intensities) - set(ACTION_UNITS)
    if unknown:
        raise ValueError(f"unknown action unit(s): {', '.join(sorted(unknown))}")
    weights = np.array([min(max(au_intensities.get(au, 0.0), 0.0), 1.0)
                        for au in ACTION_UNITS])
    closure = weights[ACTION_UNITS.index("AU43")] + weights[ACTION_UNITS.index("blink")]
    if closure > 1.0:  # both closures together close the eye once, not twice
        scale = 1.0 / closure
        weights[ACTION_UNITS.index("AU43")] *= scale
        weights[ACTION_UNITS.index("blink")] *= scale
    points = _neutral_vertices(identity) + np.tensordot(weights, _basis(identity), axes=1)
    # Closing lids end on the lower lid wherever the other action units put both lids; the
    # upper lid cannot pass below the lower one, whatever the AU mix.
    # Fully shut, each upper-lid vertex lies on its lower partner, a millimetre in front
    # (the lid over the eyeball): the opening is gone from the image.
    closing = min(closure, 1.0)
    for side in ("r", "l"):
        upper, lower = face_mesh().lids(side)
        shut = points[lower].copy()
        shut[:, 2] -= LID_BULGE_M * identity.scale
        points[upper] += closing * (shut - points[upper])
        if closing < 1.0:
            points[upper, 1] = np.minimum(points[upper, 1], points[lower, 1] - LID_GAP_M)
    return points


def expressive_landmarks_m(identity: Identity,
                           au_intensities: dict[str, float]) -> npt.NDArray[np.float64]:
    """Named landmarks of ``identity`` with the given AU intensities (each clipped to [0, 1])."""
    return NAMES_FROM_MESH @ expressive_vertices_m(identity, au_intensities)


def rotation_matrix(yaw_rad: float, pitch_rad: float, roll_rad: float) -> npt.NDArray[np.float64]:
    """Head rotation in the optical frame: yaw about y (down), pitch about x, roll about z."""
    cy, sy = np.cos(yaw_rad), np.sin(yaw_rad)
    cp, sp = np.cos(pitch_rad), np.sin(pitch_rad)
    cr, sr = np.cos(roll_rad), np.sin(roll_rad)
    r_yaw = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    r_pitch = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return r_yaw @ r_pitch @ r_roll
