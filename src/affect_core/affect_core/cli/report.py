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

"""``affect report``: the HTML report of saved results; ``affect claims``: the claims table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

RESULTS = Path("results")


def _user_results(spec: str, out_dir: Path, params: str, quiet: bool) -> Path:
    """Use a saved ``affect eval faces`` JSON as is, or score labelled photographs now."""
    path = Path(spec)
    if path.suffix == ".json":
        return path
    from affect_core import photo_eval
    from affect_core.data.photos import PHOTO_DETECTOR
    from affect_core.fusion import FusionConfig
    from affect_core.model.runtime import shipped_models
    from affect_core.params import load_params_file

    values = load_params_file(params)
    tracker = {**values.get("face_tracker", {}), "detector": PHOTO_DETECTOR}
    photos = photo_eval.load_photo_set(path, "all", ["contempt"], 0, tracker, not quiet)
    fusion = FusionConfig.from_params(values.get("confidence_fusion", {}))
    target = out_dir / f"user_{path.stem or 'data'}.json"
    photo_eval.write_json(photo_eval.evaluate_photos(photos, shipped_models(), fusion),
                          target)
    return target


def _report(args: argparse.Namespace) -> int:
    from affect_core.report import page

    out = Path(args.out)
    sources = [Path(p) for p in (args.results or [str(RESULTS)])]
    sources += [_user_results(d, out, args.params, args.quiet) for d in args.data or []]
    path = page.write_report(out, page.load_results(sources))
    print(f"report written to {path}")
    return 0


def _claims(args: argparse.Namespace) -> int:
    from affect_core.photo_eval import write_json
    from affect_core.report import claims, experiments

    folder = Path(args.results)
    if args.measure:
        profile = experiments.PROFILES[args.measure]
        experiments.measure_all(profile, folder, args.params,
                                Path(args.faces_data) if args.faces_data else None,
                                training=not args.no_training)
    rows = claims.table_from_folder(folder)
    print(claims.format_claims(rows))
    saved = claims.claims_json(rows, args.measure or "saved results")
    target = Path(args.json) if args.json else folder / "claims.json"
    write_json(saved, target)
    target.with_name("CLAIMS.md").write_text(claims.format_markdown(rows, saved["note"]),
                                             encoding="utf-8")
    print(f"table written to {target} and {target.with_name('CLAIMS.md')}")
    return 0


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``affect`` parser."""
    from affect_core.cli.common import DEFAULT_PARAMS

    report = sub.add_parser("report", help="write one self-contained HTML page of plots "
                            "from saved evaluation results")
    report.add_argument("--out", required=True, help="folder to write index.html into")
    report.add_argument("--results", action="append", default=None,
                        help="results folder or JSON file, repeatable (default: results/)")
    report.add_argument("--data", action="append", default=None,
                        help="your own data: an affect eval faces JSON, or labelled "
                        "photographs (any layout affect eval faces reads) scored now with "
                        "every shipped model; repeatable")
    report.add_argument("--params", default=str(DEFAULT_PARAMS), help="parameter file")
    report.add_argument("--quiet", action="store_true", help="no progress bars")
    report.set_defaults(func=_report)

    claims = sub.add_parser("claims", help="print every published claim against the figure "
                            "measured here, with its data, interval and verdict")
    claims.add_argument("--results", default=str(RESULTS),
                        help="results folder read (and written with --measure; default "
                        "results/)")
    claims.add_argument("--measure", choices=("short", "full"), default=None,
                        help="re-measure first: short (seconds; checks the machinery) or "
                        "full (about an hour on 2 cores; the figures quoted)")
    claims.add_argument("--faces-data", default=None,
                        help="with --measure: labelled photographs for the real-face rows "
                        "(scored on their identity-disjoint test split)")
    claims.add_argument("--no-training", action="store_true",
                        help="with --measure: skip the training comparisons")
    claims.add_argument("--json", default=None,
                        help="write the table here, and CLAIMS.md beside it (default: "
                        "claims.json in --results)")
    claims.add_argument("--params", default=str(DEFAULT_PARAMS), help="parameter file")
    claims.set_defaults(func=_claims)
