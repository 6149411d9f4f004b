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

"""The ``affect`` command: ``affect lab`` runs the pipeline, pretrain/train/export make a model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from affect_core.errors import AffectError

DEFAULT_PARAMS = Path(__file__).resolve().parent / "config" / "lab.yaml"


def _lab(args: argparse.Namespace) -> int:
    from affect_core.pipeline import LabPipeline, format_summary

    pipeline = LabPipeline.from_params_file(args.params, model_path=args.model,
                                            preset=args.preset, num_people=args.people,
                                            seed=args.seed)
    summary = pipeline.run(args.duration, Path(args.out), progress=not args.quiet,
                           source=args.source, rate=args.rate, overlay=args.overlay)
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


def _training_module(name: str) -> Any:
    """Import a training module, or say which extra is missing."""
    import importlib

    try:
        return importlib.import_module(f"affect_core.training.{name}")
    except ImportError as err:
        raise AffectError(
            f"training needs PyTorch and timm ({err.name} is missing): "
            "pip install 'affect-core[train]'"
        ) from err


def _train_faces(args: argparse.Namespace) -> int:
    faces = _training_module("faces")
    config = faces.FaceTrainConfig(
        data=args.faces, seed=args.seed, size=args.size, stem=args.stem,
        crop_size_px=args.crop_size, patch_size=args.patch_size, threads=args.threads,
        batch_size=args.batch_size,
        **{key: value for key, value in (("epochs", args.epochs),
                                         ("rig_samples", args.rig_samples),
                                         ("ir_look", args.ir_look),
                                         ("class_weight_power", args.class_weight_power))
           if value is not None})
    out = Path(args.out)
    report = faces.train_faces(config, out, Path(args.cache) if args.cache else None,
                               progress=not args.quiet)
    print(f"wrote {out.with_suffix('.onnx')} ({report['model_id']}), temperature "
          f"{report['temperature']:.3f}, domain threshold {report['domain_threshold']:.2f}; "
          f"{report['train_photos']} training photographs, {report['rig_crops']} rig crops; "
          "score it with `affect eval faces --data ... --split test`")
    return 0


def _train(args: argparse.Namespace) -> int:
    if args.faces:
        return _train_faces(args)
    training = _training_module("train")
    config = training.TrainConfig(
        train_samples=args.samples, seed=args.seed, size=args.size,
        **({"epochs": args.epochs} if args.epochs else {}),
        stem=args.stem, crop_size_px=args.crop_size, patch_size=args.patch_size,
        quality_weighting=args.quality_weighting, quality_floor=args.quality_floor,
        balanced_sampling=args.balanced_sampling, attn_scale=args.attn_scale,
        label_fraction=args.label_fraction, init=args.init or "", threads=args.threads,
        batch_size=args.batch_size,
        **({"val_samples": args.val_samples} if args.val_samples else {}),
        **({"test_samples": args.test_samples} if args.test_samples else {}),
        **({"train_preset_mix": args.preset_mix} if args.preset_mix is not None else {}))
    report = training.train(config, Path(args.out), progress=not args.quiet,
                            resume=args.resume, cache=Path(args.cache) if args.cache else None)
    print(f"wrote {args.out} ({report['model_id']}), temperature {report['temperature']:.3f}, "
          f"{report['train_crops']} labelled training crops")
    for split, figures in report["test"].items():
        print(f"  {split} (synthetic, held out): accuracy {figures['accuracy']:.3f}, "
              f"macro-F1 {figures['macro_f1']:.3f}, ECE {figures['ece_uncalibrated']:.3f} -> "
              f"{figures['ece_calibrated']:.3f} calibrated, worst-group gap "
              f"{figures['worst_group_gap']:.3f}")
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    dino = _training_module("dino")
    config = dino.DinoConfig(samples=args.samples, epochs=args.epochs, seed=args.seed,
                             size=args.size, stem=args.stem, crop_size_px=args.crop_size,
                             patch_size=args.patch_size, batch_size=args.batch_size,
                             local_crops=args.local_crops, out_dim=args.out_dim,
                             teacher_temp=args.teacher_temp, student_temp=args.student_temp,
                             threads=args.threads)
    summary = dino.pretrain(config, Path(args.out),
                            Path(args.crops) if args.crops else None, progress=not args.quiet,
                            cache=Path(args.cache) if args.cache else None)
    source = args.crops or "synthetic rig crops (unlabelled)"
    print(f"affect pretrain: wrote {args.out} (DINO teacher backbone, timm layout) from "
          f"{summary['crops']} crops of {source}; final loss "
          f"{summary['history'][-1]['loss']:.3f}")
    return 0


def _export(args: argparse.Namespace) -> int:
    export = _training_module("export")
    training = _training_module("train")
    from affect_core.model.runtime import preprocess
    from affect_core.training.dataset import render_crops

    if bool(args.weights) == bool(args.onnx):
        raise AffectError("give either --weights (export trained weights) or --onnx (add the "
                          "rollout output to an exported model)")
    if args.onnx:
        import onnx

        from affect_core.model.metadata import ModelMetadata

        props = {p.key: p.value for p in onnx.load(args.onnx).metadata_props}
        size_px = ModelMetadata.from_props(props, args.onnx).input_size_px
        grid = size_px // args.patch_size
        added = export.add_rollout(Path(args.onnx), Path(args.out), (grid, grid))
        print(f"affect export: wrote {args.out} ({added.model_id}) with the attention_rollout "
              f"output ({grid}x{grid} patches); weights unchanged")
    else:
        model, config, temperature = training.load_weights(Path(args.weights))
        metadata = export.export_onnx(model, Path(args.out), temperature, config,
                                      *training.rig_identity(config))
        crops = render_crops(16, "heterogeneous", seed=4243, crop_size_px=config.crop_size_px,
                             progress=False, expressions=config.expressions).crops
        batch = preprocess(list(crops), config.crop_size_px)
        diffs = export.parity(model, Path(args.out), batch)
        print(f"affect export: wrote {args.out} ({metadata.model_id}); parity with PyTorch on "
              f"{len(crops)} rig crops, max abs difference: "
              + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
    out = Path(args.out)
    if args.int8:
        int8_path = out.with_name(out.stem + "_int8.onnx")
        int8 = export.quantize_int8(out, int8_path)
        print(f"affect export: wrote {int8_path} ({int8.model_id}, dynamic INT8)")
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

    if args.target == "backends":
        latency = _training_module("latency")
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
        print(bench.format_face_bench(bench.bench_face(args.seconds, args.landmarker)))
    elif args.target == "replay":
        print(bench.bench_replay(args.seconds if args.seconds_given else 10.0))
    elif args.target == "model":
        _bench_models(args)
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


def _eval(args: argparse.Namespace) -> int:
    targets = {"model": _eval_model, "face": _eval_face, "detectors": _eval_detectors,
               "fusion": _eval_fusion, "faces": _eval_faces}
    return targets[args.target](args)


def _eval_face(args: argparse.Namespace) -> int:
    from affect_core.face.evaluation import evaluate_face, format_face

    duration_s = args.duration if args.duration_given else 20.0
    people = [int(v) for v in args.face_people.split(",") if v.strip()]
    results = evaluate_face(duration_s, people, args.seed, args.landmarks, args.noise_px,
                            args.detector or "blob")
    print(format_face(results, duration_s))
    return 0


def _eval_faces(args: argparse.Namespace) -> int:
    from affect_core import photo_eval
    from affect_core.data.photos import PHOTO_DETECTOR
    from affect_core.fusion import FusionConfig
    from affect_core.model.runtime import shipped_models
    from affect_core.model.stage import model_file
    from affect_core.params import load_params_file

    if not args.data:
        raise AffectError("affect eval faces needs --data: a folder of <label>/<image>, a "
                          "labels CSV or a FER2013-style CSV")
    params = load_params_file(args.params)
    models = ([p for name in args.model.split(",") if (p := model_file(name.strip()))]
              if args.model else shipped_models())
    tracker = {**params.get("face_tracker", {}),
               "detector": args.detector or PHOTO_DETECTOR}
    photos = photo_eval.load_photo_set(Path(args.data), args.split,
                                       [x for x in args.exclude.split(",") if x],
                                       args.split_seed, tracker, not args.quiet,
                                       args.subgroup_column)
    fusion = FusionConfig.from_params(params.get("confidence_fusion", {}))
    results = photo_eval.evaluate_photos(photos, models, fusion, args.draws)
    print(photo_eval.format_photos(results))
    if args.nonfaces:
        from affect_core import domain_eval

        results["nonfaces"] = domain_eval.evaluate_nonfaces(models, fusion, tracker)
        print(domain_eval.format_nonfaces(results["nonfaces"]))
    if args.json:
        photo_eval.write_json(results, Path(args.json))
        print(f"figures written to {args.json}")
    return 0


def _eval_detectors(args: argparse.Namespace) -> int:
    from affect_core.face.detector_eval import evaluate_detectors, format_detectors

    detections, landmarks = evaluate_detectors(args.detectors.split(","), args.duration,
                                               args.stride, args.seed, not args.no_photographs)
    print(format_detectors(detections, landmarks))
    return 0


def _eval_fusion(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from affect_core import evaluation as ev

    model = args.model or ev.RIG_MODEL_NAME
    results = ev.evaluate_fusion(args.params, args.duration, args.people, args.seed, model)
    print(ev.format_fusion(results, args.duration, args.people, args.target_precision,
                           args.target_coverage))
    config = results[0].config
    assert config is not None
    if args.fit_temperature:
        held_out = ev.evaluate_fusion(args.params, args.duration, args.people, args.seed + 1,
                                      model)
        temperature = ev.fit_temperature([w for r in held_out for w in r.windows_scored],
                                         config)
        print(f"temperature fitted on seed {args.seed + 1} (both presets): {temperature:.3f} "
              f"(configured {config.temperature:.3f}); ECE on seed {args.seed}:")
        for r in results:
            refit = ev.refigure(r, replace(config, temperature=temperature))
            print(f"  {r.preset:<14} configured {r.ece_fused:.3f} -> fitted {refit.ece_fused:.3f}"
                  f" (coverage {100 * r.coverage:.1f} % -> {100 * refit.coverage:.1f} %)")
    if args.ablation:
        print(ev.format_ablation(results, config))
    if args.sweep:
        print(ev.format_sweep(ev.sweep(results, config)))
    return 0


def _eval_model(args: argparse.Namespace) -> int:
    from affect_core.model import scoring
    from affect_core.model.runtime import EmotionModel
    from affect_core.model.stage import model_file
    from affect_core.window import WindowConfig

    model = EmotionModel(model_file(args.model or ""))
    scores = scoring.score_model(model, args.samples, progress=not args.quiet)
    k = WindowConfig().samples_per_window
    crops = list(scoring.render_crops(k, "curated", 99, progress=False).crops)
    print(scoring.format_scores(model, scores, scoring.window_ms(model, crops, k), k))
    return 0


def _model_shape_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (2)")
    parser.add_argument("--size", default="micro", choices=("micro", "tiny", "small", "base"))
    parser.add_argument("--stem", default="conv", choices=("conv", "patch"),
                        help="conv: early convolutions (trains fast from scratch); patch: "
                        "timm's linear patch embedding (the layout of DINO weights)")
    parser.add_argument("--crop-size", type=int, default=64, help="input side in pixels (64)")
    parser.add_argument("--patch-size", type=int, default=8,
                        help="ViT patch side in pixels (8 for small inputs, 16 for 224 px)")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``affect`` command."""
    parser = argparse.ArgumentParser(prog="affect", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

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

    bench = sub.add_parser("bench", help="print speed figures (nothing is asserted)")
    bench.add_argument("target",
                       choices=("rig", "window", "stereo", "replay", "face", "model", "backends"),
                       help="what to measure (face: the tracker per frame; model: shipped "
                       "models per window, taking turns; backends: PyTorch eager vs ONNX "
                       "Runtime vs INT8, needs the train extra)")
    bench.add_argument("--seconds", type=float, default=None,
                       help="sensor seconds (rig: per configuration, default 3; window: "
                       "the stream, default 3600)")
    bench.add_argument("--threads", type=int, default=1,
                       help="OpenCV threads; model, backends: PyTorch and ONNX Runtime "
                       "threads (default 1)")
    bench.add_argument("--landmarker", default="",
                       help="face: also time this landmark model by name")
    bench.add_argument("--model", action="append", default=None,
                       help="model: ONNX file or shipped model name, repeatable (default: "
                       "both shipped models, taking turns)")
    bench.add_argument("--weights", default=None,
                       help="backends: weights file written by affect train (<out>.pt)")
    bench.add_argument("--k", type=int, default=8,
                       help="backends: crops per window (default 8)")
    bench.add_argument("--rounds", type=int, default=200, help="backends: timed windows")
    bench.set_defaults(func=_bench)

    evaluate = sub.add_parser("eval", help="measure a stage on the simulated rig or a "
                              "model on labelled photographs")
    evaluate.add_argument("target", choices=("fusion", "face", "detectors", "model", "faces"),
                          help="fusion: what fusion buys; face: the face stage against rig "
                          "truth; detectors: face detectors and landmark models; model: a "
                          "model on held-out crops; faces: every model on labelled "
                          "photographs of real faces (--data)")
    evaluate.add_argument("--model", default=None,
                          help="model: ONNX file or shipped model name (default: the "
                          "shipped default model); faces: comma-separated (default: every "
                          "shipped model)")
    evaluate.add_argument("--data", default=None,
                          help="faces: labelled photographs (folder of <label>/<image>, "
                          "labels CSV, FER2013-style CSV)")
    evaluate.add_argument("--split", default="all", choices=("all", "train", "val", "test"),
                          help="faces: score one identity-disjoint split (default all)")
    evaluate.add_argument("--split-seed", type=int, default=0,
                          help="faces: seed of the identity split (training uses 0)")
    evaluate.add_argument("--exclude", default="contempt",
                          help="faces: comma-separated labels left out (default contempt: "
                          "too rare in most photograph sets to score)")
    evaluate.add_argument("--subgroup-column", default="subgroup",
                          help="faces: CSV column giving each photograph's subgroup, for the "
                          "subgroup gap (e.g. source)")
    evaluate.add_argument("--nonfaces", action="store_true",
                          help="faces: also score non-face images and odd crops (needs "
                          "scikit-image)")
    evaluate.add_argument("--json", default=None, help="faces: also write the figures here")
    evaluate.add_argument("--draws", type=int, default=500,
                          help="faces: bootstrap draws over identities (default 500)")
    evaluate.add_argument("--samples", type=int, default=1500,
                          help="model: crops rendered per preset (default 1500)")
    evaluate.add_argument("--quiet", action="store_true", help="model: no progress bars")
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
    evaluate.add_argument("--ablation", action="store_true",
                          help="also print each fusion step's effect on the same windows")
    evaluate.add_argument("--sweep", action="store_true",
                          help="also print accuracy, ECE and spikes for smoothing x "
                          "switch_margin")
    evaluate.add_argument("--fit-temperature", action="store_true",
                          help="fit the fusion temperature on runs of seed + 1 and report "
                          "its ECE on this seed")
    evaluate.add_argument("--face-people", default="1,3",
                          help="face: comma-separated numbers of people, one run each")
    evaluate.add_argument("--landmarks", default="truth",
                          help="face: a landmark model by name, truth (the rig's landmarks "
                          "plus noise) or none")
    evaluate.add_argument("--noise-px", type=float, default=1.0,
                          help="face: pixel noise added to the rig's landmarks")
    evaluate.add_argument("--detector", default=None,
                          help="face, faces: the tracker's face detector (see affect eval "
                          "detectors; face: blob, faces: blazeface)")
    evaluate.add_argument("--detectors",
                          default="blob,blazeface,blazeface_whole,blazeface_short",
                          help="detectors: comma-separated names of affect_core.face.detectors")
    evaluate.add_argument("--stride", type=int, default=12,
                          help="detectors: score every Nth rig frame (default 12)")
    evaluate.add_argument("--no-photographs", action="store_true",
                          help="detectors: skip the scikit-image photographs")
    evaluate.set_defaults(func=_eval)

    train = sub.add_parser("train", help="train, calibrate and export an emotion ViT on rig "
                           "data, or on labelled photographs of real faces (--faces)")
    train.add_argument("--faces", default=None,
                       help="labelled photographs to train on (any layout `affect eval "
                       "faces --data` reads), split by identity; rig crops join them")
    train.add_argument("--rig-samples", type=int, default=None,
                       help="faces: rig crops joining the photographs (3000)")
    train.add_argument("--ir-look", type=float, default=None,
                       help="faces: share of photographs moved toward active IR (0.5)")
    train.add_argument("--class-weight-power", type=float, default=None,
                       help="faces: class weights (count / max count) ** -power (0.75)")
    train.add_argument("--out", default="models/affect_vit_micro_rig.onnx",
                       help="ONNX file to write (metrics go beside it as .json, weights as "
                       ".pt, the resumable state as .ckpt.pt)")
    train.add_argument("--samples", type=int, default=9000, help="training crops to render")
    train.add_argument("--val-samples", type=int, default=0, help="validation crops (1500)")
    train.add_argument("--test-samples", type=int, default=0,
                       help="held-out crops per test split (1500)")
    train.add_argument("--preset-mix", type=float, default=None,
                       help="share of heterogeneous crops in training (0.5)")
    train.add_argument("--epochs", type=int, default=None,
                       help="most epochs, early stopping ends sooner (rig 30, faces 40)")
    train.add_argument("--batch-size", type=int, default=128)
    _model_shape_arguments(train)
    train.add_argument("--quality-weighting", action=argparse.BooleanOptionalAction,
                       default=False, help="weight each sample's loss by its capture quality "
                       "(pose stability x lighting consistency); off by default, see the "
                       "model card")
    train.add_argument("--quality-floor", type=float, default=0.05,
                       help="smallest loss weight a sample gets (0.05, as in fusion)")
    train.add_argument("--balanced-sampling", action=argparse.BooleanOptionalAction,
                       default=False, help="draw samples balanced over subgroups")
    train.add_argument("--attn-scale", default="none", choices=("none", "learned"),
                       help="learned: a per-head factor on the attention logits")
    train.add_argument("--label-fraction", type=float, default=1.0,
                       help="keep only this share of the training labels (few-label runs)")
    train.add_argument("--init", default=None,
                       help="pretrained backbone: affect pretrain output or DINO weights in "
                       "timm's layout (.pt/.pth/.safetensors), read from this local file")
    train.add_argument("--resume", action="store_true",
                       help="continue an interrupted run from <out>.ckpt.pt")
    train.add_argument("--cache", default=None,
                       help="folder keeping rendered rig crops between runs (.npz)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=_train)

    pretrain = sub.add_parser("pretrain", help="DINO self-supervised pretraining on "
                              "unlabelled face crops")
    pretrain.add_argument("--out", required=True, help="backbone file to write (.pt)")
    pretrain.add_argument("--crops", default=None,
                          help="folder of PNG face crops (e.g. affect synth --mode crops "
                          "output); default: render unlabelled rig crops")
    pretrain.add_argument("--samples", type=int, default=6000,
                          help="rig crops to render when no folder is given")
    pretrain.add_argument("--epochs", type=int, default=10)
    pretrain.add_argument("--batch-size", type=int, default=64)
    pretrain.add_argument("--local-crops", type=int, default=4, help="local views per crop")
    pretrain.add_argument("--out-dim", type=int, default=1024,
                          help="DINO head output dimension (prototypes)")
    pretrain.add_argument("--teacher-temp", type=float, default=0.02,
                          help="teacher softmax temperature (sharpening)")
    pretrain.add_argument("--student-temp", type=float, default=0.1)
    _model_shape_arguments(pretrain)
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--cache", default=None,
                          help="folder keeping rendered rig crops between runs (.npz)")
    pretrain.add_argument("--quiet", action="store_true", help="no progress bars")
    pretrain.set_defaults(func=_pretrain)

    export = sub.add_parser("export", help="export trained weights to ONNX with metadata, "
                            "check parity, optionally quantise to INT8")
    export.add_argument("--weights", default=None, help="weights file from affect train (.pt)")
    export.add_argument("--onnx", default=None,
                        help="instead: an exported model without the attention_rollout "
                        "output, to add it (weights unchanged)")
    export.add_argument("--patch-size", type=int, default=8,
                        help="with --onnx: the model's patch side in pixels (8)")
    export.add_argument("--out", required=True, help="ONNX file to write")
    export.add_argument("--int8", action="store_true",
                        help="also write <out>_int8.onnx (dynamic INT8 quantisation)")
    export.set_defaults(func=_export)
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
