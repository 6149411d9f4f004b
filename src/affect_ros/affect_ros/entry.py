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
The console entry points of the nodes.

Each installs the stop handlers (affect_ros.stopping) first and only then imports its
node's module, so Ctrl-C during start-up, while rclpy, OpenCV and ONNX Runtime load,
ends the process cleanly (exit 0) instead of with a KeyboardInterrupt traceback.
"""

import importlib
from typing import List, Optional

from affect_ros.stopping import STOP


def _run(module: str, args: Optional[List[str]]) -> None:
    STOP.install()
    if STOP.requested:
        return
    importlib.import_module(f'affect_ros.{module}').main(args)


def sim_rig(args: Optional[List[str]] = None) -> None:
    """Run the sim_rig node."""
    _run('sim_rig_node', args)


def ir_camera(args: Optional[List[str]] = None) -> None:
    """Run the ir_camera node."""
    _run('ir_camera_node', args)


def stereo_depth(args: Optional[List[str]] = None) -> None:
    """Run the stereo_depth node."""
    _run('stereo_depth_node', args)


def face_tracker(args: Optional[List[str]] = None) -> None:
    """Run the face_tracker node."""
    _run('face_tracker_node', args)


def window_sync(args: Optional[List[str]] = None) -> None:
    """Run the window_sync node."""
    _run('window_sync_node', args)


def emotion_vit(args: Optional[List[str]] = None) -> None:
    """Run the emotion_vit node."""
    _run('emotion_vit_node', args)


def confidence_fusion(args: Optional[List[str]] = None) -> None:
    """Run the confidence_fusion node."""
    _run('confidence_fusion_node', args)


def overlay(args: Optional[List[str]] = None) -> None:
    """Run the overlay node."""
    _run('overlay_node', args)


def results(args: Optional[List[str]] = None) -> None:
    """Run window_sync, emotion_vit and confidence_fusion in one process."""
    _run('results_node', args)
