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
The main() shared by every node, written for both Humble and Jazzy.

SIGINT and SIGTERM are a request to stop (affect_ros.stopping), not an interruption:
rclpy is initialised without its own signal handlers, which would shut the context down
under a callback that is still publishing. The executor spins until a stop is asked;
then a lifecycle node is deactivated and shut down (finalized), the node is destroyed
(its timers, publishers, subscriptions and services with it), rclpy is shut down, and
the process exits 0, which launch reports as "process has finished cleanly". A bad
parameter or an unusable model exits 1 once, with the reason.
"""

import sys
from typing import Callable, List, Optional, Sequence

from affect_core.errors import AffectError
from affect_ros.lifecycle import StageLifecycleNode
from affect_ros.stopping import STOP
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

# How often the executor wakes to see whether a stop was asked (seconds).
STOP_POLL_S = 0.1


def run_node(factory: Callable[[], Node], args: Optional[List[str]] = None) -> None:
    """Initialise rclpy, spin the node until a stop is asked, and wind it down cleanly."""
    run_nodes((factory,), args)


def run_nodes(factories: Sequence[Callable[[], Node]],
              args: Optional[List[str]] = None) -> None:
    """
    Run several nodes in one process on one executor, wound down in reverse order.

    One thread takes each node's callbacks in turn: a message from one to the next is
    handled without waking another process.
    """
    STOP.install()
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    executor = SingleThreadedExecutor()
    nodes: List[Node] = []
    failed = False
    try:
        for factory in factories:
            nodes.append(factory())
            executor.add_node(nodes[-1])
        while not STOP.requested and rclpy.ok():
            executor.spin_once(timeout_sec=STOP_POLL_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # SIGINT before the handlers were installed, or rclpy shut down elsewhere
    except AffectError as err:
        # A bad parameter or a missing model: say why once and exit, never respawn-loop.
        rclpy.logging.get_logger('affect').fatal(str(err))
        failed = True
    finally:
        for node in reversed(nodes):
            if STOP.requested:
                node.get_logger().info(f'{STOP.name}: shutting down')
            _wind_down(node)
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
        STOP.ignore_further()
    if failed:
        sys.exit(1)


def _wind_down(node: Node) -> None:
    if isinstance(node, StageLifecycleNode) and rclpy.ok():
        node.wind_down()
