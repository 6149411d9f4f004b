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

"""confidence_fusion: quality-weighted, smoothed, calibrated estimates on /emotion."""

import time
from typing import Any, Dict

from affect_core.fusion import ABSTAIN_REASONS, ConfidenceFusion, FusionConfig, PARAMS
from affect_core.markers import label_marker
from affect_msgs.msg import Emotion, WindowPrediction
from affect_ros.convert import emotion_to_msg, marker_msg, msg_to_prediction
from affect_ros.diagnostics import StageDiagnostics
from affect_ros.hri import HriBridge
from affect_ros.params import ParameterBinding
from affect_ros.qos import EMOTION_QOS, RESULTS_QOS
from affect_ros.runner import run_node
from rclpy.node import Node
from visualization_msgs.msg import Marker, MarkerArray


class ConfidenceFusionNode(Node):
    """Fuses each window's per-sample predictions into one Emotion."""

    def __init__(self) -> None:
        super().__init__('confidence_fusion')
        self._params = ParameterBinding(self, PARAMS, self._configure)
        self._configure(self._params.values)
        self._pub = self.create_publisher(Emotion, 'emotion', EMOTION_QOS)
        self._markers_pub = self.create_publisher(MarkerArray, 'affect/markers', 10)
        self._hri = HriBridge(self)
        self._marker_ids: Dict[str, int] = {}
        self._last_seen: Dict[str, float] = {}
        self.create_timer(1.0, self._remove_departed)
        self.create_subscription(WindowPrediction, 'affect/window_predictions',
                                 self._on_prediction, RESULTS_QOS)
        self._diagnostics = StageDiagnostics(self, 'emotions', 0.0, 20.0)
        self._diagnostics.value('windows', lambda: self._fusion.stats.windows)
        self._diagnostics.value('abstentions', lambda: self._fusion.stats.abstentions)
        for reason in ABSTAIN_REASONS:
            self._diagnostics.value(f'abstentions {reason}',
                                    lambda r=reason: self._fusion.stats.abstain_reasons.get(r, 0))

    def _configure(self, values: Dict[str, Any]) -> None:
        config = FusionConfig.from_params(values)
        if hasattr(self, '_fusion'):
            self._fusion.config = config  # keep each person's smoothing state
        else:
            self._fusion = ConfidenceFusion(config)

    def _on_prediction(self, msg: WindowPrediction) -> None:
        started = time.perf_counter()
        emotion = self._fusion.fuse(msg_to_prediction(msg))
        self._pub.publish(emotion_to_msg(emotion))
        self._publish_marker(emotion)
        self._hri.publish(emotion, list(self._last_seen))
        self._diagnostics.output(time.perf_counter() - started)

    def _publish_marker(self, emotion: Any) -> None:
        marker_id = self._marker_ids.setdefault(emotion.person_id, len(self._marker_ids) + 1)
        self._last_seen[emotion.person_id] = time.monotonic()
        spec = label_marker(emotion, marker_id, 2.0 * self._fusion.config.person_timeout_s)
        if spec is not None:
            self._markers_pub.publish(MarkerArray(markers=[marker_msg(spec)]))

    def _remove_departed(self) -> None:
        timeout_s = self._fusion.config.person_timeout_s
        now = time.monotonic()
        gone = [p for p, seen in self._last_seen.items() if now - seen > timeout_s]
        if not gone:
            return
        markers = []
        for person_id in gone:
            del self._last_seen[person_id]
            self._hri.forget(person_id)
            marker = Marker(ns='affect', id=self._marker_ids[person_id], action=Marker.DELETE)
            markers.append(marker)
        self._markers_pub.publish(MarkerArray(markers=markers))
        self._hri.publish_tracked(list(self._last_seen))


def main(args=None) -> None:
    """Run the confidence_fusion node."""
    run_node(ConfidenceFusionNode, args)


if __name__ == '__main__':
    main()
