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

"""``affect report``: one self-contained HTML page from the saved evaluation results.

Inputs are the JSON files the evaluation commands write (``affect eval faces --json``:
real photographs; ``affect eval model --json``: rig curated and heterogeneous splits and
per-window latency; ``affect eval fusion --json``; ``affect claims --json``), found in a
results folder or given one by one. Per model and data set the page shows the
reliability diagram with ECE, the coverage-accuracy curve under abstention, the confusion
matrix, per-class recall with counts and intervals, and the subgroup gap; per model the
latency histogram; and the claims table. Every figure is captioned with its data and
domain. Images are PNG data: URIs and there is no script or external link, so the page
opens offline in any browser.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from affect_core.errors import DataError
from affect_core.report import figures as fig

KINDS = ("faces", "model", "fusion", "claims", "depth", "window", "training", "frontier")
PAGE = "index.html"


def result_kind(result: dict[str, Any]) -> str:
    """Say which command wrote ``result`` (files from before the kind key are photographs)."""
    kind = result.get("kind")
    if kind is None and "models" in result and "photographs" in result:
        return "faces"
    if kind not in KINDS:
        raise DataError(f"not an affect evaluation result (kind {kind!r}); expected one of "
                        f"{', '.join(KINDS)}")
    return str(kind)


def load_result(path: Path) -> dict[str, Any]:
    """Read one saved result, naming the file in any error."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: cannot read an evaluation result: {err}") from err
    if not isinstance(result, dict):
        raise DataError(f"{path}: not an affect evaluation result")
    try:
        result_kind(result)
    except DataError as err:
        raise DataError(f"{path}: {err}") from err
    result.setdefault("source_file", path.name)
    return result


