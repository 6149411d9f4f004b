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
The lifecycle shared by the nodes that load models.

The stage object (with its models) is built on configure: a missing, corrupt or
mismatched model fails that transition with the reason, and the node stays unconfigured
instead of crashing. The publisher and subscriptions exist only while configured, and are
released on cleanup and shutdown. A parameter change rebuilds the stage at once when
configured.

With ``autostart`` (lab.launch.py sets it) the node configures and activates itself as
soon as it spins, so a node that launch respawns after a crash comes back active with
nobody to drive it; a configure that fails leaves it unconfigured, with the reason in
the log. On SIGINT or SIGTERM the runner winds it down: deactivate when active, then
shut down (finalized), releasing everything.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

from affect_core.errors import AffectError
from affect_core.params import ParamSpec
from affect_ros.params import ParameterBinding
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn


class StageLifecycleNode(LifecycleNode):
    """A lifecycle node around one core stage; subclasses say how to build and wire it."""

    def __init__(self, name: str, specs: Sequence[ParamSpec]) -> None:
        super().__init__(name)
        self._stage: Optional[Any] = None
        self._pub: Any = None
        self._subscriptions_held: List[Any] = []
        self._params = ParameterBinding(self, tuple(specs), self._reload)
        self.lifecycle_state = 'unconfigured'
        autostart = self.declare_parameter('autostart', False, ParameterDescriptor(
            description='configure and activate at start (a respawned node comes back '
                        'active)', read_only=True)).value
        self._autostart_timer = self.create_timer(0.0, self._autostart) if autostart else None

    def _autostart(self) -> None:
        self.destroy_timer(self._autostart_timer)
        self._autostart_timer = None
        if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()

    def wind_down(self) -> None:
        """Deactivate if active, then shut down (finalized), releasing everything."""
        was = self.lifecycle_state
        if self.lifecycle_state == 'active':
            self.trigger_deactivate()
        if self.lifecycle_state != 'finalized':
            self.trigger_shutdown()
        self.get_logger().info(f'lifecycle {was} -> {self.lifecycle_state}')

    def _load(self, values: Dict[str, Any]) -> Any:
        """Build the stage from validated parameter values (raises AffectError)."""
        raise NotImplementedError

    def _connect(self) -> Tuple[Any, List[Any]]:
        """Create the lifecycle publisher and the subscriptions (rclpy objects)."""
        raise NotImplementedError

    def _reload(self, values: Dict[str, Any]) -> None:
        if self._stage is not None:  # new parameters take effect at once when configured
            self._stage = self._load(values)

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Build the stage; fail the transition, with the reason, if its models are unusable."""
        try:
            self._stage = self._load(self._params.values)
        except AffectError as err:
            self.get_logger().error(f'cannot configure: {err}')
            return TransitionCallbackReturn.FAILURE
        self._pub, self._subscriptions_held = self._connect()
        self.lifecycle_state = 'inactive'
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Activate the lifecycle publisher."""
        result = super().on_activate(state)
        if result == TransitionCallbackReturn.SUCCESS:
            self.lifecycle_state = 'active'
        return result

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Deactivate the lifecycle publisher."""
        result = super().on_deactivate(state)
        if result == TransitionCallbackReturn.SUCCESS:
            self.lifecycle_state = 'inactive'
        return result

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Release the stage and the interfaces."""
        self._release()
        self.lifecycle_state = 'unconfigured'
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Release everything on the way out."""
        self._release()
        self.lifecycle_state = 'finalized'
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        for subscription in self._subscriptions_held:
            self.destroy_subscription(subscription)
        if self._pub is not None:
            self.destroy_lifecycle_publisher(self._pub)
        self._subscriptions_held, self._pub, self._stage = [], None, None
