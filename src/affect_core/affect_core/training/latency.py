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

"""``affect bench backends``: per-window latency of the emotion model, eager vs ONNX Runtime.

One window hands the model K crops in one batch. The same weights run as PyTorch eager,
as the exported ONNX file in ONNX Runtime (FP32) and as its dynamic INT8 quantisation,
round-robin in one run so that load from other processes hits all three alike; the
figures are medians and 90th percentiles over the rounds, and ratios against eager.
INT8's agreement with FP32 (same top label) on held-out rig crops is printed beside it,
since speed bought with wrong answers is no gain.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from affect_core import labels
from affect_core.model.runtime import EmotionModel, preprocess
from affect_core.training.dataset import render_crops
from affect_core.training.export import export_onnx, quantize_int8
from affect_core.training.train import TrainConfig, load_weights, rig_identity
from affect_core.training.vit import AffectViT


@dataclass
class BackendLatency:
    """Latency of one backend for one K-crop window."""

    name: str
    median_ms: float
    p90_ms: float


def bench_model(weights: Path | None, k: int = 8, rounds: int = 200,
                threads: int = 1) -> tuple[list[BackendLatency], float, str]:
    """Time eager, ORT FP32 and ORT INT8; return latencies, INT8 agreement and a source line."""
    torch.set_num_threads(threads)
    if weights is not None:
        model, config, temperature = load_weights(weights)
        source = f"weights {weights}"
    else:
        torch.manual_seed(0)
        config, temperature = TrainConfig(), 1.0
        model = AffectViT(len(labels.EXPRESSIONS), config.size, config.crop_size_px,
                          config.patch_size, config.stem).eval()
        source = ("the shipped architecture with untrained weights (latency does not depend "
                  "on weight values; INT8 agreement does, pass --weights for it)")
    size = config.crop_size_px
    held_out = render_crops(max(k, 200), "heterogeneous", seed=4242, crop_size_px=size,
                            progress=False, expressions=config.expressions)
    window = torch.from_numpy(preprocess(list(held_out.crops[:k]), size))
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path, int8_path = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        export_onnx(model, fp32_path, temperature, config, *rig_identity(config))
        quantize_int8(fp32_path, int8_path)
        fp32 = EmotionModel(fp32_path, "cpu", threads)
        int8 = EmotionModel(int8_path, "cpu", threads)
        feed = window.numpy()
        names = ["logits", "valence_arousal"]

        def eager() -> object:
            with torch.no_grad():
                return model(window)

        backends: dict[str, Callable[[], object]] = {
            "PyTorch eager": eager,
            "ONNX Runtime FP32": lambda: fp32.session.run(names, {"crops": feed}),
            "ONNX Runtime INT8": lambda: int8.session.run(names, {"crops": feed}),
        }
        times: dict[str, list[float]] = {name: [] for name in backends}
        for name, run in backends.items():  # warm-up
            for _ in range(5):
                run()
        for _ in range(rounds):
            for name, run in backends.items():
                start = time.perf_counter()
                run()
                times[name].append((time.perf_counter() - start) * 1e3)
        crops = list(held_out.crops)
        agreement = float(np.mean(fp32.predict(crops)[0].argmax(1)
                                  == int8.predict(crops)[0].argmax(1)))
    results = [BackendLatency(name, float(np.median(t)), float(np.percentile(t, 90)))
               for name, t in times.items()]
    return results, agreement, source


def format_model_bench(results: list[BackendLatency], agreement: float, source: str, k: int,
                       threads: int) -> str:
    """Format the printed table."""
    eager = results[0].median_ms
    lines = [f"emotion model, one window of K={k} crops, {threads} thread(s), CPU; {source}:",
             f"{'backend':<20}{'median ms':>10}{'p90 ms':>9}{'x eager':>9}"]
    for r in results:
        lines.append(f"{r.name:<20}{r.median_ms:>10.2f}{r.p90_ms:>9.2f}"
                     f"{eager / r.median_ms:>9.2f}")
    lines.append(f"INT8 top label agrees with FP32 on {agreement:.1%} of held-out "
                 "heterogeneous rig crops (synthetic)")
    return "\n".join(lines)
