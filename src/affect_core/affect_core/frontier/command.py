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


"""``affect frontier``: embed a crops folder, map it, choose the queue, write it all."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affect_core.errors import DataError
from affect_core.frontier.embed import Embedded, crop_paths, embed_onnx, embed_weights, read_crop
from affect_core.frontier.pictures import contact_sheet, map_picture, write_png
from affect_core.frontier.queue import QueueItem, current_labels, read_labels, write_queue
from affect_core.frontier.som import SomConfig, choose, fit_map

CONTACT_EXTRA = 6  # crops of the node beyond the queued ones shown on its sheet, for context


@dataclass(frozen=True)
class FrontierRequest:
    """What ``affect frontier`` was asked for."""

    crops: Path
    out: Path
    budget: int
    model: Path | None = None
    weights: Path | None = None
    subgroups: Path | None = None
    labels: Path | None = None
    som: SomConfig = SomConfig()


def read_subgroups(path: Path, paths: list[str]) -> list[str]:
    """Subgroup of each crop from a CSV of ``path,subgroup`` (relative to the crops folder)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"path", "subgroup"} <= set(reader.fieldnames or []):
            raise DataError(f"{path} needs the columns path and subgroup")
        known = {row["path"]: row["subgroup"] for row in reader}
    missing = [p for p in paths if p not in known]
    if missing:
        raise DataError(f"{path} gives no subgroup for {len(missing)} crops, e.g. "
                        f"{missing[0]}; list every crop, or leave --subgroups out")
    return [known[p] for p in paths]


def embed(request: FrontierRequest) -> Embedded:
    """Embed the request's crops with its weights or model (default: the shipped model)."""
    paths = crop_paths(request.crops)
    if request.weights is not None:
        return embed_weights(paths, request.weights, root=request.crops)
    return embed_onnx(paths, request.model, root=request.crops)


def build_frontier(request: FrontierRequest, embedded: Embedded | None = None
                   ) -> dict[str, Any]:
    """Write queue.csv, queue.json, contact_sheets/node_RR_CC.png and map.png to ``out``."""
    embedded = embedded or embed(request)
    fitted = fit_map(embedded.embeddings, request.som)
    uncertainty = embedded.uncertainty()
    index = {p: i for i, p in enumerate(embedded.paths)}
    done = current_labels(read_labels(request.labels)) if request.labels else {}
    labelled = np.array(sorted(index[p] for p in done if p in index), np.int64)
    subgroups = (read_subgroups(request.subgroups, embedded.paths)
                 if request.subgroups else None)
    choice = choose(fitted, uncertainty, request.budget, labelled, subgroups)
    mass = fitted.mass()
    items = []
    for rank, (i, j, worth) in enumerate(zip(choice.index, choice.node, choice.worth), 1):
        predicted, confidence = "", float("nan")
        if embedded.probabilities is not None:
            predicted = embedded.labels[int(embedded.probabilities[i].argmax())]
            confidence = float(embedded.probabilities[i].max())
        items.append(QueueItem(rank, j, j // fitted.side, j % fitted.side, embedded.paths[i],
                               predicted, round(confidence, 4), round(float(uncertainty[i]), 4),
                               int(mass[j]), round(worth, 4),
                               subgroups[i] if subgroups else ""))
    out = request.out
    meta = {"crops": str(request.crops.resolve()), "model": embedded.model_id,
            "labels": list(embedded.labels), "side": fitted.side, "budget": request.budget,
            "som": asdict(request.som), "crops_total": len(embedded.paths),
            "already_labelled": int(len(labelled)),
            "quantization_error": fitted.quantization_error}
    write_queue(out / "queue.csv", items, meta)
    sheets = []
    for j in sorted(set(choice.node)):
        queued = [i for i, n in zip(choice.index, choice.node) if n == j]
        others = [int(i) for i in np.flatnonzero(fitted.node == j) if i not in queued]
        shown = queued + others[:CONTACT_EXTRA]
        sheet = out / "contact_sheets" / f"node_{j // fitted.side:02d}_{j % fitted.side:02d}.png"
        write_png(sheet, contact_sheet([read_crop(request.crops / embedded.paths[i])
                                        for i in shown]))
        sheets.append(str(sheet))
    write_png(out / "map.png", map_picture(fitted, embedded.probabilities, uncertainty,
                                           embedded.labels, set(choice.node)))
    return {**meta, "queued": len(items), "nodes_queued": len(set(choice.node)),
            "nodes_used": int((mass > 0).sum()), "contact_sheets": sheets,
            "queue": str(out / "queue.csv"), "map": str(out / "map.png")}
