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


"""The One-Euro filter (Casiez, Roussel & Vogel, CHI 2012) on arrays, with stamps in ns.

Landmarks and head pose at 120 fps jitter by a pixel or a degree from frame to frame; a
fixed low-pass filter either leaves the jitter or lags behind real motion. The One-Euro
filter adapts its cut-off to the signal's speed: ``fc = min_cutoff_hz + beta * |dx/dt|``,
so a still face is smoothed hard (cut-off ``min_cutoff_hz``) and a moving one follows
with little lag. Each element of the array gets its own cut-off from its own speed.
Stamps, not a nominal rate, set the smoothing factors, so dropped frames do not change
its behaviour.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def smoothing_factor(dt_s: float, cutoff_hz: float | npt.NDArray[np.float64]
                     ) -> float | npt.NDArray[np.float64]:
    """Exponential-smoothing factor of a first-order low-pass at ``cutoff_hz`` over ``dt_s``."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """Adaptive low-pass of an array signal (see the module docstring).

    ``min_cutoff_hz`` sets the smoothing of a still signal, ``beta`` (per unit of the
    signal's speed, units/s) how fast the cut-off opens with speed, ``d_cutoff_hz`` the
    low-pass on the speed estimate itself. NaN elements of an input keep their last value.
    """

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 0.0,
                 d_cutoff_hz: float = 1.0) -> None:
        if min_cutoff_hz <= 0.0 or d_cutoff_hz <= 0.0 or beta < 0.0:
            raise ValueError("min_cutoff_hz and d_cutoff_hz must be positive, beta >= 0")
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.d_cutoff_hz = d_cutoff_hz
        self._value: npt.NDArray[np.float64] | None = None
        self._speed: npt.NDArray[np.float64] | None = None
        self._stamp_ns = 0

    def reset(self) -> None:
        """Forget the history: the next sample passes unchanged."""
        self._value = None
        self._speed = None

    @property
    def value(self) -> npt.NDArray[np.float64] | None:
        """Return the last filtered value, or None before the first sample."""
        return self._value

    def __call__(self, stamp_ns: int, sample: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Filter ``sample`` taken at ``stamp_ns``; returns the smoothed array."""
        x = np.asarray(sample, dtype=np.float64)
        if self._value is None or self._speed is None or self._value.shape != x.shape:
            self._value = np.where(np.isfinite(x), x, np.nan)
            self._speed = np.zeros_like(x)
            self._stamp_ns = stamp_ns
            return self._value.copy()
        dt_s = (stamp_ns - self._stamp_ns) * 1e-9
        if dt_s <= 0.0:
            return self._value.copy()  # a repeated or older stamp changes nothing
        self._stamp_ns = stamp_ns
        previous = self._value
        fresh = ~np.isfinite(previous) & np.isfinite(x)
        known = np.where(fresh, x, previous)
        speed = np.where(np.isfinite(x), (x - known) / dt_s, 0.0)
        self._speed = self._speed + smoothing_factor(dt_s, self.d_cutoff_hz) * (
            speed - self._speed)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._speed)
        alpha = smoothing_factor(dt_s, cutoff)
        value = np.where(np.isfinite(x), known + alpha * (x - known), known)
        self._value = value
        return value.copy()
