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

"""``affect bench graph``: whether the launched ROS 2 graph keeps up with 120 fps.

The graph (``ros2 launch affect_bringup lab.launch.py``: the simulated rig by default,
or with ``replay_s`` ir_camera looping a recording of the rig) runs in its own process
group; ``ros2 run affect_ros graph_probe`` waits for /emotion to flow, then listens for
``duration_s`` wall seconds. Over that same window the CPU time
(utime + stime, /proc/<pid>/stat) of every process of the launch and of the probe is
read at the start and at the end. The graph is then stopped with SIGINT, as Ctrl-C would.

Printed against the goals of issue #16 (never asserted: a measurement, not a test):
sensor seconds per wall second of the IR stream (goal >= 1.0), frames used / expected
summed over the /emotion windows (goal >= 99.9 %), /emotion latency p50/p95/p99/max
(receipt wall time - header stamp, the window end in sensor time; goal p99 <= 50 ms on
CPU) and the graph's own share of it (receipt - receipt of the IR frame that closed
the window), messages and rate per topic, and CPU % per process (CPU s / wall s; 100 %
is one core).

The CLI calls::

    probe_graph(duration_s: float = 60.0, people: int = 1,
                launch_args: list[str] | None = None,
                replay_s: float | None = None) -> GraphBenchResult
    format_graph_bench(result: GraphBenchResult) -> str

No rclpy here: the graph and the probe are subprocesses, and this module reads their
output and /proc.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from affect_core.errors import AffectError
from affect_core.soak import child_processes, rss_kib

REAL_TIME_GOAL = 1.0
FRAMES_GOAL = 0.999
LATENCY_P99_GOAL_MS = 50.0
# The longest wait for the first /emotion: each node loads its model first.
WAIT_FOR_EMOTION_S = 120.0
STOP_TIMEOUT_S = 60.0


@dataclass
class NodeCpu:
    """One process of the graph over the measured window."""

    name: str
    pid: int
    cpu_s: float
    cpu_percent: float
    rss_kib: int


@dataclass
class GraphBenchResult:
    """What the probe saw, and the CPU each process spent meanwhile."""

    what: str
    wall_s: float
    sensor_per_wall: float
    frames_used: int
    frames_expected: int
    topics: dict[str, tuple[int, float]]  # topic -> (messages, rate in Hz)
    emotion_latency_ms: dict[str, float]
    graph_latency_ms: dict[str, float]
    nodes: list[NodeCpu]
    machine_busy_percent: float  # of every core (100 % = one core), whoever used it
    load_average: tuple[float, float, float]
    ir_arrival_ms: dict[str, float] = field(default_factory=dict)
    # closing frame -> /emotion split by stage: hop -> p50, p95, p99, max, count
    hops_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    split_total_ms: dict[str, float] = field(default_factory=dict)  # of the split windows
    notes: list[str] = field(default_factory=list)
    replay_s: float | None = None  # the looped recording's length; None: the rig live

    @property
    def frames_fraction(self) -> float:
        """Return frames used / expected over every /emotion window (NaN for none)."""
        return self.frames_used / self.frames_expected if self.frames_expected else math.nan


def cpu_s(pid: int) -> float:
    """Return a process's CPU time so far, user + system, in seconds (/proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_s() -> tuple[float, float]:
    """Return (busy, total) CPU seconds of the whole machine so far, from /proc/stat.

    Busy over total across the window shows whether something besides the graph ran.
    """
    first_line = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0]
    fields = [int(v) for v in first_line.split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    tick_s = 1.0 / os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) * tick_s, sum(fields[:8]) * tick_s


def _processes(launch_pid: int, probe_pid: int) -> dict[int, str]:
    """Name the launch, each of its nodes, and the probe (``name[pid]``, from /proc)."""
    found = {launch_pid: f"ros2 launch[{launch_pid}]", **child_processes(launch_pid)}
    found[probe_pid] = f"graph_probe (ros2 run)[{probe_pid}]"
    found.update({pid: f"graph_probe[{pid}]" for pid in child_processes(probe_pid)})
    return found


