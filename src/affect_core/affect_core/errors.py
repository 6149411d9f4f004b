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

"""The project's exception types.

Every error a user can meet says what went wrong and what to do about it. Library code
raises these (``raise X(msg) from err`` at boundaries) instead of bare built-ins, so a
caller can catch ``AffectError`` and know it came from here.
"""


class AffectError(Exception):
    """Base class of every error raised by affect_core."""


class ConfigError(AffectError):
    """A parameter or configuration file is missing, malformed or out of range."""


class InputError(AffectError):
    """An input frame or message cannot be used (wrong encoding, shape, values)."""


class ModelError(AffectError):
    """A model file is missing, corrupt, or does not match what the pipeline needs."""


class SourceError(AffectError):
    """A sensor source cannot deliver (missing device, file, topic, or wrong format)."""


class RecordingError(AffectError):
    """A recording cannot be written or read."""


class TrainingError(AffectError):
    """Training cannot run (missing extra, bad data, diverged)."""


class DataError(AffectError):
    """A labelled data set cannot be read (missing files, unknown labels, empty classes)."""
