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

"""Build models/rig/face_mesh.npz, the rig's neutral face, from MediaPipe's canonical face.

Inputs (both Apache-2.0, Google's MediaPipe): ``canonical_face_model.obj`` (468 vertices
in centimetres, y up, z towards the viewer, with its 898 triangles; the vertex order is
the face-mesh model's landmark order) and ``face_mesh_connections.py`` from the PyPI
wheel mediapipe 0.10.14 (the eye, lip and brow edge sets). Output, in the rig's head
frame (metres, x to the image right, y down, z away from the camera, origin between the
eyes): vertices, triangles wound so that the front faces the camera, the material of
each triangle (skin, or the openings of the eyes and the mouth that the obj closes), and
the rings of vertex indices that bound each opening and each brow.

Usage: python scripts/convert_rig_face.py OBJ CONNECTIONS_PY OUT_NPZ
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

SKIN, EYE_R, EYE_L, MOUTH = 0, 1, 2, 3


def _ring(edges: frozenset[tuple[int, int]], among: set[int] | None = None) -> list[int]:
    """Order the vertices of a closed edge loop (or the loop within ``among``)."""
    pairs = [e for e in edges if among is None or (e[0] in among and e[1] in among)]
    nxt: dict[int, list[int]] = {}
    for a, b in pairs:
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    start = min(nxt)
    ring, previous = [start], None
    while True:
        here = ring[-1]
        step = next(v for v in nxt[here] if v != previous)
        if step == start:
            return ring
        previous = here
        ring.append(step)


def _chain(edges: frozenset[tuple[int, int]]) -> list[list[int]]:
    """Split an edge set into open chains (a brow's upper and lower outline)."""
    nxt: dict[int, list[int]] = {}
    for a, b in edges:
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    ends = sorted(v for v, n in nxt.items() if len(n) == 1)
    seen: set[int] = set()
    chains = []
    for end in ends:
        if end in seen:
            continue
        chain, previous = [end], None
        while True:
            options = [v for v in nxt[chain[-1]] if v != previous]
            if not options:
                break
            previous = chain[-1]
            chain.append(options[0])
        seen.update(chain)
        chains.append(chain)
    return chains


def main(obj: Path, connections: Path, out: Path) -> None:
    vertices, faces = [], []
    for line in obj.read_text().splitlines():
        if line.startswith("v "):
            vertices.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("f "):
            faces.append([int(x.split("/")[0]) - 1 for x in line.split()[1:4]])
    v_cm = np.array(vertices)
    tri = np.array(faces, dtype=np.int64)
    if v_cm.shape != (468, 3) or tri.shape != (898, 3):
        raise SystemExit(f"unexpected obj: {v_cm.shape} vertices, {tri.shape} triangles")
    spec = importlib.util.spec_from_file_location("face_mesh_connections", connections)
    assert spec is not None and spec.loader is not None
    fmc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fmc)

    # Head frame: a half turn about x (y down, z away), centimetres to metres.
    v = v_cm * np.array([0.01, -0.01, -0.01])
    eye_r, eye_l = _ring(fmc.FACEMESH_RIGHT_EYE), _ring(fmc.FACEMESH_LEFT_EYE)
    inner = {13, 14, 78, 308} | {a for e in fmc.FACEMESH_LIPS for a in e
                                  if a in (82, 81, 80, 191, 95, 88, 178, 87, 317, 402,
                                           318, 324, 312, 311, 310, 415)}
    lips_inner = _ring(fmc.FACEMESH_LIPS, inner)
    lips_outer = _ring(fmc.FACEMESH_LIPS, {a for e in fmc.FACEMESH_LIPS for a in e} - inner)
    origin = v[[33, 133, 362, 263]].mean(axis=0)
    v -= origin

    material = np.full(len(tri), SKIN, np.int8)
    for kind, ring in ((EYE_R, eye_r), (EYE_L, eye_l), (MOUTH, lips_inner)):
        material[np.isin(tri, ring).all(axis=1)] = kind
    counts = np.bincount(material, minlength=4)
    if list(counts[1:]) != [len(eye_r) - 2, len(eye_l) - 2, len(lips_inner) - 2]:
        raise SystemExit(f"openings are not fans of their rings: {counts}")
    # Wind every triangle so that its normal points at a camera in front of the face.
    a, b, c = v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]]
    normal = np.cross(b - a, c - a)
    centre = (a + b + c) / 3.0
    outward = centre - np.array([0.0, 0.02, 0.08])  # from a point inside the head
    flip = np.einsum("ij,ij->i", normal, outward) < 0.0
    tri[flip] = tri[flip][:, [0, 2, 1]]

    brows = {}
    for side, edges in (("r", fmc.FACEMESH_RIGHT_EYEBROW), ("l", fmc.FACEMESH_LEFT_EYEBROW)):
        upper, lower = sorted(_chain(edges), key=lambda ch: float(v[ch, 1].mean()))
        brows[f"brow_{side}_upper"] = np.array(upper, np.int16)
        brows[f"brow_{side}_lower"] = np.array(lower, np.int16)
    np.savez_compressed(
        out, vertices_m=v.astype(np.float32), triangles=tri.astype(np.int16),
        material=material, eye_r=np.array(eye_r, np.int16), eye_l=np.array(eye_l, np.int16),
        lips_inner=np.array(lips_inner, np.int16), lips_outer=np.array(lips_outer, np.int16),
        face_oval=np.array(_ring(fmc.FACEMESH_FACE_OVAL), np.int16), **brows,
    )
    print(f"wrote {out}: {len(v)} vertices, {len(tri)} triangles, openings {counts[1:]}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
