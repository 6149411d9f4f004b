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

"""``affect bench``: speed figures (nothing is asserted)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from affect_core.cli.common import training_module


def _bench(args: argparse.Namespace) -> int:
    from affect_core import bench

    if args.target == "backends":
        latency = training_module("latency")
        weights = Path(args.weights) if args.weights else None
        results, agreement, source = latency.bench_model(weights, args.k, args.rounds,
                                                         args.threads)
        print(latency.format_model_bench(results, agreement, source, args.k, args.threads))
    elif args.target == "rig":
        print(bench.format_rig_bench(bench.bench_rig(args.seconds, args.threads),
                                     args.threads))
    elif args.target == "stereo":
        print(bench.format_stereo_bench(bench.bench_stereo(threads=args.threads)))
    elif args.target == "face":
        from affect_core import bench_real

        print(bench_real.format_real_face_bench(*bench_real.bench_real_face(args.seconds)))
    elif args.target == "graph":
        from affect_core import graph_bench

        duration_s = args.seconds if args.seconds_given else 60.0
        print(graph_bench.format_graph_bench(graph_bench.probe_graph(
            duration_s, args.people or 1, args.launch_arg or None, args.replay)))
    elif args.target == "replay":
        print(bench.bench_replay(args.seconds if args.seconds_given else 10.0))
    elif args.target == "model":
        _bench_models(args)
    elif args.target == "soak":
        from affect_core import soak

        duration_s = args.seconds if args.seconds_given else 3600.0
        result = (soak.soak_graph(duration_s) if args.graph
                  else soak.soak_lab(duration_s, args.people or 4,
                                     echo=lambda line: print(line, flush=True)))
        print(soak.format_soak(result))
    else:
        duration_s = args.seconds if args.seconds_given else 3600.0
        print(bench.format_window_bench(bench.bench_window(duration_s), duration_s))
    return 0


def _bench_models(args: argparse.Namespace) -> None:
    from affect_core.model import scoring
    from affect_core.model.runtime import EmotionModel, shipped_models
    from affect_core.model.stage import model_file
    from affect_core.window import WindowConfig

    names = args.model or [p.stem for p in shipped_models()]
    models = [EmotionModel(model_file(name), intra_op_threads=args.threads) for name in names]
    k = WindowConfig().samples_per_window
    crops = list(scoring.render_crops(k, "curated", 99, progress=False).crops)
    print(scoring.format_bench(models, scoring.bench_models(models, crops, k), k))


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``affect`` parser."""
    bench = sub.add_parser("bench", help="print speed figures (nothing is asserted)")
    bench.add_argument("target",
                       choices=("rig", "window", "stereo", "replay", "face", "model", "backends",
                                "soak", "graph"),
                       help="what to measure (face: the real-face configuration per frame "
                       "and stage, needs scikit-image; model: shipped "
                       "models per window, taking turns; backends: PyTorch eager vs ONNX "
                       "Runtime vs INT8, needs the train extra; soak: memory and open files "
                       "per minute over a long lab run; graph: launch the ROS 2 graph on the "
                       "rig and probe rates, frames used, latency and CPU per node)")
    bench.add_argument("--seconds", "--duration", dest="seconds", type=float, default=None,
                       help="sensor seconds (rig: per configuration, default 3; window, "
                       "soak: the stream, default 3600; soak --graph, graph: wall seconds, "
                       "graph default 60)")
    bench.add_argument("--people", type=int, default=None,
                       help="soak: people in the heterogeneous rig (default 4); graph: "
                       "people in the rig (default 1)")
    bench.add_argument("--launch-arg", action="append", default=None,
                       help="graph: a launch argument such as preset:=heterogeneous, "
                       "repeatable")
    bench.add_argument("--replay", type=float, default=None, metavar="SECONDS",
                       help="graph: record this many seconds of the rig first and run the "
                       "graph on ir_camera looping them (the pipeline's own cost, as with "
                       "a real camera), not on the rig rendering live")
    bench.add_argument("--graph", action="store_true",
                       help="soak: the launched ROS 2 graph instead of affect lab")
    bench.add_argument("--threads", type=int, default=1,
                       help="OpenCV threads; model, backends: PyTorch and ONNX Runtime "
                       "threads (default 1)")
    bench.add_argument("--model", action="append", default=None,
                       help="model: ONNX file or shipped model name, repeatable (default: "
                       "both shipped models, taking turns)")
    bench.add_argument("--weights", default=None,
                       help="backends: weights file written by affect train (<out>.pt)")
    bench.add_argument("--k", type=int, default=8,
                       help="backends: crops per window (default 8)")
    bench.add_argument("--rounds", type=int, default=200, help="backends: timed windows")
    bench.set_defaults(func=_bench)
