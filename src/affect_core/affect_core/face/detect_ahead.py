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


"""A whole-frame detection on its own thread, whose faces join a fixed number of frames later.

A whole-frame pass of the tiled BlazeFace detector takes about 26 ms, three 120 fps frame
periods: run in the frame, every frame behind it waits, and each window's latency has
that spike in it. Run ahead on a second core, the tracker follows its faces for those
frames meanwhile. The result is taken exactly ``lag_frames`` frames after the pass began,
waiting for it if it is not done, so what the tracker does is the same however fast the
machine is: a replay gives the live run's results.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from affect_core.errors import ConfigError
from affect_core.face.detect import Detection
from affect_core.face.detectors import FaceDetector


class DetectAhead:
    """One whole-frame detection at a time, running while the tracker follows its faces."""

    def __init__(self, detector: FaceDetector, lag_frames: int) -> None:
        if lag_frames < 1:
            raise ConfigError(f"a detection ahead needs a lag of at least 1 frame, got "
                              f"{lag_frames}")
        self.detector = detector
        self.lag_frames = lag_frames
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[list[Detection]] | None = None
        self._stamp_ns = 0
        self._left = 0

    def start(self, image: npt.NDArray[np.generic], stamp_ns: int,
              faces_px: Sequence[tuple[int, int, int, int]] = (),
              every_tile: bool = False) -> None:
        """Start a pass over ``image`` (copied: a source may reuse its buffer).

        ``faces_px``, ``every_tile``: as for FaceDetector.detect.
        """
        if self._pending is not None:
            raise RuntimeError("a whole-frame detection is already running")
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="affect-detect")
        image = np.array(image, copy=True)
        self._pending = self._pool.submit(self.detector.detect, image, every_tile=every_tile,
                                          faces_px=list(faces_px))
        self._stamp_ns = stamp_ns
        self._left = self.lag_frames

    def take(self) -> tuple[list[Detection], int] | None:
        """Count one frame; on the ``lag_frames``-th since start, the faces and their stamp.

        Waits for the pass if it is still running; its errors are raised here, in the
        tracker's thread.
        """
        if self._pending is None:
            return None
        self._left -= 1
        if self._left > 0:
            return None
        pending, self._pending = self._pending, None
        return pending.result(), self._stamp_ns

    def cancel(self) -> None:
        """Drop the running pass (a clock reset, or a pass in the frame supersedes it)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
