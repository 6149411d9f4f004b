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

"""
Declare affect_core's parameter specs on a node, with ranges, and validate changes.

The core owns the specs (names, defaults, descriptions, ranges), so `affect lab` and
the nodes accept the same values; here they become rclpy ParameterDescriptors.
"""

from typing import Any, Callable, Dict, Iterable

from affect_core.errors import ConfigError
from affect_core.params import ParamSpec
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(description=spec.description)
    if spec.choices:
        descriptor.additional_constraints = 'one of: ' + ', '.join(spec.choices)
    if isinstance(spec.default, bool):
        return descriptor
    if isinstance(spec.default, int) and spec.min_value is not None:
        descriptor.integer_range = [IntegerRange(
            from_value=int(spec.min_value), to_value=int(spec.max_value), step=1)]
    elif isinstance(spec.default, float) and spec.min_value is not None:
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=float(spec.min_value), to_value=float(spec.max_value), step=0.0)]
    return descriptor


class ParameterBinding:
    """
    The node's current values of a spec set, kept valid.

    Values from the parameter file or the command line are checked at start-up (a bad
    one raises ConfigError with the core's message); a later `ros2 param set` that the
    core rejects fails with the same message, and accepted changes call `on_change`.
    """

    def __init__(self, node: Node, specs: Iterable[ParamSpec],
                 on_change: Callable[[Dict[str, Any]], None]) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._on_change = on_change
        self.values: Dict[str, Any] = {}
        for spec in self._specs.values():
            try:
                value = node.declare_parameter(spec.name, spec.default, _descriptor(spec)).value
            except (InvalidParameterTypeException, InvalidParameterValueException) as err:
                raise ConfigError(
                    f'parameter {spec.name!r} of node {node.get_name()!r}: {err}; expected a '
                    f'{type(spec.default).__name__} (write 120.0, not 120, for a float)'
                ) from err
            self.values[spec.name] = spec.validate(value)
        node.add_on_set_parameters_callback(self._on_set)
        self._node = node

    def _on_set(self, parameters: list) -> SetParametersResult:
        if not any(p.name in self._specs for p in parameters):
            return SetParametersResult(successful=True)  # another component's parameter
        updated = dict(self.values)
        for parameter in parameters:
            spec = self._specs.get(parameter.name)
            if spec is None:
                continue
            try:
                updated[parameter.name] = spec.validate(parameter.value)
            except ConfigError as err:
                return SetParametersResult(successful=False, reason=str(err))
        try:
            self._on_change(updated)
        except ConfigError as err:
            return SetParametersResult(successful=False, reason=str(err))
        self.values = updated
        return SetParametersResult(successful=True)
