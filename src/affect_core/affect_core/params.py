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

"""Parameters as data: one declaration serves the YAML file, ``affect lab`` and ROS 2.

Each stage declares a tuple of :class:`ParamSpec`. ``affect lab`` validates the
``ros__parameters`` section of config/lab.yaml against it, and the ROS 2 node declares
the same specs (description, range) with rclpy, so both runners accept and reject the
same values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml

from affect_core.errors import ConfigError

ParamValue = Union[bool, int, float, str]

# Parameters every rclpy node has; they may appear in a shared file and mean nothing here.
ROS_STANDARD_PARAMS = frozenset(
    {"use_sim_time", "qos_overrides", "start_type_description_service"}
)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: name, default, meaning, and the values it accepts.

    ``min_value``/``max_value`` are inclusive bounds for numbers; ``choices`` lists the
    accepted strings. The type of ``default`` is the parameter's type.
    """

    name: str
    default: ParamValue
    description: str
    min_value: float | None = None
    max_value: float | None = None
    choices: tuple[str, ...] = ()

    def validate(self, value: Any) -> ParamValue:
        """Return ``value`` converted to this parameter's type, or raise ConfigError."""
        kind = type(self.default)
        if kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"parameter {self.name!r} must be true or false, got {value!r}")
            return value
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError as err:
                raise ConfigError(f"parameter {self.name!r} is an integer of "
                                  f"{len(str(abs(value)))} digits, too large for a "
                                  "floating-point number") from err
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(
                f"parameter {self.name!r} must be of type {kind.__name__}, got {value!r}"
            )
        if isinstance(value, (int, float)):
            if value != value:  # NaN
                raise ConfigError(f"parameter {self.name!r} must be a number, got NaN")
            if self.min_value is not None and value < self.min_value:
                raise ConfigError(
                    f"parameter {self.name!r} = {value} is below its minimum {self.min_value}"
                )
            if self.max_value is not None and value > self.max_value:
                raise ConfigError(
                    f"parameter {self.name!r} = {value} is above its maximum {self.max_value}"
                )
        if self.choices and value not in self.choices:
            raise ConfigError(
                f"parameter {self.name!r} = {value!r} is not one of {', '.join(self.choices)}"
            )
        return value


def resolve(specs: Iterable[ParamSpec], given: Mapping[str, Any], section: str) -> dict[str, Any]:
    """Merge ``given`` over the defaults of ``specs``, validating every value.

    Unknown names are an error (a typo would otherwise be silently ignored).
    """
    by_name = {spec.name: spec for spec in specs}
    given = {k: v for k, v in given.items() if k not in ROS_STANDARD_PARAMS}
    # A YAML key may be a number or null: name it as written, whatever its type.
    unknown = sorted(str(k) for k in set(given) - set(by_name))
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {', '.join(unknown)} in section {section!r}; "
            f"known: {', '.join(sorted(by_name))}"
        )
    values = {name: spec.default for name, spec in by_name.items()}
    for name, value in given.items():
        values[name] = by_name[name].validate(value)
    return values


def load_params_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a ROS 2 parameter file (``node: ros__parameters: {...}``) into a dict.

    Returns ``{node_name: {param: value}}``. The ``/**`` wildcard section, if present,
    is merged under every node's own section.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read parameter file {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"parameter file {path} is not UTF-8 text (byte {err.start}); "
                          "is it a parameter file?") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"parameter file {path} is not valid YAML: {err}") from err
    except RecursionError as err:
        raise ConfigError(f"parameter file {path} nests too deeply to be a parameter "
                          "file") from err
    if not isinstance(data, dict):
        raise ConfigError(f"parameter file {path} must map node names to sections")
    sections: dict[str, dict[str, Any]] = {}
    for node, body in data.items():
        if not isinstance(body, dict) or not isinstance(body.get("ros__parameters"), dict):
            raise ConfigError(
                f"section {node!r} of {path} must hold a 'ros__parameters' mapping"
            )
        sections[str(node).lstrip("/")] = dict(body["ros__parameters"])
    shared = sections.pop("**", {})
    return {node: {**shared, **values} for node, values in sections.items()}
