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

"""``affect eval rig``: how models made for real faces read the rig, and the way back.

Printed side by side for the curated and the heterogeneous preset:

- every shipped emotion model on rig crops at apex (each expression at full intensity,
  eyes open; the rig's detector and the tracker's crop, as training/dataset.py cuts
  them): recall per class the model can say, with 95 % bootstrap intervals over crops,
  and macro recall over those classes;
- BlazeFace on the whole frame (no tiles): recall and precision against the rig's boxes;
- the face mesh's landmark error against the rig's truth (NME: mean error over the
  outer-eye distance), from true boxes;
- blinks found with the mesh landmarker against the rig's true blinks (F1);
- the sim-to-real gap the other way (with ``--data``): the rig-only model and the default
  model on the real photographs' test split (identity-disjoint; visible light, not IR).

Every figure here is on synthetic faces, except the last row's, and says so.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from affect_core import labels
from affect_core.face.detector_eval import rig_frames, score_landmarks, score_rig
from affect_core.face.detectors import SIM_DETECTOR, make_detector
from affect_core.face.evaluation import evaluate_run
from affect_core.face.tracker import FaceTrackerConfig
from affect_core.model.runtime import DEFAULT_MODEL, RIG_MODEL, EmotionModel, shipped_models
from affect_core.photo_metrics import percentile_interval
from affect_core.sinks.records import nan_to_none
from affect_core.training.dataset import render_crops

DOMAIN = "simulated rig (synthetic IR faces)"
PRESETS = ("curated", "heterogeneous")
CROP_PX = FaceTrackerConfig().crop_size_px
DRAWS = 500
NO_DATA = "not measured: needs --data (labelled photographs, e.g. ../shared/data/real_faces)"


def _recall_figures(truth: np.ndarray, predicted: np.ndarray, sayable: list[str],
                    seed: int) -> dict[str, Any]:
    """Per-class recall and macro recall with bootstrap intervals over crops."""
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(truth), len(truth)) for _ in range(DRAWS)]

    def recalls(rows: np.ndarray) -> dict[str, float]:
        t, p = truth[rows], predicted[rows]
        return {c: float((p[t == c] == c).mean()) if (t == c).any() else float("nan")
                for c in sayable}

    point = recalls(np.arange(len(truth)))
    samples = [recalls(rows) for rows in draws]

    macro = [float(np.nanmean(list(s.values()))) for s in samples]
    return {
        "per_class": {c: {"n": int((truth == c).sum()), "recall": point[c],
                          "interval": percentile_interval([s[c] for s in samples])}
                      for c in sayable},
        "macro_recall": float(np.nanmean(list(point.values()))),
        "macro_interval": percentile_interval(macro),
        "min_class_recall": float(np.nanmin(list(point.values()))),
    }


def peers_on_rig(samples: int, seed: int, progress: bool) -> dict[str, Any]:
    """Every shipped model on apex crops of both presets."""
    out: dict[str, Any] = {}
    models = [EmotionModel(path) for path in shipped_models()]
    for k, preset in enumerate(PRESETS):
        crops = render_crops(samples, preset, seed * 10 + 31 + k, CROP_PX, progress,
                             labels.EXPRESSIONS, apex=True)
        truth = np.array([labels.EXPRESSIONS[i] for i in crops.label_index])
        rows = []
        for model in models:
            probabilities, _, _ = model.predict(list(crops.crops))
            predicted = np.array([model.labels[i] for i in probabilities.argmax(axis=1)])
            sayable = [c for c in labels.EXPRESSIONS if c in model.labels]
            rows.append({"model_id": model.metadata.model_id,
                         "file": model.path.name,
                         "trained_on": model.metadata.training_data,
                         **_recall_figures(truth, predicted, sayable, seed)})
        out[preset] = {"crops": len(truth), "missed_by_detector": crops.missed, "models": rows}
    return out


def face_stage_on_rig(duration_s: float, seed: int) -> dict[str, Any]:
    """Score the rig's detector without tiles, mesh landmark error and blink F1 (mesh)."""
    from affect_core.face.mesh import ROI_SCALE_BY_DETECTOR, MeshLandmarker

    detector = make_detector(SIM_DETECTOR)
    mesh = MeshLandmarker(roi_scale=ROI_SCALE_BY_DETECTOR["blob"], iris=False)
    out: dict[str, Any] = {}
    for preset in PRESETS:
        frames = rig_frames(preset, 2, duration_s, 12, seed)
        detection = score_rig(detector, SIM_DETECTOR, f"rig {preset} 2p", frames)
        landmarks = score_landmarks(mesh.locate, frames, f"rig {preset}", "true box")
        config = replace(FaceTrackerConfig(), detector=SIM_DETECTOR)
        blinks = evaluate_run(preset, duration_s, 1, seed, landmarks="mesh", config=config)
        out[preset] = {
            "detector": SIM_DETECTOR, "faces": detection.truths,
            "detection_recall": detection.recall, "detection_precision": detection.precision,
            "mesh_nme_mean": float(np.mean(landmarks.nme)) if landmarks.nme else float("nan"),
            "mesh_nme_p90": (float(np.percentile(landmarks.nme, 90)) if landmarks.nme
                             else float("nan")),
            "mesh_rejected": landmarks.rejected,
            "blink_f1": blinks.blink_f1, "blinks_true": blinks.blinks_true,
            "blinks_found": blinks.blinks_found,
        }
    return out


