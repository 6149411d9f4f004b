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

"""The simulated rig rendered in a process of its own, a few frames ahead of the lab.

Rendering a 640x480 frame and its stereo pair costs about as much as every stage of the
lab after it, and much of it is Python, which one process runs one thread at a time: a
thread would only take turns with the stages. A second process renders on the second
core; frames reach the lab through a bounded queue (pickled arrays, a copy each), in
order, with the rig's truth. The rig is deterministic, so the frames are those an
in-process SimSource gives. An error in the renderer is raised again in the lab, with
its message; closing stops the renderer.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
from collections.abc import Iterator
from typing import Any

from affect_core.errors import SourceError
from affect_core.sim.rig import RigConfig
from affect_core.sources.base import SensorFrame, SourceStats
from affect_core.sources.concrete import SimSource
from affect_core.types import CameraModel

_AHEAD = 8  # frames the renderer may run ahead
_POLL_S = 0.5


def _render(config: RigConfig, duration_s: float, frames: Any, stop: Any) -> None:
    """Render in the child: each SensorFrame, then None; or the error's text.

    Ctrl-C reaches the whole process group: the lab handles it and stops this process
    through ``stop``. A lab killed outright cannot, so the renderer also ends when its
    parent is gone instead of waiting on a queue nobody reads.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    try:
        for frame in SimSource(config, duration_s).frames():
            while not stop.is_set():
                if parent is not None and not parent.is_alive():
                    break
                try:
                    frames.put(frame, timeout=_POLL_S)
                    break
                except queue.Full:
                    continue
            if stop.is_set() or (parent is not None and not parent.is_alive()):
                # Nobody will read what is still queued: do not wait to hand it over.
                frames.cancel_join_thread()
                return
        frames.put(None)
    except Exception as err:  # noqa: B902 - any renderer failure is reported to the lab
        frames.put(f"{type(err).__name__}: {err}")


class RigProcessSource:
    """A SimSource whose frames are rendered in a child process (same frames, same order)."""

    def __init__(self, config: RigConfig, duration_s: float) -> None:
        local = SimSource(config, 0.0)  # for the camera model and description only
        self.description = local.description
        self.nominal_fps = local.nominal_fps
        self.ir_camera: CameraModel | None = local.ir_camera
        self.stats = SourceStats()
        self.config = config
        self.duration_s = duration_s
        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._frames = context.Queue(maxsize=_AHEAD)
        self._stop = context.Event()
        self._process = context.Process(target=_render, name="affect-rig",
                                        args=(config, duration_s, self._frames, self._stop),
                                        daemon=True)
        self._started = False

    def frames(self) -> Iterator[SensorFrame]:
        """Yield the rendered frames until the duration is rendered."""
        if not self._started:
            self._process.start()
            self._started = True
        while True:
            try:
                item = self._frames.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._process.is_alive():
                    raise SourceError(f"the rig renderer stopped (exit code "
                                      f"{self._process.exitcode}) before the end of the run")
                continue
            if item is None:
                return
            if isinstance(item, str):
                raise SourceError(f"the rig renderer failed: {item}")
            self.stats.ir_frames += item.ir is not None
            self.stats.stereo_pairs += item.stereo is not None
            yield item

    def close(self) -> None:
        """Stop the renderer and wait for it."""
        self._stop.set()
        if self._started:
            while self._process.is_alive():
                try:  # let a renderer blocked on a full queue see the stop
                    self._frames.get(timeout=0.1)
                except queue.Empty:
                    pass
                self._process.join(0.1)
        self._frames.close()
        self._frames.join_thread()
