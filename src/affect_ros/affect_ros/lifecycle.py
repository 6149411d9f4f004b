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
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

from affect_core.errors import AffectError
from affect_core.params import ParamSpec
from affect_ros.params import ParameterBinding
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
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Release the stage and the interfaces."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Release everything on the way out."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        for subscription in self._subscriptions_held:
            self.destroy_subscription(subscription)
        if self._pub is not None:
            self.destroy_lifecycle_publisher(self._pub)
        self._subscriptions_held, self._pub, self._stage = [], None, None