def sim_to_real(data: Path | None, progress: bool) -> dict[str, Any]:
    """Score the rig-only model beside the default one on the photographs' test split."""
    if data is None:
        return {"measured": False, "reason": NO_DATA}
    from affect_core.fusion import FusionConfig
    from affect_core.photo_eval import evaluate_photos, load_photo_set

    photos = load_photo_set(data, "test", ("contempt",), 0, {}, progress)
    results = evaluate_photos(photos, [RIG_MODEL, DEFAULT_MODEL], FusionConfig(), DRAWS)
    return {"measured": True, **results}


def evaluate_rig(samples: int, duration_s: float, seed: int, data: Path | None,
                 progress: bool = True) -> dict[str, Any]:
    """Every figure of the module docstring."""
    return {"kind": "rig", "domain": DOMAIN, "samples_per_preset": samples,
            "duration_s": duration_s, "seed": seed,
            "peers": peers_on_rig(samples, seed, progress),
            "face_stage": face_stage_on_rig(duration_s, seed),
            "sim_to_real": sim_to_real(data, progress)}


def _ci(values: list[float]) -> str:
    return f"[{values[0]:.2f}, {values[1]:.2f}]"


def format_rig(result: dict[str, Any]) -> str:
    """Format the printed tables: curated and heterogeneous side by side."""
    lines = [f"Real-face models on rig crops at apex ({DOMAIN}; synthetic, not real people)",
             f"{'model':<34}{'class':<11}" + "".join(f"{p:>26}" for p in PRESETS)]
    peers = result["peers"]
    for row_index, row in enumerate(peers[PRESETS[0]]["models"]):
        rows = [peers[p]["models"][row_index] for p in PRESETS]
        for c in row["per_class"]:
            cells = "".join(
                f"{r['per_class'][c]['recall']:>6.2f} {_ci(r['per_class'][c]['interval']):>13}"
                f" n={r['per_class'][c]['n']:<4}" for r in rows)
            lines.append(f"{row['model_id'][:33]:<34}{c:<11}{cells}")
        cells = "".join(f"{r['macro_recall']:>6.2f} {_ci(r['macro_interval']):>13}       "
                        for r in rows)
        lines.append(f"{'':<34}{'macro':<11}{cells}")
    lines.append("  " + ", ".join(f"{p}: {peers[p]['crops']} crops, "
                                  f"{peers[p]['missed_by_detector']} missed by the detector"
                                  for p in PRESETS))
    stage = result["face_stage"]
    lines += ["", f"Face stage on the rig ({DOMAIN})",
              f"{'figure':<34}" + "".join(f"{p:>26}" for p in PRESETS)]
    for key, name in (("detection_recall", "BlazeFace, no tiles: recall"),
                      ("detection_precision", "BlazeFace, no tiles: precision"),
                      ("mesh_nme_mean", "mesh NME mean (true boxes)"),
                      ("mesh_nme_p90", "mesh NME p90"), ("blink_f1", "blink F1 (mesh)")):
        lines.append(f"{name:<34}" + "".join(f"{stage[p][key]:>26.3f}" for p in PRESETS))
    lines.append(f"{'blinks found / true':<34}" + "".join(
        f"{str(stage[p]['blinks_found']) + ' / ' + str(stage[p]['blinks_true']):>26}"
        for p in PRESETS))
    real = result["sim_to_real"]
    lines += ["", "Sim-to-real: models on real photographs, test split (visible light, not IR)"]
    if not real["measured"]:
        lines.append(f"  {real['reason']}")
    else:
        lines.append(f"  {real['photographs']} photographs, {real['identities']} identities")
        for m in real["models"]:
            lines.append(f"  {m['model_id'][:40]:<42} top-1 {m['top1']:.3f} "
                         f"{_ci(m['intervals']['top1'])}  macro recall "
                         f"{m['macro_recall']:.3f} {_ci(m['intervals']['macro_recall'])}")
    return "\n".join(lines)


def write_json(result: dict[str, Any], path: Path) -> None:
    """Write the figures as JSON (NaN as null), for affect report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nan_to_none(result), indent=2) + "\n", encoding="utf-8")
