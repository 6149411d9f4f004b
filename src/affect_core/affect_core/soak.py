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

"""``affect bench soak``: memory and file descriptors over a long run, printed per minute.

A leak shows only over time: the lab runs on the heterogeneous rig (4 people by default)
for ``duration_s`` of sensor time, and every minute of sensor time prints the resident
set size (RSS, from /proc) and the open file descriptors of the process, then the growth
from minute 1 (after start-up has loaded models and filled caches) to the end, against a
goal of at most 5 %, with the frames and windows dropped. ``--graph`` does the same for
each process of the launched ROS 2 graph, per wall minute. Nothing is asserted: it is a
measurement to run before a release, not a test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from affect_core.errors import AffectError

GROWTH_GOAL = 0.05
SAMPLE_S = 60.0


def rss_kib(pid: int | str = "self") -> int:
    """Return a process's resident set size in KiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int | str = "self") -> int:
    """Count a process's open file descriptors."""
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass
class Sample:
    """One minute's figures of one process."""

    minute: float
    wall_s: float
    rss_kib: int
    fds: int


@dataclass
class SoakResult:
    """Samples per process and what the run dropped."""

    what: str
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def growth(samples: list[Sample], attribute: str) -> float:
    """Return the relative change of ``attribute`` from the first sample to the last."""
    first, last = getattr(samples[0], attribute), getattr(samples[-1], attribute)
    return (last - first) / first if first else float("nan")


def soak_lab(duration_s: float, people: int = 4, preset: str = "heterogeneous",
             progress: bool = False, echo: Callable[[str], None] | None = None) -> SoakResult:
    """Run the lab for ``duration_s`` of sensor time, sampling this process each minute.

    ``echo`` gets each minute's line as it is measured, so an hour-long run shows its
    course (and what it had, if it is stopped).
    """
    from affect_core.cli.common import DEFAULT_PARAMS
    from affect_core.pipeline import LabPipeline

    pipeline = LabPipeline.from_params_file(DEFAULT_PARAMS, preset=preset, num_people=people)
    result = SoakResult(f"affect lab, simulated rig ({preset}, {people} people), "
                        f"{duration_s:.0f} s of sensor time")
    samples = result.samples.setdefault("affect lab", [])
    start = time.perf_counter()
    first_ns: list[int] = []
    latest: list[Sample] = []  # the last sample taken while running (each sensor second)

    def on_frame(stamp_ns: int) -> None:
        if not first_ns:
            first_ns.append(stamp_ns)
        elapsed_s = (stamp_ns - first_ns[0]) / 1e9
        if latest and elapsed_s - latest[0].minute * SAMPLE_S < 1.0:
            return
        latest[:] = [Sample(elapsed_s / SAMPLE_S, time.perf_counter() - start, rss_kib(),
                            open_fds())]
        if elapsed_s >= SAMPLE_S * (len(samples) + 1):
            samples.append(latest[0])
            if echo is not None:
                echo(f"  minute {latest[0].minute:.0f}: {_row(latest[0])}")

    out = Path(tempfile.mkdtemp(prefix="affect_soak_"))
    try:
        summary = pipeline.run(duration_s, out, progress=progress, on_frame=on_frame)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if latest and (not samples or latest[0] is not samples[-1]):
        samples.append(latest[0])
    drops = ", ".join(f"{k} {v}" for k, v in sorted(summary.dropped.items())) or "none"
    rejected = sum(summary.rejected_frames.values())
    result.notes += [
        f"real-time factor {summary.real_time_factor:.2f} on this machine; {summary.frames} "
        f"IR frames, {summary.windows} windows, {summary.people} track ids",
        f"window completeness {100 * summary.window_completeness:.3f} % (observations "
        f"windowed / received); dropped observations: {drops}; rejected frames {rejected}; "
        f"IR frames without depth {summary.association.without_secondary}",
    ]
    return result


def soak_graph(duration_s: float, launch_args: list[str] | None = None) -> SoakResult:
    """Launch the ROS 2 graph for ``duration_s`` wall seconds, sampling each node per minute.

    Needs a sourced ROS 2 and workspace (``ros2`` on PATH). The graph is stopped with
    SIGINT at the end, as Ctrl-C would, and its exit status is reported.
    """
    if shutil.which("ros2") is None:
        raise AffectError("affect bench soak --graph needs ROS 2: source "
                          "/opt/ros/<distro>/setup.bash and the workspace's install/setup.bash")
    command = ["ros2", "launch", "affect_bringup", "lab.launch.py", *(launch_args or [])]
    result = SoakResult(f"ROS 2 graph ({' '.join(command)}), {duration_s:.0f} s wall")
    launch = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                              start_new_session=True)
    start = time.perf_counter()
    try:
        time.sleep(min(20.0, duration_s / 4))  # let every node load its model
        while True:
            wall_s = time.perf_counter() - start
            for pid, name in child_processes(launch.pid).items():
                try:
                    sample = Sample(wall_s / SAMPLE_S, wall_s, rss_kib(pid), open_fds(pid))
                except (FileNotFoundError, ProcessLookupError):
                    result.notes.append(f"{name} (pid {pid}) exited during the run")
                    continue
                result.samples.setdefault(name, []).append(sample)
            if launch.poll() is not None:
                result.notes.append(f"the launch ended early with status {launch.returncode}")
                break
            if time.perf_counter() - start >= duration_s:
                break
            time.sleep(max(0.0, min(SAMPLE_S, duration_s - (time.perf_counter() - start))))
    finally:
        if launch.poll() is None:
            os.killpg(launch.pid, signal.SIGINT)
            try:
                launch.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(launch.pid, signal.SIGKILL)
                launch.wait()
                result.notes.append("the graph did not stop within 60 s of SIGINT: killed")
    result.notes.append(f"launch exit status after SIGINT: {launch.returncode}")
    return result


def child_processes(root: int) -> dict[int, str]:
    """Name every descendant process of ``root`` by its executable (from /proc)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii")
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        args = [a.decode(errors="replace") for a in cmdline if a]
        program = args[0] if args else "?"
        if Path(program).name.startswith("python"):  # a Python node: name it by its script
            program = next((a for a in args[1:] if not a.startswith("-")), program)
        names[int(entry.name)] = Path(program).name
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = f"{names[pid]}[{pid}]"
                frontier.append(pid)
    return found


def _row(sample: Sample) -> str:
    return (f"{sample.minute:>6.2f} {sample.wall_s:>8.1f} {sample.rss_kib / 1024:>9.1f} "
            f"{sample.fds:>5}")


def format_soak(result: SoakResult) -> str:
    """Print samples per minute, then growth from minute 1 to the end against the goal."""
    lines = [f"affect bench soak: {result.what}"]
    for name, samples in result.samples.items():
        lines.append(f"  {name}: minute, wall s, RSS MiB, open fds")
        lines += [f"    {_row(s)}" for s in samples]
    lines.append(f"  growth from minute 1 to the end (goal <= {100 * GROWTH_GOAL:.0f} %):")
    for name, samples in result.samples.items():
        if len(samples) < 2:
            lines.append(f"    {name}: fewer than two samples (run longer than two minutes)")
            continue
        rss, fds = growth(samples, "rss_kib"), growth(samples, "fds")
        verdict = "meets" if max(rss, fds) <= GROWTH_GOAL else "misses"
        lines.append(f"    {name}: RSS {100 * rss:+.1f} %, open fds {100 * fds:+.1f} % "
                     f"({verdict} the goal)")
    lines += [f"  {note}" for note in result.notes]
    return "\n".join(lines)
