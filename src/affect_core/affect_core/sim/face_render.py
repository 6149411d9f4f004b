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

"""A head drawn as a shaded surface under the camera's own IR illuminator.

The face is the identity's mesh (affect_core.sim.face_model), rasterised with a depth
buffer and shaded per pixel: Lambertian skin lit by a point illuminator beside the lens
(cosine of the angle to it, inverse square of the distance to it), so the nose, the
cheeks and the brow ridge shade as on a real face under active IR. Skin has low texture
contrast at 850 nm; brows, lashes, lips, beard and hair are darker. Eyes, mouth, skin
folds and glasses come from affect_core.sim.face_parts. An ellipsoid skull with hair
above the hairline and a neck complete the silhouette; occluders (hand, hair, mask) are
drawn over the face.

The patch carries, premultiplied by coverage: ``lit`` (albedo x cosine x (z_head/r)^2,
the part the illuminator lights) and ``albedo`` (the part ambient light lights), and the
surface's depth in metres for the stereo pair and the depth truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.sim.face_geometry import EYE_L, EYE_R, MOUTH, face_mesh
from affect_core.sim.face_parts import (creases, draw_glasses, eye_albedo, glints, lash_lines,
                                        mouth_albedo)
from affect_core.sim.face_model import NAMES_FROM_MESH, Identity, landmark_index
from affect_core.sim.raster import rasterize
from affect_core.sim.render import HeadState, draw_occluder, motion_blur
from affect_core.types import CameraModel

TEXTURE_STEP_M = 0.0005  # skin texture resolution on the face


@dataclass
class HeadPatch:
    """One head drawn into a patch at ``origin`` (x0, y0) of the image."""

    origin: tuple[int, int]
    lit: npt.NDArray[np.float32]
    albedo: npt.NDArray[np.float32]
    mask: npt.NDArray[np.uint8]
    depth_m: npt.NDArray[np.float32]  # inf where the head is not
    z_m: float  # the head's distance, the reference of ``lit``


@lru_cache(maxsize=1)
def _region_weights() -> dict[str, npt.NDArray[np.float64]]:
    """Per-vertex weights of the darker parts of a face (brows, lips, nostrils)."""
    mesh = face_mesh()
    v = mesh.vertices_m

    def near(indices: npt.NDArray[np.int64], radius_m: float) -> npt.NDArray[np.float64]:
        d = np.min(np.linalg.norm(v[:, None, :] - v[None, indices, :], axis=2), axis=1)
        return np.clip(1.0 - d / radius_m, 0.0, 1.0)

    lips = np.linalg.norm(v[:, None, :] - v[None, mesh.lips_outer, :], axis=2).min(axis=1)
    chin = (v[:, 1] > 0.075) & (np.abs(v[:, 0]) < 0.068)
    moustache = (v[:, 1] > 0.045) & (v[:, 1] < 0.065) & (np.abs(v[:, 0]) < 0.03)
    return {
        "brows": np.max([near(ring, 0.004) for ring in mesh.brows.values()], axis=0),
        "lips": np.maximum(0.3 * near(mesh.lips_outer, 0.004),
                           0.35 * near(mesh.lips_inner, 0.005)),
        "nostrils": near(np.array([98, 327, 240, 460, 64, 294]), 0.004),
        "beard": ((chin | moustache) & (lips > 0.003)).astype(np.float64),
    }


@lru_cache(maxsize=64)
def _vertex_albedo(identity: Identity) -> npt.NDArray[np.float32]:
    """Per-vertex (albedo factor, beard weight) of ``identity`` on its skin."""
    w = _region_weights()
    factor = np.minimum.reduce([1.0 - identity.brow_darkness * w["brows"],
                                1.0 - w["lips"],
                                1.0 - 0.35 * w["nostrils"]])
    beard = w["beard"] if identity.facial_hair else np.zeros_like(factor)
    return np.stack([factor, beard], axis=1).astype(np.float32)


TEXTURES = 16  # skin textures made, shared by person index modulo this


def _skin_texture(identity: Identity) -> npt.NDArray[np.float32]:
    """Low-contrast multiplicative skin texture over the face plane (rows = y, cols = x)."""
    return _texture(identity.person_index % TEXTURES)


@lru_cache(maxsize=TEXTURES)
def _texture(index: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng([index, 0x5C1])
    size = int(0.26 / TEXTURE_STEP_M)
    fine = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), 1.5)
    coarse = cv2.resize(rng.standard_normal((16, 16)).astype(np.float32), (size, size),
                        interpolation=cv2.INTER_CUBIC)
    return (1.0 + 0.06 * fine + 0.03 * coarse).astype(np.float32)


def _texture_at(identity: Identity, xy_head: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    texture = _skin_texture(identity)
    size = texture.shape[0]
    col = np.clip(((xy_head[:, 0] / identity.scale + 0.13) / TEXTURE_STEP_M).astype(np.int64),
                  0, size - 1)
    row = np.clip(((xy_head[:, 1] / identity.scale + 0.09) / TEXTURE_STEP_M).astype(np.int64),
                  0, size - 1)
    return texture[row, col]


def _vertex_normals(points: npt.NDArray[np.float64],
                    triangles: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    a, b, c = (points[triangles[:, k]] for k in range(3))
    face = np.cross(b - a, c - a)  # area-weighted, pointing out of the face
    # Each vertex sums the normals of its triangles (bincount: ufunc.at is slow before
    # numpy 1.25, which ROS 2's Debian Python has).
    corners = triangles.T.ravel()
    normals = np.stack([np.bincount(corners, weights=np.tile(face[:, k], 3),
                                    minlength=len(points)) for k in range(3)], axis=1)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def head_extent_m(identity: Identity) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Centre and semi-axes of the skull ellipsoid in the head frame."""
    s = identity.scale
    return (np.array([0.0, 0.01, 0.075]) * s,
            np.array([0.079 * identity.width_ratio, 0.13, 0.1]) * s)


