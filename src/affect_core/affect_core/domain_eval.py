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

"""Score what each model says of inputs that are not faces it knows (--nonfaces).

Two ways in, both counted per model:

- whole frames, through the lab's face path: the 100 non-face images of scikit-image's
  LFW subset (grey natural-image patches, framed as affect_core.face.detector_eval frames
  them). Each is rejected when the detector finds no face, or when fusion abstains on the
  crop it cut; only an answered emotion counts against the model.
- crops handed straight to the model, past the detector: the same 100 non-face images,
  a black, a saturated and a noise crop, and faces drawn by the simulated rig (line
  drawings: out of the domain of a model that never saw them, in the domain of one
  trained on them). Counted: the share whose domain distance exceeds the model's
  threshold (models without a domain model have none to exceed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.data.photos import PhotoFaces
from affect_core.face.detector_eval import lfw_frames
from affect_core.fusion import ConfidenceFusion, FusionConfig
from affect_core.model.runtime import EmotionModel
from affect_core.photo_eval import single_frame_window
from affect_core.types import WindowPrediction

RIG_CROPS = 100


def _odd_crops(size_px: int, seed: int) -> dict[str, list[npt.NDArray[np.uint16]]]:
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 65535, (size_px, size_px)).astype(np.uint16)
    return {"black": [np.zeros((size_px, size_px), np.uint16)],
            "saturated": [np.full((size_px, size_px), 65535, np.uint16)],
            "noise": [noise]}


def _nonface_crops(frames: Sequence[npt.NDArray[np.uint8]], size_px: int
                   ) -> list[npt.NDArray[np.uint8]]:
    """Cut the centre of each framed LFW image (the image itself) at the crop size."""
    out = []
    for frame in frames:
        h, w = frame.shape
        side = min(h, w) // 2
        y0, x0 = (h - side) // 2, (w - side) // 2
        out.append(cv2.resize(frame[y0:y0 + side, x0:x0 + side], (size_px, size_px),
                              interpolation=cv2.INTER_AREA))
    return out


def evaluate_nonfaces(models: Sequence[Path], fusion: FusionConfig,
                      tracker_params: dict[str, Any], seed: int = 0) -> list[dict[str, Any]]:
    """Count per model the non-face frames answered and crops beyond the threshold."""
    from affect_core.training.dataset import render_crops

    _, others = lfw_frames()
    faces = PhotoFaces(tracker_params, border=0.0)  # the LFW frames are framed already
    size = faces.tracker.config.crop_size_px
    found = [faces.find(frame).observation for frame in others]
    crops: dict[str, list[Any]] = {"lfw non-faces": _nonface_crops(others, size),
                                   **_odd_crops(size, seed)}
    crops["rig faces (synthetic)"] = list(render_crops(RIG_CROPS, "curated", seed=seed + 77,
                                                       crop_size_px=size,
                                                       progress=False).crops)
    results = []
    for path in models:
        model = EmotionModel(path)
        fuse = ConfidenceFusion(fusion)
        answered = 0
        reasons: dict[str, int] = {}
        for i, obs in enumerate(found):
            if obs is None:
                reasons["no_face"] = reasons.get("no_face", 0) + 1
                continue
            p, va, ar, _, domain = model.predict_explained([obs.crop], attention=False)
            quality = np.array([obs.quality.pose_stability, obs.quality.lighting_consistency,
                                obs.quality.depth_consistency, obs.quality.sharpness])
            window = single_frame_window(i, obs.crop, quality)
            emotion = fuse.fuse(WindowPrediction(window, model.labels, p, va, ar,
                                                 model.metadata.model_id, None, domain))
            if emotion.abstained:
                reasons[emotion.abstain_reason] = reasons.get(emotion.abstain_reason, 0) + 1
            else:
                answered += 1
        beyond = {}
        for name, batch in crops.items():
            *_, domain = model.predict_explained(batch, attention=False)
            beyond[name] = (float(np.mean(domain > 1.0)) if domain is not None
                            else float("nan"))
        results.append({"model_id": model.metadata.model_id, "frames": len(others),
                        "rejected": 1.0 - answered / len(others), "reasons": reasons,
                        "out_of_domain_crops": beyond})
    return results


def format_nonfaces(results: Sequence[dict[str, Any]]) -> str:
    """Format one line per model: frames rejected (how), crops beyond the threshold."""
    lines = ["non-faces: scikit-image lfw_subset's 100 non-face images through the face path "
             "(rejected = no face found or abstained), and crops given straight to the model "
             "(share beyond its domain threshold; nan: the model has no domain model)"]
    for r in results:
        how = ", ".join(f"{k} {v}" for k, v in sorted(r["reasons"].items()))
        crops = ", ".join(f"{k} {v:.2f}" for k, v in r["out_of_domain_crops"].items())
        lines.append(f"  {r['model_id'].split('+')[0]}: rejected {100 * r['rejected']:.0f} % "
                     f"of {r['frames']} ({how}); out of domain: {crops}")
    return "\n".join(lines)