def _cpu_times(processes: dict[int, str]) -> dict[int, float]:
    times: dict[int, float] = {}
    for pid in processes:
        try:
            times[pid] = cpu_s(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return times


def _params_for(people: int, launch_args: list[str], folder: Path,
                replay_s: float | None = None) -> tuple[list[str], float]:
    """Return the launch arguments with a parameter file whose rig has ``people`` people.

    With ``replay_s``, ``replay_s`` seconds of that rig are recorded first and the graph
    runs on ir_camera replaying them in a loop (use_sim:=false). And the file's
    window_sync allowed_lateness_s: the frame that closes a window is the first at or
    after its end plus that wait, and the probe must look for that frame.
    """
    from affect_core.cli.common import DEFAULT_PARAMS
    from affect_core.window import WindowConfig

    given = [a for a in launch_args if a.startswith("params_file:=")]
    source = Path(given[-1].split(":=", 1)[1]) if given else DEFAULT_PARAMS
    data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    rig = data.setdefault("sim_rig", {}).setdefault("ros__parameters", {})
    rig["num_people"] = int(people)
    extra = []
    if replay_s is not None:
        recording = record_rig(rig, replay_s, folder / "recording")
        camera = data.setdefault("ir_camera", {}).setdefault("ros__parameters", {})
        camera.update(source=f"bag:{recording}", loop=True, rate=1.0)
        extra = ["use_sim:=false"]
    path = folder / "graph_bench.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    window = (data.get("window_sync") or {}).get("ros__parameters") or {}
    lateness_s = float(window.get("allowed_lateness_s", WindowConfig().allowed_lateness_s))
    return [*(a for a in launch_args if not a.startswith(("params_file:=", "use_sim:="))),
            *extra, f"params_file:={path}"], lateness_s


def record_rig(rig_params: dict[str, Any], duration_s: float, out: Path) -> Path:
    """Record ``duration_s`` of the rig set by ``rig_params`` (sim_rig's section) to ``out``."""
    from affect_core.sim.rig import RigConfig
    from affect_core.sinks.sensor_bag import record_source
    from affect_core.sources.concrete import SimSource

    if not duration_s > 0.0:
        raise AffectError(f"the replay needs a positive length in seconds, got {duration_s}")
    record_source(SimSource(RigConfig.from_params(rig_params), duration_s), out)
    return out


def _stop(process: subprocess.Popen[Any], notes: list[str], what: str) -> None:
    """Stop a process group with SIGINT, as Ctrl-C would; kill it if it does not stop."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            notes.append(f"{what} did not stop within {STOP_TIMEOUT_S:.0f} s of SIGINT: "
                         "killed")
    notes.append(f"{what} exit status: {process.returncode}")


def probe_graph(duration_s: float = 60.0, people: int = 1,
                launch_args: list[str] | None = None,
                replay_s: float | None = None) -> GraphBenchResult:
    """Launch the graph, probe it for ``duration_s`` wall seconds, and stop it.

    ``people`` sets the simulated rig's num_people (in a copy of the parameter file, the
    launch's params_file:= when given). With ``replay_s`` the sensor is not the rig
    rendering live but ir_camera looping a recording of it, as a real camera costs the
    graph only its frames: the pipeline's own cost. Needs a sourced ROS 2 and workspace
    (``ros2`` on PATH); an AffectError says what is missing or what went wrong.
    """
    if shutil.which("ros2") is None:
        raise AffectError("affect bench graph needs ROS 2: source /opt/ros/<distro>/setup.bash "
                          "and the workspace's install/setup.bash")
    folder = Path(tempfile.mkdtemp(prefix="affect_graph_bench_"))
    notes: list[str] = []
    if replay_s is not None:
        notes.append("ir_camera publishes the recording's stamps, not wall time: latency "
                     "from the header stamp does not apply; from the closing frame's "
                     "receipt does")
    try:
        args, lateness_s = _params_for(people, list(launch_args or []), folder, replay_s)
        command = ["ros2", "launch", "affect_bringup", "lab.launch.py", *args]
        shown = [a for a in command if not a.startswith("params_file:=")]
        what = (f"{' '.join(shown)}, {people} {'person' if people == 1 else 'people'}, "
                f"{duration_s:.0f} s wall"
                + (f", ir_camera looping {replay_s:g} s recorded from the rig"
                   if replay_s is not None else ""))
        out = folder / "probe.json"
        with open(folder / "launch.log", "wb") as launch_log:
            launch = subprocess.Popen(command, stdout=launch_log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
            try:
                measured = _measure(launch, duration_s, out, notes, lateness_s)
            finally:
                _stop(launch, notes, "the launch")
        if measured is None:
            tail = (folder / "launch.log").read_text(errors="replace")[-2000:]
            raise AffectError(f"graph_probe measured nothing: {' '.join(notes)}\n"
                              f"launch output (end):\n{tail}")
        report, wall_s, nodes, machine_busy, load = measured
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return GraphBenchResult(
        what=what, wall_s=wall_s, sensor_per_wall=float(report["sensor_per_wall"]),
        frames_used=int(report["frames_used"]), frames_expected=int(report["frames_expected"]),
        topics={t: (int(v["messages"]), float(v["rate_hz"]))
                for t, v in report["topics"].items()},
        emotion_latency_ms={k: float(v) for k, v in report["emotion_latency_ms"].items()},
        graph_latency_ms={k: float(v) for k, v in report["graph_latency_ms"].items()},
        ir_arrival_ms={k: float(v) for k, v in report.get("ir_arrival_ms", {}).items()},
        hops_ms={hop: {k: float(v) for k, v in figures.items()}
                 for hop, figures in report.get("hops_ms", {}).items()},
        split_total_ms={k: float(v) for k, v in report.get("split_total_ms", {}).items()},
        nodes=nodes, machine_busy_percent=machine_busy, load_average=load, replay_s=replay_s,
        notes=[f"images counted by {report['counted_by']}",
               f"closing IR frame latency leaves out {report['windows_without_closing_frame']}"
               " windows whose closing frame reached the probe after their /emotion",
               f"the split by stage leaves out {report.get('windows_without_hops', 0)} windows "
               "one of whose stage outputs the probe did not see", *notes])


def _measure(launch: subprocess.Popen[Any], duration_s: float, out: Path,
             notes: list[str], lateness_s: float) -> tuple[
                 dict[str, Any], float, list[NodeCpu], float, tuple[float, float, float]] | None:
    """Run the probe; read CPU times when it starts and ends its window."""
    probe = subprocess.Popen(
        ["ros2", "run", "affect_ros", "graph_probe", "--duration", str(duration_s),
         "--wait-s", str(WAIT_FOR_EMOTION_S), "--out", str(out),
         "--lateness-s", str(lateness_s)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    started = ended = 0.0
    before: dict[int, float] = {}
    after: dict[int, float] = {}
    processes: dict[int, str] = {}
    output: list[str] = []
    rss: dict[int, int] = {}
    load = (math.nan, math.nan, math.nan)
    machine_before = machine_after = (0.0, 0.0)
    try:
        assert probe.stdout is not None
        for line in probe.stdout:
            if line.strip() == "measuring":
                processes = _processes(launch.pid, probe.pid)
                started, before = time.perf_counter(), _cpu_times(processes)
                machine_before = machine_cpu_s()
            elif line.strip() == "measured":
                ended, after = time.perf_counter(), _cpu_times(processes)
                machine_after = machine_cpu_s()
                rss = {pid: _rss(pid) for pid in processes}
                load = os.getloadavg()
            elif line.strip():
                output.append(line.strip())
        probe.wait(timeout=STOP_TIMEOUT_S)
    finally:
        if probe.poll() is None:
            _stop(probe, notes, "graph_probe")
    if launch.poll() is not None:
        notes.append(f"the launch ended early with status {launch.returncode}")
    if not after or probe.returncode != 0 or not out.exists():
        notes.append(f"graph_probe exit status {probe.returncode}")
        notes += [f"graph_probe: {line}" for line in output[-20:]]
        return None
    wall_s = ended - started
    nodes = [NodeCpu(processes[pid].rsplit("[", 1)[0], pid, after[pid] - before[pid],
                     100.0 * (after[pid] - before[pid]) / wall_s, rss[pid])
             for pid in processes if pid in before and pid in after]
    missing = sorted(processes[pid] for pid in processes
                     if pid not in before or pid not in after)
    if missing:
        notes.append(f"processes that started or ended during the window: {missing}")
    machine_busy = 100.0 * (machine_after[0] - machine_before[0]) / wall_s
    return json.loads(out.read_text(encoding="utf-8")), wall_s, nodes, machine_busy, load


def _rss(pid: int) -> int:
    try:
        return rss_kib(pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0


def _goal(value: float, goal: float, at_least: bool) -> str:
    if math.isnan(value):
        return "not measured"
    met = value >= goal if at_least else value <= goal
    return "meets the goal" if met else "misses the goal"


def _percentiles(figures: dict[str, float], width: int) -> str:
    return ", ".join(f"{q} {figures[q]:{width}.1f}" for q in ("p50", "p95", "p99", "max")) + " ms"


def format_graph_bench(result: GraphBenchResult) -> str:
    """Print the figures against the goals, the rate per topic and the CPU per process."""
    lines = [f"affect bench graph: {result.what}"]
    ratio = result.sensor_per_wall
    lines.append(f"  IR sensor time / wall time: {ratio:.4f} (goal >= {REAL_TIME_GOAL:.1f}: "
                 f"{_goal(ratio, REAL_TIME_GOAL, True)})")
    fraction = result.frames_fraction
    lines.append(f"  frames in windows: {result.frames_used} / {result.frames_expected} = "
                 f"{100 * fraction:.2f} % (goal >= {100 * FRAMES_GOAL:.1f} %: "
                 f"{_goal(fraction, FRAMES_GOAL, True)})")
    stamped = result.replay_s is None  # a replay's stamps are the recording's, not now
    for label, latency in (("window end (header stamp) -> /emotion receipt",
                            result.emotion_latency_ms if stamped else {}),
                           ("closing IR frame receipt -> /emotion receipt",
                            result.graph_latency_ms),
                           ("IR frame stamp -> its receipt here (the sensor's own delay)",
                            result.ir_arrival_ms if stamped else {})):
        if not latency:
            continue
        lines.append(f"  latency, {label}: {_percentiles(latency, 0)} "
                     f"({latency['count']:.0f} messages)")
    if result.hops_ms:
        lines.append("    split by stage, each hop ended by the probe's receipt of that "
                     "stage's output (its work, queueing and one delivery):")
        for hop, figures in result.hops_ms.items():
            if figures.get("count"):
                lines.append(f"      {hop:<18} {_percentiles(figures, 6)}")
        total = result.split_total_ms
        if total.get("count"):
            lines.append(f"      {'all, these windows':<18} {_percentiles(total, 6)} "
                         f"({total['count']:.0f} windows)")
    which, latency = (("header stamp", result.emotion_latency_ms) if stamped
                      else ("closing frame's receipt", result.graph_latency_ms))
    p99 = latency.get("p99", math.nan)
    lines.append(f"    goal p99 <= {LATENCY_P99_GOAL_MS:.0f} ms ({which}): "
                 f"{_goal(p99, LATENCY_P99_GOAL_MS, False)}")
    lines.append(f"  {'topic':<34} {'messages':>9} {'rate Hz':>9}")
    for topic, (messages, rate_hz) in result.topics.items():
        lines.append(f"  {topic:<34} {messages:>9} {rate_hz:>9.2f}")
    lines.append(f"  {'process':<34} {'CPU %':>9} {'CPU s':>9} {'RSS MiB':>9}")
    for node in sorted(result.nodes, key=lambda n: -n.cpu_s):
        lines.append(f"  {node.name:<34} {node.cpu_percent:>9.1f} {node.cpu_s:>9.2f} "
                     f"{node.rss_kib / 1024:>9.1f}")
    total = sum(n.cpu_percent for n in result.nodes)
    lines.append(f"  {'all':<34} {total:>9.1f}   (100 % = one core; {os.cpu_count()} cores)")
    other = result.machine_busy_percent - total
    lines.append(f"  {'other processes':<34} {other:>9.1f}   (machine busy "
                 f"{result.machine_busy_percent:.1f} % minus all: load from outside the graph)")
    graph = sum(n.cpu_percent for n in result.nodes if not n.name.startswith("graph_probe"))
    if ratio > 0:
        # Comparable between runs even when other load slows the graph down.
        lines.append(f"  graph CPU per sensor second (without the probe): "
                     f"{graph / 100 / ratio:.2f} CPU s")
    one, five, fifteen = result.load_average
    lines.append(f"  load average at the end: {one:.2f} {five:.2f} {fifteen:.2f}")
    lines += [f"  {note}" for note in result.notes]
    return "\n".join(lines)
