"""The simulated rig: deterministic, physically consistent, AU-faithful."""

from __future__ import annotations

import numpy as np
import pytest

from affect_core.sim.expressions import ACTION_UNITS
from affect_core.sim.face_model import (
    LANDMARK_NAMES,
    expressive_landmarks_m,
    moved_landmarks,
    sample_identity,
)
from affect_core.sim.rig import RigConfig, SimRig


def test_same_seed_same_frames_other_seed_different() -> None:
    a = [f.ir.data for f in SimRig(RigConfig(seed=3)).frames(0.1)]
    b = [f.ir.data for f in SimRig(RigConfig(seed=3)).frames(0.1)]
    c = [f.ir.data for f in SimRig(RigConfig(seed=4)).frames(0.1)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not any(np.array_equal(x, y) for x, y in zip(a, c))


def test_frames_are_16_bit_with_exact_stamps_and_stereo_rate() -> None:
    frames = list(SimRig(RigConfig()).frames(1.0))
    assert len(frames) == 120
    assert frames[0].ir.data.dtype == np.uint16 and frames[0].ir.data.shape == (480, 640)
    assert [f.stamp_ns for f in frames[:3]] == [0, 8_333_333, 16_666_667]
    assert sum(f.stereo is not None for f in frames) == 30


@pytest.mark.parametrize("au", [au for au in ACTION_UNITS])
def test_each_action_unit_moves_only_its_landmarks(au: str) -> None:
    identity = sample_identity(np.random.default_rng(0), 0, "high_reflectance")
    neutral = expressive_landmarks_m(identity, {})
    moved = expressive_landmarks_m(identity, {au: 1.0})
    changed = {LANDMARK_NAMES[i] for i in np.flatnonzero(np.abs(moved - neutral).sum(1) > 1e-9)}
    assert changed and changed <= moved_landmarks(au)


def test_saturation_and_noise_follow_the_sensor_model() -> None:
    rig = SimRig(RigConfig(num_people=0))
    frame = rig.step().ir.data.astype(np.float64)
    sensor = rig.renderer.sensor
    # A flat patch of wall: noise variance = shot + read (+ fixed-pattern spread).
    patch = frame[200:240, 300:340]
    mean_e = patch.mean() * sensor.full_well_e / 65535.0
    expected_std = np.sqrt(mean_e + sensor.read_noise_e**2) * 65535.0 / sensor.full_well_e
    diff = (rig.step().ir.data.astype(np.float64)[200:240, 300:340] - patch).ravel()
    assert diff.std() / np.sqrt(2.0) == pytest.approx(expected_std, rel=0.25)
    assert frame.max() < 65535  # a dim wall does not saturate


def _rig(**params: object) -> SimRig:
    return SimRig(RigConfig.from_params(params))


def test_landmarks_reproject_to_the_stated_head_pose() -> None:
    import cv2

    rig = _rig(preset="heterogeneous", seed=2)
    person = rig._people[0]
    camera = rig.ir_camera
    matrix = np.array([[camera.fx_px, 0, camera.cx_px], [0, camera.fy_px, camera.cy_px],
                       [0, 0, 1]])
    checked = 0
    for frame in rig.frames(2.0):
        truth = frame.people[0] if frame.people else None
        if truth is None or truth.intensity > 0.0 or truth.eyes_closed > 0.0:
            continue  # model points below are the neutral, open-eyed face
        model = expressive_landmarks_m(person.identity, {})
        ok, rvec, tvec = cv2.solvePnP(model, truth.landmarks_px, matrix, None,
                                      flags=cv2.SOLVEPNP_ITERATIVE)
        assert ok
        rotation, _ = cv2.Rodrigues(rvec)
        angle = np.degrees(np.arccos(np.clip((np.trace(rotation.T @ truth.rotation) - 1) / 2,
                                             -1.0, 1.0)))
        assert angle < 0.5
        assert np.linalg.norm(tvec.ravel() - np.array(truth.position_m)) < 0.002
        checked += 1
    assert checked > 20


def test_ambient_sunlight_saturates_at_16_bit_full_scale() -> None:
    bright = _rig(ambient_min=2.0, ambient_max=2.0).step()
    x, y, w, h = bright.people[0].box_px
    face = bright.ir.data[y:y + h, x:x + w]
    assert bright.ir.data.max() == 65535
    assert np.mean(face == 65535) > 0.5
    normal = _rig().step()
    x, y, w, h = normal.people[0].box_px
    assert np.mean(normal.ir.data[y:y + h, x:x + w] == 65535) == 0.0


def test_presets_differ_in_the_factors_they_claim() -> None:
    def stats(preset: str) -> dict[str, float]:
        frames = list(_rig(preset=preset, num_people=2, seed=1).frames(6.0))
        yaw = [p.yaw_pitch_roll_deg[0] for f in frames for p in f.people]
        speed = [p.image_speed_px_s for f in frames for p in f.people]
        return {
            "yaw_std": float(np.std(yaw)),
            "ambient_span": float(np.ptp([f.ambient for f in frames])),
            "exposure_span": float(np.ptp([f.exposure_gain for f in frames])),
            "subgroups": len({p.subgroup for f in frames for p in f.people}),
            "speed": float(np.median(speed)),
        }

    curated, hetero = stats("curated"), stats("heterogeneous")
    assert hetero["yaw_std"] > 4 * curated["yaw_std"]
    assert curated["ambient_span"] == 0.0 and hetero["ambient_span"] > 0.02
    assert curated["exposure_span"] == 0.0 and hetero["exposure_span"] > 0.1
    assert curated["subgroups"] == 1 and hetero["subgroups"] == 2
    assert hetero["speed"] > 3 * curated["speed"]


def test_one_factor_changes_alone() -> None:
    frames = list(_rig(occlusion_rate_hz=2.0, seed=3).frames(4.0))
    occluders = {p.occluder for f in frames for p in f.people}
    assert {"hand", "hair", "mask"} & occluders
    yaw = [p.yaw_pitch_roll_deg[0] for f in frames for p in f.people]
    assert np.std(yaw) < 2.0  # still curated pose
    assert {f.ambient for f in frames} == {0.02}


def test_micro_expressions_last_40_to_200_ms() -> None:
    rig = _rig(micro_expression_rate_hz=3.0, seed=4)
    flags = [bool(f.people and f.people[0].micro_expression) for f in rig.frames(10.0)]
    runs, length = [], 0
    for flag in flags + [False]:
        if flag:
            length += 1
        elif length:
            runs.append(length / 120.0)
            length = 0
    assert len(runs) >= 10
    assert max(runs) <= 0.2 and min(runs) > 0.0


def test_people_walk_out_and_back_in() -> None:
    rig = _rig(enter_leave="on", fps=30.0, width_px=320, height_px=240, focal_length_px=280.0,
               stereo_rate_hz=0.0, seed=6)
    present = [len(f.people) for f in rig.frames(45.0)]
    gaps = [i for i in range(1, len(present)) if present[i] == 0 and present[i - 1] == 1]
    returns = [i for i in range(1, len(present)) if present[i] == 1 and present[i - 1] == 0]
    assert gaps and returns and returns[0] > gaps[0]


def test_motion_blur_smears_moving_faces() -> None:
    import cv2

    def edges(blur_s: float) -> tuple[float, float]:
        # Same seed: the frames differ only by the smear.
        rig = _rig(drift_speed_mps=2.0, motion_blur_exposure_s=blur_s, seed=2)
        frames = list(rig.frames(0.5))[10:]
        energy, speed = [], []
        for f in frames:
            x, y, w, h = f.people[0].box_px
            face = cv2.GaussianBlur(f.ir.data[y:y + h, x - 5:x + w + 5].astype(np.float32),
                                    (0, 0), 1.0)
            # The steepest step of each row: the face's silhouette against the wall.
            energy.append(float(np.mean(np.abs(np.diff(face, axis=1)).max(axis=1))))
            speed.append(f.people[0].image_speed_px_s)
        return float(np.mean(energy)), float(np.median(speed))

    sharp, speed = edges(0.0)
    smeared, _ = edges(0.01)
    assert speed * 0.01 > 2.0  # the face moves more than 2 px during the exposure
    assert smeared < 0.8 * sharp
