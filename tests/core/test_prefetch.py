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

"""Reading a source ahead on its own thread: order, errors, and stopping early."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affect_core.errors import SourceError
from affect_core.sources.prefetch import Prefetched


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(), max_size=50), st.integers(1, 5))
def test_items_come_out_in_order_and_complete(items: list[int], depth: int) -> None:
    prefetched = Prefetched(iter(items), depth)
    assert list(prefetched) == items
    assert next(prefetched, None) is None  # ended stays ended
    prefetched.close()


def test_a_source_error_is_raised_after_the_items_before_it() -> None:
    def source():
        yield 1
        yield 2
        raise SourceError("camera 0 stopped delivering frames")

    prefetched = Prefetched(source())
    assert next(prefetched) == 1 and next(prefetched) == 2
    with pytest.raises(SourceError, match="camera 0 stopped") as info:
        next(prefetched)
    assert "source" in "".join(str(entry.name) for entry in info.traceback)
    prefetched.close()


def test_closing_early_stops_the_reader_and_runs_the_source_clean_up() -> None:
    made = []
    cleaned = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                made.append(n)
                yield n
                n += 1
        finally:
            cleaned.set()

    prefetched = Prefetched(endless(), depth=4)
    assert [next(prefetched) for _ in range(3)] == [0, 1, 2]
    start = time.monotonic()
    prefetched.close()
    assert time.monotonic() - start < 2.0
    assert cleaned.wait(2.0)
    made_at_close = len(made)
    time.sleep(0.3)
    assert len(made) == made_at_close  # nothing read after close
    assert made_at_close <= 3 + 4 + 2  # at most the queue's depth ahead


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Prefetched(iter([]), 0)
