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


"""The face evaluation's statistics, and the eval and bench commands end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from affect_core.bench_real import CONFIGURATIONS
from affect_core.cli import main
from affect_core.face.evaluation import blink_f1, rank, spearman


def test_ranks_share_ties_and_spearman_matches_the_closed_form() -> None:
    np.testing.assert_array_equal(rank(np.array([3.0, 1.0, 2.0, 2.0])), [4.0, 1.0, 2.5, 2.5])
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    d = rank(a) - rank(b)
    closed = 1.0 - 6.0 * float(np.sum(d * d)) / (50 * (50 * 50 - 1))  # no ties
    assert spearman(a, b) == pytest.approx(closed, abs=1e-12)
    assert spearman(a, np.exp(a)) == pytest.approx(1.0)
    assert spearman([1.0, 2.0, float("nan"), 4.0], [4.0, 3.0, 9.0, 1.0]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))


def test_blink_f1_matches_within_the_window_one_to_one() -> None:
    truth = {"a": [1_000_000_000, 3_000_000_000], "b": [2_000_000_000]}
    found = {"a": [1_100_000_000, 1_150_000_000, 5_000_000_000], "b": [1_990_000_000]}
    f1, n_true, n_found = blink_f1(truth, found)
    # a: one hit (the second report within the window is a duplicate), b: reported before
    # the onset, so missed. Precision 1/4, recall 1/3.
    assert (n_true, n_found) == (3, 4)
    assert f1 == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))


def test_eval_and_bench_face_print_their_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "face", "--duration", "1.5", "--face-people", "1"]) == 0
    out = capsys.readouterr().out
    assert "synthetic" in out and "curated" in out and "heterogeneous" in out
    assert "both pooled" in out and "blinkF1" in out
    curated = next(line for line in out.splitlines() if line.startswith("curated"))
    assert curated.split()[2] == "100.0%"  # recall of one frontal person
    assert main(["bench", "face", "--seconds", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "astronaut" in out and "not IR" in out and "x 120 fps" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1] in ("1", "4")]
    rows_per_count = len(CONFIGURATIONS)
    assert [r[0] for r in rows] == ["1"] * rows_per_count + ["4"] * rows_per_count
