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

"""Figures of one model on one data set, drawn with matplotlib and embedded as PNG.

Each function takes the figures dict that affect_core.photo_metrics.score returns (the
same for photographs and rig crops) and returns the PNG bytes of one plot, so the page
needs neither the data nor a re-run. matplotlib is imported here only (the ``report``
extra); the Agg backend draws without a display.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

from affect_core.errors import AffectError

DPI = 96
SIZE_IN = (4.6, 3.4)


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise AffectError("affect report needs matplotlib: pip install "
                          "'affect-core[report]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=DPI)
    _pyplot().close(fig)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """Encode PNG bytes as a data: URI, so the page opens offline from one file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def reliability_png(figures: dict[str, Any], title: str) -> bytes:
    """Draw accuracy against mean confidence per bin, bar widths the bins, ECE in the legend."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=SIZE_IN)
    rows = figures.get("reliability") or []
    total = sum(r["n"] for r in rows) or 1
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    ax.bar([r["low"] for r in rows], [_num(r["accuracy"]) for r in rows],
           width=[r["high"] - r["low"] for r in rows], align="edge", alpha=0.6,
           edgecolor="black", label=f"accuracy per bin (ECE {_num(figures['ece']):.3f})")
    ax.scatter([r["confidence"] for r in rows], [_num(r["accuracy"]) for r in rows],
               s=[8 + 200 * r["n"] / total for r in rows], color="C3", zorder=3,
               label="mean confidence (area: share)")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="stated confidence", ylabel="accuracy",
           title=title)
    ax.legend(fontsize=7, loc="upper left")
    return _png(fig)


def coverage_png(figures: dict[str, Any], title: str,
                 abstain_below: float | None = None) -> bytes:
    """Draw accuracy against coverage when answering only the most confident samples."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=SIZE_IN)
    points = figures.get("coverage_curve") or []
    ax.plot([p["coverage"] for p in points], [_num(p["accuracy"]) for p in points],
            marker="o", ms=3, label="answering the most confident share")
    coverage, answered = _num(figures.get("coverage")), _num(figures.get("accuracy_answered"))
    if math.isfinite(coverage) and math.isfinite(answered):
        found = _num(figures.get("face_found", 1.0)) or 1.0
        label = "shipped threshold" + (f" {abstain_below:.3f}" if abstain_below else "")
        ax.scatter([coverage / found], [answered], color="C3", zorder=3, label=label)
    ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="coverage (share of faces answered)",
           ylabel="accuracy of the answered", title=title)
    ax.legend(fontsize=7, loc="lower left")
    return _png(fig)


def confusion_png(figures: dict[str, Any], title: str) -> bytes:
    """Draw the confusion matrix, rows the truth normalised, cells labelled with counts."""
    plt = _pyplot()
    confusion = figures.get("confusion") or {}
    truths = list(confusion)
    columns = list(next(iter(confusion.values()))) if confusion else []
    fig, ax = plt.subplots(figsize=(max(4.6, 0.5 * len(columns) + 1.8),
                                    max(3.4, 0.4 * len(truths) + 1.6)))
    counts = [[confusion[t][c] for c in columns] for t in truths]
    shares = [[v / max(sum(row), 1) for v in row] for row in counts]
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                    color="white" if shares[i][j] > 0.6 else "black")
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(truths)), truths, fontsize=7)
    ax.set(xlabel="predicted", ylabel="truth", title=title)
    return _png(fig)


def _bars(names: Sequence[str], values: Sequence[float], intervals: Sequence[Sequence[Any]],
          counts: Sequence[int], ylabel: str, title: str) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4.6, 0.55 * len(names) + 1.5), 3.4))
    heights = [_num(v) for v in values]
    low = [h - _num(i[0]) if i and i[0] is not None else 0.0 for h, i in zip(heights, intervals)]
    high = [_num(i[1]) - h if i and i[1] is not None else 0.0
            for h, i in zip(heights, intervals)]
    ax.bar(range(len(names)), [0.0 if math.isnan(h) else h for h in heights],
           yerr=[[max(v, 0.0) if math.isfinite(v) else 0.0 for v in low],
                 [max(v, 0.0) if math.isfinite(v) else 0.0 for v in high]],
           capsize=3, color="C0", alpha=0.8)
    ax.set_xticks(range(len(names)), [f"{n}\n(n {c})" for n, c in zip(names, counts)],
                  fontsize=7, rotation=30 if len(names) > 5 else 0)
    ax.set(ylim=(0, 1.05), ylabel=ylabel)
    ax.set_title(title, fontsize=9)
    return _png(fig)


def recall_png(figures: dict[str, Any], title: str) -> bytes:
    """Draw per-class recall with its 95 % interval and the class count under each bar."""
    per_class = figures.get("per_class") or {}
    return _bars(list(per_class), [v["recall"] for v in per_class.values()],
                 [v.get("interval") or [] for v in per_class.values()],
                 [v["n"] for v in per_class.values()], "recall", title)


def subgroup_png(figures: dict[str, Any], title: str) -> bytes:
    """Draw top-1 per subgroup with its interval; the gap best - worst is in the title."""
    groups = figures.get("subgroups") or {}
    gap = _num(figures.get("subgroup_gap"))
    return _bars(list(groups), [g["top1"] for g in groups.values()],
                 [g.get("interval") or [] for g in groups.values()],
                 [g["n"] for g in groups.values()], "top-1 accuracy",
                 f"{title} (gap {gap:.3f})" if math.isfinite(gap) else title)


def latency_png(times_ms: Sequence[float], title: str) -> bytes:
    """Draw the histogram of per-window latencies with the median and 95th percentile."""
    plt = _pyplot()
    import numpy as np

    fig, ax = plt.subplots(figsize=SIZE_IN)
    values = np.asarray(times_ms, np.float64)
    ax.hist(values, bins=30, color="C2", alpha=0.8)
    if len(values):
        for q, style in ((50, "-"), (95, "--")):
            v = float(np.percentile(values, q))
            ax.axvline(v, color="black", ls=style, lw=1, label=f"p{q} {v:.2f} ms")
        ax.legend(fontsize=7)
    ax.set(xlabel="ms per window", ylabel="windows", title=title)
    return _png(fig)


def frontier_png(result: dict[str, Any]) -> bytes:
    """Plot top-1, macro recall and subgroup gap against labels spent, a row per pool.

    ``result`` is what ``affect frontier-curves`` saves: every strategy's mean and spread
    over seeds at each labels-spent step.
    """
    plt = _pyplot()
    pools, steps = result["pools"], result["steps"]
    fig, axes = plt.subplots(len(pools), 3, figsize=(13, 3.4 * len(pools)), squeeze=False)
    for row, pool in zip(axes, pools):
        for ax, key, title in zip(row, ("accuracy", "macro_recall", "subgroup_gap"),
                                  ("top-1", "macro recall", "worst-subgroup gap")):
            for strategy, figures in pool["summary"].items():
                ax.errorbar(steps, figures[key]["mean"], yerr=figures[key]["sd"],
                            label=strategy, marker="o", capsize=2)
            ax.set_xscale("log")
            ax.minorticks_off()
            ax.set_xticks(steps, [str(n) for n in steps])
            ax.set_xlabel("labels spent")
            ax.set_title(f"{title}\n{pool['name']}", fontsize=8)
        row[0].legend(fontsize=7)
    fig.suptitle("Label less: SOM frontier vs random, uncertainty and k-means (linear probe "
                 "on frozen embeddings)", fontsize=10)
    return _png(fig)
