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
results: window_sync, emotion_vit and confidence_fusion in one process.

``ros2 launch affect_bringup lab.launch.py compose:=true`` runs this instead of the three
processes. The nodes, their names, parameters and topics are the same; one executor
thread takes their callbacks in turn, so a window goes from the windower to the model and
on to fusion without waking two other processes, and the three share one Python, one
rclpy and one ONNX Runtime in memory. face_tracker stays apart: in this thread its 120
frames a second would wait behind each window's model.
"""

from affect_ros.confidence_fusion_node import ConfidenceFusionNode
from affect_ros.emotion_vit_node import EmotionVitNode
from affect_ros.runner import run_nodes
from affect_ros.window_sync_node import WindowSyncNode


def main(args=None) -> None:
    """Run window_sync, emotion_vit and confidence_fusion on one executor."""
    run_nodes((WindowSyncNode, EmotionVitNode, ConfidenceFusionNode), args)


if __name__ == '__main__':
    main()
