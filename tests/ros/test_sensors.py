"""Real-sensor paths in ROS 2: bag replay through ir_camera, stereo depth, depth pass-through."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from affect_core.sim.rig import RigConfig
from affect_core.sinks.sensor_bag import SensorBagWriter, record_source
from affect_core.sources.concrete import SimSource

from .test_graph import _start, _stop

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def probe() -> object:
    import rclpy
    from rclpy.node import Node

    rclpy.init()
    node = Node("affect_sensor_probe")
    yield node
    node.destroy_node()
    rclpy.shutdown()


def _spin_until(node: object, done: object, timeout_s: float) -> None:
    import rclpy

    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)


def test_ir_camera_replays_a_recording_with_its_stamps_and_stereo_gives_depth(
        probe: object, tmp_path: Path) -> None:
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    bag = tmp_path / "sensors"
    source = SimSource(RigConfig(), 1.0)
    recorded = []
    with SensorBagWriter(bag, source.ir_camera) as writer:
        for frame in source.frames():
            writer.write(frame)
            recorded.append(frame.ir.stamp_ns)
    images: list[Image] = []
    depths: list[Image] = []
    subs = [probe.create_subscription(Image, "ir/image_raw", images.append,
                                      qos_profile_sensor_data),
            probe.create_subscription(Image, "stereo/depth", depths.append,
                                      qos_profile_sensor_data)]
    stereo = _start(["ros2", "run", "affect_ros", "stereo_depth"])
    camera = None
    try:
        time.sleep(3.0)  # let stereo_depth subscribe before the replay starts
        camera = _start(["ros2", "run", "affect_ros", "ir_camera", "--ros-args", "-p",
                         f"source:=bag:{bag}", "-p", "rate:=0.5"])
        _spin_until(probe, lambda: len(images) >= 60 and len(depths) >= 3, 40.0)
    finally:
        if camera is not None:
            _stop(camera)
        _stop(stereo)
        for sub in subs:
            probe.destroy_subscription(sub)
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in images]
    assert len(stamps) >= 60
    assert set(stamps) <= set(recorded)  # the recorded stamps, not the host clock
    assert stamps == sorted(stamps)
    assert images[0].encoding == "mono16"
    assert depths and depths[0].encoding == "32FC1"
    depth = np.frombuffer(bytes(depths[0].data), np.float32).reshape(480, 640)
    truth_z = source.rig._people[0].base[2]
    assert np.nanmedian(depth[200:280, 280:360]) == pytest.approx(truth_z, abs=0.1)


def test_ir_camera_loops_a_recording_with_stamps_running_on(probe: object,
                                                             tmp_path: Path) -> None:
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    bag = tmp_path / "sensors"
    source = SimSource(RigConfig(), 0.25)
    record_source(source, bag)
    recorded = source.stats.ir_frames
    images: list[Image] = []
    sub = probe.create_subscription(Image, "ir/image_raw", images.append,
                                    qos_profile_sensor_data)
    camera = _start(["ros2", "run", "affect_ros", "ir_camera", "--ros-args", "-p",
                     f"source:=bag:{bag}", "-p", "loop:=true"])
    try:
        _spin_until(probe, lambda: len(images) >= 3 * recorded, 40.0)
    finally:
        _stop(camera)
        probe.destroy_subscription(sub)
    stamps = np.array([m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in images])
    assert len(stamps) >= 3 * recorded == 90  # three passes of a 30-frame recording
    assert np.all(np.diff(stamps) > 0)  # no jump back where a pass starts again
    assert stamps[-1] - stamps[0] > 2 * 0.25e9


def test_depth_camera_pass_through_republishes_metres(probe: object) -> None:
    from builtin_interfaces.msg import Time
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    received: list[Image] = []
    sub = probe.create_subscription(Image, "stereo/depth", received.append,
                                    qos_profile_sensor_data)
    image_pub = probe.create_publisher(Image, "depth/image_raw", qos_profile_sensor_data)
    info_pub = probe.create_publisher(CameraInfo, "depth/camera_info", qos_profile_sensor_data)
    node = _start(["ros2", "run", "affect_ros", "stereo_depth", "--ros-args", "-p",
                   "mode:=passthrough"])
    try:
        deadline = time.monotonic() + 30.0
        k = 0
        while not received and time.monotonic() < deadline:
            stamp = Time(sec=1, nanosec=k)
            image = Image(height=2, width=2, encoding="16UC1", step=4,
                          data=np.array([0, 1000, 1500, 2000], np.uint16).tobytes())
            image.header.stamp = stamp
            image.header.frame_id = "depth_optical_frame"
            info = CameraInfo(height=2, width=2)
            info.header.stamp = stamp
            image_pub.publish(image)
            info_pub.publish(info)
            k += 1
            _spin_until(probe, lambda: bool(received), 0.3)
    finally:
        _stop(node)
        probe.destroy_subscription(sub)
        probe.destroy_publisher(image_pub)
        probe.destroy_publisher(info_pub)
    assert received and received[0].encoding == "32FC1"
    values = np.frombuffer(bytes(received[0].data), np.float32)
    assert np.isnan(values[0]) and values[1:].tolist() == pytest.approx([1.0, 1.5, 2.0])
