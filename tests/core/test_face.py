"""The face tracker on the rig: recall, box accuracy, stable ids, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from affect_core.errors import InputError
from affect_core.face.detect import iou
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig
from affect_core.sim.rig import RigConfig, SimRig
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
