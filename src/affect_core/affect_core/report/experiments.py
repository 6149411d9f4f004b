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

"""The measurements behind ``affect claims``, each saved as JSON in a results folder.

A profile sets every size: ``short`` (seconds, for the test suite: it checks the
machinery, its figures mean little) and ``full`` (the command that re-measures the
claims; about an hour on a 2-core machine). Every measurement reuses the project's own
commands' code: ``affect eval model|fusion|faces``, ``affect bench window``, ``affect
train`` and ``affect pretrain``.

Training comparisons (:mod:`affect_core.report.training_runs`) use small runs so that
they fit a CPU: 32 px crops, the sizes of the profile, seed 0, one run per arm.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from affect_core.photo_eval import write_json


@dataclass(frozen=True)
class Profile:
    """The sizes of one claims run."""

    name: str
    rig_samples: int  # rig crops per preset for affect eval model
    lab_s: float  # sensor seconds per lab run
    people: int
    window_s: float  # seconds of 120 fps stream through the windower
    train_samples: int
    val_samples: int
    test_samples: int
    epochs: int
    batch_size: int
    dino_samples: int
    dino_epochs: int
    dino_batch: int  # DINO's batch and the 10 %-label fine-tuning batch
    micro_s: float  # rig seconds rendered for micro-expression crops
    draws: int  # bootstrap draws
    spike_lab_s: float  # sensor seconds of each lab run that counts false-positive spikes
    crop_px: int = 32


PROFILES = {
    "short": Profile("short", 30, 2.0, 1, 10.0, 180, 40, 30, 1, 32, 32, 1, 16, 1.5, 30, 2.0),
    # Sized so that each comparison can show its effect: enough epochs for patience 3 to
    # stop a run, a DINO run long enough to leave a uniform output, and 10 person-minutes
    # of lab per arm for the spike counts.
    "full": Profile("full", 1500, 60.0, 2, 3600.0, 4000, 400, 500, 40, 128, 8000, 30, 16,
                    60.0, 500, 300.0),
}


def measure_models(profile: Profile, out: Path) -> list[Path]:
    """``affect eval model --json`` for the rig model and the default model."""
    from affect_core.model import scoring
    from affect_core.model.runtime import DEFAULT_MODEL, RIG_MODEL, EmotionModel

    splits = scoring.test_splits(profile.rig_samples, progress=False)
    paths = []
    for file in (RIG_MODEL, DEFAULT_MODEL):
        path = out / f"model_{file.stem}.json"
        write_json(scoring.model_json(EmotionModel(file), splits, profile.draws,
                                      latency_repeats=200 if profile.name == "full" else 40),
                   path)
        paths.append(path)
    return paths


def no_depth_params(params_file: str, folder: Path) -> Path:
    """Write a copy of ``params_file`` whose rig has no stereo pair: IR only, no depth."""
    from affect_core.params import load_params_file

    values = load_params_file(params_file)
    values.setdefault("sim_rig", {})["stereo_rate_hz"] = 0.0
    path = folder / "no_depth.yaml"
    path.write_text(yaml.safe_dump({node: {"ros__parameters": section}
                                    for node, section in values.items()}), encoding="utf-8")
    return path


def _windows(result: Any) -> list[dict[str, Any]]:
    return [{"confidence": w.confidence, "abstained": w.abstained,
             "correct": w.fused == w.truth} for w in result.windows_scored]


def measure_fusion(profile: Profile, out: Path, params_file: str) -> list[Path]:
    """``affect eval fusion --ablation --json``, and the heterogeneous run without depth."""
    from affect_core import evaluation as ev

    results = ev.evaluate_fusion(params_file, profile.lab_s, profile.people, 0)
    config = results[0].config
    assert config is not None
    fusion = out / "fusion.json"
    write_json(ev.fusion_json(results, config, profile.lab_s, profile.people,
                              ev.RIG_MODEL_NAME), fusion)
    with tempfile.TemporaryDirectory() as tmp:
        bare = ev.evaluate_fusion(str(no_depth_params(params_file, Path(tmp))), profile.lab_s,
                                  profile.people, 0, presets=("heterogeneous",))[0]
    depth = out / "depth.json"
    write_json({"kind": "depth", "model": ev.RIG_MODEL_NAME,
                "data": f"synthetic rig, heterogeneous, {profile.lab_s:.0f} s, "
                        f"{profile.people} people, seed 0; stereo at 30 Hz vs none",
                "with_depth": _windows(results[1]), "without_depth": _windows(bare)}, depth)
    return [fusion, depth]


def measure_window(profile: Profile, out: Path) -> Path:
    """``affect bench window``: windows out of a steady 120 fps stream, and throughput."""
    from affect_core import bench

    result = bench.bench_window(profile.window_s)
    path = out / "window.json"
    write_json({"kind": "window", "duration_s": profile.window_s, **asdict(result),
                "data": f"{profile.window_s:.0f} s of a 120 fps stream of 64 px crops, one "
                        "person, through the windower (2 s windows, hop 0.5 s), one core"},
               path)
    return path


def measure_faces(profile: Profile, out: Path, data: Path, params_file: str) -> Path:
    """``affect eval faces --split test --subgroup-column source --json``."""
    from affect_core import photo_eval
    from affect_core.data.photos import PHOTO_DETECTOR
    from affect_core.fusion import FusionConfig
    from affect_core.model.runtime import shipped_models
    from affect_core.params import load_params_file

    values = load_params_file(params_file)
    tracker = {**values.get("face_tracker", {}), "detector": PHOTO_DETECTOR}
    photos = photo_eval.load_photo_set(data, "test", ["contempt"], 0, tracker, False, "source")
    fusion = FusionConfig.from_params(values.get("confidence_fusion", {}))
    path = out / "faces_test.json"
    write_json(photo_eval.evaluate_photos(photos, shipped_models(), fusion, profile.draws), path)
    return path


def measure_all(profile: Profile, out: Path, params_file: str,
                faces: Path | None = None, training: bool = True) -> list[Path]:
    """Run every measurement of ``profile`` into ``out``; return the files written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [*measure_models(profile, out), *measure_fusion(profile, out, params_file),
             measure_window(profile, out)]
    if faces is not None:
        paths.append(measure_faces(profile, out, faces, params_file))
    if training:
        from affect_core.report import training_runs

        paths.append(training_runs.measure_training(profile, out, params_file))
    return paths
