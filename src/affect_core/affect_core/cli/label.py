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


"""``affect frontier`` (what to label), ``affect label`` (the labelling page)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _frontier(args: argparse.Namespace) -> int:
    from affect_core.frontier.command import FrontierRequest, build_frontier
    from affect_core.frontier.som import SomConfig

    request = FrontierRequest(
        Path(args.crops), Path(args.out), args.budget,
        Path(args.model) if args.model else None, Path(args.weights) if args.weights else None,
        Path(args.subgroups) if args.subgroups else None,
        Path(args.labels) if args.labels else None,
        SomConfig(side=args.side, epochs=args.som_epochs, seed=args.seed))
    summary = build_frontier(request)
    print(f"affect frontier: {summary['queued']} crops from {summary['nodes_queued']} of "
          f"{summary['nodes_used']} map nodes ({summary['side']}x{summary['side']} SOM over "
          f"{summary['crops_total']} crops, {summary['already_labelled']} already labelled; "
          f"embedded with {summary['model']})")
    print(f"  queue: {summary['queue']} (label it with `affect label --queue "
          f"{summary['queue']}`)")
    print(f"  map: {summary['map']}; contact sheets: {len(summary['contact_sheets'])} under "
          f"{Path(args.out) / 'contact_sheets'}")
    return 0


def _label(args: argparse.Namespace) -> int:
    from affect_core.label_page.server import serve

    return serve(Path(args.queue), Path(args.labels) if args.labels else None,
                 Path(args.crops) if args.crops else None, args.port, args.open_browser)


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``affect`` parser."""
    frontier = sub.add_parser("frontier", help="choose which of your own face crops to label "
                              "first (self-organising map over the model's embedding)")
    frontier.add_argument("--crops", required=True, help="folder of face crops (PNG/JPEG)")
    frontier.add_argument("--budget", type=int, required=True, help="crops to queue")
    frontier.add_argument("--out", default="frontier", help="folder for queue.csv, "
                          "queue.json, map.png and contact_sheets/ (frontier)")
    source = frontier.add_mutually_exclusive_group()
    source.add_argument("--model", default=None, help="ONNX model whose backbone embeds "
                        "(default: the shipped model)")
    source.add_argument("--weights", default=None, help="PyTorch weights instead: a run's "
                        ".pt or an `affect pretrain` backbone (training extra)")
    frontier.add_argument("--subgroups", default=None, help="CSV path,subgroup: balance the "
                          "queue across these subgroups")
    frontier.add_argument("--labels", default=None, help="labels.csv already made: those "
                          "crops are not queued again and their neighbourhoods count as "
                          "covered")
    frontier.add_argument("--side", type=int, default=0,
                          help="map side in nodes (0: about 5 sqrt(N) nodes)")
    frontier.add_argument("--som-epochs", type=int, default=10,
                          help="SOM training passes over the crops (10)")
    frontier.add_argument("--seed", type=int, default=0)
    frontier.set_defaults(func=_frontier)

    label = sub.add_parser("label", help="label a frontier queue in the browser (served on "
                           "127.0.0.1 only)")
    label.add_argument("--queue", required=True, help="queue.csv written by affect frontier")
    label.add_argument("--labels", default=None,
                       help="labels file to write (default: labels.csv beside the queue)")
    label.add_argument("--crops", default=None,
                       help="crops folder (default: the one queue.json names)")
    label.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (8765; 0 "
                       "picks a free one)")
    label.add_argument("--open-browser", action="store_true",
                       help="open the page in the default browser")
    label.set_defaults(func=_label)
