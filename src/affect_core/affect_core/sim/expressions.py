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

"""Facial action units and the expression categories built from them.

AU combinations follow the EMFACS prototypes (Ekman & Friesen) as commonly used for
synthesis; ``bored`` and ``excited`` are the low- and high-arousal states reported in
classroom studies. Valence and arousal are circumplex positions in [-1, 1] (Russell).
``AU12R``/``AU14R`` are the right-side-only lip-corner actions that make contempt
asymmetric.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from affect_core import labels

ACTION_UNITS: tuple[str, ...] = (
    "AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU12", "AU12R", "AU14R",
    "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU43", "blink",
)

_PROTOTYPES: dict[str, dict[str, float]] = {
    labels.NEUTRAL: {},
    labels.HAPPY: {"AU6": 0.8, "AU12": 1.0, "AU25": 0.3},
    labels.SAD: {"AU1": 1.0, "AU4": 0.6, "AU15": 1.0, "AU17": 0.5},
    labels.SURPRISED: {"AU1": 1.0, "AU2": 1.0, "AU5": 0.9, "AU25": 0.8, "AU26": 1.0},
    labels.SCARED: {
        "AU1": 1.0, "AU2": 0.7, "AU4": 0.7, "AU5": 1.0, "AU7": 0.4, "AU20": 1.0,
        "AU25": 0.7, "AU26": 0.4,
    },
    labels.DISGUSTED: {"AU4": 0.3, "AU9": 1.0, "AU15": 0.6, "AU17": 0.7},
    labels.ANGRY: {"AU4": 1.0, "AU5": 0.5, "AU7": 0.9, "AU17": 0.4, "AU23": 1.0},
    labels.CONTEMPT: {"AU12R": 0.8, "AU14R": 0.8},
    labels.BORED: {"AU43": 0.55, "AU15": 0.25},
    labels.EXCITED: {
        "AU1": 0.4, "AU2": 0.6, "AU5": 0.6, "AU6": 0.8, "AU12": 1.0, "AU25": 0.9, "AU26": 0.7,
    },
}

PROTOTYPES: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {name: MappingProxyType(aus) for name, aus in _PROTOTYPES.items()}
)

# (valence, arousal) at full intensity.
VALENCE_AROUSAL: Mapping[str, tuple[float, float]] = MappingProxyType({
    labels.NEUTRAL: (0.0, 0.0),
    labels.HAPPY: (0.8, 0.4),
    labels.SAD: (-0.7, -0.4),
    labels.SURPRISED: (0.2, 0.8),
    labels.SCARED: (-0.6, 0.8),
    labels.DISGUSTED: (-0.6, 0.3),
    labels.ANGRY: (-0.7, 0.7),
    labels.CONTEMPT: (-0.4, 0.1),
    labels.BORED: (-0.3, -0.7),
    labels.EXCITED: (0.8, 0.9),
})


def action_units(category: str, intensity: float) -> dict[str, float]:
    """AU intensities in [0, 1] of ``category`` scaled by ``intensity`` in [0, 1]."""
    return {au: value * intensity for au, value in PROTOTYPES[category].items()}
