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

"""emotion_vit: the ONNX emotion model on each window's sampled face crops."""

import time
from typing import Any, Dict

from affect_core.model.stage import EmotionVit, EmotionVitConfig, PARAMS
from affect_msgs.msg import FaceWindow, WindowPrediction
from affect_ros.convert import msg_to_window, prediction_to_msg
from affect_ros.diagnostics import StageDiagnostics
from affect_ros.params import ParameterBinding
from affect_ros.qos import RESULTS_QOS
from affect_ros.runner import run_node
from rclpy.node import Node


class EmotionVitNode(Node):
    """Loads the model (failing at start-up with a clear message) and runs it per window."""

    def __init__(self) -> None:
        super().__init__('emotion_vit')
        self._params = ParameterBinding(self, PARAMS, self._configure)
        self._configure(self._params.values)
        self._pub = self.create_publisher(WindowPrediction, 'affect/window_predictions',
                                          RESULTS_QOS)
        self.create_subscription(FaceWindow, 'affect/face_windows', self._on_window,
                                 RESULTS_QOS)
        self._diagnostics = StageDiagnostics(self, 'windows', 0.0, 100.0)
        self._diagnostics.value('model_id', lambda: self._vit.model.metadata.model_id)
        self._diagnostics.value('execution_provider', lambda: self._vit.model.provider)

    def _configure(self, values: Dict[str, Any]) -> None:
        self._vit = EmotionVit(EmotionVitConfig.from_params(values))
        meta = self._vit.model.metadata
        self.get_logger().info(f'model {meta.model_id} on {self._vit.model.provider}; '
                               f'trained on: {meta.training_data}')

    def _on_window(self, msg: FaceWindow) -> None:
        started = time.perf_counter()
        self._pub.publish(prediction_to_msg(self._vit.predict(msg_to_window(msg))))
        self._diagnostics.output(time.perf_counter() - started)


def main(args=None) -> None:
    """Run the emotion_vit node."""
    run_node(EmotionVitNode, args)


if __name__ == '__main__':
    main()
