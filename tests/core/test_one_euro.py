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


"""The One-Euro filter against closed-form first-order low-pass behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from affect_core.face.one_euro import OneEuroFilter, smoothing_factor

DT_NS = int(round(1e9 / 120.0))


def _stamps(count: int) -> list[int]:
    return [i * DT_NS for i in range(count)]


def test_constant_input_passes_unchanged() -> None:
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.5)
    x = np.array([[3.0, -2.0], [0.5, 100.0]])
    for stamp in _stamps(50):
        out = f(stamp, x)
    np.testing.assert_allclose(out, x, atol=1e-12)


def test_step_follows_the_first_order_closed_form_without_beta() -> None:
    f = OneEuroFilter(min_cutoff_hz=2.0, beta=0.0)
    f(0, 0.0)
    alpha = smoothing_factor(DT_NS * 1e-9, 2.0)
    for n, stamp in enumerate(_stamps(60)[1:], start=1):
        out = float(f(stamp, 1.0))
        assert out == pytest.approx(1.0 - (1.0 - alpha) ** n, rel=1e-9)
    # Time constant 1 / (2 pi fc) = 80 ms: after 0.5 s (60 frames) within 0.3 % of the step.
    assert out > 0.997


def test_jitter_on_a_still_signal_shrinks_by_the_low_pass_factor() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 1.0, size=(4000, 8))
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    out = np.array([f(stamp, row) for stamp, row in zip(_stamps(len(noise)), noise)])[200:]
    alpha = smoothing_factor(DT_NS * 1e-9, 1.0)
    expected = math.sqrt(alpha / (2.0 - alpha))  # output std / input std of x += a (u - x)
    assert float(out.std()) == pytest.approx(expected, rel=0.15)
    assert float(out.std()) < 0.2  # at least 5x less jitter


def test_beta_cuts_the_lag_on_a_moving_ramp() -> None:
    speed = 50.0  # units per second, e.g. pixels
    lags = {}
    for beta in (0.0, 1.0):
        f = OneEuroFilter(min_cutoff_hz=1.0, beta=beta)
        stamps = _stamps(240)
        out = [float(f(s, speed * s * 1e-9)) for s in stamps]
        lags[beta] = speed * stamps[-1] * 1e-9 - out[-1]
    # Without beta the steady ramp lag is speed * tau (about 8 units); beta opens the
    # cut-off to 1 + 50 Hz and the lag falls under a fifth of a unit.
    assert lags[0.0] == pytest.approx(speed / (2 * math.pi * 1.0), rel=0.1)
    assert lags[1.0] < 0.25


def test_nan_keeps_the_last_value_and_a_repeated_stamp_changes_nothing() -> None:
    f = OneEuroFilter(min_cutoff_hz=1.0)
    f(0, [1.0, float("nan")])
    out = f(DT_NS, [float("nan"), 2.0])
    assert out[0] == 1.0 and out[1] == 2.0
    again = f(DT_NS, [50.0, 50.0])
    np.testing.assert_array_equal(again, out)
