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

"""Read a source on its own thread, a few frames ahead of the stages that use them.

Rendering the rig, decoding a video or a recording, and waiting on a camera are work
the stages need not wait for: on a second core the next frames are ready while the
current one is tracked and scored. OpenCV and NumPy release the GIL in their heavy
calls, so the two threads overlap. Items come out in the order the source made them;
an exception the source raises is raised again, with its traceback, by the ``next``
that would have returned the item; nothing the source made is dropped.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"
_POLL_S = 0.1


class Prefetched(Generic[T]):
    """Iterate ``items`` on a background thread, at most ``depth`` items ahead."""

    def __init__(self, items: Iterator[T], depth: int = 8, name: str = "affect-source") -> None:
        if depth < 1:
            raise ValueError(f"prefetch depth must be at least 1, got {depth}")
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(items,), name=name,
                                        daemon=True)
        self._thread.start()

    def _run(self, items: Iterator[T]) -> None:
        try:
            for item in items:
                if not self._put((_ITEM, item)):
                    break
            else:
                self._put((_END, None))
        except BaseException as err:  # noqa: B902 - handed to the consumer, raised there
            self._put((_ERROR, err))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's own clean-up runs here, on its thread

    def _put(self, entry: tuple[str, object]) -> bool:
        """Queue ``entry``, waiting for room; False when the consumer has closed."""
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Prefetched[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _ITEM:
            return value  # type: ignore[return-value]
        self._done = True
        if kind == _ERROR:
            assert isinstance(value, BaseException)
            raise value
        raise StopIteration

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop reading ahead and wait for the thread (the source is closed after this)."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout_s)