def load_results(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Load every result in ``paths`` (files, or folders of ``*.json``), sorted by name."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.glob("*.json"))
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(f"{path}: no such results file or folder")
    return [load_result(f) for f in files]


@dataclass(frozen=True)
class Figure:
    """One embedded plot and the caption that names its data and domain."""

    key: str
    png: bytes
    caption: str


def _short(model_id: str) -> str:
    return model_id.split("+")[0]


PANELS: tuple[tuple[str, str, Callable[..., bytes]], ...] = (
    ("reliability", "Reliability diagram (confidence against accuracy, 15 bins) with ECE",
     fig.reliability_png),
    ("coverage", "Coverage-accuracy curve under abstention", fig.coverage_png),
    ("confusion", "Confusion matrix (rows truth; cells counts, shade share of the row)",
     fig.confusion_png),
    ("recall", "Per-class recall with counts and 95 % intervals", fig.recall_png),
    ("subgroup", "Top-1 per subgroup and the best-worst gap, with 95 % intervals",
     fig.subgroup_png),
)


def panels(figures: dict[str, Any], model: str, data: str, domain: str, unit: str,
           abstain_below: float | None) -> list[Figure]:
    """Draw the five panels of one model on one data set, each captioned."""
    out = []
    for key, what, draw in PANELS:
        if key == "subgroup" and not figures.get("subgroups"):
            continue
        title = f"{_short(model)}: {key}"
        png = draw(figures, title, abstain_below) if key == "coverage" else draw(figures, title)
        out.append(Figure(key, png, f"{what}. Model {model} on {data}; {figures['n']} "
                                    f"{unit}. Domain: {domain}. Intervals: 95 % bootstrap "
                                    f"over {'people' if unit == 'photographs' else unit}."))
    return out


@dataclass
class Section:
    """A heading, its notes and its figures."""

    title: str
    notes: list[str]
    figures: list[Figure]


def sections(results: Sequence[dict[str, Any]]) -> list[Section]:
    """One section per data set and model, then the latency section."""
    out: list[Section] = []
    latency: list[Figure] = []
    for result in results:
        kind = result_kind(result)
        if kind == "faces":
            data = (f"{result['data']} (split {result['split']}: {result['photographs']} "
                    f"photographs of {result['identities']} people)")
            for model in result["models"]:
                out.append(Section(
                    f"{_short(model['model_id'])} on photographs: {result['data']}",
                    [f"Trained on: {model.get('training_data', 'unknown')}.",
                     f"Data: {data}; from {result['source_file']}."],
                    panels(model, model["model_id"], data, result["domain"], "photographs",
                           result.get("abstain_below"))))
        elif kind == "model":
            for preset, split in result["splits"].items():
                data = (f"rig {preset} split ({split['crops']} crops the detector found, "
                        f"{split['detector_misses']} missed; {result['data']})")
                out.append(Section(
                    f"{_short(result['model_id'])} on the rig, {preset} (synthetic)",
                    [f"Trained on: {result.get('training_data', 'unknown')}.",
                     f"Data: {data}; from {result['source_file']}. Synthetic faces: says "
                     "nothing about real people."],
                    panels(split, result["model_id"], data, split["domain"], "crops",
                           result.get("abstain_below"))))
            lat = result["latency"]
            latency.append(Figure(
                "latency", fig.latency_png(lat["window_ms"], f"{_short(result['model_id'])}"),
                f"Per-window latency of {result['model_id']}: {len(lat['window_ms'])} runs "
                f"of {lat['data']} (preprocessing, ONNX Runtime, label map). Absolute times "
                f"depend on the machine and its load; from {result['source_file']}."))
        elif kind == "frontier":
            out.append(frontier_section(result))
    if latency:
        out.append(Section("Latency per window", [
            "Measured on this project's machine (CPU); no GPU figure is measured here."],
            latency))
    return out


def frontier_section(result: dict[str, Any]) -> Section:
    """Show the labels-spent curves of ``affect frontier-curves``, each pool's data named."""
    pools = "; ".join(f"{p['name']}: {p.get('data') or 'data not recorded'}"
                      for p in result["pools"])
    return Section(
        "Label less: the SOM frontier against other ways to choose what to label",
        ["Each strategy chooses that many crops of a pool, the data set's own labels play "
         "the labeller, and a linear probe (logistic regression on the model's frozen "
         "embedding) fitted on them is scored on held-out data: a proxy for fine-tuning, "
         f"not the fine-tune itself. From {result['source_file']}."],
        [Figure("frontier", fig.frontier_png(result),
                f"Top-1, macro recall and worst-subgroup gap of the probe against labels "
                f"spent ({', '.join(str(n) for n in result['steps'])}); mean and standard "
                f"deviation over {result['seeds']} seeds. Pools: {pools}.")])


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def claims_html(claims: dict[str, Any]) -> str:
    """Render the claims table (affect_core.report.claims rows) as HTML."""
    from affect_core.report.claims import COLUMNS, row_cells

    return (f"<p>{html.escape(claims.get('note', ''))}</p>"
            + _table(COLUMNS, (row_cells(r) for r in claims["rows"])))


def fusion_html(result: dict[str, Any]) -> str:
    """Render the fusion figures per preset as a table."""
    rows = [(p, f["windows"], f"{f['coverage']:.3f}", f"{fig._num(f['accuracy_answered']):.3f}",
             f"{fig._num(f['ece_fused']):.3f}", f"{f['spikes_fused']} / {f['spikes_unfused']}")
            for p, f in result["presets"].items()]
    return (f"<p>Confidence fusion on {html.escape(result['data'])}, model "
            f"{html.escape(result['model'])}. Domain: {html.escape(result['domain'])}.</p>"
            + _table(("preset", "windows", "coverage", "accuracy answered", "ECE",
                      "spikes fused / raw"), rows))


STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}
figure{display:inline-block;margin:.5em;width:480px;vertical-align:top}
figure img{max-width:100%}figcaption{font-size:.8em;color:#333}
figure[data-kind=frontier]{width:100%}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #aaa;padding:3px 6px}
.warn{background:#fff4d6;padding:.5em;border-left:4px solid #e0a000}"""


def build_page(results: Sequence[dict[str, Any]], title: str = "affect evaluation report"
               ) -> str:
    """Assemble the page: honesty note, claims, fusion, then every figure section."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             "<p class='warn'>Real photographs are visible-light photographs converted to "
             "grey with crowd labels, not IR images; rig figures are on synthetic faces and "
             "say how the machinery works, not how it reads people. Every figure names its "
             "data.</p>"]
    for result in results:
        if result_kind(result) == "claims":
            parts += ["<h2 id='claims'>Published claims, re-measured</h2>", claims_html(result)]
    for result in results:
        if result_kind(result) == "fusion":
            parts += ["<h2>Confidence fusion (synthetic rig)</h2>", fusion_html(result)]
    number = 0
    for section in sections(results):
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += [f"<p>{html.escape(n)}</p>" for n in section.notes]
        for figure in section.figures:
            number += 1
            parts.append(f"<figure id='figure-{number}' data-kind='{figure.key}'>"
                         f"<img src='{fig.data_uri(figure.png)}' alt='{html.escape(figure.key)}'>"
                         f"<figcaption>Figure {number}. {html.escape(figure.caption)}"
                         "</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out_dir: Path, results: Sequence[dict[str, Any]]) -> Path:
    """Write ``out_dir/index.html``; an empty result list is an error, not an empty page."""
    if not results:
        raise DataError("no evaluation results to report: save some with affect eval "
                        "faces|model|fusion --json or affect claims --json")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PAGE
    path.write_text(build_page(results), encoding="utf-8")
    return path
