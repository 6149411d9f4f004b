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

"""``affect lab``, ``affect record`` and ``affect synth``: run the pipeline or the rig."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from affect_core.cli.common import DEFAULT_PARAMS
from affect_core.errors import AffectError
from affect_core.stop import StopSignals


def _lab(args: argparse.Namespace) -> int:
    from affect_core.pipeline import LabPipeline, format_summary

    pipeline = LabPipeline.from_params_file(args.params, model_path=args.model,
                                            preset=args.preset, num_people=args.people,
                                            seed=args.seed)
    with StopSignals() as stop:
        summary = pipeline.run(args.duration, Path(args.out), progress=not args.quiet,
                               source=args.source, rate=args.rate, overlay=args.overlay,
                               stop=lambda: stop.name)
    print(format_summary(summary))
    return stop.exit_code


def _record(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from affect_core.pipeline import LabPipeline
    from affect_core.sinks.sensor_bag import SensorBagWriter

    pipeline = LabPipeline.from_params_file(args.params, preset=args.preset,
                                            num_people=args.people, seed=args.seed)
    out = Path(args.out)
    if out.exists():
        raise AffectError(f"{out} already exists; choose a new --out directory")
    sensor = pipeline.open_source(args.source, args.duration, args.rate)
    duration_ns = int(round(args.duration * 1e9))
    first_ns = None
    try:
        with StopSignals() as stop, SensorBagWriter(out, sensor.ir_camera) as writer:
            bar = tqdm(total=int(args.duration * sensor.nominal_fps), desc="affect record",
                       unit="frame", disable=args.quiet)
            for event in sensor.frames():
                if stop.requested:
                    break
                if event.ir is not None:
                    first_ns = event.ir.stamp_ns if first_ns is None else first_ns
                    if event.ir.stamp_ns - first_ns >= duration_ns:
                        break
                    bar.update(1)
                writer.write(event)
            bar.close()
    finally:
        sensor.close()
    print(f"affect record: wrote {out} (rosbag2, MCAP) from {sensor.description}: "
          f"{sensor.stats.ir_frames} IR frames, {sensor.stats.stereo_pairs} stereo pairs, "
          f"{writer.messages} messages"
          + (f"; stopped early by {stop.name}" if stop.requested else ""))
    return stop.exit_code


def _synth(args: argparse.Namespace) -> int:
    from affect_core.params import load_params_file
    from affect_core.sim.rig import RigConfig
    from affect_core.sim.synth import write_dataset

    params = dict(load_params_file(args.params).get("sim_rig", {}))
    for name in ("preset", "seed"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    if args.people is not None:
        params["num_people"] = args.people
    config = RigConfig.from_params(params)
    summary = write_dataset(config, args.duration, Path(args.out), args.mode,
                            progress=not args.quiet)
    print(f"affect synth: wrote {args.out} (synthetic, {config.preset}): {summary.frames} "
          f"frames, {summary.person_frames} person-frames, {summary.windows} windows"
          + (f", {summary.crops} crops ({summary.crops_missed} missed by the detector)"
             if args.mode == "crops" else f", {summary.stereo_frames} stereo pairs"))
    return 0


def _repair(args: argparse.Namespace) -> int:
    from affect_core.sinks.repair import repair

    for path in args.recording:
        print(repair(Path(path)).describe())
    return 0


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``affect`` parser."""
    lab = sub.add_parser("lab", help="run the whole pipeline in one process")
    lab.add_argument("--duration", type=float, default=30.0,
                     help="seconds of sensor time to process (default 30)")
    lab.add_argument("--out", default="lab_out",
                     help="output directory: rosbag2 (MCAP) recording + emotions.jsonl")
    lab.add_argument("--params", default=str(DEFAULT_PARAMS),
                     help="ROS 2 parameter file (default: the shipped config/lab.yaml)")
    lab.add_argument("--model", default=None, help="ONNX model or shipped model name, e.g. "
                     "fer_mini_xception (overrides emotion_vit.model_path)")
    lab.add_argument("--preset", choices=("curated", "heterogeneous"), default=None,
                     help="simulated rig preset (overrides sim_rig.preset)")
    lab.add_argument("--people", type=int, default=None,
                     help="people in the simulated rig (overrides sim_rig.num_people)")
    lab.add_argument("--seed", type=int, default=None, help="rig seed (overrides sim_rig.seed)")
    lab.add_argument("--source", default="sim",
                     help="sim (default), camera:N, video:PATH, frames:DIR or bag:PATH")
    lab.add_argument("--rate", type=float, default=0.0,
                     help="replay speed for video/frames/bag: 0 = as fast as possible "
                     "(default), 1 = recorded timing")
    lab.add_argument("--quiet", action="store_true", help="no progress bar")
    lab.add_argument("--overlay", action="store_true",
                     help="also record /affect/overlay (IR frames with boxes, labels, confidence "
                     "and attention) at the overlay section's rate_hz; raw frames: opt-in")
    lab.set_defaults(func=_lab)

    record = sub.add_parser("record", help="record a source's sensor topics to rosbag2 (MCAP)")
    record.add_argument("--out", required=True, help="new directory for the recording")
    record.add_argument("--source", default="sim",
                        help="sim (default), camera:N, video:PATH, frames:DIR or bag:PATH")
    record.add_argument("--duration", type=float, default=10.0, help="seconds of sensor time")
    record.add_argument("--params", default=str(DEFAULT_PARAMS),
                        help="parameter file (sim_rig and ir_camera sections)")
    record.add_argument("--preset", choices=("curated", "heterogeneous"), default=None)
    record.add_argument("--people", type=int, default=None)
    record.add_argument("--seed", type=int, default=None)
    record.add_argument("--rate", type=float, default=0.0, help="replay speed (0: unpaced)")
    record.add_argument("--quiet", action="store_true", help="no progress bar")
    record.set_defaults(func=_record)

    synth = sub.add_parser("synth", help="write a synthetic data set from the simulated rig")
    synth.add_argument("--out", required=True, help="new directory for the data set")
    synth.add_argument("--duration", type=float, default=60.0, help="seconds of sensor time")
    synth.add_argument("--mode", choices=("crops", "frames"), default="crops",
                       help="crops: face crops as the pipeline cuts them; frames: whole IR "
                       "frames, stereo pairs and true depth")
    synth.add_argument("--params", default=str(DEFAULT_PARAMS),
                       help="parameter file whose sim_rig section sets the rig")
    synth.add_argument("--preset", choices=("curated", "heterogeneous"), default=None)
    synth.add_argument("--people", type=int, default=None)
    synth.add_argument("--seed", type=int, default=None)
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.set_defaults(func=_synth)

    repair = sub.add_parser("repair", help="index a recording cut short by a crash so every "
                            "reader opens it (keeps the original file)")
    repair.add_argument("recording", nargs="+", help="rosbag2 (MCAP) recording directory")
    repair.set_defaults(func=_repair)
