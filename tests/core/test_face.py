"""The face tracker on the rig: recall, box accuracy, stable ids, bad input."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from affect_core.errors import InputError
from affect_core.face.detect import iou
from affect_core.face.evaluation import TruthLandmarker
from affect_core.face.head_pose import rotation_angle_deg
from affect_core.face.landmarks import FaceLandmarks
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig
from affect_core.sim.rig import RigConfig, SimFrame, SimRig
from affect_core.types import ImageFrame


def test_curated_faces_are_found_with_stable_ids() -> None:
    rig = SimRig(RigConfig(num_people=2))
    tracker = FaceTracker(FaceTrackerConfig(), rig.ir_camera)
    matched = total = 0
    ids: dict[str, set[str]] = {}
    for frame in rig.frames(1.0):
        faces = tracker.process(frame.ir).faces
        for truth in frame.people:
            total += 1
            best = max(faces, key=lambda f: iou(f.box_px, truth.box_px), default=None)
            if best is not None and iou(best.box_px, truth.box_px) > 0.6:
                matched += 1
                ids.setdefault(truth.truth_id, set()).add(best.person_id)
    assert matched / total > 0.98
    assert all(len(v) == 1 for v in ids.values())  # no id switches
    assert len({next(iter(v)) for v in ids.values()}) == 2


def test_quality_scores_are_in_range_and_crops_sized() -> None:
    rig = SimRig(RigConfig())
    tracker = FaceTracker(FaceTrackerConfig(crop_size_px=48), rig.ir_camera)
    for frame in rig.frames(0.2):
        for face in tracker.process(frame.ir).faces:
            q = face.quality
            for score in (q.pose_stability, q.lighting_consistency, q.sharpness):
                assert 0.0 <= score <= 1.0
            assert face.crop.shape == (48, 48) and face.crop.dtype == np.uint16


def test_empty_and_wrong_frames_fail_clearly_and_count() -> None:
    tracker = FaceTracker(FaceTrackerConfig())
    blank = tracker.process(ImageFrame(0, "cam", "mono16", np.zeros((480, 640), np.uint16)))
    assert blank.faces == [] and tracker.stats.frames_without_face == 1
    with pytest.raises(InputError, match="mono16 or mono8"):
        tracker.process(ImageFrame(1, "cam", "rgb8", np.zeros((480, 640, 3), np.uint8)))
    assert tracker.stats.rejected_frames == 1
    with pytest.raises(InputError, match="too small"):
        tracker.process(ImageFrame(2, "cam", "mono16", np.zeros((4, 4), np.uint16)))
    with pytest.raises(InputError, match="32FC1"):
        tracker.process(ImageFrame(3, "cam", "mono16", np.zeros((480, 640), np.uint16)),
                        ImageFrame(3, "cam", "mono16", np.zeros((480, 640), np.uint16)))


def _frames(people: int, seconds: float, preset: str = "curated", seed: int = 0,
            **factors: object) -> tuple[SimRig, list[SimFrame]]:
    rig = SimRig(RigConfig(num_people=people, preset=preset, seed=seed,
                           factors=tuple(sorted(factors.items()))))
    return rig, list(rig.frames(seconds))


def test_detector_runs_every_n_frames_and_tracks_in_between() -> None:
    rig, frames = _frames(2, 1.0)
    for n in (1, 6):
        tracker = FaceTracker(FaceTrackerConfig(detect_every_n=n), rig.ir_camera)
        ids = set()
        for frame in frames:
            faces = tracker.process(frame.ir).faces
            assert len(faces) == 2
            for face in faces:
                best = max(frame.people, key=lambda p: iou(face.box_px, p.box_px))
                assert iou(face.box_px, best.box_px) > 0.6
                ids.add((best.truth_id, face.person_id))
        assert len(ids) == 2  # one id per person throughout
        assert tracker.stats.detector_runs == pytest.approx(len(frames) / n, abs=1)


def test_a_person_keeps_their_id_across_a_short_occlusion() -> None:
    rig, frames = _frames(1, 1.5)
    blank = np.full_like(frames[0].ir.data, 300)
    for timeout_s, same in ((1.0, True), (0.1, False)):
        tracker = FaceTracker(FaceTrackerConfig(track_timeout_s=timeout_s), rig.ir_camera)
        ids = []
        for i, frame in enumerate(frames):
            ir = frame.ir
            if 60 <= i < 96:  # 300 ms with the face hidden
                ir = ImageFrame(ir.stamp_ns, ir.frame_id, ir.encoding, blank)
            ids.extend(face.person_id for face in tracker.process(ir).faces)
        assert (len(set(ids)) == 1) is same
        assert tracker.stats.tracks_reidentified == (1 if same else 0)


def test_landmarks_give_pose_eyes_and_3d_points() -> None:
    rig = SimRig(RigConfig(num_people=2, preset="heterogeneous", seed=2,
                           factors=(("enter_leave", "off"), ("occlusion_rate_hz", 0.0))))
    oracle = TruthLandmarker(noise_px=0.5)
    tracker = FaceTracker(FaceTrackerConfig(), rig.ir_camera, oracle)
    errors, positions = [], []
    depth = None
    for frame in rig.frames(2.0):
        oracle.people = frame.people
        depth = frame.depth_truth or depth
        for face in tracker.process(frame.ir, depth).faces:
            person = max(frame.people, key=lambda p: iou(face.box_px, p.box_px))
            assert face.landmarks_px.shape == (26, 2) and face.landmarks_m.shape == (26, 3)
            assert 0.0 <= face.eyes.openness <= 1.0 or frame.stamp_ns < 1_000_000_000
            x, y, z, w = face.head_orientation_xyzw
            rotation = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w),
                                  2 * (x * z + y * w)],
                                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z),
                                  2 * (y * z - x * w)],
                                 [2 * (x * z - y * w), 2 * (y * z + x * w),
                                  1 - 2 * (x * x + y * y)]])
            errors.append(rotation_angle_deg(rotation, person.rotation))
            positions.append(np.linalg.norm(np.subtract(face.head_position_m,
                                                        person.position_m)))
    assert float(np.median(errors)) < 4.0
    assert float(np.median(positions)) < 0.02  # depth-refined head position
    assert tracker.stats.frames_without_landmarks == 0


def test_without_a_landmarker_pose_and_eyes_are_nan_and_counted() -> None:
    rig, frames = _frames(1, 0.1)
    tracker = FaceTracker(FaceTrackerConfig(), rig.ir_camera)
    faces = [f for frame in frames for f in tracker.process(frame.ir).faces]
    assert faces and all(math.isnan(f.head_orientation_xyzw[3]) for f in faces)
    assert all(math.isnan(f.eyes.openness) and f.eyes.openness_confidence == 0.0
               for f in faces)
    assert tracker.stats.frames_without_landmarks == len(faces)


def test_bad_input_fails_clearly_or_is_counted_never_crashes() -> None:
    rig, frames = _frames(4, 0.1)
    frame = frames[0]
    tracker = FaceTracker(FaceTrackerConfig(max_faces=2), rig.ir_camera)
    with pytest.raises(InputError, match="does not match its encoding"):
        tracker.process(ImageFrame(0, "cam", "mono16", np.zeros((480, 640), np.uint8)))
    with pytest.raises(InputError, match="too small"):
        tracker.process(ImageFrame(1, "cam", "mono8", np.zeros((0, 0), np.uint8)))
    with pytest.raises(InputError, match="not registered"):
        small = ImageFrame(2, "cam", "32FC1", np.zeros((10, 10), np.float32))
        tracker.process(frame.ir, small)
    assert tracker.stats.rejected_frames == 3
    # Many faces: at most max_faces are reported.
    assert len(tracker.process(frame.ir).faces) == 2
    # Depth that is NaN everywhere: faces still found, depth evidence 0, position NaN.
    nan_depth = ImageFrame(frame.stamp_ns, "cam", "32FC1",
                           np.full(frame.ir.data.shape, np.nan, np.float32))
    later = frames[1]
    faces = tracker.process(later.ir, replace(nan_depth, stamp_ns=later.stamp_ns)).faces
    assert faces and all(f.quality.depth_consistency == 0.0 for f in faces)
    assert all(math.isnan(f.head_position_m[2]) for f in faces)
    assert tracker.stats.frames_depth_invalid == len(faces)


def test_landmarks_every_nth_frame_move_with_the_face_in_between() -> None:
    rig, frames = _frames(1, 1.0, "heterogeneous", seed=3, enter_leave="off",
                          occlusion_rate_hz=0.0)
    calls = []

    class Counting(TruthLandmarker):
        def locate(self, image: np.ndarray, box_px: tuple[int, int, int, int],
                   iris: bool = True) -> FaceLandmarks | None:
            calls.append(box_px)
            return super().locate(image, box_px, iris)

    oracle = Counting(noise_px=0.5)
    tracker = FaceTracker(FaceTrackerConfig(landmark_every_n=3, detect_every_n=4),
                          rig.ir_camera, oracle)
    errors = []
    for frame in frames:
        oracle.people = frame.people
        for face in tracker.process(frame.ir).faces:
            iod = np.linalg.norm(frame.people[0].landmarks_px[6]
                                 - frame.people[0].landmarks_px[12])
            errors.append(float(np.mean(np.linalg.norm(
                face.landmarks_px - frame.people[0].landmarks_px, axis=1))) / iod)
    assert len(calls) == pytest.approx(len(frames) / 3, abs=3)
    assert len(errors) == len(frames) and float(np.median(errors)) < 0.05
