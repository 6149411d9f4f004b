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
ir_camera: an IR camera, or a replayed recording, on /ir/image_raw.

The device (V4L2/UVC through OpenCV, Y16 or GREY) is read on a thread of its own, so a
slow or vanished camera never blocks the node's executor; it reconnects with back-off
and gives up after ``reconnect_attempts`` with an error in the log and on /diagnostics
(ERROR, "gave up: ..."), staying up without publishing until a parameter change opens
the device again. With ``source`` set to video:PATH, frames:DIR or bag:PATH
it replays at the recorded timing (``rate``), publishing stereo pairs too where the
recording has them, once or, with ``loop``, again and again with stamps running on.
/ir/camera_info comes from ``camera_info_url`` (camera_info_manager's format), or from
the recording.
"""

import math
import threading
from typing import Any, Dict, Optional

from affect_core.calibration import load_calibration
from affect_core.camera import IrCameraConfig, PARAMS
from affect_core.errors import AffectError
from affect_core.sim.rig import RigConfig
from affect_core.sources.concrete import open_source, RECONNECTING
from affect_core.types import CameraModel, ImageFrame
from affect_ros.diagnostics import StageDiagnostics
from affect_ros.params import ParameterBinding
from affect_ros.publishers import SensorPublishers
from affect_ros.runner import run_node
from rclpy.node import Node


class IrCameraNode(Node):
    """Publishes frames from the configured device or recording."""

    def __init__(self) -> None:
        super().__init__('ir_camera')
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._source: Any = None
        self.failure = ''
        self.frames = 0
        self._sensors = SensorPublishers(self)
        self._params = ParameterBinding(self, PARAMS, self._configure)
        live = not self._params.values['source']
        fps = float(self._params.values['fps'])
        self._diagnostics = StageDiagnostics(self, 'frames', 0.5 * fps if live else 0.0,
                                             1000.0 / fps)
        self._diagnostics.value('source', lambda: self._params.values['source'] or 'device')
        self._diagnostics.value('reconnects', lambda: self._source.stats.problems.get(
            RECONNECTING, 0) if self._source is not None else 0)
        self._diagnostics.fault(lambda: self.failure)
        self._configure(self._params.values)

    def _configure(self, values: Dict[str, Any]) -> None:
        config = IrCameraConfig.from_params(values)
        camera = (load_calibration(config.camera_info_url).camera_model(config.frame_id)
                  if config.camera_info_url else None)
        spec = config.source or f'camera:{config.device}'
        source = open_source(spec, RigConfig(), config, math.inf, config.rate, config.loop)
        self._halt()
        self._stop.clear()
        self._source, self.failure = source, ''
        self._thread = threading.Thread(target=self._read, args=(source, config, camera),
                                        daemon=True)
        self._thread.start()
        self.get_logger().info(f'publishing {source.description}')

    def _halt(self) -> None:
        if self._thread is not None:
            self._stop.set()
            cancel = getattr(self._source, 'cancel', None)  # a camera's back-off wait
            if cancel is not None:
                cancel()
            self._thread.join(timeout=5.0)

    def _read(self, source: Any, config: IrCameraConfig,
              camera: Optional[CameraModel]) -> None:
        camera = camera or source.ir_camera
        replay = bool(config.source)
        try:
            for event in source.frames():
                if self._stop.is_set():
                    break
                if event.ir is not None:
                    self._publish_ir(event.ir, config, camera, replay)
                if event.stereo is not None:
                    self._sensors.publish_stereo(event.stereo)
            else:
                self.get_logger().info(f'{source.description} ended after {self.frames} '
                                       'frames')
        except AffectError as err:
            self.failure = f'gave up: {source.description} stopped: {err}'
            self.get_logger().error(f'{source.description} stopped: {err}; not publishing '
                                    'until a parameter change reopens it')
        finally:
            for problem, count in source.stats.problems.items():
                self.get_logger().warn(f'{problem} ({count}x)')
            source.close()

    def _publish_ir(self, frame: ImageFrame, config: IrCameraConfig,
                    camera: Optional[CameraModel], replay: bool) -> None:
        if not replay:
            frame.stamp_ns = self.get_clock().now().nanoseconds  # live: the host clock
        frame.frame_id = config.frame_id
        self.frames += 1
        self._sensors.publish_ir(frame, camera)
        self._diagnostics.output()

    def destroy_node(self) -> None:
        """Stop the reader thread before the node goes."""
        self._halt()
        super().destroy_node()


def main(args=None) -> None:
    """Run the ir_camera node."""
    run_node(IrCameraNode, args)


if __name__ == '__main__':
    main()
