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

"""The rig's face surface: MediaPipe's canonical face mesh in the rig's head frame.

468 vertices in the face-mesh model's landmark order, so a vertex of the rig's face and
the point of that index in the shipped face-mesh model's output are the same place on a
face; 898 triangles, 46 of which close the openings of the eyes and the mouth (their
material says which). Built by scripts/convert_rig_face.py; models/rig/README.md says
where the data come from.

Head frame: x to the image right, y down, z away from the camera when the person faces
it, origin between the eyes, metres. "Right" is the subject's right (the image left), as
in the face-mesh model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from affect_core.errors import ModelError

MESH_FILE = Path(__file__).resolve().parent.parent / "models" / "rig" / "face_mesh.npz"
SKIN, EYE_R, EYE_L, MOUTH = 0, 1, 2, 3

LANDMARK_NAMES: tuple[str, ...] = (
    "brow_r_outer", "brow_r_mid", "brow_r_inner", "brow_l_inner", "brow_l_mid", "brow_l_outer",
    "eye_r_outer", "eye_r_top", "eye_r_inner", "eye_r_bottom",
    "eye_l_inner", "eye_l_top", "eye_l_outer", "eye_l_bottom",
    "nose_tip", "nose_r_ala", "nose_l_ala",
    "mouth_r_corner", "lip_upper", "mouth_l_corner", "lip_lower",
    "lip_upper_inner", "lip_lower_inner",
    "chin", "jaw_r", "jaw_l",
)

# Named landmark -> mesh indices (averaged). Brows: upper and lower outline; eyes: corners
# and the middle of each lid; lips: outer and inner midline.
MESH_INDEX: dict[str, tuple[int, ...]] = {
    "brow_r_outer": (70, 46), "brow_r_mid": (105, 52), "brow_r_inner": (107, 55),
    "brow_l_inner": (336, 285), "brow_l_mid": (334, 282), "brow_l_outer": (300, 276),
    "eye_r_outer": (33,), "eye_r_top": (159,), "eye_r_inner": (133,), "eye_r_bottom": (145,),
    "eye_l_inner": (362,), "eye_l_top": (386,), "eye_l_outer": (263,), "eye_l_bottom": (374,),
    "nose_tip": (1,), "nose_r_ala": (98,), "nose_l_ala": (327,),
    "mouth_r_corner": (61,), "lip_upper": (0,), "mouth_l_corner": (291,), "lip_lower": (17,),
    "lip_upper_inner": (13,), "lip_lower_inner": (14,),
    "chin": (152,), "jaw_r": (58,), "jaw_l": (288,),
}


MOUTH_CORNERS = (78, 308)  # the inner lips' corner vertices


def names_from_mesh(points: int = 468) -> npt.NDArray[np.float64]:
    """(len(LANDMARK_NAMES), points) matrix: named landmarks = matrix @ mesh points."""
    matrix = np.zeros((len(LANDMARK_NAMES), points))
    for row, name in enumerate(LANDMARK_NAMES):
        matrix[row, list(MESH_INDEX[name])] = 1.0 / len(MESH_INDEX[name])
    return matrix


@dataclass(frozen=True)
class FaceMesh:
    """The neutral face surface and the vertex rings that bound its parts."""

    vertices_m: npt.NDArray[np.float64]  # (468, 3), head frame
    triangles: npt.NDArray[np.int64]  # (898, 3), counter-clockwise seen from the front
    material: npt.NDArray[np.int8]  # (898,), SKIN, EYE_R, EYE_L or MOUTH
    eye_r: npt.NDArray[np.int64]  # lid contour rings, in order
    eye_l: npt.NDArray[np.int64]
    lips_inner: npt.NDArray[np.int64]
    lips_outer: npt.NDArray[np.int64]
    face_oval: npt.NDArray[np.int64]
    brows: dict[str, npt.NDArray[np.int64]]  # brow_{r,l}_{upper,lower} outlines

    def inner_lips(self, v: npt.NDArray[np.float64], corners: str = "by_height"
                   ) -> tuple[list[int], list[int]]:
        """Upper and lower inner-lip vertices of a face's vertices ``v``.

        Upper: at or above the middle of the upper lip (vertex 13). The two mouth corners
        go by that height too, or with ``corners`` "upper" to the upper half, or with
        "neither" to neither half.
        """
        mid_y = v[13, 1] + 1e-9
        upper = [i for i in self.lips_inner
                 if (v[i, 1] <= mid_y and not (corners == "neither" and i in MOUTH_CORNERS))
                 or (corners == "upper" and i in MOUTH_CORNERS)]
        lower = [i for i in self.lips_inner if i not in upper
                 and not (corners == "neither" and i in MOUTH_CORNERS)]
        return upper, lower

    def lids(self, side: str, corners: bool = False
             ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Upper and lower lid vertices of eye ``side`` ("r" or "l"), corner to corner.

        Both run from the image-left corner to the image-right corner, so the k-th upper
        vertex lies above the k-th lower one; corners are in neither, or with ``corners``
        at both ends of both (each lid's whole margin).
        """
        ring = self.eye_r if side == "r" else self.eye_l
        x = self.vertices_m[ring, 0]
        left, right = int(np.argmin(x)), int(np.argmax(x))
        n = len(ring)
        one = [ring[(left + k) % n] for k in range(1, (right - left) % n)]
        other = [ring[(right + k) % n] for k in range(1, (left - right) % n)][::-1]
        if self.vertices_m[one, 1].mean() > self.vertices_m[other, 1].mean():
            one, other = other, one
        if corners:
            one, other = ([ring[left], *lid, ring[right]] for lid in (one, other))
        return np.array(one), np.array(other)


@lru_cache(maxsize=1)
def face_mesh() -> FaceMesh:
    """Load the face mesh shipped with the package (once)."""
    try:
        with np.load(MESH_FILE) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read the rig's face mesh {MESH_FILE}: {err}; reinstall "
                         "affect_core or rebuild it with scripts/convert_rig_face.py") from err
    ints = {k: arrays[k].astype(np.int64) for k in arrays if k not in ("vertices_m",
                                                                       "material")}
    return FaceMesh(
        vertices_m=arrays["vertices_m"].astype(np.float64),
        triangles=ints["triangles"], material=arrays["material"],
        eye_r=ints["eye_r"], eye_l=ints["eye_l"], lips_inner=ints["lips_inner"],
        lips_outer=ints["lips_outer"], face_oval=ints["face_oval"],
        brows={k: v for k, v in ints.items() if k.startswith("brow_")},
    )
