"""Faults at the graph's inputs, injected by real publishers into the real running nodes.

One launch of the graph without its sensor node (``sensors:=false``) serves the module;
this process plays the sensors: rig frames rendered once, published on /ir/image_raw,
/ir/camera_info and /stereo/depth with stamps it controls, so each test can stop a
stream, corrupt a frame or move the clock, then read /emotion and /diagnostics.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .test_graph import _start, _stop

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[2]
PERIOD_NS = 8_333_333  # 120 Hz
OK, WARN, ERROR = 0, 1, 2
DEPTH_REACH_NS = 250_000_000  # beyond face_tracker's depth_max_age_s


@dataclass
class Status:
    """One /diagnostics status as received."""

    received_s: float
    level: int
    message: str
    values: dict[str, str]


@dataclass
class Probe:
    """This process's node: publishers of the sensor topics and what it received."""

    node: object
    emotions: list = field(default_factory=list)
    statuses: dict[str, list[Status]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_diagnostics(self, msg: object) -> None:
        now = time.monotonic()
        with self.lock:
            for s in msg.status:
                values = {kv.key: kv.value for kv in s.values}
                level = s.level if isinstance(s.level, int) else s.level[0]
                self.statuses.setdefault(s.name.split(":")[0], []).append(
                    Status(now, int(level), s.message, values))

    def since(self, node: str, t0: float) -> list[Status]:
        with self.lock:
            return [s for s in self.statuses.get(node, []) if s.received_s >= t0]

    def emotions_from(self, start_ns: int) -> list:
        with self.lock:
            return [m for m in self.emotions
                    if m.window_start.sec * 10**9 + m.window_start.nanosec >= start_ns]


def wait_for(condition: Callable[[], object], timeout_s: float) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    return condition()


class Feeder:
    """Rig frames (rendered once, played back and forth) with stamps it owns."""

    def __init__(self, node: object) -> None:
        from affect_core.sim.rig import RigConfig, SimRig
        from affect_ros.convert import camera_info_msg, image_to_msg
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image

        rig = SimRig(RigConfig())
        frames = [rig.step() for _ in range(120)]
        self.ir = [image_to_msg(f.ir) for f in frames]
        self.depth = {i: image_to_msg(f.depth_truth) for i, f in enumerate(frames)
                      if f.depth_truth is not None}
        self.info = camera_info_msg(frames[0].ir_camera, 0)
        self.order = list(range(120)) + list(range(118, 0, -1))  # no seam in the motion
        self.index = 0
        self.stamp_ns = 1_000_000 * 10**9
        self.ir_pub = node.create_publisher(Image, "ir/image_raw", qos_profile_sensor_data)
        self.info_pub = node.create_publisher(CameraInfo, "ir/camera_info",
                                              qos_profile_sensor_data)
        self.depth_pub = node.create_publisher(Image, "stereo/depth", qos_profile_sensor_data)

    def publish(self, ir: object, stamp_ns: int, depth: object | None = None) -> None:
        from affect_ros.convert import to_time

        ir.header.stamp = to_time(stamp_ns)
        self.info.header.stamp = to_time(stamp_ns)
        if depth is not None:
            depth.header.stamp = to_time(stamp_ns)
            self.depth_pub.publish(depth)
        self.ir_pub.publish(ir)
        self.info_pub.publish(self.info)

    def stream(self, seconds: float, depth: bool = True, speed: float = 1.0,
               depth_msg: Callable[[object], object] | None = None) -> tuple[int, int]:
        """Publish ``seconds`` of frames at ``speed`` x real time; return the stamp range."""
        first = self.stamp_ns
        started = time.monotonic()
        for i in range(int(round(seconds * 120))):
            k = self.order[self.index % len(self.order)]
            self.index += 1
            d = self.depth.get(k) if depth else None
            if d is not None and depth_msg is not None:
                d = depth_msg(d)
            self.publish(self.ir[k], self.stamp_ns, d)
            self.stamp_ns += PERIOD_NS
            delay = started + (i + 1) / (120.0 * speed) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return first, self.stamp_ns

    def skip(self, seconds: float) -> None:
        """Let time pass with nothing published (a stopped stream)."""
        time.sleep(seconds)
        self.stamp_ns += int(seconds * 1e9)


@dataclass
class Graph:
    probe: Probe
    feeder: Feeder
    launch: subprocess.Popen
    pids: dict[str, int]


def _params_file(tmp: Path) -> Path:
    data = yaml.safe_load((REPO / "config" / "lab.yaml").read_text())
    for node in ("face_tracker", "window_sync", "emotion_vit", "confidence_fusion"):
        section = data.setdefault(node, {}).setdefault("ros__parameters", {})
        # Load from the other engineers' work must not read as slow processing here.
        section["diagnostics"] = {"max_processing_ms": 5000.0}
    path = tmp / "faults.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Graph]:
    import rclpy
    from affect_msgs.msg import Emotion
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    rclpy.init()
    node = Node("affect_fault_probe")
    probe = Probe(node)
    node.create_subscription(Emotion, "emotion", lambda m: probe.emotions.append(m),
                             QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    node.create_subscription(DiagnosticArray, "/diagnostics", probe.on_diagnostics, 100)
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    feeder = Feeder(node)
    params = _params_file(tmp_path_factory.mktemp("faults"))
    launch = _start(["ros2", "launch", "affect_bringup", "lab.launch.py", "sensors:=false",
                     f"params_file:={params}"])
    try:
        # Every stage reports, and the lifecycle nodes are active, before any fault.
        assert wait_for(lambda: all(probe.since(n, 0.0) and
                                    probe.since(n, 0.0)[-1].values.get("state", "active")
                                    == "active"
                                    for n in ("face_tracker", "window_sync", "emotion_vit",
                                              "confidence_fusion")), 120.0), \
            f"graph did not come up: {sorted(probe.statuses)}"
        first, _ = feeder.stream(3.0)
        assert wait_for(lambda: probe.emotions_from(first), 30.0), "no /emotion at start"
        yield Graph(probe, feeder, launch, {})
    finally:
        code, out = _stop(launch, timeout_s=30.0, group=False)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown()
        sys.stdout.write(out[-3000:])
    assert "Traceback" not in out, out[-6000:]
    assert not re.search(r"process has died", out), out[-6000:]


def _alive(graph: Graph) -> None:
    assert graph.launch.poll() is None, "the launch ended"


def test_ir_stream_stops_and_resumes(graph: Graph) -> None:
    probe, feeder = graph.probe, graph.feeder
    feeder.stream(1.0)
    feeder.skip(0.5)
    gap_started = time.monotonic()
    feeder.skip(3.0)
    stale = [s for s in probe.since("face_tracker", gap_started) if s.level == ERROR]
    assert stale and "no output" in stale[0].message, probe.since("face_tracker", gap_started)
    resumed = time.monotonic()
    first, _ = feeder.stream(3.5)
    assert wait_for(lambda: probe.emotions_from(first), 20.0), "windows did not resume"
    assert wait_for(lambda: [s for s in probe.since("face_tracker", resumed + 1.5)
                             if s.level == OK], 10.0), probe.since("face_tracker", resumed)
    _alive(graph)


def _head_finite(msg: object) -> bool:
    return all(math.isfinite(v) for v in (msg.head_position.x, msg.head_position.y,
                                          msg.head_position.z))


def test_depth_stops_ir_only_continues_then_resumes(graph: Graph) -> None:
    probe, feeder = graph.probe, graph.feeder
    stopped = time.monotonic()
    first, _ = feeder.stream(3.5, depth=False)
    # Windows after the last depth frame's reach (depth_max_age_s) have no depth at all.
    ir_only = wait_for(lambda: probe.emotions_from(first + DEPTH_REACH_NS), 20.0)
    assert ir_only, "IR-only windows did not come"
    assert all(not _head_finite(m) for m in ir_only), [m.head_position for m in ir_only]
    assert all(math.isnan(m.depth_consistency) for m in ir_only)
    warned = [s for s in probe.since("face_tracker", stopped) if s.level == WARN]
    assert warned and "frames_without_depth" in warned[0].message
    resumed = time.monotonic()
    first, _ = feeder.stream(3.5)
    with_depth = wait_for(lambda: probe.emotions_from(first), 20.0)
    assert with_depth and all(_head_finite(m) for m in with_depth)
    assert wait_for(lambda: [s for s in probe.since("face_tracker", resumed + 1.5)
                             if s.level == OK], 10.0), probe.since("face_tracker", resumed)


def _image(encoding: str, width: int, height: int, step: int, data: bytes) -> object:
    from sensor_msgs.msg import Image

    return Image(encoding=encoding, width=width, height=height, step=step, data=data)


def test_unusable_images_are_rejected_counted_and_the_node_carries_on(graph: Graph) -> None:
    probe, feeder = graph.probe, graph.feeder
    bad = [
        _image("bgr8", 640, 480, 640 * 3, bytes(640 * 480 * 3)),  # wrong encoding
        _image("mono16", 0, 0, 0, b""),  # 0x0
        _image("mono16", 640, 480, 1280, bytes(1000)),  # data shorter than height x step
        _image("mono8", 8000, 8000, 8000, bytes(8000 * 8000)),  # far too large
    ]
    before = wait_for(lambda: probe.since("face_tracker", time.monotonic() - 1.5), 5.0)
    rejected_before = int(before[-1].values["rejected_frames"])
    t0 = time.monotonic()
    for msg in bad:
        for _ in range(3):  # best-effort QoS: a large frame may be lost on the way
            feeder.publish(msg, feeder.stamp_ns)
            feeder.stamp_ns += PERIOD_NS
            time.sleep(0.3)
    first, _ = feeder.stream(3.0)
    assert wait_for(lambda: probe.emotions_from(first), 20.0), "windows stopped"
    after = probe.since("face_tracker", t0)
    counts = [int(s.values["rejected_frames"]) for s in after]
    assert counts and max(counts) - rejected_before >= 9, counts  # 3 small kinds x 3
    assert any(s.level == WARN and "rejected_frames" in s.message for s in after)
    _alive(graph)


def test_nan_inf_negative_depth_is_counted_and_gives_nan_head_position(graph: Graph) -> None:
    import numpy as np

    probe, feeder = graph.probe, graph.feeder
    poisoned = {}

    def poison(msg: object) -> object:
        key = id(msg)
        if key not in poisoned:
            values = np.frombuffer(bytes(msg.data), np.float32).copy()
            third = values.size // 3
            values[:third], values[third:2 * third], values[2 * third:] = np.nan, np.inf, -1.0
            copy = _image(msg.encoding, msg.width, msg.height, msg.step, values.tobytes())
            copy.header.frame_id = msg.header.frame_id
            poisoned[key] = copy
        return poisoned[key]

    t0 = time.monotonic()
    first, _ = feeder.stream(3.5, depth_msg=poison)
    windows = wait_for(lambda: probe.emotions_from(first + DEPTH_REACH_NS), 20.0)
    assert windows and all(not _head_finite(m) for m in windows)
    statuses = probe.since("face_tracker", t0)
    assert any(s.level == WARN and "frames_depth_invalid" in s.message for s in statuses)
    feeder.stream(1.0)
    _alive(graph)


def test_stamps_out_of_order_duplicated_and_jumping_back(graph: Graph) -> None:
    probe, feeder = graph.probe, graph.feeder
    t0 = time.monotonic()
    before = wait_for(lambda: probe.since("face_tracker", t0 - 1.5), 5.0)[-1].values
    frames = feeder.ir[:8]
    base = feeder.stamp_ns
    for offset in (0, 2, 1, 3, 3, 4, 6, 5, 7, 7):  # swapped and repeated stamps
        feeder.publish(frames[offset], base + offset * PERIOD_NS)
        time.sleep(1 / 120)
    feeder.stamp_ns = base + 8 * PERIOD_NS
    feeder.stream(0.5)
    counted = wait_for(lambda: [s for s in probe.since("face_tracker", t0) if
                                int(s.values["frames_out_of_order"]) >=
                                int(before["frames_out_of_order"]) + 3], 10.0)
    assert counted, probe.since("face_tracker", t0)
    # A bag loop: the clock jumps back 60 s; windows restart and depth is associated again.
    feeder.stamp_ns -= 60 * 10**9
    first, _ = feeder.stream(3.5)
    after_jump = wait_for(lambda: [m for m in probe.emotions_from(first)
                                   if m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
                                   < first + 60 * 10**9], 20.0)
    assert after_jump, "no windows after the clock jumped back"
    assert any(_head_finite(m) for m in after_jump), "depth not associated after the jump"
    statuses = probe.since("window_sync", t0)
    assert int(statuses[-1].values["clock_resets"]) >= 1
    tracker = probe.since("face_tracker", t0)[-1].values
    assert int(tracker["clock_resets"]) >= 1
    assert int(tracker["depth_association_restarts"]) >= 1
    _alive(graph)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _pid_of(executable: str) -> int:
    out = subprocess.run(["pgrep", "-f", f"lib/affect_ros/{executable} "], capture_output=True,
                         text=True, check=False).stdout.split()
    return int(out[0]) if out else 0


def test_burst_and_a_stalled_emotion_subscriber_neither_block_nor_grow(graph: Graph) -> None:
    probe, feeder = graph.probe, graph.feeder
    stalled = subprocess.Popen(
        [sys.executable, "-c",
         "import rclpy, time\n"
         "from rclpy.qos import QoSProfile, HistoryPolicy, ReliabilityPolicy\n"
         "from affect_msgs.msg import Emotion\n"
         "rclpy.init(); node = rclpy.create_node('stalled_emotion_subscriber')\n"
         "node.create_subscription(Emotion, 'emotion', lambda m: None, QoSProfile(\n"
         "    history=HistoryPolicy.KEEP_ALL, reliability=ReliabilityPolicy.RELIABLE))\n"
         "print('ready', flush=True); time.sleep(600)\n"],
        stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert stalled.stdout.readline().strip() == "ready"
        time.sleep(2.0)  # discovery
        pids = {n: _pid_of(n) for n in ("face_tracker", "window_sync", "confidence_fusion")}
        assert all(pids.values()), pids
        rss_before = {n: _rss_kb(p) for n, p in pids.items()}
        t0 = time.monotonic()
        first, _ = feeder.stream(10.0, speed=10.0)  # 10x: 10 s of stamps in 1 s
        feeder.stream(1.0)
        received_after_burst = len(probe.emotions_from(first))
        first, _ = feeder.stream(4.0)
        # The live subscriber keeps getting estimates while the stalled one takes none.
        assert wait_for(lambda: len(probe.emotions_from(first)) >= 3, 20.0)
        assert len(probe.emotions_from(0)) > received_after_burst
        rss_after = {n: _rss_kb(p) for n, p in pids.items()}
        growth_mb = {n: (rss_after[n] - rss_before[n]) / 1024 for n in pids}
        assert all(g < 100.0 for g in growth_mb.values()), growth_mb
        assert wait_for(lambda: probe.since("confidence_fusion", t0 + 5.0), 10.0)
        _alive(graph)
    finally:
        stalled.kill()
        stalled.wait()


def _set(probe: Probe, node: str, name: str, value: object) -> tuple[bool, str]:
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    client = probe.node.create_client(SetParameters, f"/{node}/set_parameters")
    try:
        assert client.wait_for_service(timeout_sec=10.0)
        future = client.call_async(SetParameters.Request(
            parameters=[Parameter(name, value=value).to_parameter_msg()]))
        result = wait_for(lambda: future.done() and future.result(), 10.0)
        assert result, f"no answer from /{node}/set_parameters"
        return result.results[0].successful, result.results[0].reason
    finally:
        probe.node.destroy_client(client)


def _get(probe: Probe, node: str, name: str) -> object:
    from rcl_interfaces.srv import GetParameters
    from rclpy.parameter import parameter_value_to_python

    client = probe.node.create_client(GetParameters, f"/{node}/get_parameters")
    try:
        assert client.wait_for_service(timeout_sec=10.0)
        future = client.call_async(GetParameters.Request(names=[name]))
        result = wait_for(lambda: future.done() and future.result(), 10.0)
        return parameter_value_to_python(result.values[0])
    finally:
        probe.node.destroy_client(client)


@pytest.mark.parametrize(("node", "name", "value", "reason"), [
    ("window_sync", "hop_s", -1.0, "hop_s"),
    ("window_sync", "hop_s", "fast", "type"),
    ("confidence_fusion", "abstain_below", 2.0, "abstain_below"),
    ("face_tracker", "crop_size_px", 1.5, "type"),
], ids=["out_of_range", "wrong_type", "fusion_out_of_range", "tracker_wrong_type"])
def test_an_invalid_parameter_is_refused_and_the_old_value_kept(
        graph: Graph, node: str, name: str, value: object, reason: str) -> None:
    old = _get(graph.probe, node, name)
    successful, why = _set(graph.probe, node, name, value)
    assert not successful
    assert reason in why, why
    assert _get(graph.probe, node, name) == old
    _alive(graph)
