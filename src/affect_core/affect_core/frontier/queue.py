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


"""The labelling queue and the labels file, shared by frontier, label and train --labels.

``queue.csv`` (one row per crop to label, best first): rank, node, node_row, node_col,
path (relative to the crops folder), predicted, confidence, uncertainty, node_mass, worth,
subgroup. ``queue.json`` beside it: the crops folder, the model, the map's side and seed,
so ``affect label --queue queue.csv`` needs nothing else.

``labels.csv``: path, label, node, how (key, node: 'whole node is X', skip), at (UTC ISO
time). The last row for a path wins; a skip is kept so a resumed session does not show the
crop again, and training ignores it. Every write goes to a temporary file in the same
folder and is renamed over the old one, so a crash leaves the old file or the new, never
half of one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from affect_core import labels as vocabulary
from affect_core.errors import DataError

QUEUE_COLUMNS = ("rank", "node", "node_row", "node_col", "path", "predicted", "confidence",
                 "uncertainty", "node_mass", "worth", "subgroup")
LABEL_COLUMNS = ("path", "label", "node", "how", "at")
HOWS = ("key", "node", "skip")
SKIP = "skip"


@dataclass(frozen=True)
class QueueItem:
    """One crop to label."""

    rank: int
    node: int
    node_row: int
    node_col: int
    path: str
    predicted: str
    confidence: float
    uncertainty: float
    node_mass: int
    worth: float
    subgroup: str = ""


@dataclass(frozen=True)
class LabelRow:
    """One decision of the labeller."""

    path: str
    label: str
    node: int
    how: str
    at: str


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it (fsynced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_text(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _read_rows(path: Path, columns: tuple[str, ...], kind: str) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"{kind} not found: {path}")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path} is not a {kind}: columns {missing} are missing "
                            f"(expected {', '.join(columns)})")
        return list(reader)


def write_queue(path: Path, items: list[QueueItem], meta: dict[str, Any]) -> None:
    """Write ``queue.csv`` and its ``queue.json`` (crops folder, model, map) atomically."""
    atomic_write_text(path, _csv_text(QUEUE_COLUMNS, [asdict(i) for i in items]))
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")


def read_queue(path: Path) -> tuple[list[QueueItem], dict[str, Any]]:
    """Read a queue and its metadata; a malformed row is a DataError naming its line."""
    items = []
    for line, row in enumerate(_read_rows(path, QUEUE_COLUMNS, "labelling queue"), start=2):
        try:
            items.append(QueueItem(int(row["rank"]), int(row["node"]), int(row["node_row"]),
                                   int(row["node_col"]), row["path"], row["predicted"],
                                   float(row["confidence"]), float(row["uncertainty"]),
                                   int(row["node_mass"]), float(row["worth"]),
                                   row["subgroup"] or ""))
        except (TypeError, ValueError) as err:
            raise DataError(f"{path} line {line}: {err}; rewrite it with `affect "
                            "frontier`") from err
    meta_path = path.with_suffix(".json")
    meta: dict[str, Any] = {}
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DataError(f"{meta_path} is not JSON: {err}") from err
    return items, meta


def check_label(name: str, allowed: tuple[str, ...], where: str) -> str:
    """Return ``name`` if it is a label of ``allowed`` (or skip); else a DataError."""
    if name == SKIP or name in allowed:
        return name
    raise DataError(f"{where}: label {name!r} is not one of {', '.join(allowed)} or {SKIP}")


def write_labels(path: Path, rows: list[LabelRow]) -> None:
    """Write the whole labels file atomically (temporary file, then rename)."""
    atomic_write_text(path, _csv_text(LABEL_COLUMNS, [asdict(r) for r in rows]))


def read_labels(path: Path, allowed: tuple[str, ...] = vocabulary.EXPRESSIONS
                ) -> list[LabelRow]:
    """Read every row of a labels file (oldest first); a missing file is no labels."""
    if not path.exists():
        return []
    rows = []
    for line, row in enumerate(_read_rows(path, LABEL_COLUMNS, "labels file"), start=2):
        where = f"{path} line {line}"
        if row["how"] not in HOWS:
            raise DataError(f"{where}: how {row['how']!r} is not one of {', '.join(HOWS)}")
        try:
            node = int(row["node"]) if row["node"] not in ("", None) else -1
        except ValueError as err:
            raise DataError(f"{where}: node {row['node']!r} is not a number") from err
        rows.append(LabelRow(row["path"], check_label(row["label"], allowed, where), node,
                             row["how"], row["at"]))
    return rows


def current_labels(rows: list[LabelRow]) -> dict[str, LabelRow]:
    """Keep the standing decision per path: the last row for it wins."""
    out: dict[str, LabelRow] = {}
    for row in rows:
        out[row.path] = row
    return out
