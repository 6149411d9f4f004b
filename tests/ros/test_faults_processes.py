"""Faults of the node processes: signals, a SIGKILL and respawn, bad model files, a camera
that disappears. Real processes, real ROS 2; each node is driven through its services."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import write_gray_video
from .test_faults_inputs import wait_for

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[2]


class Process:
    """A child process whose output is read as it comes (start_new_session: own group)."""

    def __init__(self, cmd: list[str]) -> None:
        self.popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self.lines.append(line)

    @property
    def out(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGINT, group: bool = True,
             timeout_s: float = 30.0) -> int:
        """Send ``sig`` (to the whole group, as Ctrl-C does) and wait for the exit code."""
        if self.popen.poll() is None:
            if group:
                os.killpg(self.popen.pid, sig)
            else:
                self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        self._reader.join(timeout=5.0)
        return self.popen.returncode


def _executable(name: str) -> str:
    from ament_index_python.packages import get_package_prefix

    return str(Path(get_package_prefix("affect_ros")) / "lib" / "affect_ros" / name)


@pytest.fixture(scope="module")
def probe() -> Iterator[object]:
    import rclpy
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.node import Node

    rclpy.init()
    node = Node("affect_process_probe")
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    yield node
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown()


def _call(node: object, kind: type, service: str, request: object,
          timeout_s: float = 20.0) -> object:
    client = node.create_client(kind, service)
    try:
        if not client.wait_for_service(timeout_sec=timeout_s):
            return None
        future = client.call_async(request)
        return wait_for(lambda: future.done() and future.result(), timeout_s)
    finally:
        node.destroy_client(client)


def _state(node: object, name: str, timeout_s: float = 5.0) -> str:
    from lifecycle_msgs.srv import GetState

    result = _call(node, GetState, f"/{name}/get_state", GetState.Request(), timeout_s)
    return result.current_state.label if result else ""


def _change(node: object, name: str, transition: int) -> bool:
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    result = _call(node, ChangeState, f"/{name}/change_state",
                   ChangeState.Request(transition=Transition(id=transition)), 60.0)
    return bool(result and result.success)


def _started_pids(out: str) -> list[tuple[str, int]]:
    return [(m[1], int(m[2])) for m in
            re.finditer(r"\[INFO\] \[([a-z_]+)-\d+\]: process started with pid \[(\d+)\]", out)]


def test_launch_survives_a_sigkill_by_respawn_and_stops_cleanly_on_sigint(probe: object) -> None:
    from affect_msgs.msg import Emotion
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    emotions: list[float] = []
    sub = probe.create_subscription(
        Emotion, "emotion", lambda m: emotions.append(time.monotonic()),
        QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    launch = Process(["ros2", "launch", "affect_bringup", "lab.launch.py", "respawn:=true",
                      "respawn_delay:=1.0"])
    try:
        assert wait_for(lambda: emotions, 150.0), launch.out[-4000:]
        killed = dict(_started_pids(launch.out))["face_tracker"]
        os.kill(killed, signal.SIGKILL)
        killed_at = time.monotonic()
        respawned = wait_for(lambda: [p for n, p in _started_pids(launch.out)
                                      if n == "face_tracker" and p != killed], 60.0)
        assert respawned, launch.out[-4000:]
        # autostart: the new process configures and activates itself.
        assert wait_for(lambda: _state(probe, "face_tracker") == "active", 60.0)
        assert wait_for(lambda: [t for t in emotions if t > killed_at + 2.0], 60.0), \
            "/emotion did not resume after the respawn"
        starts = [n for n, _ in _started_pids(launch.out)]
        assert starts.count("face_tracker") == 2
        assert starts.count("static_transform_publisher") == 2  # one per transform
        assert all(starts.count(n) == 1 for n in starts
                   if n not in ("face_tracker", "static_transform_publisher"))
    finally:
        code = launch.stop(signal.SIGINT)
        probe.destroy_subscription(sub)
    out = launch.out
    assert code == 0, out[-4000:]
    errors = [line for line in out.splitlines() if "[ERROR]" in line]
    # The one death is the SIGKILL; every other exit is clean.
    assert len(errors) == 1 and f"pid {killed}, exit code -9" in errors[0], "\n".join(errors)
    finished = re.findall(r"\[INFO\] \[[a-z_]+-\d+\]: process has finished cleanly \[pid (\d+)\]",
                          out)
    expected = {p for _, p in _started_pids(out)} - {killed}
    assert {int(p) for p in finished} == expected, out[-4000:]
    assert "Traceback" not in out


def test_sigterm_winds_a_lifecycle_node_down_and_exits_0(probe: object) -> None:
    node = Process([_executable("emotion_vit"), "--ros-args", "-p", "autostart:=true"])
    try:
        assert wait_for(lambda: _state(probe, "emotion_vit") == "active", 60.0), node.out
    finally:
        code = node.stop(signal.SIGTERM, group=False)
    assert code == 0, node.out
    assert "SIGTERM: shutting down" in node.out
    assert "lifecycle active -> finalized" in node.out
    assert "Traceback" not in node.out


def _bad_models(tmp: Path) -> dict[str, tuple[Path, str]]:
    models = REPO / "models"
    truncated = tmp / "truncated.onnx"
    data = (models / "affect_vit_micro_faces.onnx").read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    # The shipped model, its metadata edited in place (same length, still valid protobuf)
    # to claim 96 px crops: the graph takes 64.
    size_entry = b"\x0a\x11affect.input_size\x12\x02"
    assert data.count(size_entry + b"64") == 1
    wrong = tmp / "wrong_shape.onnx"
    wrong.write_bytes(data.replace(size_entry + b"64", size_entry + b"96"))
    return {"missing": (tmp / "absent.onnx", "model file not found"),
            "truncated": (truncated, "cannot load model"),
            "wrong_shape": (wrong, "does not match its metadata")}


def test_missing_truncated_and_wrong_shape_models_fail_configure_with_the_reason(
        probe: object, tmp_path: Path) -> None:
    from lifecycle_msgs.msg import Transition
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    node = Process([_executable("emotion_vit")])
    try:
        assert wait_for(lambda: _state(probe, "emotion_vit") == "unconfigured", 60.0)
        for kind, (path, reason) in _bad_models(tmp_path).items():
            result = _call(probe, SetParameters, "/emotion_vit/set_parameters",
                           SetParameters.Request(parameters=[
                               Parameter("model_path", value=str(path)).to_parameter_msg()]))
            assert result and result.results[0].successful, kind
            assert not _change(probe, "emotion_vit", Transition.TRANSITION_CONFIGURE), kind
            assert _state(probe, "emotion_vit") == "unconfigured", kind
            assert wait_for(lambda: re.search(
                rf"cannot configure: .*{re.escape(reason)}", node.out), 10.0), (kind, node.out)
            assert node.popen.poll() is None  # no crash, no respawn loop
        # A good model afterwards: the same process configures.
        result = _call(probe, SetParameters, "/emotion_vit/set_parameters",
                       SetParameters.Request(parameters=[Parameter(
                           "model_path", value="affect_vit_micro_faces").to_parameter_msg()]))
        assert result and result.results[0].successful
        assert _change(probe, "emotion_vit", Transition.TRANSITION_CONFIGURE), node.out
    finally:
        code = node.stop(signal.SIGINT, group=False)
    assert code == 0
    assert "Traceback" not in node.out


def test_a_camera_that_disappears_reconnects_with_back_off_then_gives_up(
        probe: object, tmp_path: Path) -> None:
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    video = tmp_path / "camera.avi"
    write_gray_video(video, 30)
    frames: list[object] = []
    statuses: list[object] = []
    subs = [probe.create_subscription(Image, "ir/image_raw", frames.append,
                                      qos_profile_sensor_data),
            probe.create_subscription(
                DiagnosticArray, "/diagnostics",
                lambda m: statuses.extend(s for s in m.status if s.name.startswith("ir_camera")),
                50)]
    node = Process([_executable("ir_camera"), "--ros-args", "-p", f"device:={video}",
                    "-p", "encoding:=mono8", "-p", "fps:=30.0", "-p", "reconnect_attempts:=3",
                    "-p", "reconnect_backoff_max_s:=0.2"])
    try:
        assert wait_for(lambda: len(frames) >= 5, 40.0), node.out
        video.unlink()  # unplugged
        gave_up = wait_for(lambda: [s for s in statuses if "gave up" in s.message], 30.0)
        assert gave_up, [s.message for s in statuses]
        level = gave_up[-1].level
        assert (level if isinstance(level, int) else level[0]) == 2  # ERROR
        assert "3 reconnection attempts" in gave_up[-1].message
        values = {kv.key: kv.value for kv in gave_up[-1].values}
        # Each end of the file was a failed read too; the last four: three reopened, one up.
        assert int(values["reconnects"]) >= 4
        assert "not publishing until a parameter change reopens it" in node.out
        assert node.popen.poll() is None  # stays up, reporting ERROR, no crash loop
    finally:
        code = node.stop(signal.SIGINT, group=False)
        for sub in subs:
            probe.destroy_subscription(sub)
    assert code == 0, node.out
    assert "Traceback" not in node.out
