"""The soak's probes read this process's real memory and descriptors from /proc."""

from __future__ import annotations

import mmap
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from affect_core.soak import Sample, SoakResult, child_processes, format_soak, open_fds, rss_kib

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").is_file(),
                                reason="the soak reads /proc (Linux)")


def test_open_fds_counts_a_file_opened_and_closed(tmp_path: Path) -> None:
    before = open_fds()
    with (tmp_path / "x").open("w"):
        assert open_fds() == before + 1
    assert open_fds() == before


def test_rss_grows_by_what_is_touched() -> None:
    # A fresh anonymous mapping: memory from the heap may reuse pages an earlier test in
    # this process freed but the allocator kept resident.
    size = 64 * 1024 * 1024
    with mmap.mmap(-1, size) as block:
        before = rss_kib()
        np.frombuffer(block, np.uint8)[::mmap.PAGESIZE] = 1  # every page written once
        grown = rss_kib() - before
    assert 60 * 1024 <= grown <= 80 * 1024


def test_children_names_a_python_child_by_its_script(tmp_path: Path) -> None:
    import subprocess

    script = tmp_path / "sleeper.py"
    script.write_text("import time\ntime.sleep(30)\n")
    child = subprocess.Popen([sys.executable, str(script)])
    try:
        assert child_processes(os.getpid())[child.pid] == f"sleeper.py[{child.pid}]"
    finally:
        child.kill()
        child.wait()


def test_format_reports_growth_against_the_goal() -> None:
    result = SoakResult("test", {"a": [Sample(1, 60, 1000, 10), Sample(60, 3600, 1040, 10)],
                                 "b": [Sample(1, 60, 1000, 10), Sample(60, 3600, 1100, 11)],
                                 "c": [Sample(1, 60, 1000, 10)]})
    text = format_soak(result)
    assert "a: RSS +4.0 %, open fds +0.0 % (meets the goal)" in text
    assert "b: RSS +10.0 %, open fds +10.0 % (misses the goal)" in text
    assert "c: fewer than two samples" in text
