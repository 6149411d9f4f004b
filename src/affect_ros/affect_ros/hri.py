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
REP-155 (ROS4HRI): each estimate also as hri_msgs/Expression on /humans/faces/<id>/expression.

When hri_msgs is installed, every Emotion is republished for its face id, and the
ids being tracked on /humans/faces/tracked (hri_msgs/IdsList). Expressions outside the
hri_msgs vocabulary (contempt) and abstentions are not published there: a ROS4HRI
consumer reads no message as "no expression known". Without hri_msgs the node says so
once at start-up and carries on.
"""

from typing import Any, Dict, List

from affect_core import labels
from affect_ros.convert import to_time
from rclpy.node import Node
from std_msgs.msg import Header

# hri_msgs/Expression names that the affect vocabulary shares.
HRI_EXPRESSIONS = frozenset({labels.NEUTRAL, labels.HAPPY, labels.SAD, labels.SURPRISED,
                             labels.SCARED, labels.DISGUSTED, labels.ANGRY, labels.BORED,
                             labels.EXCITED})


class HriBridge:
    """Publishes REP-155 topics for a node, if hri_msgs can be imported."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._publishers: Dict[str, Any] = {}
        self.skipped = 0
        try:
            from hri_msgs.msg import Expression, IdsList
        except ImportError:
            self.available = False
            node.get_logger().info('hri_msgs is not installed: the REP-155 topics '
                                   '(/humans/faces/<id>/expression) are off')
            return
        self.available = True
        self._expression_type = Expression
        self._ids_type = IdsList
        self._tracked = node.create_publisher(IdsList, '/humans/faces/tracked', 10)

    def publish(self, emotion: Any, tracked_ids: List[str]) -> None:
        """Republish one Emotion for its face, and the tracked ids."""
        if not self.available:
            return
        if emotion.abstained or emotion.expression not in HRI_EXPRESSIONS:
            self.skipped += 1
        else:
            publisher = self._publishers.get(emotion.person_id)
            if publisher is None:
                publisher = self._node.create_publisher(
                    self._expression_type, f'/humans/faces/{emotion.person_id}/expression', 10)
                self._publishers[emotion.person_id] = publisher
            msg = self._expression_type(expression=emotion.expression,
                                        valence=float(emotion.valence),
                                        arousal=float(emotion.arousal),
                                        confidence=float(emotion.confidence))
            msg.header = Header(stamp=to_time(emotion.stamp_ns), frame_id=emotion.frame_id)
            publisher.publish(msg)
        self.publish_tracked(tracked_ids)

    def publish_tracked(self, tracked_ids: List[str]) -> None:
        """Publish the ids of the faces being tracked."""
        if self.available:
            msg = self._ids_type(ids=sorted(tracked_ids))
            msg.header.stamp = self._node.get_clock().now().to_msg()
            self._tracked.publish(msg)

    def forget(self, person_id: str) -> None:
        """Drop a departed person's publisher."""
        publisher = self._publishers.pop(person_id, None)
        if publisher is not None:
            self._node.destroy_publisher(publisher)
