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

"""window_sync: per-person windows (length window_s, every hop_s) of face observations."""

import time
from typing import Any, Dict

from affect_core.window import DROP_REASONS, PARAMS, WindowConfig, Windower
from affect_msgs.msg import FaceObservationArray, FaceWindow
from affect_ros.convert import msg_to_face_frame, window_to_msg
from affect_ros.diagnostics import StageDiagnostics
from affect_ros.params import ParameterBinding
from affect_ros.qos import RESULTS_QOS
from affect_ros.runner import run_node
import message_filters
from rclpy.node import Node


class WindowSyncNode(Node):
    """Feeds the core Windower and publishes each window as it closes."""

    def __init__(self) -> None:
        super().__init__('window_sync')
        self._params = ParameterBinding(self, PARAMS, self._configure)
        self._configure(self._params.values)
        self._pub = self.create_publisher(FaceWindow, 'affect/face_windows', RESULTS_QOS)
        # A message_filters input, so the windower chains after other filters too.
        self._faces = message_filters.Subscriber(self, FaceObservationArray, 'affect/faces',
                                                 qos_profile=RESULTS_QOS)
        self._faces.registerCallback(self._on_faces)
        self._reported_drops = 0
        self._diagnostics = StageDiagnostics(self, 'windows', 0.0, 20.0)
        self._diagnostics.drops('dropped_observations',
                                lambda: sum(self._windower.stats.dropped.values()))
        self._diagnostics.value('observations_received',
                                lambda: self._windower.stats.observations_received)
        self._diagnostics.value('clock_resets', lambda: self._windower.stats.clock_resets)
        for reason in DROP_REASONS:
            self._diagnostics.value(f'dropped {reason}',
                                    lambda r=reason: self._windower.stats.dropped.get(r, 0))

    def _configure(self, values: Dict[str, Any]) -> None:
        self._windower = Windower(WindowConfig.from_params(values))

    def _on_faces(self, msg: FaceObservationArray) -> None:
        resets = self._windower.stats.clock_resets
        started = time.perf_counter()
        for window in self._windower.push(msg_to_face_frame(msg)):
            self._pub.publish(window_to_msg(window))
            self._diagnostics.output(time.perf_counter() - started)
        stats = self._windower.stats
        if stats.clock_resets != resets:
            self.get_logger().warn('stamps jumped back (replay loop or clock reset): windows '
                                   'restarted')
        dropped = sum(stats.dropped.values())
        if dropped != self._reported_drops:
            self._reported_drops = dropped
            reasons = ', '.join(f'{k} {v}' for k, v in sorted(stats.dropped.items()))
            self.get_logger().warn(
                f'observations dropped so far: {reasons} ('
                f'{100.0 * dropped / max(stats.observations_received, 1):.2f} % of those '
                'received)', throttle_duration_sec=5.0)


def main(args=None) -> None:
    """Run the window_sync node."""
    run_node(WindowSyncNode, args)


if __name__ == '__main__':
    main()
