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


"""The pretrained face models: files, BlazeFace on photographs and the rig, the mesh, bad input.

Photographs come from scikit-image (the test extra): ``astronaut`` holds one real face whose
eye centres were located by hand at (204, 101) and (246, 104) px (the pupils; the image is
512x512, the face about 100 px wide).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from affect_core.errors import ConfigError, InputError, ModelError
from affect_core.face.blazeface import VARIANTS, BlazeFaceDetector, anchor_centres
from affect_core.face.detect import Detection
from affect_core.face.detector_eval import (
    ASTRONAUT_EYES_PX,
    match,
    rig_frames,
    score_landmarks,
    score_rig,
)
from affect_core.face.detectors import make_detector
from affect_core.face.mesh import MeshLandmarker, make_landmarker
from affect_core.face.onnx_models import FACE_MODEL_DIR, open_session
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig
from affect_core.sim.face_model import LANDMARK_NAMES

skimage_data = pytest.importorskip("skimage.data")

# File, input shape, output shapes: the table in models/face/README.md.
MODEL_SHAPES = {
    "face_detection_short_range.onnx": ((1, 3, 128, 128), [(1, 896, 16), (1, 896, 1)]),
    "face_detection_full_range.onnx": ((1, 3, 192, 192), [(1, 2304, 16), (1, 2304, 1)]),
    "face_landmark.onnx": ((1, 3, 192, 192), [(1, 1404, 1, 1), (1, 1, 1, 1)]),
    "iris_landmark.onnx": ((1, 3, 64, 64), [(1, 213), (1, 15)]),
}


def _at(name: str) -> int:
    return LANDMARK_NAMES.index(name)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2GRAY)


@pytest.fixture(scope="module")
def mesh() -> MeshLandmarker:
    return MeshLandmarker()


@pytest.mark.parametrize("name", sorted(MODEL_SHAPES))
def test_model_files_load_and_give_documented_shapes(name: str) -> None:
    input_shape, output_shapes = MODEL_SHAPES[name]
    session = open_session(FACE_MODEL_DIR / name, input_shape)
    outputs = session.run(None, {session.get_inputs()[0].name:
                                 np.zeros(input_shape, np.float32)})
    assert [o.shape for o in outputs] == output_shapes
    assert all(np.isfinite(o).all() for o in outputs)


def test_anchor_count_matches_each_model() -> None:
    assert anchor_centres(VARIANTS["short"]).shape == (896, 2)
    assert anchor_centres(VARIANTS["full"]).shape == (2304, 2)


@pytest.mark.parametrize("name", ["blazeface", "blazeface_whole", "blazeface_short"])
def test_blazeface_finds_the_astronaut_face(astronaut: np.ndarray, name: str) -> None:
    detector = make_detector(name)
    for image in (astronaut, astronaut.astype(np.uint16) * 257):  # mono8 and mono16
        found = detector.detect(image)
        assert len(found) == 1
        x, y, w, h = found[0].box_px
        for ex, ey in ASTRONAUT_EYES_PX:
            assert x < ex < x + w and y < ey < y + h
        eye_distance = ASTRONAUT_EYES_PX[1][0] - ASTRONAUT_EYES_PX[0][0]
        assert 1.5 * eye_distance < w < 4.0 * eye_distance
        assert found[0].score > 0.7


def test_blazeface_finds_nothing_without_a_face() -> None:
    detector = BlazeFaceDetector("full")
    noise = np.random.default_rng(0).integers(0, 65535, (480, 640), dtype=np.uint16)
    assert detector.detect(np.zeros((480, 640), np.uint16)) == []
    assert detector.detect(np.full((480, 640), 30000, np.uint16)) == []
    assert detector.detect(noise) == []


def test_blazeface_finds_many_faces_up_to_max_faces(astronaut: np.ndarray) -> None:
    # Four astronauts in a 1024x1024 frame: each face is ~100 px, under a tenth of the
    # frame, so the whole-frame pass misses them and the tiles find them.
    mosaic = np.tile(astronaut, (2, 2))
    assert make_detector("blazeface_whole", max_faces=8).detect(mosaic) == []
    found = make_detector("blazeface", max_faces=8).detect(mosaic)
    assert len(found) == 4
    for dx, dy in ((0, 0), (512, 0), (0, 512), (512, 512)):
        eyes = [(ex + dx, ey + dy) for ex, ey in ASTRONAUT_EYES_PX]
        assert sum(all(x < ex < x + w and y < ey < y + h for ex, ey in eyes)
                   for x, y, w, h in (d.box_px for d in found)) == 1
    capped = make_detector("blazeface", max_faces=2).detect(mosaic)
    assert [d.box_px for d in capped] == [d.box_px for d in found[:2]]


def test_blazeface_recall_on_the_rig() -> None:
    # Measured on these clips: tiled BlazeFace recall 1.0, precision 1.0 (the blob
    # detector: 0.4 on the heterogeneous clip); whole-frame BlazeFace on the curated
    # two-person clip 0.975.
    frames = rig_frames("heterogeneous", 1, 2.0, 24, 0)
    score = score_rig(make_detector("blazeface"), "blazeface", "rig", frames)
    assert score.truths == 10
    assert score.recall >= 0.9 and score.precision >= 0.9
    frames = rig_frames("curated", 2, 2.0, 12, 0)
    score = score_rig(make_detector("blazeface_whole"), "blazeface_whole", "rig", frames)
    assert score.truths == 40
    assert score.recall >= 0.85 and score.precision >= 0.95


def test_match_counts_hits_false_positives_and_dont_care() -> None:
    truths = [(0, 0, 100, 100), (200, 0, 100, 100)]
    dets = [Detection((5, 5, 100, 100), 0.9), Detection((0, 0, 100, 100), 0.8),
            Detection((400, 0, 50, 50), 0.7), Detection((600, 0, 50, 50), 0.6)]
    # Two detections on the first face: one hit, one false positive; the second face is
    # missed; the detection on the don't-care face counts for nothing.
    assert match(dets, truths, [(600, 0, 50, 50)]) == (1, 2)


def test_mesh_landmarks_on_the_astronaut_are_in_face_order(astronaut: np.ndarray,
                                                           mesh: MeshLandmarker) -> None:
    box = BlazeFaceDetector("full").detect(astronaut)[0].box_px
    result = mesh.locate(astronaut, box)
    assert result is not None and result.confidence > 0.9
    p = result.points_px
    assert result.mesh_px is not None and result.mesh_px.shape == (468, 3)
    # The subject's right eye is at the image left; each eye lies on its hand-located pupil.
    for side, (ex, ey) in zip("rl", ASTRONAUT_EYES_PX):
        corners = p[[_at(f"eye_{side}_outer"), _at(f"eye_{side}_inner")]]
        assert corners[:, 0].min() < ex < corners[:, 0].max()
        assert abs(corners[:, 1].mean() - ey) < 6.0
    eye_y = p[[_at("eye_r_outer"), _at("eye_l_outer")], 1].mean()
    assert p[_at("brow_r_mid"), 1] < eye_y < p[_at("nose_tip"), 1] < p[_at("lip_upper"), 1]
    assert p[_at("lip_upper"), 1] < p[_at("lip_lower"), 1] < p[_at("chin"), 1]
    assert p[_at("mouth_r_corner"), 0] < p[_at("lip_upper"), 0] < p[_at("mouth_l_corner"), 0]
    ocular = np.linalg.norm(p[_at("eye_r_outer")] - p[_at("eye_l_outer")])
    assert 0.45 * box[2] < ocular < 0.8 * box[2]
    # Irises: centres on the pupils, radius a plausible share of the eye width (~0.2).
    assert result.iris_px is not None
    for (cx, cy, radius), (ex, ey) in zip(result.iris_px, ASTRONAUT_EYES_PX):
        assert math.hypot(cx - ex, cy - ey) < 3.0
        assert 0.1 * ocular / 2.0 < radius < 0.35 * ocular / 2.0


def test_mesh_follows_head_roll(astronaut: np.ndarray, mesh: MeshLandmarker) -> None:
    upright = mesh.locate(astronaut, BlazeFaceDetector("full").detect(astronaut)[0].box_px)
    rotation = cv2.getRotationMatrix2D((225.0, 130.0), 25.0, 1.0)
    rolled = cv2.warpAffine(astronaut, rotation, astronaut.shape[::-1])
    box = BlazeFaceDetector("full").detect(rolled)[0].box_px
    result = mesh.locate(rolled, box)
    assert upright is not None and result is not None
    expected = np.c_[upright.points_px, np.ones(len(LANDMARK_NAMES))] @ rotation.T
    # Measured 1.6 px mean for a ~60 px inter-ocular distance.
    assert np.linalg.norm(result.points_px - expected, axis=1).mean() < 3.0


def test_mesh_landmarks_match_rig_truth(mesh: MeshLandmarker) -> None:
    frames = rig_frames("curated", 2, 1.0, 24, 0)
    loose = MeshLandmarker(roi_scale=1.2)  # true rig boxes hold the whole head
    on_truth = score_landmarks(loose.locate, frames, "rig", "true box")
    on_detected = score_landmarks(mesh.locate, frames, "rig", "blazeface box",
                                  make_detector("blazeface"))
    # Measured mean NME 0.043 (true boxes) and 0.047 (BlazeFace boxes) on curated frames.
    assert len(on_truth.nme) == 10 and on_truth.rejected == 0
    assert np.mean(on_truth.nme) < 0.07
    assert len(on_detected.nme) >= 8 and np.mean(on_detected.nme) < 0.07


@pytest.mark.parametrize("image", [
    np.zeros((480, 640), np.float32),
    np.zeros((480, 640, 3), np.uint8),
    np.zeros((0, 0), np.uint16),
    np.zeros((10, 10), np.uint16),
])
def test_bad_frames_raise_input_error(image: np.ndarray, mesh: MeshLandmarker) -> None:
    with pytest.raises(InputError):
        BlazeFaceDetector("short").detect(image)
    with pytest.raises(InputError):
        mesh.locate(image, (0, 0, 8, 8))


def test_mesh_reports_no_face_where_there_is_none(astronaut: np.ndarray,
                                                  mesh: MeshLandmarker) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (480, 640), dtype=np.uint8)
    assert mesh.locate(np.zeros((480, 640), np.uint16), (200, 200, 100, 100)) is None
    assert mesh.locate(noise, (200, 200, 100, 100)) is None
    assert mesh.locate(astronaut, (600, 600, 50, 50)) is None  # box outside the frame


def test_empty_face_box_raises_input_error(astronaut: np.ndarray,
                                           mesh: MeshLandmarker) -> None:
    with pytest.raises(InputError):
        mesh.locate(astronaut, (10, 10, 0, 30))


def test_missing_or_corrupt_model_raises_model_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="not found"):
        BlazeFaceDetector("full", model_dir=tmp_path)
    (tmp_path / "face_detection_full_range.onnx").write_bytes(b"not an onnx model")
    with pytest.raises(ModelError, match="cannot load"):
        BlazeFaceDetector("full", model_dir=tmp_path)
    with pytest.raises(ModelError):
        MeshLandmarker(model_dir=tmp_path)


def test_detector_and_landmarker_names_are_validated() -> None:
    with pytest.raises(ConfigError):
        make_detector("haar")
    with pytest.raises(ConfigError):
        BlazeFaceDetector("full", tiles=0)
    with pytest.raises(ConfigError):
        FaceTrackerConfig.from_params({"detector": "haar"})
    with pytest.raises(ConfigError):
        make_landmarker("dlib")
    assert make_landmarker("none") is None
    assert isinstance(make_landmarker("mesh", "blob"), MeshLandmarker)


def test_tracker_runs_with_blazeface_on_the_rig() -> None:
    config = FaceTrackerConfig.from_params({"detector": "blazeface"})
    tracker = FaceTracker(config)
    frames = rig_frames("curated", 2, 1.0, 12, 0)
    found = sum(len(tracker.process(f.ir).faces) for f in frames)
    assert found >= 0.85 * 2 * len(frames)


def test_eval_detectors_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    from affect_core.cli import main

    assert main(["eval", "detectors", "--duration", "0.5", "--stride", "30",
                 "--detectors", "blob,blazeface_whole"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()]
    whole = {" ".join(r[1:4]): r[4:] for r in rows if r[0] == "blazeface_whole"}
    blob = {" ".join(r[1:4]): r[4:] for r in rows if r[0] == "blob"}
    assert set(whole) == set(blob) == {
        "rig curated 1p", "rig curated 2p", "rig heterogeneous 1p", "rig heterogeneous 2p",
        "photo astronaut 1", "photo lfw_subset 100"}
    # Two frames per rig row; the rig's detector finds every curated face (as in 200
    # frames); the bright-blob detector, made for the rig's former drawings, finds none.
    assert whole["rig curated 1p"][:3] == ["2", "1.000", "1.000"]
    assert whole["rig curated 2p"][:3] == ["4", "1.000", "1.000"]
    assert blob["rig curated 2p"][:2] == ["4", "0.000"]
    mesh_rows = [r for r in rows if r[0] == "rig" and r[2] in ("true", "blazeface")]
    assert len(mesh_rows) == 4
    assert main(["eval", "detectors", "--duration", "0.5", "--detectors", "haar"]) == 2
    assert "unknown face detector" in capsys.readouterr().err
