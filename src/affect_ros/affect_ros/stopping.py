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
SIGINT and SIGTERM as a request for a node to stop.

This module imports nothing heavy, so the entry points install the handlers before the
node's libraries (rclpy, ONNX Runtime, OpenCV) load: a signal that arrives while they
load stops the node as cleanly as one that arrives while it spins. Only the first
signal counts; launch sends SIGINT again (and then SIGTERM) to a node that is still
winding down, and those change nothing.
"""

import signal
import threading
from types import FrameType
from typing import Optional

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Set by the first SIGINT or SIGTERM the process receives."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._installed = False

    @property
    def requested(self) -> bool:
        """Tell whether a stop signal has arrived."""
        return self.signum is not None

    @property
    def name(self) -> str:
        """Name the signal that asked to stop ('' if none did)."""
        return signal.Signals(self.signum).name if self.signum is not None else ''

    def install(self) -> None:
        """Turn SIGINT and SIGTERM into this request (main thread only; idempotent)."""
        if self._installed or threading.current_thread() is not threading.main_thread():
            return
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)
        self._installed = True

    def ignore_further(self) -> None:
        """
        Ignore SIGINT and SIGTERM from now on: the node is down, the process is exiting.

        Python's finalisation puts a handler back to the default action (die by the signal),
        but leaves an ignored signal ignored; launch's second SIGINT would otherwise turn a
        clean exit into "exit code -2" while DDS is still closing.
        """
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.signum is None:
            self.signum = signum


# The process's one request: a node process has one main thread and one set of handlers.
STOP = StopRequest()
