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

"""The expression vocabulary of the Emotion contract.

Names follow hri_msgs/Expression (REP-155) where they overlap; ``contempt`` is
AffectNet's eighth class. The order here is the label order of the shipped model.
"""

from __future__ import annotations

NEUTRAL = "neutral"
HAPPY = "happy"
SAD = "sad"
SURPRISED = "surprised"
SCARED = "scared"
DISGUSTED = "disgusted"
ANGRY = "angry"
CONTEMPT = "contempt"
BORED = "bored"
EXCITED = "excited"
UNKNOWN = "unknown"

EXPRESSIONS: tuple[str, ...] = (
    NEUTRAL,
    HAPPY,
    SAD,
    SURPRISED,
    SCARED,
    DISGUSTED,
    ANGRY,
    CONTEMPT,
    BORED,
    EXCITED,
)
