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

"""``affect bench``: figures measured in one run, printed, never asserted.

``affect bench rig`` renders the simulated rig on one core (OpenCV limited to one
thread) for 1 and 4 people, with and without the stereo pair, and prints frames per
second and the ratio to the 120 fps the live lab needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2

from affect_core.sim.rig import RigConfig, SimRig

LIVE_FPS = 120.0


@dataclass
class RigBench:
    """One measured configuration."""

    people: int
    preset: str
    stereo_rate_hz: float
    frames: int
    fps: float


def bench_rig(seconds: float = 3.0, threads: int = 1) -> list[RigBench]:
    """Render ``seconds`` of sensor time per configuration and time it."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    results = []
    try:
        for preset in ("curated", "heterogeneous"):
            for people in (1, 4):
                for stereo in (0.0, 30.0):
                    rig = SimRig(RigConfig(num_people=people, preset=preset,
                                           stereo_rate_hz=stereo))
                    rig.step()  # first-frame set-up is not part of the steady state
                    count = int(seconds * rig.config.fps)
                    start = time.perf_counter()
                    for _ in range(count):
                        rig.step()
                    elapsed = time.perf_counter() - start
                    results.append(RigBench(people, preset, stereo, count, count / elapsed))
    finally:
        cv2.setNumThreads(previous)
    return results


def format_rig_bench(results: list[RigBench], threads: int) -> str:
    """The printed table."""
    lines = [f"simulated rig, 640x480 mono16 at 120 fps, {threads} thread(s):",
             f"{'preset':<14}{'people':>7}{'stereo':>9}{'frames/s':>10}{'x live':>8}"]
    for r in results:
        stereo = f"{r.stereo_rate_hz:.0f} Hz" if r.stereo_rate_hz else "off"
        lines.append(f"{r.preset:<14}{r.people:>7}{stereo:>9}{r.fps:>10.0f}"
                     f"{r.fps / LIVE_FPS:>8.2f}")
    return "\n".join(lines)
