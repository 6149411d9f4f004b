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

"""The ``affect`` command: ``affect lab`` runs the pipeline, ``affect train`` makes a model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from affect_core.errors import AffectError

DEFAULT_PARAMS = Path(__file__).resolve().parent / "config" / "lab.yaml"


def _lab(args: argparse.Namespace) -> int:
    from affect_core.pipeline import LabPipeline, format_summary

    pipeline = LabPipeline.from_params_file(args.params, model_path=args.model,
                                            preset=args.preset, num_people=args.people,
                                            seed=args.seed)
    summary = pipeline.run(args.duration, Path(args.out), progress=not args.quiet,
                           source=args.source, rate=args.rate)
    print(format_summary(summary))
    return 0


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
        with SensorBagWriter(out, sensor.ir_camera) as writer:
            bar = tqdm(total=int(args.duration * sensor.nominal_fps), desc="affect record",
                       unit="frame", disable=args.quiet)
            for event in sensor.frames():
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
          f"{writer.messages} messages")
    return 0


def _train(args: argparse.Namespace) -> int:
    try:
        from affect_core.training.train import TrainConfig, train
    except ImportError as err:
        raise AffectError(
            f"training needs PyTorch and timm ({err.name} is missing): "
            "pip install 'affect-core[train]'"
        ) from err
    config = TrainConfig(train_samples=args.samples, epochs=args.epochs, seed=args.seed,
                         size=args.size, stem=args.stem)
    report = train(config, Path(args.out), progress=not args.quiet)
    print(f"wrote {args.out} ({report['model_id']}), temperature {report['temperature']:.3f}")
    for split, figures in report["test"].items():
        print(f"  {split} (synthetic, held out): accuracy {figures['accuracy']:.3f}, "
              f"macro-F1 {figures['macro_f1']:.3f}, ECE {figures['ece_uncalibrated']:.3f} -> "
              f"{figures['ece_calibrated']:.3f} calibrated, worst-group gap "
              f"{figures['worst_group_gap']:.3f}")
    return 0


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


def _bench(args: argparse.Namespace) -> int:
    from affect_core import bench

    if args.target == "rig":
        print(bench.format_rig_bench(bench.bench_rig(args.seconds, args.threads),
                                     args.threads))
    elif args.target == "stereo":
        print(bench.format_stereo_bench(bench.bench_stereo(threads=args.threads)))
    elif args.target == "face":
        print(bench.format_face_bench(bench.bench_face(args.seconds, args.landmarker)))
    elif args.target == "replay":
        print(bench.bench_replay(args.seconds if args.seconds_given else 10.0))
    else:
        duration_s = args.seconds if args.seconds_given else 3600.0
        print(bench.format_window_bench(bench.bench_window(duration_s), duration_s))
    return 0


def _eval(args: argparse.Namespace) -> int:
    if args.target == "face":
        from affect_core.face.evaluation import evaluate_face, format_face

        duration_s = args.duration if args.duration_given else 20.0
        people = [int(v) for v in args.face_people.split(",") if v.strip()]
        results = evaluate_face(duration_s, people, args.seed, args.landmarks, args.noise_px,
                                args.detector)
        print(format_face(results, duration_s))
        return 0
    if args.target == "detectors":
        from affect_core.face.detector_eval import evaluate_detectors, format_detectors

        detections, landmarks = evaluate_detectors(args.detectors.split(","), args.duration,
                                                   args.stride, args.seed,
                                                   not args.no_photographs)
        print(format_detectors(detections, landmarks))
        return 0
    from affect_core.evaluation import evaluate_fusion, format_fusion

    results = evaluate_fusion(args.params, args.duration, args.people, args.seed)
    print(format_fusion(results, args.duration, args.people, args.target_precision,
                        args.target_coverage))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``affect`` command."""
    parser = argparse.ArgumentParser(prog="affect", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="run the whole pipeline in one process")
    lab.add_argument("--duration", type=float, default=30.0,
                     help="seconds of sensor time to process (default 30)")
    lab.add_argument("--out", default="lab_out",
                     help="output directory: rosbag2 (MCAP) recording + emotions.jsonl")
    lab.add_argument("--params", default=str(DEFAULT_PARAMS),
                     help="ROS 2 parameter file (default: the shipped config/lab.yaml)")
    lab.add_argument("--model", default=None, help="ONNX model (overrides emotion_vit.model_path)")
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

    bench = sub.add_parser("bench", help="print speed figures (nothing is asserted)")
    bench.add_argument("target", choices=("rig", "window", "stereo", "replay", "face"),
                       help="what to measure")
    bench.add_argument("--seconds", type=float, default=None,
                       help="sensor seconds (rig: per configuration, default 3; window: "
                       "the stream, default 3600)")
    bench.add_argument("--threads", type=int, default=1, help="OpenCV threads (default 1)")
    bench.add_argument("--landmarker", default="",
                       help="face: also time this landmark model by name")
    bench.set_defaults(func=_bench)

    evaluate = sub.add_parser("eval", help="measure a stage on the simulated rig")
    evaluate.add_argument("target", choices=("fusion", "face", "detectors"),
                          help="what to evaluate")
    evaluate.add_argument("--duration", type=float, default=None,
                          help="seconds of rig time per preset (fusion and detectors: 60, "
                          "face: 20)")
    evaluate.add_argument("--people", type=int, default=2, help="people in the rig")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--params", default=str(DEFAULT_PARAMS), help="parameter file")
    evaluate.add_argument("--target-precision", type=float, default=None,
                          help="print the abstain_below that reaches this precision")
    evaluate.add_argument("--target-coverage", type=float, default=None,
                          help="print the abstain_below that keeps this coverage")
    evaluate.add_argument("--face-people", default="1,3",
                          help="face: comma-separated numbers of people, one run each")
    evaluate.add_argument("--landmarks", default="truth",
                          help="face: a landmark model by name, truth (the rig's landmarks "
                          "plus noise) or none")
    evaluate.add_argument("--noise-px", type=float, default=1.0,
                          help="face: pixel noise added to the rig's landmarks")
    evaluate.add_argument("--detector", default="blob",
                          help="face: the tracker's face detector (see affect eval detectors)")
    evaluate.add_argument("--detectors",
                          default="blob,blazeface,blazeface_whole,blazeface_short",
                          help="detectors: comma-separated names of affect_core.face.detectors")
    evaluate.add_argument("--stride", type=int, default=12,
                          help="detectors: score every Nth rig frame (default 12)")
    evaluate.add_argument("--no-photographs", action="store_true",
                          help="detectors: skip the scikit-image photographs")
    evaluate.set_defaults(func=_eval)

    train = sub.add_parser("train", help="train, calibrate and export an emotion ViT on rig data")
    train.add_argument("--out", default="models/affect_vit_micro_rig.onnx",
                       help="ONNX file to write (metrics go beside it as .json)")
    train.add_argument("--samples", type=int, default=9000, help="training crops to render")
    train.add_argument("--epochs", type=int, default=30, help="most epochs (early stopping)")
    train.add_argument("--size", default="micro", choices=("micro", "tiny", "small", "base"))
    train.add_argument("--stem", default="conv", choices=("conv", "patch"),
                       help="conv: early convolutions (trains fast from scratch); patch: "
                       "timm's linear patch embedding (the layout of DINO weights)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; project errors become a one-line message and exit status 2."""
    args = build_parser().parse_args(argv)
    if args.command == "bench":
        args.seconds_given = args.seconds is not None
        if args.seconds is None:
            args.seconds = 3.0
    if args.command == "eval":
        args.duration_given = args.duration is not None
        if args.duration is None:
            args.duration = 60.0
    try:
        return int(args.func(args))
    except AffectError as err:
        print(f"affect {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"affect {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
