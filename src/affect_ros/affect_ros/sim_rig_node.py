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

"""
sim_rig: the simulated IR camera and stereo pair, publishing like the real sensors.

Publishes /ir/image_raw (mono16) + /ir/camera_info and the rectified stereo pair
/stereo/left/image_rect, /stereo/right/image_rect (mono8) + their camera_info. Stamps
are the node clock at start plus the rig's own time, so frames are evenly spaced even
when rendering falls behind real time (which is counted and reported).

A timer tick that comes late does not cost a frame: the timer skips the periods it
missed, so each tick renders every frame that is due by then (up to MAX_FRAMES_PER_TICK),
and the rig's time keeps up with the clock whenever the CPU has room to catch up.
"""

import time
from typing import Any, Dict

from affect_core.sim.rig import PARAMS, RigConfig, SimRig
from affect_ros.diagnostics import StageDiagnostics
from affect_ros.params import ParameterBinding
from affect_ros.publishers import SensorPublishers
from affect_ros.runner import run_node
from rclpy.node import Node

# Frames one tick may render to catch up with the clock after a late tick.
MAX_FRAMES_PER_TICK = 3
WARN_PERIOD_NS = 10_000_000_000  # one lag warning per 10 s


class SimRigNode(Node):
    """Publishes the simulated rig's frames at its configured rate."""

    def __init__(self) -> None:
        super().__init__('sim_rig')
        self._params = ParameterBinding(self, PARAMS, self._configure)
        self._sensors = SensorPublishers(self)
        self._timer = None
        self.frames_behind = 0
        self._warned_ns = -WARN_PERIOD_NS
        fps = float(self._params.values['fps'])
        self._diagnostics = StageDiagnostics(self, 'frames', 0.8 * fps, 2000.0 / fps)
        self._diagnostics.drops('frames_behind_real_time', lambda: self.frames_behind)
        self._configure(self._params.values)

    def _configure(self, values: Dict[str, Any]) -> None:
        config = RigConfig.from_params(values)
        self._rig = SimRig(config)
        self._start_ns = self.get_clock().now().nanoseconds
        self._frame_ns = 1e9 / config.fps
        self._frames = 0
        if self._timer is not None:
            self.destroy_timer(self._timer)
        self._timer = self.create_timer(1.0 / config.fps, self._tick)
        self.get_logger().info(
            f'simulated rig: {config.num_people} people, preset {config.preset}, '
            f'{config.width_px}x{config.height_px} at {config.fps} Hz (synthetic data)')

    def _tick(self) -> None:
        now_ns = self.get_clock().now().nanoseconds
        due = int((now_ns - self._start_ns) / self._frame_ns) + 1 - self._frames
        for _ in range(max(1, min(due, MAX_FRAMES_PER_TICK))):
            self._publish_frame()

    def _publish_frame(self) -> None:
        started = time.perf_counter()
        self._frames += 1
        frame = self._rig.step()
        stamp = self._start_ns + frame.stamp_ns
        now_ns = self.get_clock().now().nanoseconds
        lag_s = (now_ns - stamp) / 1e9
        if lag_s > 1.0:
            self.frames_behind += 1
            # Throttled here: rclpy's own throttle looks up the caller on every call,
            # which costs more than publishing the frame.
            if now_ns - self._warned_ns >= WARN_PERIOD_NS:
                self._warned_ns = now_ns
                self.get_logger().warn(f'rendering is {lag_s:.1f} s behind real time; '
                                       'frames keep their rig timing')
        frame.ir.stamp_ns = stamp
        self._sensors.publish_ir(frame.ir, frame.ir_camera)
        if frame.stereo is not None:
            frame.stereo.stamp_ns = stamp
            self._sensors.publish_stereo(frame.stereo)
        self._diagnostics.output(time.perf_counter() - started)


def main(args=None) -> None:
    """Run the sim_rig node."""
    run_node(SimRigNode, args)


if __name__ == '__main__':
    main()
