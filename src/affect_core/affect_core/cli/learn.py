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

"""``affect train``, ``affect pretrain`` and ``affect export``: make a model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from affect_core.cli.common import training_module
from affect_core.errors import AffectError


def _train_faces(args: argparse.Namespace) -> int:
    faces = training_module("faces")
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


def _train_labels(args: argparse.Namespace) -> int:
    if not args.crops:
        raise AffectError("--labels needs --crops: the folder the labelled crops are in")
    finetune = training_module("finetune")
    out = Path(args.out)
    report = finetune.finetune(Path(args.labels), Path(args.crops), out,
                               Path(args.init) if args.init else None, seed=args.seed,
                               epochs=args.epochs or 30, threads=args.threads,
                               progress=not args.quiet)
    before, after = report["val_before"], report["val_after"]
    print(f"wrote {out.with_suffix('.onnx')} ({report['model_id']}) from {report['start']}: "
          f"{report['train_crops']} labelled crops, {report['val_crops']} held out (whole SOM "
          f"nodes of the same footage); validation top-1 {before['accuracy']:.3f} -> "
          f"{after['accuracy']:.3f}, macro recall {before['macro_recall']:.3f} -> "
          f"{after['macro_recall']:.3f}; temperature {report['temperature']:.3f}; card "
          f"{out.with_suffix('.md')}")
    return 0


def _train(args: argparse.Namespace) -> int:
    if args.labels:
        return _train_labels(args)
    if args.faces:
        return _train_faces(args)
    training = training_module("train")
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
    dino = training_module("dino")
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
    export = training_module("export")
    training = training_module("train")
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


def _model_shape_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (2)")
    parser.add_argument("--size", default="micro", choices=("micro", "tiny", "small", "base"))
    parser.add_argument("--stem", default="conv", choices=("conv", "patch"),
                        help="conv: early convolutions (trains fast from scratch); patch: "
                        "timm's linear patch embedding (the layout of DINO weights)")
    parser.add_argument("--crop-size", type=int, default=64, help="input side in pixels (64)")
    parser.add_argument("--patch-size", type=int, default=8,
                        help="ViT patch side in pixels (8 for small inputs, 16 for 224 px)")


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``affect`` parser."""
    train = sub.add_parser("train", help="train, calibrate and export an emotion ViT on rig "
                           "data, or on labelled photographs of real faces (--faces)")
    train.add_argument("--faces", default=None,
                       help="labelled photographs to train on (any layout `affect eval "
                       "faces --data` reads), split by identity; rig crops join them")
    train.add_argument("--labels", default=None,
                       help="fine-tune on a lab's own labels (labels.csv of `affect label`); "
                       "needs --crops, starts from --init (default: the shipped model)")
    train.add_argument("--crops", default=None, help="labels: the folder of the labelled crops")
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
                       "timm's layout (.pt/.pth/.safetensors), read from this local file; "
                       "with --labels also an exported model (.onnx) or a run's .pt")
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
