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
composed: the stages of the graph in one process (lab.launch.py composed:=true).

Messages between nodes of one process stay in it (the DDS delivers them to local
readers without the loopback network), which saves each 600 KB frame its trip through
the kernel. Each node spins in a thread of its own, with an executor of its own, so a
stage that waits (block matching and ONNX Runtime release the GIL) does not hold up the
others. Python code still runs one thread at a time: measure before choosing it
(``affect bench graph``).

Usage: ``composed [sensor] --ros-args --params-file lab.yaml``, where sensor is sim_rig
(default), ir_camera or none. Node names, parameters and topics are those of the
separate processes. A stop request (SIGINT, SIGTERM) winds every node down as the
separate processes do; a bad parameter or an unusable model exits 1 with the reason.
"""

import importlib
import sys
import threading
from typing import Callable, List, Optional

from affect_ros.stopping import STOP

# (module, class) of each stage, in the order they are built.
SENSORS = {'sim_rig': ('sim_rig_node', 'SimRigNode'),
           'ir_camera': ('ir_camera_node', 'IrCameraNode')}
STAGES = (('stereo_depth_node', 'StereoDepthNode'),
          ('face_tracker_node', 'FaceTrackerNode'),
          ('window_sync_node', 'WindowSyncNode'),
          ('emotion_vit_node', 'EmotionVitNode'),
          ('confidence_fusion_node', 'ConfidenceFusionNode'))
# How often each executor wakes to see whether a stop was asked (seconds).
STOP_POLL_S = 0.1


def _factories(sensor: str) -> List[Callable[[], object]]:
    chosen = ([SENSORS[sensor]] if sensor in SENSORS else []) + list(STAGES)
    return [getattr(importlib.import_module(f'affect_ros.{module}'), name)
            for module, name in chosen]


def main(args: Optional[List[str]] = None) -> None:
    """Build every node in this process, spin each in its own thread, wind down on stop."""
    STOP.install()
    if STOP.requested:
        return
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    argv = sys.argv if args is None else args
    plain = rclpy.utilities.remove_ros_args(argv)[1:]
    sensor = plain[0] if plain else 'sim_rig'
    if sensor not in (*SENSORS, 'none'):
        sys.exit(f'composed: unknown sensor {sensor!r} (sim_rig, ir_camera or none)')
    from affect_core.errors import AffectError
    from affect_ros.lifecycle import StageLifecycleNode

    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    nodes: List[object] = []
    executors: List[SingleThreadedExecutor] = []
    finished = threading.Event()  # a stage failed, or rclpy shut down: every thread ends
    failures: List[str] = []

    def spin(executor: SingleThreadedExecutor) -> None:
        try:
            while not STOP.requested and not finished.is_set() and rclpy.ok():
                executor.spin_once(timeout_sec=STOP_POLL_S)
        except ExternalShutdownException:
            pass
        except AffectError as err:
            failures.append(str(err))
        finished.set()

    threads: List[threading.Thread] = []
    try:
        for factory in _factories(sensor):
            node = factory()
            nodes.append(node)
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            executors.append(executor)
        threads = [threading.Thread(target=spin, args=(e,), daemon=True) for e in executors]
        for thread in threads:
            thread.start()
        while not STOP.requested and not finished.is_set():
            finished.wait(STOP_POLL_S)  # signals are handled between these waits
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except AffectError as err:
        failures.append(str(err))
    finally:
        finished.set()
        for thread in threads:
            thread.join()
        for failure in failures:
            # A bad parameter or a missing model: say why once and exit, never respawn-loop.
            rclpy.logging.get_logger('affect').fatal(failure)
        for node, executor in zip(nodes, executors):
            if STOP.requested:
                node.get_logger().info(f'{STOP.name}: shutting down')
            if isinstance(node, StageLifecycleNode) and rclpy.ok():
                node.wind_down()
            executor.remove_node(node)
            node.destroy_node()
            executor.shutdown()
        rclpy.try_shutdown()
        STOP.ignore_further()
    if failures:
        sys.exit(1)


if __name__ == '__main__':
    main()
