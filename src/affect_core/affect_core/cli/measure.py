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

"""``affect eval``: measure a stage on the rig or a model on photographs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from affect_core.cli.common import DEFAULT_PARAMS
from affect_core.errors import AffectError
from affect_core.face.detectors import SIM_DETECTOR


def _eval(args: argparse.Namespace) -> int:
    targets = {"model": _eval_model, "face": _eval_face, "detectors": _eval_detectors,
               "fusion": _eval_fusion, "faces": _eval_faces, "rig": _eval_rig}
    return targets[args.target](args)


def _eval_rig(args: argparse.Namespace) -> int:
    from affect_core.rig_eval import evaluate_rig, format_rig, write_json

    data = Path(args.data) if args.data else None
    result = evaluate_rig(args.samples,
                          args.duration if args.duration_given else 30.0, args.seed, data,
                          progress=not args.quiet)
    print(format_rig(result))
    if args.json:
        write_json(result, Path(args.json))
    return 0


def _eval_face(args: argparse.Namespace) -> int:
    from affect_core.face.evaluation import evaluate_face, format_face

    duration_s = args.duration if args.duration_given else 20.0
    people = [int(v) for v in args.face_people.split(",") if v.strip()]
    results = evaluate_face(duration_s, people, args.seed, args.landmarks, args.noise_px,
                            args.detector or SIM_DETECTOR)
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
    if args.json:
        from affect_core.photo_eval import write_json

        write_json(ev.fusion_json(results, config, args.duration, args.people, model),
                   Path(args.json))
        print(f"figures written to {args.json}")
    return 0


def _eval_model(args: argparse.Namespace) -> int:
    from affect_core.model import scoring
    from affect_core.model.runtime import EmotionModel
    from affect_core.model.stage import model_file
    from affect_core.window import WindowConfig

    model = EmotionModel(model_file(args.model or ""))
    splits = scoring.test_splits(args.samples, progress=not args.quiet)
    scores = scoring.score_model(model, splits=splits)
    k = WindowConfig().samples_per_window
    crops = list(scoring.render_crops(k, "curated", 99, progress=False).crops)
    print(scoring.format_scores(model, scores, scoring.window_ms(model, crops, k), k))
    if args.json:
        from affect_core.photo_eval import write_json

        write_json(scoring.model_json(model, splits, args.draws), Path(args.json))
        print(f"figures written to {args.json}")
    return 0


def add_parsers(sub: Any) -> None:
    """Add this module's commands to the ``affect`` parser."""
    evaluate = sub.add_parser("eval", help="measure a stage on the simulated rig or a "
                              "model on labelled photographs")
    evaluate.add_argument("target",
                          choices=("fusion", "face", "detectors", "model", "faces", "rig"),
                          help="fusion: what fusion buys; face: the face stage against rig "
                          "truth; detectors: face detectors and landmark models; model: a "
                          "model on held-out crops; faces: every model on labelled "
                          "photographs of real faces (--data); rig: how real-face models "
                          "and landmarks read the rig, and the sim-to-real gap (--data)")
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
    evaluate.add_argument("--json", default=None,
                          help="faces, model, fusion: also write the figures here (JSON, "
                          "read by affect report and affect claims)")
    evaluate.add_argument("--draws", type=int, default=500,
                          help="faces, model: bootstrap draws over identities, or crops "
                          "(default 500)")
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
                          "detectors; face: blazeface_whole, faces: blazeface)")
    evaluate.add_argument("--detectors",
                          default="blob,blazeface,blazeface_whole,blazeface_short",
                          help="detectors: comma-separated names of affect_core.face.detectors")
    evaluate.add_argument("--stride", type=int, default=12,
                          help="detectors: score every Nth rig frame (default 12)")
    evaluate.add_argument("--no-photographs", action="store_true",
                          help="detectors: skip the scikit-image photographs")
    evaluate.set_defaults(func=_eval)
