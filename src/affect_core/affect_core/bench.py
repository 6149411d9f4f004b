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

``affect bench face`` (affect_core.bench_real) times the real-face configuration.

``affect bench window`` streams face observations (64 px crops) at a nominal 120 fps
through the windower for one simulated hour and prints its throughput on one core, the
window completeness (observations windowed / received), and the memory it holds after
one minute and after one hour (tracemalloc, Python allocations).
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass

import cv2
import numpy as np

from affect_core.sim.rig import RigConfig, SimRig
from affect_core.types import FaceFrame, FaceObservation, FrameQuality
from affect_core.window import WindowConfig, Windower

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
    """Format the printed table."""
    lines = [f"simulated rig, 640x480 mono16 at 120 fps, {threads} thread(s):",
             f"{'preset':<14}{'people':>7}{'stereo':>9}{'frames/s':>10}{'x live':>8}"]
    for r in results:
        stereo = f"{r.stereo_rate_hz:.0f} Hz" if r.stereo_rate_hz else "off"
        lines.append(f"{r.preset:<14}{r.people:>7}{stereo:>9}{r.fps:>10.0f}"
                     f"{r.fps / LIVE_FPS:>8.2f}")
    return "\n".join(lines)


@dataclass
class WindowBench:
    """One streamed run through the windower."""

    frames: int
    windows: int
    frames_per_s: float
    completeness: float
    memory_after_1_min_kib: float
    memory_after_end_kib: float
    peak_buffered: int


def bench_window(duration_s: float = 3600.0, people: int = 1) -> WindowBench:
    """Stream ``duration_s`` of 120 fps observations through a Windower."""
    cv2.setNumThreads(1)
    rng = np.random.default_rng(0)
    crops = [rng.integers(2000, 30000, (64, 64)).astype(np.uint16) for _ in range(16)]
    quality = FrameQuality(0.9, 0.9, 0.9, 0.9)
    windower = Windower(WindowConfig())
    frames = int(duration_s * 120.0)
    windows = 0
    tracemalloc.start()
    memory_1_min = 0.0
    start = time.perf_counter()
    for i in range(frames):
        stamp = int(round(i * 1e9 / 120.0))
        faces = [FaceObservation(stamp, f"p{p}", (0, 0, 64, 64), (0.0, 0.0, 1.0), quality,
                                 crops[(i + p) % len(crops)], "mono16") for p in range(people)]
        windows += len(windower.push(FaceFrame(stamp, "cam", faces, False)))
        if i == 60 * 120:
            memory_1_min = tracemalloc.get_traced_memory()[0] / 1024.0
    elapsed = time.perf_counter() - start
    memory_end = tracemalloc.get_traced_memory()[0] / 1024.0
    tracemalloc.stop()
    windows += len(windower.flush(int(round(frames * 1e9 / 120.0))))
    return WindowBench(frames, windows, frames / elapsed, windower.stats.completeness,
                       memory_1_min, memory_end, windower.stats.peak_buffered)


def format_window_bench(result: WindowBench, duration_s: float) -> str:
    """Format the printed figures."""
    return "\n".join([
        f"windower, {duration_s / 60:.0f} min of a 120 fps stream (64 px crops), 1 thread:",
        f"  frames {result.frames}, windows {result.windows}, "
        f"throughput {result.frames_per_s:.0f} frames/s ({result.frames_per_s / LIVE_FPS:.0f}x "
        "live)",
        f"  window completeness {100.0 * result.completeness:.2f} % (windowed / received)",
        f"  memory held after 1 min {result.memory_after_1_min_kib:.0f} KiB, at the end "
        f"{result.memory_after_end_kib:.0f} KiB; at most {result.peak_buffered} observations "
        "buffered",
    ])


def bench_stereo(pairs: int = 30, threads: int = 1) -> list[dict[str, float]]:
    """Depth error at the face against the rig's truth, and cost per 640x480 pair."""
    from affect_core.stereo import StereoConfig, StereoDepth

    previous = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    rig = SimRig(RigConfig(num_people=2, stereo_rate_hz=120.0))
    frames = [rig.step() for _ in range(pairs)]
    results = []
    try:
        for name, config in (("block matching (shipped)", StereoConfig(
                stereo_algorithm=0, correlation_window_size=15, disparity_range=48)),
                ("semi-global (SGBM)", StereoConfig(disparity_range=48))):
            stereo = StereoDepth(config)
            errors, valid, seconds = [], [], 0.0
            for frame in frames:
                assert frame.stereo is not None and frame.depth_truth is not None
                start = time.perf_counter()
                depth = stereo.compute(frame.stereo).data
                seconds += time.perf_counter() - start
                face = frame.depth_truth.data < 2.0
                errors.append(np.abs(depth - frame.depth_truth.data)[face & np.isfinite(depth)])
                valid.append(float(np.isfinite(depth[face]).mean()))
            error = np.concatenate(errors)
            results.append({"name": name, "median_error_mm": 1000 * float(np.median(error)),
                            "p90_error_mm": 1000 * float(np.percentile(error, 90)),
                            "valid": float(np.mean(valid)), "ms": 1000 * seconds / pairs})
    finally:
        cv2.setNumThreads(previous)
    return results


def format_stereo_bench(results: list[dict[str, float]]) -> str:
    """Format the printed table."""
    lines = ["stereo depth at the face vs the rig's truth, 640x480, 1 thread:",
             f"{'matcher':<26}{'median mm':>10}{'p90 mm':>8}{'valid':>8}{'ms/pair':>9}"]
    for r in results:
        lines.append(f"{r['name']:<26}{r['median_error_mm']:>10.1f}{r['p90_error_mm']:>8.1f}"
                     f"{100 * r['valid']:>7.1f}%{r['ms']:>9.1f}")
    return "\n".join(lines)


def bench_replay(seconds: float = 10.0) -> str:
    """Read throughput of a recording and of a frame folder, as a multiple of real time."""
    import tempfile
    from pathlib import Path

    from affect_core.sim.synth import write_dataset
    from affect_core.sinks.sensor_bag import record_source
    from affect_core.sources.concrete import BagSource, FramesSource, SimSource

    lines = [f"replay of {seconds:.0f} s of the rig (IR 120 Hz mono16 + stereo 30 Hz):"]
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "bag"
        record_source(SimSource(RigConfig(), seconds), bag)
        frames = Path(tmp) / "frames"
        write_dataset(RigConfig(), seconds, frames, "frames", progress=False)
        for name, replay in (("rosbag2 (MCAP)", BagSource(str(bag))),
                             ("16-bit PNG frames", FramesSource(str(frames)))):
            start = time.perf_counter()
            count = sum(1 for event in replay.frames() if event.ir is not None)
            elapsed = time.perf_counter() - start
            replay.close()
            lines.append(f"  {name:<20} {count} IR frames in {elapsed:.2f} s: "
                         f"{seconds / elapsed:.1f}x real time")
    return "\n".join(lines)
