"""Fuzz targets: hypothesis profiles, a real count of the inputs each target ran, a hang guard.

A fuzz target is a hypothesis test decorated with :func:`fuzz_target`. It runs in one of
two profiles:

- ``fuzz-short`` (the default, what ``pytest tests`` runs): each target's ``short``
  examples, so the whole fuzz suite stays within a minute.
- ``fuzz-long`` (``scripts/fuzz``): selected by ``AFFECT_FUZZ_EXAMPLES=N``, the total
  number of generated inputs wanted; each target gets its ``long`` examples scaled by
  N / 100,000. The ``long`` counts add up to a little over 100,000 (124,100, of which
  8,000 are the ROS 2 targets), so the total stays above N where a target runs out of
  distinct inputs or ROS 2 is absent.

Every example a target runs is counted inside the target, so the figures ``scripts/fuzz``
prints are what ran, not what was asked for. Loaded as a plugin (``-p tests.fuzzing``),
this module prints the counts at the end of the session and, with ``AFFECT_FUZZ_COUNTS``
set, writes them to that JSON file.

An example that runs longer than ``hang_s`` seconds is stopped (SIGALRM) and fails the
target as a hang: hypothesis' deadline only reports slow examples once they finish.
"""

from __future__ import annotations

import atexit
import functools
import json
import math
import os
import shutil
import signal
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings

LONG_TOTAL = 100_000  # the long profile's default total: each ``long`` is scaled by N / this
EXAMPLES_ENV = "AFFECT_FUZZ_EXAMPLES"
COUNTS_ENV = "AFFECT_FUZZ_COUNTS"

settings.register_profile(
    "fuzz-short", deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# A deadline makes a slow example fail (twice, to rule out noise) in the long run; the
# machine is shared, so it is generous: a hang is the alarm's business.
settings.register_profile(
    "fuzz-long", deadline=10_000, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

COUNTS: Counter[str] = Counter()

F = TypeVar("F", bound=Callable[..., Any])


class FuzzHangError(Exception):
    """An example ran past its target's hang limit."""


def scratch_dir(prefix: str) -> Path:
    """Make an empty folder for a target's examples, removed when the test process exits.

    Hypothesis examples get no ``tmp_path``; a folder from ``mkdtemp`` alone would outlive
    every run of the suite.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


def long_scale() -> float | None:
    """Return the long profile's scale (N / 100,000), or None for the short profile."""
    text = os.environ.get(EXAMPLES_ENV, "").strip()
    if not text:
        return None
    total = int(text)
    if total < 1:
        raise ValueError(f"{EXAMPLES_ENV} must be a positive number of examples, got {text}")
    return total / LONG_TOTAL


def fuzz_target(short: int, long: int, hang_s: float = 60.0) -> Callable[[F], F]:
    """Make a hypothesis test a counted fuzz target with the active profile's example count.

    Apply it above ``@given``. ``short`` and ``long`` are the examples of the two
    profiles (``long`` at the default total of 100,000).
    """
    def decorate(test: F) -> F:
        inner = test.hypothesis.inner_test  # type: ignore[attr-defined]
        name = f"{test.__module__.rpartition('.')[2]}::{test.__name__}"

        @functools.wraps(inner)
        def counted(*args: Any, **kwargs: Any) -> Any:
            COUNTS[name] += 1
            with hang_guard(hang_s, name):
                return inner(*args, **kwargs)

        test.hypothesis.inner_test = counted  # type: ignore[attr-defined]
        scale = long_scale()
        profile = "fuzz-short" if scale is None else "fuzz-long"
        examples = short if scale is None else max(short, math.ceil(long * scale))
        return settings(settings.get_profile(profile), max_examples=examples)(test)

    return decorate


class hang_guard:  # noqa: N801 - a context manager, named like one
    """Raise FuzzHangError in the main thread when the body runs past ``seconds``."""

    def __init__(self, seconds: float, name: str) -> None:
        self.seconds = seconds
        self.name = name
        self.previous: Any = None

    def __enter__(self) -> None:
        self.previous = signal.signal(signal.SIGALRM, self._fire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, self.previous)

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        raise FuzzHangError(f"{self.name}: one example ran for more than {self.seconds} s (hang)")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    """Print the inputs each fuzz target ran and their total; save them when asked."""
    if not COUNTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fuzz inputs per target")
    width = max(len(name) for name in COUNTS)
    for name, count in sorted(COUNTS.items()):
        write(f"{name:<{width}}  {count:>8}")
    write(f"{'total':<{width}}  {sum(COUNTS.values()):>8}")
    path = os.environ.get(COUNTS_ENV)
    if path:
        Path(path).write_text(json.dumps(dict(COUNTS), indent=1, sort_keys=True) + "\n",
                              encoding="utf-8")
