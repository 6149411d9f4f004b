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

from affect_core.cli import bench, label, learn, measure, report, run
from affect_core.cli.common import DEFAULT_PARAMS
from affect_core.errors import AffectError

__all__ = ["DEFAULT_PARAMS", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``affect`` command."""
    parser = argparse.ArgumentParser(prog="affect", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (run, bench, measure, learn, report, label):
        module.add_parsers(sub)
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
