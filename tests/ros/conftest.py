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
