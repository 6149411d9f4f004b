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


"""The pools ``affect frontier-curves`` measures on, the run, its table and its figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from affect_core.frontier.curves import (STRATEGIES, Pool, curve, entropy, labels_saved,
                                         standardised)
from affect_core.frontier.embed import embed_arrays

PUBLISHED_SAVING = 0.30  # the published SOM system: about 30 % less expert annotation


def photo_pools(root: Path, pool_size: int, seed: int = 0) -> list[Pool]:
    """Pool the real photographs' training split; hold its validation split out.

    Embedded twice: by the shipped model (trained on these photographs' labels, so its
    embedding has seen them: a flattering case) and by the rig model (never trained on a
    photograph: label-blind). Each photograph is taken as the face crop (no detector).
    """
    from affect_core.data.faces import load_faces
    from affect_core.data.splits import identity_split
    from affect_core.model.runtime import RIG_MODEL
    from affect_core.training.faces import PHOTO_EXPRESSIONS

    faces = load_faces(root / "labels.csv", subgroup_column="source")
    split = identity_split(faces.identities, seed=0)
    keep = [i for i in split["train"] if faces.records[i].label in PHOTO_EXPRESSIONS]
    rng = np.random.default_rng(seed)
    train = rng.permutation(keep)[:pool_size]
    test = [i for i in split["val"] if faces.records[i].label in PHOTO_EXPRESSIONS]
    images = [faces.records[i].image() for i in train]
    test_images = [faces.records[i].image() for i in test]
    y = np.array([PHOTO_EXPRESSIONS.index(faces.records[i].label) for i in train])
    y_test = np.array([PHOTO_EXPRESSIONS.index(faces.records[i].label) for i in test])
    groups = [faces.records[i].subgroup for i in test]
    data = (f"{root.name}: {len(train)} photographs of the identity split's training part "
            f"pooled, {len(test)} of its validation part held out; visible-light "
            "photographs converted to grey, crowd labels, not IR")
    pools = []
    for name, model, blind in (
            ("photographs, shipped model's embedding (has seen these labels)", None, False),
            ("photographs, rig model's embedding (label-blind)", RIG_MODEL, True)):
        feats, probs, _ = embed_arrays(images, model)
        feats_test, _, _ = embed_arrays(test_images, model)
        x, x_test = standardised(feats, feats_test)
        pools.append(Pool(name, x, y, entropy(probs), x_test, y_test, groups,
                          len(PHOTO_EXPRESSIONS), data, blind))
    return pools


def rig_pool(pool_size: int, test_size: int, cache: Path | None) -> Pool:
    """Heterogeneous rig crops (synthetic) embedded by the shipped model (never saw the rig)."""
    from affect_core.training.dataset import cached_crops
    from affect_core.training.faces import PHOTO_EXPRESSIONS

    crops = cached_crops(cache, int((pool_size + test_size) * 1.35), "heterogeneous", 901, 64,
                         False, PHOTO_EXPRESSIONS)
    n = min(pool_size, len(crops.crops) - test_size)
    feats, probs, _ = embed_arrays(list(crops.crops))
    x, x_test = standardised(feats[:n], feats[n:n + test_size])
    return Pool("rig heterogeneous (synthetic), shipped model's embedding (label-blind)", x,
                crops.label_index[:n], entropy(probs[:n]), x_test,
                crops.label_index[n:n + test_size], crops.subgroup[n:n + test_size],
                len(PHOTO_EXPRESSIONS), f"{n} heterogeneous rig crops pooled, "
                f"{len(x_test)} held out; synthetic faces", True)


def measure(pools: list[Pool], steps: tuple[int, ...], seeds: int) -> dict[str, Any]:
    """Run every strategy and seed on every pool; mean and spread per step, labels saved."""
    out: dict[str, Any] = {"kind": "frontier", "steps": list(steps), "seeds": seeds,
                           "pools": []}
    for pool in pools:
        runs = {s: [curve(pool, s, steps, seed) for seed in range(seeds)] for s in STRATEGIES}
        summary = {}
        for strategy, per_seed in runs.items():
            summary[strategy] = {key: {"mean": [float(np.mean([r[k][key] for r in per_seed]))
                                                for k in range(len(steps))],
                                       "sd": [float(np.std([r[k][key] for r in per_seed]))
                                              for k in range(len(steps))],
                                       "per_seed": [[float(r[k][key]) for k in
                                                     range(len(steps))] for r in per_seed]}
                                 for key in ("accuracy", "macro_recall", "subgroup_gap")}
        random = list(zip(steps, summary["random"]["accuracy"]["mean"]))
        saved = {s: labels_saved(list(zip(steps, summary[s]["accuracy"]["mean"])), random)
                 for s in STRATEGIES if s != "random"}
        out["pools"].append({"name": pool.name, "data": pool.data,
                             "label_blind": pool.label_blind, "pool": len(pool.x),
                             "held_out": len(pool.x_test), "summary": summary,
                             "labels_saved": saved})
    return out


def table(result: dict[str, Any]) -> str:
    """Render the result as plain-text tables, one block per pool."""
    steps = result["steps"]
    lines = ["Linear probe (logistic regression) on the frozen embedding, fitted on the "
             "chosen labels: a proxy for fine-tuning. Photographs are visible-light, grey, "
             "crowd-labelled, not IR; the rig is synthetic. Mean over "
             f"{result['seeds']} seeds (sd in brackets)."]
    for pool in result["pools"]:
        lines += ["", f"{pool['name']}: pool {pool['pool']}, held out {pool['held_out']}"]
        for key, title in (("accuracy", "top-1"), ("macro_recall", "macro recall"),
                           ("subgroup_gap", "worst-subgroup gap")):
            lines.append(f"  {title:<14}" + "".join(f"{n:>14}" for n in steps))
            for strategy in STRATEGIES:
                s = pool["summary"][strategy][key]
                lines.append(f"    {strategy:<12}" + "".join(
                    f"{m:>8.3f} ({d:.3f})" for m, d in zip(s["mean"], s["sd"])))
        for strategy, rows in pool["labels_saved"].items():
            cells = [("   -  " if r["saved"] is None else f"{r['saved']:+6.0%}") for r in rows]
            lines.append(f"  labels saved vs random at equal top-1, {strategy:<12}"
                         + " ".join(f"{n}:{c}" for n, c in zip(steps, cells)))
    lines.append(f"  (published SOM system: about {PUBLISHED_SAVING:.0%} less annotation)")
    return "\n".join(lines)


def figure(result: dict[str, Any], path: Path) -> None:
    """Write the curves as a PNG beside the figures (the report draws the same plot)."""
    from affect_core.report.figures import frontier_png

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(frontier_png(result))


def write_json(result: dict[str, Any], path: Path) -> None:
    """Write the result beside the figure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