def face_box_px(head: HeadState, camera: CameraModel,
                margin_px: int = 2) -> tuple[int, int, int, int]:
    """Integer box (x0, y0, x1, y1) around the projected face oval (brow to chin)."""
    oval = camera.project(head.vertices_camera_m()[face_mesh().face_oval])
    x0, y0 = np.floor(oval.min(axis=0)).astype(int) - margin_px
    x1, y1 = np.ceil(oval.max(axis=0)).astype(int) + margin_px
    return int(x0), int(y0), int(x1), int(y1)


def _patch_box(head: HeadState, camera: CameraModel) -> tuple[int, int, int, int]:
    """Box around the head, hair and the top of the neck, clipped to the image."""
    centre, axes = head_extent_m(head.identity)
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1.8) for sz in (-1, 1)])
    points = (centre + corners * axes) @ head.rotation.T + head.position_m
    points[:, 2] = np.maximum(points[:, 2], 0.05)
    px = camera.project(points)
    x0, y0 = np.floor(px.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(px.max(axis=0)).astype(int) + 2
    return (max(int(x0), 0), max(int(y0), 0), min(int(x1), camera.width_px),
            min(int(y1), camera.height_px))


@lru_cache(maxsize=8)
def _rays(camera: CameraModel) -> npt.NDArray[np.float32]:
    """(height, width, 3) optical-frame ray of each pixel, with z = 1."""
    cols, rows = np.meshgrid(np.arange(camera.width_px, dtype=np.float32),
                             np.arange(camera.height_px, dtype=np.float32))
    return np.stack([(cols - camera.cx_px) / camera.fx_px, (rows - camera.cy_px) / camera.fy_px,
                     np.ones_like(cols)], axis=2)


def draw_head(head: HeadState, camera: CameraModel, illuminator_m: npt.NDArray[np.float64],
              shade_eyes: bool = True) -> HeadPatch | None:
    """Draw ``head`` as seen by ``camera`` lit from ``illuminator_m`` (optical frame).

    Returns None when no part of the head falls inside the image.
    """
    x0, y0, x1, y1 = _patch_box(head, camera)
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        return None
    mesh = face_mesh()
    identity = head.identity
    vc = head.vertices_camera_m()
    if np.any(vc[:, 2] <= 0.05):
        return None
    uv = camera.project(vc) - np.array([x0, y0], dtype=np.float64)
    raster = rasterize(uv, vc[:, 2], mesh.triangles, (h, w))
    z_ref = float(head.position_m[2])
    lit = np.zeros(h * w, np.float32)
    albedo = np.zeros(h * w, np.float32)
    covered = np.zeros(h * w, bool)
    depth = np.full(h * w, np.inf, np.float32)

    rays = _rays(camera)[y0:y1, x0:x1]  # a view; only the covered pixels' rays are read
    # Skull, hair and neck are smooth: cast them on every second row and column, each
    # result standing for its 2x2 block (the lens blur below smooths the silhouette).
    half = _rays(camera)[y0:y1:2, x0:x1:2]
    hh, hw = half.shape[:2]
    sub = [np.zeros(hh * hw, np.float32), np.zeros(hh * hw, np.float32),
           np.zeros(hh * hw, bool), np.full(hh * hw, np.inf, np.float32)]
    _draw_skull_and_neck(head, half.reshape(-1, 3), illuminator_m, z_ref, *sub)
    open_px = np.ones(h * w, bool)
    open_px[raster.covered] = False
    open_idx = np.flatnonzero(open_px)
    block = (open_idx // w // 2) * hw + (open_idx % w) // 2
    for full, part in zip((lit, albedo, covered, depth), sub):
        full[open_idx] = part[block]

    idx = raster.covered
    if len(idx):
        tri = raster.triangle.ravel()[idx]
        material = mesh.material[tri]
        normals = _vertex_normals(vc, mesh.triangles)
        attrs = np.concatenate([normals, head.vertices_head_m, _vertex_albedo(identity)],
                               axis=1)
        values = raster.interpolate(mesh.triangles, attrs)
        n = values[:, 0:3]
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
        xyz_head = values[:, 3:6]
        z = raster.depth_m.ravel()[idx]
        point = rays[idx // w, idx % w] * z[:, None]
        to_light = illuminator_m.astype(np.float32) - point
        r2 = np.einsum("ij,ij->i", to_light, to_light)
        cos = np.clip(np.einsum("ij,ij->i", n, to_light) / np.sqrt(r2), 0.0, 1.0)
        base = identity.ir_reflectance * values[:, 6] * _texture_at(identity, xyz_head)
        beard = values[:, 7]
        if identity.facial_hair:
            stubble = _texture_at(identity, xyz_head * 3.1) - 1.0
            base = base * (1.0 - 0.55 * beard * np.clip(1.0 + 4.0 * stubble, 0.3, 1.3))
        if head.action_units:
            base = base * creases(head, xyz_head)
        falloff = np.float32(z_ref**2) / r2
        eye = (material == EYE_R) | (material == EYE_L)
        mouth = material == MOUTH
        if shade_eyes and np.any(eye):
            base[eye] = eye_albedo(head, xyz_head[eye], material[eye], illuminator_m)
        base = base * lash_lines(head, xyz_head)  # over the lids' skin and the eyes' rims
        if np.any(mouth):
            base[mouth] = mouth_albedo(head, xyz_head[mouth])
            cos[mouth] = np.maximum(cos[mouth], 0.6)
        lit[idx] = base * cos * falloff
        albedo[idx] = base
        covered[idx] = True
        depth[idx] = z
        if shade_eyes and np.any(eye):
            lit[idx[eye]] += glints(head, xyz_head[eye], material[eye])

    lit2, albedo2 = lit.reshape(h, w), albedo.reshape(h, w)
    mask = (covered.reshape(h, w) * np.uint8(255)).astype(np.uint8)
    named_px = camera.project(NAMES_FROM_MESH @ vc) - np.array([x0, y0], dtype=np.float64)
    face_px = float(np.ptp(uv[mesh.face_oval, 0]))
    if identity.glasses:
        draw_glasses(head, camera, (x0, y0), lit2, albedo2, mask, face_px)
    if head.occluder:
        def pt(name: str) -> npt.NDArray[np.float64]:
            return named_px[landmark_index(name)]
        for image in (lit2, albedo2):
            draw_occluder(image, head.occluder, pt, (0, 0), identity.ir_reflectance, face_px)
    # The lens's blur (about half a pixel) also smooths the silhouette's staircase.
    for image in (lit2, albedo2):
        image *= mask.astype(np.float32) / 255.0
        cv2.GaussianBlur(image, (3, 3), 0.6, dst=image)
    mask = cv2.GaussianBlur(mask, (3, 3), 0.6)
    depth2 = depth.reshape(h, w)
    origin = (x0, y0)
    if max(abs(head.blur_px[0]), abs(head.blur_px[1])) >= 1.0:
        (lit2, albedo2), mask, grown = motion_blur([lit2, albedo2], mask, head.blur_px)
        depth2 = np.pad(depth2, grown, constant_values=np.inf)
        origin = (x0 - grown, y0 - grown)
    return HeadPatch(origin, lit2, albedo2, mask, depth2, z_ref)


def _draw_skull_and_neck(head: HeadState, rays: npt.NDArray[np.float32],
                         illuminator_m: npt.NDArray[np.float64], z_ref: float,
                         lit: npt.NDArray[np.float32], albedo: npt.NDArray[np.float32],
                         covered: npt.NDArray[np.bool_], depth: npt.NDArray[np.float32]) -> None:
    """Ray-cast the skull ellipsoid (hair above the hairline) and the neck at open pixels.

    ``rays`` are the optical-frame rays (z = 1) of the pixels the face left open; the
    nearer of skull and neck wins each.
    """
    identity = head.identity
    rot = head.rotation.astype(np.float32)
    origin_h = (-head.rotation.T @ head.position_m).astype(np.float32)  # camera, head frame
    dirs_h = rays @ rot  # each ray in the head frame (R^T d)
    centre, axes = head_extent_m(identity)
    neck_c = np.array([0.0, 0.0, 0.07]) * identity.scale
    neck_axes = np.array([0.056, 1.0, 0.05]) * identity.scale
    solid = np.array([1.0, 1.0, 1.0], np.float32)
    flat_y = np.array([1.0, 0.0, 1.0], np.float32)
    hits = []
    for c, a, keep in ((centre, axes, solid), (neck_c, neck_axes, flat_y)):
        o = ((origin_h - c) / a).astype(np.float32) * keep
        d = dirs_h * (keep / a.astype(np.float32))
        qa = np.einsum("ij,ij->i", d, d)
        qb = 2.0 * (d @ o)
        disc = qb * qb - 4.0 * qa * (float(o @ o) - 1.0)
        s = (-qb - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * np.maximum(qa, 1e-12))
        s[(disc <= 0.0) | (s <= 0.0)] = np.inf
        hits.append(s)
    skull_s, neck_s = hits
    finite = np.isfinite(neck_s)
    neck_y = origin_h[1] + dirs_h[finite, 1] * neck_s[finite]
    outside = (neck_y < 0.055 * identity.scale) | (neck_y > 0.3 * identity.scale)
    neck_s[np.flatnonzero(finite)[outside]] = np.inf
    s = np.minimum(skull_s, neck_s)
    hit = np.isfinite(s)
    if not np.any(hit):
        return
    is_neck = neck_s[hit] < skull_s[hit]
    sh = s[hit]
    ph = origin_h + dirs_h[hit] * sh[:, None]
    n_h = np.where(is_neck[:, None],
                   (ph - neck_c.astype(np.float32)) / (neck_axes.astype(np.float32) ** 2)
                   * flat_y,
                   (ph - centre.astype(np.float32)) / (axes.astype(np.float32) ** 2))
    n_c = n_h @ rot.T
    n_c /= np.maximum(np.linalg.norm(n_c, axis=1, keepdims=True), 1e-9)
    point = rays[hit] * sh[:, None]  # the rays have z = 1, so depth is s
    to_light = illuminator_m.astype(np.float32) - point
    r2 = np.einsum("ij,ij->i", to_light, to_light)
    cos = np.clip(np.einsum("ij,ij->i", n_c, to_light) / np.sqrt(r2), 0.0, 1.0)
    hair = (ph[:, 1] < -0.047 * identity.scale) | (
        (ph[:, 2] > 0.035 * identity.scale) & (ph[:, 1] < 0.02 * identity.scale))
    strands = _texture_at(identity, ph[:, [0, 1]] * np.array([0.6, 2.5], np.float32))
    base = np.where(hair, 0.8 * identity.hair_reflectance * strands,
                    identity.ir_reflectance * 0.95).astype(np.float32)
    # The neck sits in the jaw's shadow: less of the illuminator reaches it.
    base[is_neck] = identity.ir_reflectance * 0.7
    cos[is_neck] *= 0.75
    lit[hit] = base * cos * (np.float32(z_ref**2) / r2)
    albedo[hit] = base
    covered[hit] = True
    depth[hit] = sh
