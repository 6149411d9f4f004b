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

"""How often the tracker runs its models with BlazeFace and the mesh, on real faces.

Frames hold scikit-image's astronaut photograph (a real face, visible light, not IR) on
a 640x480 mono16 frame (affect_core.bench_real), so BlazeFace and the mesh find it as
they would on a camera's frames.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from affect_core.bench_real import CONFIGURATIONS, bench_real_face, photo_camera, photo_frames
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig
from affect_core.types import ImageFrame
from tests.core.photo_faces import two_faces_from

skimage_data = pytest.importorskip("skimage.data")


class _Counting:
    """Count the calls of a bound method."""

    def __init__(self, method) -> None:
        self.method, self.calls = method, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.method(*args, **kwargs)


def _tracker(**params) -> FaceTracker:
    return FaceTracker(FaceTrackerConfig.from_params(
        {"detector": "blazeface", "landmarker": "mesh", **params}), photo_camera())


def test_landmarks_follow_the_face_and_the_detector_runs_every_n_frames() -> None:
    frames = list(photo_frames(1, 2.0))
    tracker = _tracker(landmark_detect_every_n=60)
    faces = [tracker.process(ir, depth).faces for ir, depth in frames]
    assert all(len(f) == 1 for f in faces)
    assert {f[0].person_id for f in faces} == {"p1"}
    # The first frame, then every 60th: 240 frames, 4 whole-frame runs.
    assert tracker.stats.detector_runs == math.ceil(len(frames) / 60)
    # The face's centre moves 25 sin(0.6 t) px sideways (photo_frames): 23.3 px in these
    # 2 s. The boxes follow it through the landmarks.
    centres = np.array([f[0].box_px[0] + f[0].box_px[2] / 2.0 for f in faces])
    moved = 25.0 * math.sin(0.6 * (len(frames) - 1) / 120.0)
    assert abs((centres.max() - centres.min()) - moved) < 3.0
    assert all(np.isfinite(f[0].head_orientation_xyzw).all() for f in faces)


def test_without_landmarks_following_the_detector_keeps_its_own_cadence() -> None:
    frames = list(photo_frames(1, 0.5))
    tracker = _tracker(landmarker="none", detect_every_n=4, landmark_detect_every_n=60)
    for ir, depth in frames:
        tracker.process(ir, depth)
    assert tracker.stats.detector_runs == math.ceil(len(frames) / 4)


def test_a_face_that_appears_is_found_within_landmark_detect_every_n_frames() -> None:
    appears, every_n = 70, 30
    tracker = _tracker(landmark_detect_every_n=every_n)
    counts = [len(tracker.process(ir).faces) for ir in two_faces_from(appears, 160)]
    assert counts[:appears] == [1] * appears
    found = counts.index(2)
    assert appears <= found < appears + every_n
    assert counts[found:] == [2] * (len(counts) - found)


def test_a_face_the_whole_frame_pass_misses_stays_tracked_by_its_landmarks() -> None:
    frames = list(photo_frames(1, 2.0))
    tracker = _tracker(landmark_detect_every_n=30)
    detect = tracker.detector.detect
    # The first whole-frame pass finds the face, every later one misses it.
    tracker.detector.detect = lambda image, **tiles: (
        detect(image, **tiles) if tracker.stats.detector_runs <= 1 else [])
    faces = [tracker.process(ir, depth).faces for ir, depth in frames]
    assert all(len(f) == 1 for f in faces)
    assert {f[0].person_id for f in faces} == {"p1"} and tracker.stats.tracks_started == 1
    # One pass per 30 frames, each miss kept by the landmarks; no pass on every frame.
    assert tracker.stats.detector_runs == math.ceil(len(frames) / 30)
    assert tracker.stats.faces_kept_by_landmarks == tracker.stats.detector_runs - 1


def test_a_face_that_leaves_ends_its_track_though_the_landmarks_follow_it() -> None:
    frames = two_faces_from(1000, 90)  # one face only
    blank = [ImageFrame(f.stamp_ns + int(0.75e9), f.frame_id, f.encoding,
                        np.full_like(f.data, 3000)) for f in frames[:60]]
    tracker = _tracker(landmark_detect_every_n=30)
    counts = [len(tracker.process(ir).faces) for ir in frames + blank]
    assert counts[:90] == [1] * 90
    # The landmark model's face-presence score ends it at once, not a whole-frame pass.
    assert counts[91:] == [0] * (len(counts) - 91)


def test_irises_run_every_nth_landmark_frame_and_pupils_hold_in_between() -> None:
    frames = list(photo_frames(1, 1.5))
    tracker = _tracker(iris_every_n=4)
    mesh = tracker.landmarker
    counted = _Counting(mesh._run_iris)
    mesh._run_iris = counted
    located = _Counting(mesh._run_mesh)
    mesh._run_mesh = located
    pupils = [tracker.process(ir, depth).faces[0].eyes.pupil_diameter_px for ir, depth in frames]
    landmark_frames = len(frames)  # one mesh per frame (re-crops for roll come on top)
    assert counted.calls == math.ceil(landmark_frames / 4)
    assert located.calls >= landmark_frames
    measured = [p for p in pupils if math.isfinite(p)]
    # Once the open-eye reference has settled (1 s at 120 fps: the last frames), every
    # frame reports a pupil, measured or held: not only every 4th.
    assert len(measured) >= 30 and all(math.isfinite(p) for p in pupils[-len(measured):])
    every_frame = _tracker(iris_every_n=1)
    every_frame.landmarker._run_iris = _Counting(every_frame.landmarker._run_iris)
    for ir, depth in frames[:40]:
        every_frame.process(ir, depth)
    assert every_frame.landmarker._run_iris.calls == 40


def test_irises_run_on_every_frame_of_a_blink_and_the_blink_is_found() -> None:
    from affect_core.sim.face_model import expressive_vertices_m, rotation_matrix, sample_identity
    from affect_core.sim.render import HeadState, Lighting
    from affect_core.sim.scene import SceneRenderer

    renderer = SceneRenderer(640, 480, 560.0, 0.05, 3.0, 3)
    identity = sample_identity(np.random.default_rng(5), 0, "high_reflectance")
    # 1.5 s open (the open-eye reference settles), a 100 ms blink: 3 frames closing, 6
    # shut, 3 opening; then open again.
    closure = [0.0] * 180 + [0.33, 0.67] + [1.0] * 7 + [0.67, 0.33] + [0.0] * 30
    tracker = FaceTracker(FaceTrackerConfig.from_params(
        {"detector": "blazeface_whole", "landmarker": "mesh", "iris_every_n": 4}),
        renderer.ir_camera)
    irises = _Counting(tracker.landmarker._run_iris)
    tracker.landmarker._run_iris = irises
    ran, blinks, openness = [], [], []
    for i, shut in enumerate(closure):
        head = HeadState(identity, expressive_vertices_m(identity, {"blink": shut}),
                         rotation_matrix(0.0, 0.0, 0.0), np.array([0.0, 0.0, 0.9]),
                         action_units={"blink": shut})
        ir = renderer.render_ir([head], Lighting(ambient=0.05, exposure_gain=1.0),
                                np.random.default_rng(i))
        before = irises.calls
        faces = tracker.process(ImageFrame(int(i * 1e9 / 120), "ir_camera_optical_frame",
                                           "mono16", ir)).faces
        ran.append(irises.calls > before)
        blinks.append(len(faces) == 1 and faces[0].eyes.blink)
        openness.append(faces[0].eyes.openness if faces else float("nan"))
    shut_frames = [i for i, c in enumerate(closure) if c == 1.0]
    # Once the closing lids are seen, every frame until they reopen runs the iris model.
    assert all(ran[i] for i in shut_frames[1:]), openness[178:200]
    assert sum(ran[:170]) <= math.ceil(170 / 4) + 1
    assert sum(blinks) == 1 and blinks.index(True) > shut_frames[-1]


def test_the_bench_rows_run_the_models_as_configured() -> None:
    splits, model_ms = bench_real_face(0.5, (1,))
    by_name = {s.name: s for s in splits}
    assert [s.name for s in splits] == [name for name, _ in CONFIGURATIONS]
    assert all(s.faces_per_frame == 1.0 and s.frames == 60 for s in splits)
    every_4 = by_name["mesh+irises, detect every 4"]
    new_faces = by_name["+ detect for new faces /60"]
    assert every_4.detector_runs == 15 and new_faces.detector_runs <= 1
    # Without landmarks the local BlazeFace pass follows the face: no mesh, no irises.
    local = by_name["no landmarks, detect every 4"]
    sparse = by_name["no landmarks, detect every 60"]
    assert local.detector_runs == 15 and sparse.detector_runs <= 1
    assert by_name["no landmarks, one tile per pass"].detector_runs == 15
    assert by_name["+ detection 3 frames ahead"].detector_runs == 15
    assert local.ms_per_frame["mesh"] == 0.0 and local.ms_per_frame["irises"] == 0.0
    assert every_4.ms_per_frame["mesh"] > 0.0 and model_ms > 0.0


def test_landmarks_on_threads_give_what_one_thread_gives() -> None:
    frames = list(photo_frames(4, 0.4))
    runs = {}
    for threads in (1, 2):
        tracker = _tracker(landmark_threads=threads)
        runs[threads] = [tracker.process(ir, depth).faces for ir, depth in frames]
    assert all(len(faces) == 4 for faces in runs[1])
    for one, two in zip(runs[1], runs[2]):
        assert [f.person_id for f in one] == [f.person_id for f in two]
        for a, b in zip(one, two):
            assert a.box_px == b.box_px
            np.testing.assert_array_equal(a.landmarks_px, b.landmarks_px)
            assert a.eyes.pupil_diameter_px == b.eyes.pupil_diameter_px or (
                math.isnan(a.eyes.pupil_diameter_px) and math.isnan(b.eyes.pupil_diameter_px))
