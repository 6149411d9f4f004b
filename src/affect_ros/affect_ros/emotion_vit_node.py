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
emotion_vit: the ONNX emotion model on each window's sampled face crops.

A lifecycle node: the model is loaded on configure (a missing, corrupt or mismatched
model fails that transition with the reason, and the node stays unconfigured instead
of crashing), and windows are consumed and predictions published while active.
lab.launch.py brings it to active.
"""

import time
from typing import Any, Dict, List, Tuple

from affect_core.model.stage import EmotionVit, EmotionVitConfig, PARAMS
from affect_msgs.msg import FaceWindow, WindowPrediction
from affect_ros.convert import msg_to_window, prediction_to_msg
from affect_ros.diagnostics import StageDiagnostics
from affect_ros.lifecycle import StageLifecycleNode
from affect_ros.qos import RESULTS_QOS
from affect_ros.runner import run_node


class EmotionVitNode(StageLifecycleNode):
    """Runs the model per window while active."""

    def __init__(self) -> None:
        super().__init__('emotion_vit', PARAMS)
        self._diagnostics = StageDiagnostics(self, 'windows', 0.0, 100.0)
        self._diagnostics.value('state', lambda: self.lifecycle_state)
        self._diagnostics.value('model_id', lambda: self._stage.model.metadata.model_id
                                if self._stage else '')
        self._diagnostics.value('execution_provider', lambda: self._stage.model.provider
                                if self._stage else '')

    def _load(self, values: Dict[str, Any]) -> EmotionVit:
        vit = EmotionVit(EmotionVitConfig.from_params(values))
        meta = vit.model.metadata
        self.get_logger().info(f'model {meta.model_id} on {vit.model.provider}; '
                               f'trained on: {meta.training_data}')
        return vit

    def _connect(self) -> Tuple[Any, List[Any]]:
        pub = self.create_lifecycle_publisher(WindowPrediction, 'affect/window_predictions',
                                              RESULTS_QOS)
        sub = self.create_subscription(FaceWindow, 'affect/face_windows', self._on_window,
                                       RESULTS_QOS)
        return pub, [sub]

    def _on_window(self, msg: FaceWindow) -> None:
        vit = self._stage
        if vit is None or self._pub is None:
            return
        started = time.perf_counter()
        self._pub.publish(prediction_to_msg(vit.predict(msg_to_window(msg))))
        self._diagnostics.output(time.perf_counter() - started)


def main(args=None) -> None:
    """Run the emotion_vit node."""
    run_node(EmotionVitNode, args)


if __name__ == '__main__':
    main()
