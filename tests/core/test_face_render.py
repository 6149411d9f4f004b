"""The rig's shaded faces against their own truth, and the rasteriser against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from affect_core.sim.expressions import ACTION_UNITS
from affect_core.sim.face_geometry import EYE_L, EYE_R, MOUTH, face_mesh
from affect_core.sim.face_model import (
    LANDMARK_NAMES,
    expressive_vertices_m,
    moved_vertices,
    rotation_matrix,
    sample_identity,
)
from affect_core.sim.face_render import draw_head
from affect_core.sim.raster import rasterize
from affect_core.sim.render import HeadState
from affect_core.sim.rig import RigConfig, SimRig
from affect_core.types import CameraModel

CAMERA = CameraModel(640, 480, 560.0, 560.0, 319.5, 239.5, "ir_camera_optical_frame")


def _head(aus: dict[str, float] | None = None, yaw_deg: float = 0.0,
          subgroup: str = "high_reflectance") -> HeadState:
    identity = sample_identity(np.random.default_rng(3), 0, subgroup)
    return HeadState(identity, expressive_vertices_m(identity, aus or {}),
                     rotation_matrix(np.radians(yaw_deg), 0.0, 0.0),
                     np.array([0.0, 0.0, 0.9]), action_units=aus or {})


def test_rasterised_triangle_covers_its_area_and_interpolates_exactly() -> None:
    points = np.array([[10.3, 5.2], [80.7, 20.1], [30.4, 70.9]])
    # Counter-clockwise seen from the front reads clockwise in the image: (0, 2, 1).
    triangles = np.array([[0, 2, 1]])
    depth = np.array([1.0, 1.5, 2.0])
    raster = rasterize(points, depth, triangles, (100, 100))
    (ax, ay), (bx, by) = points[1] - points[0], points[2] - points[0]
    area = 0.5 * abs(ax * by - ay * bx)
    assert abs(len(raster.covered) - area) < 0.05 * area
    assert rasterize(points, depth, triangles[:, ::-1], (100, 100)).covered.size == 0
    # A linear function of the image position is interpolated exactly.
    values = (2.0 * points[:, 0] - 3.0 * points[:, 1] + 1.0)[:, None]
    ys, xs = np.divmod(raster.covered, 100)
    np.testing.assert_allclose(raster.interpolate(triangles, values)[:, 0],
                               2.0 * xs - 3.0 * ys + 1.0, atol=1e-3)
    # Depth of a planar triangle: 1/z is linear in the image.
    inv = raster.interpolate(triangles, (1.0 / depth)[:, None])[:, 0]
    np.testing.assert_allclose(raster.depth_m.ravel()[raster.covered], 1.0 / inv, rtol=1e-5)


def test_the_nearer_of_two_overlapping_triangles_wins() -> None:
    points = np.array([[0.0, 0.0], [0.0, 40.0], [40.0, 0.0]] * 2)
    triangles = np.array([[0, 1, 2], [3, 4, 5]])
    raster = rasterize(points, np.array([2.0, 2.0, 2.0, 1.0, 1.0, 1.0]), triangles, (50, 50))
    assert set(raster.triangle.ravel()[raster.covered]) == {1}
    assert np.all(raster.depth_m.ravel()[raster.covered] == pytest.approx(1.0))


@pytest.mark.parametrize("au", ACTION_UNITS)
def test_each_action_unit_moves_only_the_vertices_of_its_region(au: str) -> None:
    identity = sample_identity(np.random.default_rng(0), 0, "high_reflectance")
    neutral = expressive_vertices_m(identity, {})
    moved = expressive_vertices_m(identity, {au: 1.0})
    changed = set(np.flatnonzero(np.abs(moved - neutral).sum(axis=1) > 1e-12))
    region = moved_vertices(au)
    assert changed and changed <= region
    # The largest move is in the region's own part of the face.
    top = int(np.argmax(np.linalg.norm(moved - neutral, axis=1)))
    y = neutral[top, 1] / identity.scale
    expected = {"AU1": y < 0.0, "AU2": y < 0.0, "AU4": y < 0.0, "AU26": y > 0.06,
                "AU25": y > 0.06, "AU17": y > 0.06, "AU12": 0.04 < y < 0.09,
                "blink": abs(y) < 0.01, "AU43": abs(y) < 0.01}
    assert expected.get(au, True)


def test_depth_is_the_rendered_surface_and_landmarks_project_onto_it() -> None:
    head = _head(yaw_deg=20.0)
    patch = draw_head(head, CAMERA, np.array([0.04, 0.0, 0.0]))
    assert patch is not None
    vc = head.vertices_camera_m()
    px = CAMERA.project(vc)
    checked = 0
    for (u, v), z in zip(px, vc[:, 2]):
        col, row = int(round(u)) - patch.origin[0], int(round(v)) - patch.origin[1]
        surface = patch.depth_m[row, col]
        if abs(surface - z) < 0.004:
            checked += 1
    # Every vertex the camera sees lies on the drawn surface; at 20 degrees of yaw the far
    # cheek's side and the nose hide a share of them.
    assert checked > 0.75 * len(vc)
    nose = px[1]
    assert patch.depth_m[int(round(nose[1])) - patch.origin[1],
                         int(round(nose[0])) - patch.origin[0]] == pytest.approx(vc[1, 2],
                                                                                 abs=0.002)


def test_the_shipped_face_mesh_finds_the_rendered_landmarks() -> None:
    from affect_core.face.mesh import MeshLandmarker

    rig = SimRig(RigConfig(seed=5))
    mesh = MeshLandmarker(roi_scale=1.2, iris=False)
    errors = []
    for i, frame in enumerate(rig.frames(1.0)):
        if i % 20 or not frame.people:
            continue
        truth = frame.people[0]
        found = mesh.locate(frame.ir.data, truth.box_px)
        assert found is not None
        eyes = np.linalg.norm(truth.landmarks_px[LANDMARK_NAMES.index("eye_r_outer")]
                              - truth.landmarks_px[LANDMARK_NAMES.index("eye_l_outer")])
        errors.append(np.linalg.norm(found.points_px - truth.landmarks_px, axis=1).mean()
                      / eyes)
    # A model trained on real faces puts its points where the rig says they are.
    assert len(errors) == 6 and float(np.median(errors)) < 0.06


def _opening_pixels(head: HeadState) -> dict[int, int]:
    mesh = face_mesh()
    vc = head.vertices_camera_m()
    raster = rasterize(CAMERA.project(vc), vc[:, 2], mesh.triangles, (480, 640))
    kinds = mesh.material[raster.triangle.ravel()[raster.covered]]
    return {k: int((kinds == k).sum()) for k in (EYE_R, EYE_L, MOUTH)}


def test_a_blink_closes_the_eyes_on_the_surface_and_a_jaw_drop_opens_the_mouth() -> None:
    open_eyes = _opening_pixels(_head())
    shut = _opening_pixels(_head({"blink": 1.0}))
    assert open_eyes[EYE_R] > 30 and open_eyes[EYE_L] > 30
    assert shut[EYE_R] == 0 and shut[EYE_L] == 0
    assert open_eyes[MOUTH] < 10 < _opening_pixels(_head({"AU26": 1.0, "AU25": 1.0}))[MOUTH]


def test_a_shut_eye_shows_one_thin_lash_line_under_bright_lid_skin() -> None:
    head = _head({"blink": 1.0})
    patch = draw_head(head, CAMERA, np.array([0.0, 0.0, 0.0]))
    assert patch is not None
    names = {n: i for i, n in enumerate(LANDMARK_NAMES)}
    vc = head.vertices_camera_m()
    from affect_core.sim.face_model import NAMES_FROM_MESH

    points = CAMERA.project(NAMES_FROM_MESH @ vc)
    pixel_m = 0.9 / CAMERA.fx_px
    for side in ("r", "l"):
        outer, inner = points[names[f"eye_{side}_outer"]], points[names[f"eye_{side}_inner"]]
        u = int(round((outer[0] + inner[0]) / 2.0)) - patch.origin[0]
        v = int(round((outer[1] + inner[1]) / 2.0)) - patch.origin[1]
        column = patch.albedo[v - 6:v + 7, u]
        skin = float(np.median(patch.albedo[v + 8:v + 14, u]))  # the cheek below the eye
        dark = column < 0.75 * skin
        # One dark run, the lashes (about 2 mm, a pixel or two here with the lens blur), not
        # a slit of eye between two lids.
        runs = np.flatnonzero(np.diff(np.concatenate([[0], dark.astype(int), [0]])))
        assert len(runs) == 2, column
        assert (runs[1] - runs[0]) * pixel_m < 0.004
        # Above it, the shut lid is skin, as bright as skin beside the eye.
        assert column[:runs[0]].min() > 0.85 * skin


def test_the_shipped_iris_model_sees_closing_lids_as_closed() -> None:
    from affect_core.face.eyes import eye_aspect_ratio
    from affect_core.face.mesh import MeshLandmarker
    from affect_core.sim.face_render import face_box_px
    from affect_core.sim.scene import SceneRenderer
    from affect_core.sim.render import Lighting

    renderer = SceneRenderer(640, 480, 560.0, 0.05, 3.0, 3)
    mesh = MeshLandmarker(roi_scale=1.2, iris=True)
    ratios = []
    for subgroup in ("high_reflectance", "low_reflectance", "facial_hair"):
        ears = []
        for blink in (0.0, 0.8, 1.0):
            head = _head({"blink": blink}, subgroup=subgroup)
            frame = renderer.render_ir([head], Lighting(ambient=0.05, exposure_gain=1.0),
                                       np.random.default_rng(1))
            x0, y0, x1, y1 = face_box_px(head, renderer.ir_camera, margin_px=0)
            found = mesh.locate(frame, (x0, y0, x1 - x0, y1 - y0))
            assert found is not None and found.lids_refined
            ears.append(eye_aspect_ratio(found.points_px)[0])
        ratios.append((ears[1] / ears[0], ears[2] / ears[0]))
    # A model trained on real faces reads the rig's lids below the eye features' blink
    # threshold (0.4 of open) from 80 % closed on: the iris model runs on every 4th frame
    # only, so a 75 ms blink is often seen part-way.
    assert max(max(pair) for pair in ratios) < 0.4, ratios


def test_pupils_glow_only_near_the_lens_axis_and_the_cornea_glints() -> None:
    from affect_core.sim.face_parts import gaze_points

    head = _head()
    gaze = gaze_points(head)[0] @ head.rotation.T + head.position_m
    u, v = (int(round(c)) for c in CAMERA.project(gaze[None])[0])
    # Lens-axis geometry (bright pupil) against an illuminator 10 cm aside (dark pupil).
    values = {}
    for offset in (0.0, 0.1):
        patch = draw_head(head, CAMERA, np.array([offset, 0.0, 0.0]))
        assert patch is not None
        row, col = v - patch.origin[1], u - patch.origin[0]
        values[offset] = float(patch.albedo[row, col])
        # The glint: at 0.9 m under the rig's illuminator (0.55 at 1 m) it saturates.
        assert patch.lit[row - 4:row + 5, col - 4:col + 5].max() * 0.55 / 0.81 > 1.0
    # The pupil is under 2 px across here, so the lens's blur mixes in some iris.
    assert values[0.0] > 0.5 > 0.3 > values[0.1]
