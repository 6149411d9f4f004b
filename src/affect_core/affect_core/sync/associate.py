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

"""Association of streams at different rates: each IR frame gets its nearest depth frame.

IR runs at 120 Hz, depth at 30 Hz, and depth arrives later than the IR frame it belongs
to (stereo matching takes time). So an IR frame waits until its association is decided:
when a depth frame stamped at or after it has arrived (no later depth can be nearer,
given depth in stamp order), or when the newest IR frame is more than ``max_wait_s``
past it (depth is late or gone; ``max_age_s`` unless given, 0: decide each IR frame as
it comes, with the depth already there). It then gets the nearest depth frame within
``max_age_s``, or none. Waiting aligns depth best; not waiting takes out of the
latency what stereo matching adds, at the cost of depth up to a depth period older.
Every IR frame comes out exactly once, in stamp order, and is counted as associated or
not; depth frames that no IR frame used are counted too.

A stamp more than ``clock_jump_s`` behind the newest of its stream (a bag loop, a clock
reset) restarts the association, counted in ``restarts``: the IR frames waiting are
decided with what has arrived, and depth on the new clock is accepted instead of being
refused as out of order until the stamps pass the old ones again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

from affect_core.errors import ConfigError
from affect_core.sync.synchronizer import MAX_SPAN_S

P = TypeVar("P")
S = TypeVar("S")


@dataclass
class AssociationStats:
    """Counts for diagnostics and the closing summary."""

    primary: int = 0
    associated: int = 0
    without_secondary: int = 0
    decided_by_timeout: int = 0
    pending_overflow: int = 0
    secondary: int = 0
    secondary_unused: int = 0
    secondary_out_of_order: int = 0
    restarts: int = 0


class NearestAssociator(Generic[P, S]):
    """Pairs primary items with the nearest secondary item in time (module docstring)."""

    def __init__(self, max_age_s: float, max_pending: int = 64, history: int = 16,
                 clock_jump_s: float = 1.0, max_wait_s: float | None = None) -> None:
        if not 0.0 <= max_age_s <= MAX_SPAN_S:  # NaN fails too
            raise ConfigError(f"max_age_s must be in [0, {MAX_SPAN_S:.0e}] s, got {max_age_s}")
        max_wait_s = max_age_s if max_wait_s is None else max_wait_s
        if not 0.0 <= max_wait_s <= MAX_SPAN_S:
            raise ConfigError(f"max_wait_s must be in [0, {MAX_SPAN_S:.0e}] s, got "
                              f"{max_wait_s}")
        if not 0.0 < clock_jump_s <= MAX_SPAN_S:
            raise ConfigError(f"clock_jump_s must be in (0, {MAX_SPAN_S:.0e}] s, got "
                              f"{clock_jump_s}")
        self.max_age_ns = int(round(max_age_s * 1e9))
        self.max_wait_ns = int(round(max_wait_s * 1e9))
        self.clock_jump_ns = int(round(clock_jump_s * 1e9))
        self.max_pending = max_pending
        self.history = history
        self.stats = AssociationStats()
        self._pending: deque[tuple[int, P]] = deque()
        self._secondary: deque[tuple[int, S, bool]] = deque()  # stamp, item, used
        self._newest_primary_ns: int | None = None

    def add_secondary(self, stamp_ns: int, item: S) -> list[tuple[P, S | None]]:
        """Offer a secondary item; returns the primary items this decides."""
        self.stats.secondary += 1
        restarted = []
        if self._secondary and stamp_ns < self._secondary[-1][0] - self.clock_jump_ns:
            restarted = self._restart()
        if self._secondary and stamp_ns <= self._secondary[-1][0]:
            self.stats.secondary_out_of_order += 1
            return []
        self._secondary.append((stamp_ns, item, False))
        while len(self._secondary) > self.history:
            self._forget_oldest_secondary()
        return restarted + self._decide()

    def add_primary(self, stamp_ns: int, item: P) -> list[tuple[P, S | None]]:
        """Offer a primary item; returns the primary items now decided, in order."""
        self.stats.primary += 1
        decided = []
        newest = self._newest_primary_ns
        if newest is not None and stamp_ns < newest - self.clock_jump_ns:
            decided = self._restart()
        self._pending.append((stamp_ns, item))
        if self._newest_primary_ns is None or stamp_ns > self._newest_primary_ns:
            self._newest_primary_ns = stamp_ns
        decided += self._decide()
        while len(self._pending) > self.max_pending:
            self.stats.pending_overflow += 1
            decided.append(self._resolve(*self._pending.popleft()))
        return decided

    def flush(self) -> list[tuple[P, S | None]]:
        """Decide every waiting primary item with what has arrived (end of a stream)."""
        decided = [self._resolve(*entry) for entry in self._pending]
        self._pending.clear()
        while self._secondary:
            self._forget_oldest_secondary()
        return decided

    def _restart(self) -> list[tuple[P, S | None]]:
        """Decide what waits with what has arrived and start on the new clock."""
        self.stats.restarts += 1
        self._newest_primary_ns = None
        return self.flush()

    def _decide(self) -> list[tuple[P, S | None]]:
        decided = []
        newest_secondary = self._secondary[-1][0] if self._secondary else None
        while self._pending:
            stamp, item = self._pending[0]
            ready = newest_secondary is not None and newest_secondary >= stamp
            waited_ns = (self._newest_primary_ns - stamp
                         if self._newest_primary_ns is not None else 0)
            timed_out = waited_ns > self.max_wait_ns or self.max_wait_ns == 0
            if not (ready or timed_out):
                break
            if timed_out and not ready and self.max_wait_ns > 0:
                self.stats.decided_by_timeout += 1
            self._pending.popleft()
            decided.append(self._resolve(stamp, item))
        return decided

    def _resolve(self, stamp_ns: int, item: P) -> tuple[P, S | None]:
        best_index, best_delta = None, self.max_age_ns + 1
        for index, (secondary_ns, _, _) in enumerate(self._secondary):
            delta = abs(secondary_ns - stamp_ns)
            if delta < best_delta:
                best_index, best_delta = index, delta
        if best_index is None:
            self.stats.without_secondary += 1
            return item, None
        secondary_ns, secondary, _ = self._secondary[best_index]
        self._secondary[best_index] = (secondary_ns, secondary, True)
        self.stats.associated += 1
        return item, secondary

    def _forget_oldest_secondary(self) -> None:
        _, _, used = self._secondary.popleft()
        if not used:
            self.stats.secondary_unused += 1
