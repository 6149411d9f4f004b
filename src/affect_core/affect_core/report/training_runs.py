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

"""Training comparisons for the claims: one ``affect train`` run per arm, same recipe.

Arms (all on rig crops at the profile's sizes, seed 0, the default recipe otherwise):

- ``vit``: the emotion ViT (micro, conv stem), early stopping with patience 3;
- ``cnn``: a timm ResNet (resnet10t) trained by the very same loop (training/cnn.py);
- ``no_early_stop``: the ViT with patience = epochs (it runs every epoch; like every
  ``affect train`` run it keeps the weights of the best validation loss);
- ``quality_loss``: the ViT with the confidence-weighted (quality-weighted) loss;
- ``scratch_10`` / ``dino_10``: 10 % of the labels, from scratch or from an ``affect
  pretrain`` (DINO) backbone pretrained on the unlabelled training crops.

Each arm is scored in PyTorch on the held-out test crops of both presets (top-1, top-2,
macro recall, per crop), and the ViT and the CNN also on micro-expression crops: rig
frames inside a 40-200 ms expression (heterogeneous conditions, micro-expressions raised
to 3 per second), every other frame, cut by the pipeline's detector, intervals over
events. The ViT, quality-loss ViT pair also runs through the lab (heterogeneous rig) for
false-positive spikes. Synthetic data throughout.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from affect_core import labels
from affect_core.photo_eval import write_json
from affect_core.report.experiments import Profile

MICRO_RATE_HZ = 3.0
CNN_ARCH = "resnet10t"


def micro_expression_crops(seconds: float, size_px: int, seed: int = 0
                           ) -> tuple[npt.NDArray[np.uint16], list[str], list[int]]:
    """Crops of rig frames inside micro-expressions: (crops, true labels, event index)."""
    from affect_core.face.detect import iou
    from affect_core.face.detectors import SIM_DETECTOR, make_detector
    from affect_core.face.tracker import square_crop
    from affect_core.sim.rig import RigConfig, SimRig

    rig = SimRig(RigConfig(preset="heterogeneous", seed=seed, stereo_rate_hz=0.0,
                           factors=(("micro_expression_rate_hz", MICRO_RATE_HZ),)))
    detector = make_detector(SIM_DETECTOR, min_face_px=24, max_faces=1)
    crops, truth, events = [], [], []
    event, inside = -1, False
    for i in range(int(seconds * rig.config.fps)):
        frame = rig.step()
        micro = [p for p in frame.people if p.micro_expression]
        if not micro:
            inside = False
            continue
        if not inside:
            event, inside = event + 1, True
        if i % 2:
            continue
        found = detector.detect(frame.ir.data)
        if not found or iou(found[0].box_px, micro[0].box_px) < 0.5:
            continue
        crops.append(square_crop(frame.ir.data, found[0].box_px, 1.2, size_px))
        truth.append(micro[0].category)
        events.append(event)
    return (np.stack(crops).astype(np.uint16) if crops
            else np.zeros((0, size_px, size_px), np.uint16), truth, events)


def _predict(model: Any, crops: npt.NDArray[np.generic], size_px: int) -> npt.NDArray[np.float64]:
    import torch

    from affect_core.model.runtime import preprocess

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(crops), 256):
            x = torch.from_numpy(preprocess(list(crops[i:i + 256]), size_px))
            out.append(model(x)[0].numpy().astype(np.float64))
    return np.concatenate(out) if out else np.zeros((0, len(labels.EXPRESSIONS)))


def eager_window_ms(model: Any, crops: npt.NDArray[np.generic], size_px: int,
                    repeats: int = 50, k: int = 8) -> float:
    """Median PyTorch eager milliseconds for one window of ``k`` crops, one thread."""
    import torch

    from affect_core.model.runtime import preprocess

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    x = torch.from_numpy(preprocess(list(crops[:k]), size_px))
    times = []
    try:
        with torch.no_grad():
            model(x)
            for _ in range(repeats):
                start = time.perf_counter()
                model(x)
                times.append(1e3 * (time.perf_counter() - start))
    finally:
        torch.set_num_threads(threads)
    return float(np.median(times))


def _arm_figures(model: Any, config: Any, tests: dict[str, Any],
                 micro: tuple[npt.NDArray[np.uint16], list[str], list[int]] | None
                 ) -> dict[str, Any]:
    crops = np.concatenate([t.crops for t in tests.values()])
    truth = np.concatenate([t.label_index for t in tests.values()])
    logits = _predict(model, crops, config.crop_size_px)
    top2 = np.argsort(-logits, axis=1)[:, :2]
    out: dict[str, Any] = {
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "test_truth": truth.tolist(),
        "test_predicted": logits.argmax(axis=1).tolist(),
        "test_top2": (top2 == truth[:, None]).any(axis=1).astype(int).tolist(),
        "window_ms_eager": eager_window_ms(model, crops, config.crop_size_px)
        if len(crops) else float("nan")}
    if micro is not None:
        names = [config.expressions[i] for i in _predict(model, micro[0],
                                                         config.crop_size_px).argmax(axis=1)]
        out["micro_correct"] = [int(n == t) for n, t in zip(names, micro[1])]
        out["micro_events"] = micro[2]
    return out


def _spikes(params_file: str, onnx: Path, profile: Profile) -> dict[str, Any]:
    from affect_core import evaluation as ev

    result = ev.evaluate_fusion(params_file, profile.spike_lab_s, profile.people, 0, str(onnx),
                                presets=("heterogeneous",))[0]
    return {"spikes": round(result.spikes_per_min_fused * result.minutes),
            "person_minutes": result.minutes, "windows": result.windows}


def measure_training(profile: Profile, out: Path, params_file: str) -> Path:
    """Train every arm of the module docstring and save what the claims need."""
    from affect_core.training import dino
    from affect_core.training.train import TrainConfig, load_weights, render_splits, train

    runs = out / "training"
    cache = runs / "crops"
    base = TrainConfig(train_samples=profile.train_samples, val_samples=profile.val_samples,
                       test_samples=profile.test_samples, epochs=profile.epochs,
                       batch_size=profile.batch_size, crop_size_px=profile.crop_px, seed=0)
    pretrained = runs / "dino.pt"
    dino_config = dino.DinoConfig(samples=profile.dino_samples, epochs=profile.dino_epochs,
                                  batch_size=profile.dino_batch, local_crops=2, out_dim=256,
                                  crop_size_px=profile.crop_px, seed=0)
    start = time.perf_counter()
    dino_run = dino.pretrain(dino_config, pretrained, progress=False, cache=cache)
    dino_s = time.perf_counter() - start  # its crops rendered included
    few = replace(base, label_fraction=0.1, batch_size=profile.dino_batch)
    arms = {"vit": base, "cnn": replace(base, arch=CNN_ARCH),
            "no_early_stop": replace(base, patience=profile.epochs),
            "quality_loss": replace(base, quality_weighting=True),
            "scratch_10": few, "dino_10": replace(few, init=str(pretrained))}
    micro = micro_expression_crops(profile.micro_s, 64)
    figures: dict[str, Any] = {}
    for name, config in arms.items():
        path = runs / f"{name}.onnx"
        start = time.perf_counter()
        report = train(config, path, progress=False, cache=cache)
        model, _, _ = load_weights(path.with_suffix(".pt"))
        tests = render_splits(config, False, cache)[2]
        figures[name] = {"config": config.to_dict(), "train_s": time.perf_counter() - start,
                         "epochs_run": len(report["history"]), "model_id": report["model_id"],
                         **_arm_figures(model, config, tests,
                                        micro if name in ("vit", "cnn") else None)}
    for name in ("vit", "quality_loss"):
        figures[name]["lab"] = _spikes(params_file, runs / f"{name}.onnx", profile)
    path = out / "training.json"
    write_json({"kind": "training", "profile": profile.name,
                "data": f"synthetic rig crops at {profile.crop_px} px: "
                        f"{profile.train_samples} training, {profile.val_samples} validation, "
                        f"{profile.test_samples} test crops per preset, seed 0, "
                        f"{profile.epochs} epochs at most",
                "micro_data": f"{len(micro[1])} micro-expression crops from "
                              f"{len(set(micro[2]))} events ({profile.micro_s:.0f} s of "
                              f"heterogeneous rig, {MICRO_RATE_HZ:.0f} per second)",
                "dino": {"crops": dino_run["crops"], "history": dino_run["history"],
                         "out_dim": dino_config.out_dim,
                         "train_s": dino_s},
                "arms": figures}, path)
    return path
