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

"""The main() shared by every node, written for both Humble and Jazzy."""

import sys
from typing import Callable, List, Optional

from affect_core.errors import AffectError
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def _caused_by_interrupt(err: BaseException) -> bool:
    seen = set()
    cause: Optional[BaseException] = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def run_node(factory: Callable[[], Node], args: Optional[List[str]] = None) -> None:
    """Initialise rclpy, spin the node until shutdown, and clean up either way."""
    rclpy.init(args=args)
    node = None
    try:
        node = factory()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except AffectError as err:
        # A bad parameter or a missing model: say why once and exit, never respawn-loop.
        rclpy.logging.get_logger('affect').fatal(str(err))
        sys.exit(1)
    except Exception as err:
        # Ctrl-C while a library is still importing (ONNX Runtime, OpenCV) surfaces as that
        # library's own error; it is still a request to stop, not a failure.
        if not _caused_by_interrupt(err):
            raise
    finally:
        if node is not None:
            node.destroy_node()
        _shut_down()


def _shut_down() -> None:
    """
    Shut rclpy down unless its SIGINT handler already has.

    The handler runs on its own thread: between try_shutdown's check and its call the
    context may already be shut down, which rclpy reports as an RCLError.
    """
    try:
        rclpy.try_shutdown()
    except Exception as err:  # rclpy's RCLError lives in its private C extension
        if rclpy.ok():
            raise err
