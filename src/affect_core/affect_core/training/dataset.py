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

"""Labelled face crops from the simulated rig, cut exactly as the pipeline cuts them.

Each sample is one rendered IR frame of one person holding an expression at a random
intensity, pose and lighting of the chosen preset; the crop comes from the same detector
and square_crop the face_tracker stage uses, so training and run time see the same
framing. Samples the detector misses, or where it boxes something other than the face
(IoU with the true box below 0.5), are skipped and counted.

Each crop carries its capture-quality evidence, pose stability x lighting consistency,
computed with the tracker's own definitions (affect_core.face.quality): the speed is the
face's rendered motion in face widths per second; the slow running median that lighting
stability compares against is the face's level at the preset's mid exposure gain (what
the tracker's running median settles to), so a crop taken at an exposure jump scores low.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from affect_core import labels
from affect_core.face import quality as capture_quality
from affect_core.face.detect import Detection, iou, to_float_image
from affect_core.face.detectors import SIM_DETECTOR, FaceDetector, make_detector
from affect_core.face.tracker import square_crop
from affect_core.sim.expressions import VALENCE_AROUSAL, action_units
from affect_core.sim.face_model import expressive_vertices_m, rotation_matrix, sample_identity
from affect_core.sim.face_render import face_box_px
from affect_core.sim.render import HeadState, Lighting
from affect_core.sim.conditions import OCCLUDERS, PRESETS
from affect_core.sim.scene import SceneRenderer


@dataclass
class CropSet:
    """Crops (N, S, S) uint16 with labels, valence/arousal targets, subgroups and quality."""

    crops: npt.NDArray[np.uint16]
    label_index: npt.NDArray[np.int64]
    valence: npt.NDArray[np.float32]
    arousal: npt.NDArray[np.float32]
    subgroup: list[str]
    preset: str
    missed: int
    quality: npt.NDArray[np.float32]  # pose stability x lighting consistency, in [0, 1]

    def __len__(self) -> int:
        return len(self.label_index)


def cached_crops(cache_dir: Path | None, count: int, preset: str, seed: int,
                 crop_size_px: int, progress: bool, expressions: tuple[str, ...]) -> CropSet:
    """render_crops, kept in ``cache_dir`` as .npz so repeated runs render each split once.

    The file name holds every argument the crops depend on; rendering is deterministic,
    so a cached split is the split.
    """
    if cache_dir is None:
        return render_crops(count, preset, seed, crop_size_px, progress, expressions)
    key = hashlib.sha256(json.dumps([count, preset, seed, crop_size_px, list(expressions)])
                         .encode()).hexdigest()[:16]
    path = cache_dir / f"crops_{preset}_{count}_{seed}_{crop_size_px}_{key}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return CropSet(stored["crops"], stored["label_index"], stored["valence"],
                           stored["arousal"], [str(g) for g in stored["subgroup"]], preset,
                           int(stored["missed"]), stored["quality"])
    data = render_crops(count, preset, seed, crop_size_px, progress, expressions)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, crops=data.crops, label_index=data.label_index, valence=data.valence,
             arousal=data.arousal, subgroup=np.array(data.subgroup, dtype=str),
             missed=data.missed, quality=data.quality)
    return data


def _detect_around(detector: FaceDetector, frame: npt.NDArray[np.uint16],
                   box: tuple[int, int, int, int]) -> list[Detection]:
    """Detect in a window twice the face's size, as the tracker does around a face it follows.

    Boxes come back in frame pixels. The whole-frame detector alone misses a fifth of the
    faces beyond about 1.1 m, which the tracker never depends on.
    """
    x0, y0, x1, y1 = box
    side = 2.0 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    wx0, wy0 = max(int(cx - side / 2.0), 0), max(int(cy - side / 2.0), 0)
    wx1 = min(int(cx + side / 2.0), frame.shape[1])
    wy1 = min(int(cy + side / 2.0), frame.shape[0])
    found = detector.detect(frame[wy0:wy1, wx0:wx1])
    return [Detection((d.box_px[0] + wx0, d.box_px[1] + wy0, d.box_px[2], d.box_px[3]),
                      d.score) for d in found]


def render_crops(count: int, preset: str, seed: int, crop_size_px: int = 64,
                 progress: bool = True,
                 expressions: tuple[str, ...] = labels.EXPRESSIONS,
                 apex: bool = False) -> CropSet:
    """Render ``count`` labelled crops of ``preset`` conditions, deterministically.

    Labels are indices into ``expressions`` (by default the whole vocabulary). With
    ``apex`` every expression is at full intensity with open eyes (how peers are scored).
    """
    cond = PRESETS[preset]
    # Time share of an occlusion under the preset (events/s x mean 1.2 s duration).
    occluded_share = min(cond.occlusion_rate_hz * 1.2, 1.0)
    rng = np.random.default_rng([seed, 7])
    renderer = SceneRenderer(640, 480, 560.0, 0.05, 3.0, seed)
    detector = make_detector(SIM_DETECTOR, min_face_px=24, max_faces=1)
    crops, label_index, valence, arousal, subgroups, qualities = [], [], [], [], [], []
    mid_gain = 0.5 * (cond.exposure_min + cond.exposure_max)
    missed = 0
    for i in tqdm(range(count), desc=f"rendering {preset} crops", disable=not progress,
                  unit="crop"):
        subgroup = cond.subgroups[int(rng.integers(0, len(cond.subgroups)))]
        identity = sample_identity(rng, i, subgroup)
        k = int(rng.integers(0, len(expressions)))
        category = expressions[k]
        intensity = 0.0 if category == labels.NEUTRAL else float(rng.uniform(0.6, 1.0))
        blink = float(rng.uniform(0.0, 1.0)) if rng.random() < 0.05 else 0.0
        if apex:
            intensity, blink = float(category != labels.NEUTRAL), 0.0
        aus = action_units(category, intensity)
        aus["blink"] = blink
        amp = np.radians(cond.pose_amplitude_deg) * np.array([1.0, 0.5, 0.3])
        jitter = np.radians(cond.pose_jitter_deg) * rng.normal(size=3)
        angles = rng.uniform(-1.0, 1.0, 3) * amp + jitter
        position = np.array([rng.uniform(-0.25, 0.25), rng.uniform(-0.1, 0.1),
                             rng.uniform(0.85, 1.25)])
        occluder = (OCCLUDERS[int(rng.integers(0, len(OCCLUDERS)))]
                    if rng.random() < occluded_share else "")
        speed_px_s = rng.uniform(0.0, 300.0, size=2) * (cond.pose_jitter_deg > 1.0)
        blur = speed_px_s * cond.motion_blur_exposure_s
        head = HeadState(identity, expressive_vertices_m(identity, aus),
                         rotation_matrix(*angles), position, occluder=occluder,
                         blur_px=(float(blur[0]), float(blur[1])), action_units=aus)
        lighting = Lighting(ambient=float(rng.uniform(cond.ambient_min, cond.ambient_max)),
                            exposure_gain=float(rng.uniform(cond.exposure_min,
                                                            cond.exposure_max)))
        frame = renderer.render_ir([head], lighting, rng)
        x0, y0, x1, y1 = face_box_px(head, renderer.ir_camera, margin_px=0)
        found = _detect_around(detector, frame, (x0, y0, x1, y1))
        if not found or iou(found[0].box_px, (x0, y0, x1 - x0, y1 - y0)) < 0.5:
            missed += 1  # a miss or a false detection: never train on a wrong crop
            continue
        crops.append(square_crop(frame, found[0].box_px, 1.2, crop_size_px))
        bx, by, bw, bh = found[0].box_px
        inner = to_float_image(frame[by + bh // 4:by + 3 * bh // 4, bx + bw // 4:bx + 3 * bw // 4])
        median = float(np.median(inner))
        lighting_score = capture_quality.lighting_consistency(
            inner, median * mid_gain / lighting.exposure_gain)
        speed = float(np.linalg.norm(speed_px_s)) / max(bw, 1)
        qualities.append(capture_quality.pose_stability(speed) * lighting_score)
        label_index.append(k)
        va = VALENCE_AROUSAL[category]
        valence.append(va[0] * intensity)
        arousal.append(va[1] * intensity)
        subgroups.append(subgroup)
    return CropSet(
        crops=np.stack(crops).astype(np.uint16) if crops else
        np.zeros((0, crop_size_px, crop_size_px), np.uint16),
        label_index=np.array(label_index, np.int64),
        valence=np.array(valence, np.float32),
        arousal=np.array(arousal, np.float32),
        subgroup=subgroups,
        preset=preset,
        missed=missed,
        quality=np.array(qualities, np.float32),
    )
