"""ROS 2 tests: run for real where rclpy and the built workspace are importable.

They skip, with the reason, where no ROS 2 is installed or the workspace is not built
and sourced (scripts/test does both where it finds /opt/ros/<distro>/setup.bash). All
DDS traffic stays on this host (localhost-only discovery) in a domain of its own.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("ROS_DOMAIN_ID", "42")
os.environ["ROS_LOCALHOST_ONLY"] = "1"  # Humble
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # Jazzy and newer
# The launch test runs ten processes plus this probe and the ros2 daemon; Cyclone DDS
# hands out only ten participant indices on localhost unless told otherwise.
os.environ.setdefault(
    "CYCLONEDDS_URI",
    "<CycloneDDS><Domain><Discovery><ParticipantIndex>auto</ParticipantIndex>"
    "<MaxAutoParticipantIndex>64</MaxAutoParticipantIndex></Discovery></Domain></CycloneDDS>")

try:
    import rclpy  # noqa: F401
except ImportError:
    rclpy = None

try:
    import affect_msgs.msg  # noqa: F401
except ImportError:
    affect_msgs = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if rclpy is None:
        reason = "ROS 2 is not installed here (no rclpy): source /opt/ros/<distro>/setup.bash"
    elif affect_msgs is None:
        reason = "the workspace is not built and sourced: colcon build; source install/setup.bash"
    else:
        return
    for item in items:
        if "tests/ros" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def _stop_ros2_daemon() -> object:
    """Leave no ros2 daemon behind (the lifecycle CLI starts one)."""
    yield
    if rclpy is not None:
        import subprocess

        subprocess.run(["ros2", "daemon", "stop"], capture_output=True, timeout=60, check=False)
