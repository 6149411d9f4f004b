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


"""``affect frontier`` (what to label), ``affect label`` (the page), frontier-curves."""

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
    add_curve_parser(sub)


def _curves(args: argparse.Namespace) -> int:
    from affect_core.frontier.measure import (figure, measure, photo_pools, rig_pool, table,
                                              write_json)

    steps = (10, 20, 40) if args.quick else tuple(args.steps)
    seeds = 1 if args.quick else args.seeds
    pool_size = 300 if args.quick else args.pool
    pools = []
    if args.faces:
        pools += photo_pools(Path(args.faces), pool_size)
    if args.rig:
        pools.append(rig_pool(pool_size, 150 if args.quick else 600,
                              Path(args.cache) if args.cache else None))
    result = measure(pools, steps, seeds)
    print(table(result))
    out = Path(args.out)
    write_json(result, out.with_suffix(".json"))
    figure(result, out.with_suffix(".png"))
    print(f"affect frontier-curves: wrote {out.with_suffix('.png')} and "
          f"{out.with_suffix('.json')}")
    return 0


def add_curve_parser(sub: Any) -> None:
    """Add ``affect frontier-curves``: the frontier against other choices, measured."""
    curves = sub.add_parser("frontier-curves", help="measure accuracy against labels spent: "
                            "SOM frontier vs random, uncertainty and k-means")
    curves.add_argument("--faces", default=None,
                        help="real_faces folder (labels.csv, identity split): its training "
                        "split is the pool, its own labels the labeller")
    curves.add_argument("--rig", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure on heterogeneous rig crops (synthetic)")
    curves.add_argument("--pool", type=int, default=3000, help="pool size per data set")
    curves.add_argument("--steps", type=int, nargs="+",
                        default=[20, 40, 80, 160, 320, 640], help="labels spent at each step")
    curves.add_argument("--seeds", type=int, default=3)
    curves.add_argument("--quick", action="store_true",
                        help="a short profile (pool 300, steps 10 20 40, one seed)")
    curves.add_argument("--cache", default=None, help="folder keeping rendered rig crops")
    curves.add_argument("--out", default="results/frontier_curves",
                        help="figure (.png) and figures (.json) to write")
    curves.set_defaults(func=_curves)
