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

"""A synchroniser for any number of streams, with ROS 2 message_filters' semantics.

Two policies, as message_filters names them:

- ``exact``: a set is emitted when every stream holds a message with the same stamp
  (TimeSynchronizer).
- ``approximate``: a set is emitted when every stream holds a message within ``slop``
  of each other, searched as message_filters' Python ApproximateTimeSynchronizer does:
  on each arrival, candidate stamps of the other streams within ``slop`` of the new one
  are tried nearest first, and the first combination whose spread is below ``slop``
  wins.

Each stream keeps at most ``queue_size`` messages by stamp. What message_filters does
silently, this one counts and reports through ``on_drop``: a message pushed out of a
full queue (``queue_overflow``), one replaced by another with the same stamp on the same
stream (``duplicate_stamp``), and those still waiting at ``flush`` (``unmatched_at_end``).
It also warns, once, when the stamps make matching impossible or ambiguous: a slop of
half a frame period or more lets one message match either of two neighbours; stamps of
exact-policy streams that never coincide can never match.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from affect_core.errors import ConfigError

T = TypeVar("T")

POLICIES = ("exact", "approximate")
DROP_REASONS = ("queue_overflow", "duplicate_stamp", "unmatched_at_end")
# Longest time span a setting may give (about 31 years): beyond it nanoseconds leave int64.
MAX_SPAN_S = 1e9


@dataclass
class SyncStats:
    """What went in, what came out as sets, and what was dropped, per stream and reason."""

    received: list[int]
    matched: list[int]
    dropped: dict[str, list[int]] = field(default_factory=dict)
    sets: int = 0
    warnings: list[str] = field(default_factory=list)

    def drop(self, stream: int, reason: str) -> None:
        """Count one message of ``stream`` dropped for ``reason``."""
        self.dropped.setdefault(reason, [0] * len(self.received))[stream] += 1

    def dropped_total(self, stream: int) -> int:
        """All drops of ``stream``, whatever the reason."""
        return sum(counts[stream] for counts in self.dropped.values())


class Synchronizer(Generic[T]):
    """Matches items of N streams by stamp (see the module docstring)."""

    def __init__(self, streams: int, policy: str = "approximate", queue_size: int = 10,
                 slop_s: float = 0.0) -> None:
        if streams < 1:
            raise ConfigError("a synchroniser needs at least one stream")
        if policy not in POLICIES:
            raise ConfigError(f"unknown policy {policy!r}; use one of {', '.join(POLICIES)}")
        if queue_size < 1:
            raise ConfigError(f"queue_size must be at least 1, got {queue_size}")
        if not 0.0 <= slop_s <= MAX_SPAN_S:  # NaN fails too
            raise ConfigError(f"slop must be in [0, {MAX_SPAN_S:.0e}] s, got {slop_s}")
        if policy == "approximate" and not slop_s > 0.0:
            raise ConfigError(f"the approximate policy needs a positive slop, got {slop_s}")
        self.policy = policy
        self.queue_size = queue_size
        self.slop_ns = int(round(slop_s * 1e9))
        self.queues: list[dict[int, T]] = [{} for _ in range(streams)]
        self.stats = SyncStats(received=[0] * streams, matched=[0] * streams)
        self._callbacks: list[Callable[..., None]] = []
        self._drop_callbacks: list[Callable[[int, int, T, str], None]] = []
        self._warn_callbacks: list[Callable[[str], None]] = []
        self._last_stamp: list[int | None] = [None] * streams
        self._periods: list[list[int]] = [[] for _ in range(streams)]
        self._warned: set[str] = set()

    def on_match(self, callback: Callable[..., None]) -> None:
        """Call ``callback(item_0, ..., item_N-1)`` for each matched set."""
        self._callbacks.append(callback)

    def on_drop(self, callback: Callable[[int, int, T, str], None]) -> None:
        """Call ``callback(stream, stamp_ns, item, reason)`` for each dropped item."""
        self._drop_callbacks.append(callback)

    def on_warning(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(message)`` once per kind of matching problem found."""
        self._warn_callbacks.append(callback)

    def add(self, stream: int, stamp_ns: int, item: T) -> None:
        """Offer one item of ``stream`` stamped ``stamp_ns``."""
        self.stats.received[stream] += 1
        self._watch_rate(stream, stamp_ns)
        queue = self.queues[stream]
        if stamp_ns in queue:
            self._drop(stream, stamp_ns, queue[stamp_ns], "duplicate_stamp")
        queue[stamp_ns] = item
        while len(queue) > self.queue_size:
            oldest = min(queue)
            self._drop(stream, oldest, queue.pop(oldest), "queue_overflow")
        if self.policy == "exact":
            self._match_exact()
        else:
            self._match_approximate(stream, stamp_ns)

    def flush(self) -> None:
        """Drop (counted) everything still waiting, e.g. at the end of a recording."""
        for stream, queue in enumerate(self.queues):
            for stamp in sorted(queue):
                self._drop(stream, stamp, queue.pop(stamp), "unmatched_at_end")

    def _emit(self, stamps: Sequence[int]) -> None:
        items = [q.pop(t) for q, t in zip(self.queues, stamps)]
        for stream in range(len(items)):
            self.stats.matched[stream] += 1
        self.stats.sets += 1
        for callback in self._callbacks:
            callback(*items)

    def _match_exact(self) -> None:
        common = set(self.queues[0]).intersection(*self.queues[1:])
        for stamp in sorted(common):
            self._emit([stamp] * len(self.queues))

    def _match_approximate(self, stream: int, stamp_ns: int) -> None:
        candidates: list[list[int]] = []
        for index, queue in enumerate(self.queues):
            if index == stream:
                continue
            near = sorted((s for s in queue if abs(s - stamp_ns) <= self.slop_ns),
                          key=lambda s: abs(s - stamp_ns))
            if not near:
                return
            candidates.append(near)
        for combination in itertools.product(*candidates):
            stamps = list(combination)
            stamps.insert(stream, stamp_ns)
            if max(stamps) - min(stamps) < self.slop_ns and all(
                    t in q for q, t in zip(self.queues, stamps)):
                self._emit(stamps)
                return

    def _drop(self, stream: int, stamp_ns: int, item: T, reason: str) -> None:
        self.stats.drop(stream, reason)
        for callback in self._drop_callbacks:
            callback(stream, stamp_ns, item, reason)

    def _watch_rate(self, stream: int, stamp_ns: int) -> None:
        last = self._last_stamp[stream]
        self._last_stamp[stream] = stamp_ns
        if last is None or stamp_ns <= last:
            return
        periods = self._periods[stream]
        periods.append(stamp_ns - last)
        if len(periods) < 8:
            return
        del periods[:-64]
        period_ns = sorted(periods)[len(periods) // 2]
        if self.policy == "approximate" and 2 * self.slop_ns >= period_ns:
            self._warn("slop", f"slop {self.slop_ns / 1e9:.4f} s is at least half the frame "
                       f"period {period_ns / 1e9:.4f} s of stream {stream}: a message can "
                       "match either of two neighbours; lower the slop")
        if self.policy == "exact" and all(len(p) >= 8 for p in self._periods):
            if self.stats.sets == 0 and all(len(q) >= min(self.queue_size, 8)
                                            for q in self.queues):
                self._warn("exact", "exact-time streams have not matched once although "
                           "every queue holds messages: their stamps never coincide; use "
                           "the approximate policy")

    def _warn(self, kind: str, message: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        self.stats.warnings.append(message)
        for callback in self._warn_callbacks:
            callback(message)
