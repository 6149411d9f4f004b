"""The real ROS 2 graph: every node starts, the launch file yields /emotion messages."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from affect_core.fusion import ABSTAIN_REASONS

from ..conftest import write_gray_video

pytestmark = pytest.mark.ros

# Each node and a topic it publishes once it is fully set up.
NODES = {"sim_rig": "/ir/image_raw", "stereo_depth": "/stereo/depth",
         "face_tracker": "/affect/faces", "window_sync": "/affect/face_windows",
         "emotion_vit": "/affect/window_predictions", "confidence_fusion": "/emotion",
         "overlay": "/affect/overlay"}


@pytest.fixture(scope="module")
def ros_node() -> Iterator[object]:
    import rclpy
    from rclpy.node import Node

    rclpy.init()
    node = Node("affect_test_probe")
    yield node
    node.destroy_node()
    rclpy.shutdown()


def _start(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _stop(process: subprocess.Popen[str], timeout_s: float = 20.0,
          group: bool = True) -> tuple[int, str]:
    """SIGINT the process group as Ctrl-C would, or with ``group`` False the process alone.

    ``ros2 launch`` forwards SIGINT to each of its nodes: signalled as a group too, each
    node gets a second one while shutting down, by which tf2_ros's
    static_transform_publisher dies (exit code -2) now and then.
    """
    if process.poll() is None:
        if group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
    return process.returncode, out


def _wait_for_publisher(probe: object, name: str, topic: str, timeout_s: float) -> bool:
    import rclpy

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rclpy.spin_once(probe, timeout_sec=0.2)
        if name in probe.get_node_names():
            topics = probe.get_publisher_names_and_types_by_node(name, "/")
            if any(t == topic for t, _ in topics):
                return True
    return False


def _lifecycle_set(node: str, transition: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ros2", "lifecycle", "set", f"/{node}", transition],
                          capture_output=True, text=True, timeout=60, check=False)


# Lifecycle nodes (models loaded on configure), and the arguments that make them load one.
LIFECYCLE = {"face_tracker": ["--ros-args", "-p", "detector:=blazeface", "-p",
                              "landmarker:=mesh"],
             "emotion_vit": []}


@pytest.mark.parametrize("executable", NODES)
def test_each_node_starts_and_stops_cleanly(ros_node: object, executable: str) -> None:
    process = _start(["ros2", "run", "affect_ros", executable, *LIFECYCLE.get(executable, [])])
    try:
        if executable in LIFECYCLE:  # configure (loads the models), then activate
            assert _wait_for_publisher(ros_node, executable, "/parameter_events", 40.0)
            for transition in ("configure", "activate"):
                result = _lifecycle_set(executable, transition)
                assert "Transitioning successful" in result.stdout, result.stdout + result.stderr
        assert _wait_for_publisher(ros_node, executable, NODES[executable], 40.0), \
            f"{executable} did not come up"
        assert process.poll() is None
    finally:
        code, out = _stop(process)
    assert code == 0, out  # SIGINT is a request to stop: a clean exit
    assert "Traceback" not in out, out


def test_ir_camera_publishes_frames_of_a_video(ros_node: object, tmp_path: Path) -> None:
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    video = tmp_path / "ir.avi"
    write_gray_video(video, 90)
    received: list[Image] = []
    sub = ros_node.create_subscription(Image, "ir/image_raw", received.append,
                                       qos_profile_sensor_data)
    process = _start(["ros2", "run", "affect_ros", "ir_camera", "--ros-args",
                      "-p", f"device:={video}", "-p", "encoding:=mono8", "-p", "fps:=30.0"])
    try:
        deadline = time.monotonic() + 30.0
        while len(received) < 5 and time.monotonic() < deadline:
            rclpy.spin_once(ros_node, timeout_sec=0.2)
    finally:
        _stop(process)
        ros_node.destroy_subscription(sub)
    assert len(received) >= 5
    assert received[0].encoding == "mono8" and (received[0].width, received[0].height) == (64, 48)
    assert received[0].header.frame_id == "ir_camera_optical_frame"


def test_missing_model_fails_the_configure_transition_with_a_clear_message(
        ros_node: object) -> None:
    process = _start(["ros2", "run", "affect_ros", "emotion_vit", "--ros-args", "-p",
                      "model_path:=/nonexistent/model.onnx"])
    try:
        assert _wait_for_publisher(ros_node, "emotion_vit", "/parameter_events", 40.0)
        result = _lifecycle_set("emotion_vit", "configure")
        assert "Transitioning failed" in result.stdout + result.stderr
        state = subprocess.run(["ros2", "lifecycle", "get", "/emotion_vit"],
                               capture_output=True, text=True, timeout=60, check=False)
        assert state.stdout.startswith("unconfigured")
        assert process.poll() is None  # still up, no crash loop
    finally:
        code, out = _stop(process)
    assert "model file not found" in out
    assert "Traceback" not in out


def test_launch_brings_the_graph_up_and_emotion_flows(ros_node: object) -> None:
    import rclpy
    from affect_msgs.msg import Emotion
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from diagnostic_msgs.msg import DiagnosticArray

    received: list[Emotion] = []
    sub = ros_node.create_subscription(
        Emotion, "emotion", received.append,
        QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    from visualization_msgs.msg import MarkerArray

    markers: list[object] = []
    marker_sub = ros_node.create_subscription(
        MarkerArray, "affect/markers", lambda msg: markers.extend(msg.markers), 10)
    try:
        from hri_msgs.msg import Expression, IdsList
    except ImportError:
        Expression = IdsList = None  # REP-155 topics are off without hri_msgs
    hri_expressions: list[object] = []
    hri_tracked: list[object] = []
    hri_subs = [] if Expression is None else [
        ros_node.create_subscription(Expression, "/humans/faces/p1/expression",
                                     hri_expressions.append, 10),
        ros_node.create_subscription(IdsList, "/humans/faces/tracked", hri_tracked.append, 10)]
    statuses: dict[str, object] = {}
    diag_sub = ros_node.create_subscription(
        DiagnosticArray, "/diagnostics",
        lambda msg: statuses.update({s.name: s for s in msg.status}), 50)
    from sensor_msgs.msg import Image

    overlays: list[Image] = []
    overlay_sub = ros_node.create_subscription(
        Image, "affect/overlay", overlays.append,
        QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT))
    depths: deque[Image] = deque(maxlen=1)  # the latest depth image only
    depth_sub = ros_node.create_subscription(
        Image, "stereo/depth", depths.append,
        QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    launch = _start(["ros2", "launch", "affect_bringup", "lab.launch.py", "overlay:=true"])
    try:
        deadline = time.monotonic() + 150.0
        while ((len(received) < 3 or len(statuses) < len(NODES)) and time.monotonic() < deadline
               and launch.poll() is None):
            rclpy.spin_once(ros_node, timeout_sec=0.2)
        # A parameter out of its declared range is refused by the running node.
        client = ros_node.create_client(SetParameters, "/confidence_fusion/set_parameters")
        assert client.wait_for_service(timeout_sec=10.0)
        request = SetParameters.Request(parameters=[Parameter(
            name="abstain_below",
            value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=2.0))])
        future = client.call_async(request)
        rclpy.spin_until_future_complete(ros_node, future, timeout_sec=10.0)
        assert future.result() is not None and not future.result().results[0].successful
    finally:
        code, out = _stop(launch, timeout_s=30.0, group=False)
        ros_node.destroy_subscription(sub)
        ros_node.destroy_subscription(diag_sub)
        ros_node.destroy_subscription(marker_sub)
        ros_node.destroy_subscription(overlay_sub)
        ros_node.destroy_subscription(depth_sub)
        for hri_sub in hri_subs:
            ros_node.destroy_subscription(hri_sub)
    assert len(received) >= 3, out[-4000:]
    # Every node reports on /diagnostics: rate, and the model behind the estimates.
    for node in NODES:
        status = next((v for k, v in statuses.items() if k.startswith(f"{node}:")), None)
        assert status is not None, f"no diagnostics from {node}: {sorted(statuses)}"
        values = {kv.key: kv.value for kv in status.values}
        assert "rate_hz" in values and "outputs" in values
    if Expression is not None:  # REP-155, where hri_msgs is installed
        assert hri_tracked and list(hri_tracked[-1].ids) == ["p1"]
        answered = [m for m in received if not m.abstained and m.expression != "contempt"]
        if answered:
            assert hri_expressions, "no /humans/faces/p1/expression"
            assert hri_expressions[0].expression in {m.expression for m in answered}
    # rviz2: a label at each person's head, in the camera frame.
    assert markers, "no /affect/markers"
    assert markers[0].header.frame_id == "ir_camera_optical_frame"
    assert markers[0].text.startswith("p") and 0.5 < markers[0].pose.position.z < 2.0
    # The opt-in overlay: the IR frame in colour, with boxes drawn once estimates arrive.
    assert overlays, "no /affect/overlay"
    assert overlays[-1].encoding == "bgr8"
    assert (overlays[-1].height, overlays[-1].width) == (480, 640)
    if any(not m.abstained for m in received):
        last = np.frombuffer(bytes(overlays[-1].data), np.uint8).reshape(480, 640, 3)
        spread = last.astype(int).max(axis=2) - last.astype(int).min(axis=2)
        assert (spread > 60).sum() > 100, "no coloured box or label on the overlay"
    # Stereo is matched only around the tracked face (match_at_faces): depth is finite in
    # a small part of the frame, the face (about 1 m) and the wall behind it (3 m).
    assert depths, "no /stereo/depth"
    depth = np.frombuffer(bytes(depths[-1].data), np.float32).reshape(480, 640)
    finite = np.isfinite(depth)
    assert 0.005 < finite.mean() < 0.25
    assert 0.5 < float(np.percentile(depth[finite], 10)) < 2.0
    stereo = next(v for k, v in statuses.items() if k.startswith("stereo_depth:"))
    assert "whole_pairs_matched" in {kv.key for kv in stereo.values}
    vit = next(v for k, v in statuses.items() if k.startswith("emotion_vit:"))
    assert {kv.key: kv.value for kv in vit.values}["execution_provider"] == \
        "CPUExecutionProvider"
    for msg in received:
        assert msg.header.frame_id == "ir_camera_optical_frame"
        assert msg.person_id.startswith("p")
        # The default model: seven labels learnt from photographs, a domain model, no
        # valence/arousal head.
        assert len(msg.labels) == len(msg.probabilities) == 7
        assert math.isclose(sum(msg.probabilities), 1.0, abs_tol=1e-4)
        assert msg.frames_expected == 240
        assert msg.abstained == (msg.expression == "unknown")
        assert msg.abstained == bool(msg.abstain_reason)
        assert msg.abstain_reason in ("", *ABSTAIN_REASONS)
        assert math.isfinite(msg.domain_distance) and msg.domain_distance >= 0.0
        assert math.isnan(msg.valence) and math.isnan(msg.arousal)
        start = msg.window_start.sec * 10**9 + msg.window_start.nanosec
        end = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        assert end - start == 2_000_000_000
    ends = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in received]
    assert all(b - a == 500_000_000 for a, b in zip(ends, ends[1:]))


def test_composed_launch_runs_the_result_stages_in_one_process(ros_node: object) -> None:
    import rclpy
    from affect_msgs.msg import Emotion
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    received: list[Emotion] = []
    sub = ros_node.create_subscription(
        Emotion, "emotion", received.append,
        QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    launch = _start(["ros2", "launch", "affect_bringup", "lab.launch.py", "compose:=true"])
    try:
        deadline = time.monotonic() + 150.0
        while len(received) < 2 and time.monotonic() < deadline and launch.poll() is None:
            rclpy.spin_once(ros_node, timeout_sec=0.2)
        names = set(ros_node.get_node_names())
    finally:
        code, out = _stop(launch, timeout_s=30.0, group=False)
        ros_node.destroy_subscription(sub)
    assert len(received) >= 2, out[-4000:]
    assert {"window_sync", "emotion_vit", "confidence_fusion"} <= names, names
    # One process, "results", holds the three nodes, and each winds down in it.
    assert "[results-" in out and not any(f"[{stage}-" in out for stage in (
        "window_sync", "emotion_vit", "confidence_fusion")), out[-4000:]
    for stage in ("window_sync", "emotion_vit", "confidence_fusion"):
        assert any(line.startswith("[results-") and f"[{stage}]" in line
                   and "shutting down" in line for line in out.splitlines()), stage
    assert code == 0 and "Traceback" not in out, out[-4000:]
    assert all(m.frames_expected == 240 for m in received)


@pytest.mark.parametrize("value", ["-1.0", "1"], ids=["out_of_range", "int_for_float"])
def test_bad_parameter_fails_once_with_a_clear_message(value: str) -> None:
    result = subprocess.run(["ros2", "run", "affect_ros", "window_sync", "--ros-args", "-p",
                             f"hop_s:={value}"],
                            capture_output=True, text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "hop_s" in output and "Traceback" not in output
