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
/diagnostics for every node: output rate, processing time, and what was dropped.

Each node reports once a second (diagnostic_updater) under its own task name. The
level is ERROR when a node that should produce has produced nothing in the last
period, WARN when its rate is below ``diagnostics.min_rate_hz``, its 95th-percentile
processing time above ``diagnostics.max_processing_ms``, or a drop counter grew, and
OK otherwise; both thresholds are parameters of every node. Defaults: the camera stages
warn below 80 % (sim_rig) or 50 % (a live ir_camera) of their frame rate and above two
frame periods of processing; window-level stages (one output per person per hop) have
no rate floor, since an empty room is not a fault. A node that has given up (a camera
that did not come back) reports ERROR with the reason (``fault``).
"""

from collections import deque
import threading
import time
from typing import Any, Callable, Deque, Dict, List

from diagnostic_msgs.msg import DiagnosticStatus
from diagnostic_updater import Updater
import numpy as np
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
from rclpy.node import Node


class StageDiagnostics:
    """Rate, processing time and counters of one node, published on /diagnostics."""

    def __init__(self, node: Node, task: str, min_rate_hz: float,
                 max_processing_ms: float) -> None:
        self._min_rate_hz = node.declare_parameter(
            'diagnostics.min_rate_hz', float(min_rate_hz), ParameterDescriptor(
                description='below this output rate (Hz) the node reports WARN; 0 disables',
                floating_point_range=[FloatingPointRange(from_value=0.0, to_value=10000.0)],
            )).value
        self._max_processing_ms = node.declare_parameter(
            'diagnostics.max_processing_ms', float(max_processing_ms), ParameterDescriptor(
                description='above this 95th-percentile processing time (ms) the node '
                            'reports WARN',
                floating_point_range=[FloatingPointRange(from_value=0.0, to_value=60000.0)],
            )).value
        self._lock = threading.Lock()  # outputs may come from a reader thread
        self._outputs = 0
        self._total_outputs = 0
        self._processing_s: Deque[float] = deque(maxlen=512)
        self._since = time.monotonic()
        self._counters: Dict[str, Callable[[], Any]] = {}
        self._drop_counters: Dict[str, Callable[[], int]] = {}
        self._last_drops: Dict[str, int] = {}
        self._faults: List[Callable[[], str]] = []
        self._updater = Updater(node, 1.0)
        self._updater.setHardwareID('affect')
        self._updater.add(task, self._produce)

    def output(self, processing_s: float = 0.0) -> None:
        """Count one output and how long producing it took."""
        with self._lock:
            self._outputs += 1
            self._total_outputs += 1
            self._processing_s.append(processing_s)

    def value(self, key: str, getter: Callable[[], Any]) -> None:
        """Report ``getter()`` under ``key`` in every status."""
        self._counters[key] = getter

    def drops(self, key: str, getter: Callable[[], int]) -> None:
        """Report a drop counter; its growth turns the status to WARN."""
        self._drop_counters[key] = getter

    def fault(self, getter: Callable[[], str]) -> None:
        """Report ERROR with ``getter()``'s text whenever it is not empty."""
        self._faults.append(getter)

    def _produce(self, stat: Any) -> Any:
        now = time.monotonic()
        with self._lock:
            rate_hz = self._outputs / max(now - self._since, 1e-9)
            self._outputs, self._since = 0, now
            processing = (np.array(self._processing_s) * 1000.0 if self._processing_s
                          else None)
            total = self._total_outputs
        level, message = DiagnosticStatus.OK, 'ok'
        problems = []
        if self._min_rate_hz > 0.0 and rate_hz < self._min_rate_hz:
            problems.append(f'output rate {rate_hz:.1f} Hz below {self._min_rate_hz:.1f} Hz')
        if processing is not None and np.percentile(processing, 95) > self._max_processing_ms:
            problems.append(f'processing p95 {np.percentile(processing, 95):.1f} ms above '
                            f'{self._max_processing_ms:.1f} ms')
        for key, getter in self._drop_counters.items():
            count = int(getter())
            if count > self._last_drops.get(key, 0):
                problems.append(f'{key}: {count - self._last_drops.get(key, 0)} more')
            self._last_drops[key] = count
            stat.add(key, str(count))
        if problems:
            level, message = DiagnosticStatus.WARN, '; '.join(problems)
        if self._min_rate_hz > 0.0 and rate_hz == 0.0:
            level, message = DiagnosticStatus.ERROR, 'no output in the last period'
        for getter in self._faults:
            text = getter()
            if text:
                level, message = DiagnosticStatus.ERROR, text
        stat.summary(level, message)
        stat.add('rate_hz', f'{rate_hz:.2f}')
        stat.add('outputs', str(total))
        if processing is not None:
            stat.add('processing_ms_p50', f'{np.percentile(processing, 50):.2f}')
            stat.add('processing_ms_p95', f'{np.percentile(processing, 95):.2f}')
        for key, getter in self._counters.items():
            stat.add(key, str(getter()))
        return stat
