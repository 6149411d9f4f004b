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

"""What every source yields, and how ``--source`` strings name them.

A source yields SensorFrames in stamp order. Each carries an IR frame, a rectified
stereo pair, or both (the simulated rig's ticks carry both; a recording may interleave
them); the pipeline associates IR with depth by stamp whatever the order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from affect_core.errors import SourceError
from affect_core.sim.rig import FrameTruth
from affect_core.types import CameraModel, ImageFrame, StereoFrame


@dataclass
class SensorFrame:
    """One event of a source: an IR frame and/or a stereo pair (and truth from the rig)."""

    ir: ImageFrame | None = None
    stereo: StereoFrame | None = None
    truth: FrameTruth | None = None


@dataclass
class SourceStats:
    """What a source delivered and what went wrong, for the summary."""

    ir_frames: int = 0
    stereo_pairs: int = 0
    problems: dict[str, int] = field(default_factory=dict)

    def problem(self, what: str) -> None:
        """Count one reported problem."""
        self.problems[what] = self.problems.get(what, 0) + 1


class Source(Protocol):
    """A stream of SensorFrames."""

    description: str
    nominal_fps: float
    ir_camera: CameraModel | None
    stats: SourceStats

    def frames(self) -> Iterator[SensorFrame]:
        """Yield the frames, in stamp order, until the source ends."""
        ...

    def close(self) -> None:
        """Release files and devices."""
        ...


SOURCE_KINDS = ("sim", "camera", "video", "frames", "bag")


def parse_source(spec: str) -> tuple[str, str]:
    """Split ``kind[:argument]`` (sim, camera:N, video:PATH, frames:DIR, bag:PATH)."""
    kind, _, argument = spec.partition(":")
    if kind not in SOURCE_KINDS:
        raise SourceError(f"unknown source {spec!r}; use sim, camera:N, video:PATH, "
                          "frames:DIR or bag:PATH")
    if kind != "sim" and not argument:
        raise SourceError(f"source {kind} needs an argument, e.g. {kind}:"
                          + {"camera": "0", "video": "ir.mkv", "frames": "frames/",
                             "bag": "recording/"}[kind])
    return kind, argument


class Pacer:
    """Replays at recorded timing (rate 1), faster (rate > 1), or unpaced (rate 0)."""

    def __init__(self, rate: float) -> None:
        if rate < 0.0 or math.isnan(rate):
            raise SourceError(f"replay rate must be 0 (as fast as possible) or positive, "
                              f"got {rate}")
        self.rate = rate
        self._origin: tuple[int, float] | None = None

    def wait(self, stamp_ns: int) -> None:
        """Sleep until ``stamp_ns`` is due."""
        if self.rate == 0.0:
            return
        now = time.monotonic()
        if self._origin is None:
            self._origin = (stamp_ns, now)
            return
        due = self._origin[1] + (stamp_ns - self._origin[0]) / 1e9 / self.rate
        if due > now:
            time.sleep(due - now)
