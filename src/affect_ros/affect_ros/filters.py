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
message_filters filters over affect_core's synchroniser and associator.

They chain like any message_filters filter (Subscriber -> filter -> callback), so they
also fit into other people's pipelines, and unlike message_filters' own synchronisers
they count and report every message they drop.
"""

import threading
from typing import Any, Callable, List, Optional, Sequence

from affect_core.sync.associate import NearestAssociator
from affect_core.sync.synchronizer import Synchronizer
from message_filters import SimpleFilter


def stamp_ns(msg: Any) -> int:
    """Nanoseconds of a message's header stamp."""
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


class CountingSynchronizer(SimpleFilter):
    """
    Exact- or approximate-time synchroniser of N inputs, counting what it drops.

    Same semantics as message_filters' TimeSynchronizer (policy 'exact') and
    ApproximateTimeSynchronizer (policy 'approximate', with ``slop`` in seconds);
    ``on_drop(stream, stamp_ns, msg, reason)`` and ``on_warning(text)`` report drops
    and impossible settings.
    """

    def __init__(self, fs: Sequence[Any], queue_size: int, slop: float = 0.0,
                 policy: str = 'approximate',
                 on_drop: Optional[Callable[[int, int, Any, str], None]] = None,
                 on_warning: Optional[Callable[[str], None]] = None) -> None:
        super().__init__()
        self.core: Synchronizer[Any] = Synchronizer(len(fs), policy, queue_size, slop)
        self._lock = threading.Lock()
        self._ready: List[tuple] = []
        self.core.on_match(lambda *msgs: self._ready.append(msgs))
        if on_drop is not None:
            self.core.on_drop(on_drop)
        if on_warning is not None:
            self.core.on_warning(on_warning)
        self.input_connections = [f.registerCallback(self._add, i) for i, f in enumerate(fs)]

    def _add(self, msg: Any, index: int) -> None:
        with self._lock:
            self.core.add(index, stamp_ns(msg), msg)
            ready, self._ready = self._ready, []
        for msgs in ready:  # downstream work runs outside the lock
            self.signalMessage(*msgs)


class NearestAssociation(SimpleFilter):
    """
    Each message of ``primary`` with the nearest ``secondary`` message, or None.

    affect_core.sync.associate decides: the nearest within ``max_age`` seconds, waiting
    up to ``max_wait`` seconds (``max_age`` unless given) for a later secondary message
    when one may still come. Output: (primary, secondary).
    A stamp more than ``clock_jump_s`` behind the newest one (a bag loop, a clock reset)
    restarts the association (the core counts it in ``stats.restarts``).
    """

    def __init__(self, primary: Any, secondary: Any, max_age: float,
                 clock_jump_s: float = 1.0, max_wait: Optional[float] = None) -> None:
        super().__init__()
        self.core: NearestAssociator[Any, Any] = NearestAssociator(
            max_age, clock_jump_s=clock_jump_s, max_wait_s=max_wait)
        self._lock = threading.Lock()
        self.input_connections = [primary.registerCallback(self._on_primary),
                                  secondary.registerCallback(self._on_secondary)]

    @property
    def restarts(self) -> int:
        """Count the restarts after stamps jumped back."""
        return self.core.stats.restarts

    def _on_primary(self, msg: Any) -> None:
        stamp = stamp_ns(msg)
        with self._lock:
            decided = self.core.add_primary(stamp, msg)
        for pair in decided:
            self.signalMessage(*pair)

    def _on_secondary(self, msg: Any) -> None:
        with self._lock:
            decided = self.core.add_secondary(stamp_ns(msg), msg)
        for pair in decided:
            self.signalMessage(*pair)
