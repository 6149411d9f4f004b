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
graph_probe: measure a running affect graph for a while and print what it did.

Usage: ``ros2 run affect_ros graph_probe --duration 60 [--out probe.json] [--images]``.

It waits (up to --wait-s) for the first /emotion, so the window starts once every stage
is up, prints ``measuring`` (a caller sampling CPU times starts then), listens for
--duration wall seconds, prints ``measured``, then the figures as JSON (to --out when
given, otherwise to stdout):

- per topic: messages and rate per wall second;
- IR sensor time / wall time: (last IR stamp - first) / (their receipt times' span);
- frames_used / frames_expected, summed over the /emotion messages;
- /emotion latency in ms (p50, p95, p99, max), two ways: receipt wall time minus the
  header stamp (the window end, in sensor time: sim_rig stamps frames as its clock at
  start plus rig time, so this includes any lag of the rig behind real time), and
  receipt time minus the receipt time of the IR frame that closed the window (the first
  frame at or after window end + allowed lateness): the graph's own processing time.

The probe must not slow down what it measures. Images are counted by their camera_info,
published with each image (/ir/camera_info with /ir/image_raw, stereo/<side>/camera_info
with each rectified image, /stereo/camera_info with /stereo/depth), so no 600 KB frame is
sent to the probe. Every topic but /emotion is subscribed raw (serialised bytes, never
deserialised; of /ir/camera_info only the header stamp is read). --images also
subscribes raw to the image topics themselves; each then costs its publisher one more
copy of every frame.
"""

import argparse
import bisect
import json
import math
import struct
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from affect_msgs.msg import Emotion, FaceObservationArray, FaceWindow, WindowPrediction
from affect_ros.qos import EMOTION_QOS, RESULTS_QOS, SENSOR_QOS
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

# camera_info topic counted -> the image topic it travels with.
INFO_TOPICS = {
    '/ir/camera_info': '/ir/image_raw',
    '/stereo/left/camera_info': '/stereo/left/image_rect',
    '/stereo/right/camera_info': '/stereo/right/image_rect',
    '/stereo/camera_info': '/stereo/depth',
}
# Intermediate topics, counted raw -> (message type, QoS of their publishers).
RAW_TOPICS = {
    '/affect/faces': (FaceObservationArray, RESULTS_QOS),
    '/affect/face_windows': (FaceWindow, RESULTS_QOS),
    '/affect/window_predictions': (WindowPrediction, RESULTS_QOS),
}
# Receipt times kept per topic (IR frames, tracker outputs, windows, predictions) to match
# each /emotion to the frames and stage outputs behind it: 30 s of 120 fps frames.
RECEIPTS_KEPT = 3600
# The hops of a window's path, each ended by the receipt of that stage's output.
HOPS = ('face_tracker', 'window_sync', 'emotion_vit', 'confidence_fusion')


def percentile(values: Sequence[float], fraction: float) -> float:
    """Take the nearest-rank value at a fraction, so p99 is a real sample; NaN for none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def header_stamp_ns(raw: bytes) -> int:
    """
    Read header.stamp from a serialised message whose first field is a std_msgs/Header.

    CDR starts with a 4-byte encapsulation header (its second byte is 1 for little
    endian), then the stamp's int32 sec and uint32 nanosec: reading 12 bytes is all
    the probe needs of each camera_info, instead of deserialising all of it.
    """
    order = '<' if raw[1] & 1 else '>'
    sec, nanosec = struct.unpack_from(f'{order}iI', raw, 4)
    return sec * 1_000_000_000 + nanosec


def header_and_person(raw: bytes) -> Tuple[int, str]:
    """
    Read header.stamp and the string field after the header (person_id) from CDR.

    A CDR string is a uint32 length (the terminating NUL included) then its bytes; the
    next field is aligned to 4 bytes counted from the end of the encapsulation header.
    """
    order = '<' if raw[1] & 1 else '>'
    offset = 12 + 4 + struct.unpack_from(f'{order}I', raw, 12)[0]  # past header.frame_id
    offset += -(offset - 4) % 4
    (length,) = struct.unpack_from(f'{order}I', raw, offset)
    return header_stamp_ns(raw), raw[offset + 4:offset + 3 + length].decode('utf-8')


class ReceiptHistory:
    """Receipt times of a stream's messages in stamp order, looked up by stamp."""

    def __init__(self) -> None:
        self._stamps_ns: List[int] = []
        self._receipts_ns: List[int] = []

    def add(self, stamp_ns: int, receipt_ns: int) -> bool:
        """Keep one receipt; a stamp not after the last (a restarted stream) is refused."""
        if self._stamps_ns and stamp_ns <= self._stamps_ns[-1]:
            return False
        self._stamps_ns.append(stamp_ns)
        self._receipts_ns.append(receipt_ns)
        if len(self._stamps_ns) > 2 * RECEIPTS_KEPT:
            del self._stamps_ns[:RECEIPTS_KEPT]
            del self._receipts_ns[:RECEIPTS_KEPT]
        return True

    def first_at_or_after(self, stamp_ns: int) -> Optional[Tuple[int, int]]:
        """Return (stamp, receipt) of the first message stamped at or after ``stamp_ns``."""
        index = bisect.bisect_left(self._stamps_ns, stamp_ns)
        if index == len(self._stamps_ns):
            return None
        return self._stamps_ns[index], self._receipts_ns[index]


def _keep(receipts: Dict[Any, int], key: Any, now_ns: int) -> None:
    """Keep the first receipt of ``key``, dropping the oldest beyond RECEIPTS_KEPT."""
    receipts.setdefault(key, now_ns)
    if len(receipts) > RECEIPTS_KEPT:
        del receipts[next(iter(receipts))]


def _summary_ms(values_ns: Sequence[int]) -> Dict[str, float]:
    values_ms = [v / 1e6 for v in values_ns]
    return {'count': len(values_ms), 'p50': percentile(values_ms, 0.50),
            'p95': percentile(values_ms, 0.95), 'p99': percentile(values_ms, 0.99),
            'max': max(values_ms) if values_ms else math.nan}


class GraphProbe(Node):
    """Counts messages per topic and times /emotion while a window is open."""

    def __init__(self, images: bool, lateness_s: float) -> None:
        super().__init__('affect_graph_probe')
        self._lateness_ns = int(round(lateness_s * 1e9))
        self._images = images
        self.measuring = False
        self.counts: Dict[str, int] = {}
        self._ir = ReceiptHistory()
        self._first_ir: Optional[tuple] = None
        self._last_ir: Optional[tuple] = None
        self.emotions_seen = 0
        self.frames_used = 0
        self.frames_expected = 0
        self.stamp_latency_ns: List[int] = []
        self.graph_latency_ns: List[int] = []
        self.ir_arrival_ns: List[int] = []  # receipt minus stamp of each IR frame
        self.unmatched_windows = 0
        self.hop_ns: Dict[str, List[int]] = {hop: [] for hop in HOPS}
        self.windows_without_hops = 0
        self.split_total_ns: List[int] = []  # closing frame -> /emotion of the split windows
        self._faces = ReceiptHistory()
        # (window end stamp, person_id) -> receipt, per topic.
        self._window_receipts: Dict[Tuple[int, str], int] = {}
        self._prediction_receipts: Dict[Tuple[int, str], int] = {}
        for topic, stands_for in INFO_TOPICS.items():
            self.counts[stands_for] = 0
            self.create_subscription(CameraInfo, topic,
                                     lambda raw, t=stands_for: self._on_info(t, raw),
                                     SENSOR_QOS, raw=True)
        if images:
            for topic in INFO_TOPICS.values():
                self.counts[f'{topic} (raw)'] = 0
                self.create_subscription(Image, topic,
                                         lambda _, t=f'{topic} (raw)': self._count(t),
                                         SENSOR_QOS, raw=True)
        for topic, (msg_type, qos) in RAW_TOPICS.items():
            self.counts[topic] = 0
            self.create_subscription(msg_type, topic,
                                     lambda raw, t=topic: self._on_stage(t, raw), qos, raw=True)
        self.counts['/emotion'] = 0
        self.create_subscription(Emotion, '/emotion', self._on_emotion, EMOTION_QOS)

    def _count(self, topic: str) -> None:
        if self.measuring:
            self.counts[topic] += 1

    def _on_stage(self, topic: str, raw: bytes) -> None:
        now_ns = time.time_ns()
        self._count(topic)
        if topic == '/affect/faces':
            self._faces.add(header_stamp_ns(raw), now_ns)
        else:
            _keep(self._window_receipts if topic == '/affect/face_windows'
                  else self._prediction_receipts, header_and_person(raw), now_ns)

    def _hops(self, closing_stamp_ns: int, closing_receipt_ns: int, key: Tuple[int, str],
              now_ns: int) -> None:
        faces = self._faces.first_at_or_after(closing_stamp_ns)
        receipts = [closing_receipt_ns, faces[1] if faces else None,
                    self._window_receipts.get(key),
                    self._prediction_receipts.get(key), now_ns]
        if any(r is None for r in receipts):
            self.windows_without_hops += 1
            return
        for hop, start, end in zip(HOPS, receipts, receipts[1:]):
            self.hop_ns[hop].append(end - start)
        self.split_total_ns.append(now_ns - closing_receipt_ns)

    def _on_info(self, topic: str, raw: bytes) -> None:
        if topic != '/ir/image_raw':
            self._count(topic)
            return
        now_ns = time.time_ns()
        stamp_ns = header_stamp_ns(raw)
        if not self._ir.add(stamp_ns, now_ns):
            return  # a restarted rig: keep the history monotonic
        if self.measuring:
            self.counts[topic] += 1
            self.ir_arrival_ns.append(now_ns - stamp_ns)
            if self._first_ir is None:
                self._first_ir = (stamp_ns, now_ns)
            self._last_ir = (stamp_ns, now_ns)

    def _on_emotion(self, msg: Emotion) -> None:
        now_ns = time.time_ns()
        self.emotions_seen += 1
        if not self.measuring:
            return
        self.counts['/emotion'] += 1
        self.frames_used += int(msg.frames_used)
        self.frames_expected += int(msg.frames_expected)
        end_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        self.stamp_latency_ns.append(now_ns - end_ns)
        closing = self._ir.first_at_or_after(end_ns + self._lateness_ns)
        if closing is not None:
            self.graph_latency_ns.append(now_ns - closing[1])
            self._hops(*closing, (end_ns, msg.person_id), now_ns)
        else:
            self.unmatched_windows += 1

    def result(self, wall_s: float) -> Dict[str, Any]:
        """Return the figures of the window as a JSON-ready dict."""
        topics = {topic: {'messages': n, 'rate_hz': n / wall_s if wall_s > 0 else math.nan}
                  for topic, n in self.counts.items()}
        real_time = math.nan
        if self._first_ir and self._last_ir and self._last_ir[1] > self._first_ir[1]:
            real_time = ((self._last_ir[0] - self._first_ir[0])
                         / (self._last_ir[1] - self._first_ir[1]))
        return {
            'wall_s': wall_s,
            'topics': topics,
            'sensor_per_wall': real_time,
            'frames_used': self.frames_used,
            'frames_expected': self.frames_expected,
            'emotion_latency_ms': _summary_ms(self.stamp_latency_ns),
            'graph_latency_ms': _summary_ms(self.graph_latency_ns),
            'ir_arrival_ms': _summary_ms(self.ir_arrival_ns),
            'windows_without_closing_frame': self.unmatched_windows,
            'hops_ms': {hop: _summary_ms(values) for hop, values in self.hop_ns.items()},
            'split_total_ms': _summary_ms(self.split_total_ns),
            'windows_without_hops': self.windows_without_hops,
            'counted_by': 'camera_info per image' + (' and the images' if self._images else '')
            + '; every topic but /emotion raw (not deserialised)',
        }


def _arguments(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='graph_probe', description=__doc__.splitlines()[1])
    parser.add_argument('--duration', type=float, default=60.0,
                        help='wall seconds to measure (default 60)')
    parser.add_argument('--wait-s', type=float, default=120.0,
                        help='longest wait for the first /emotion (default 120)')
    parser.add_argument('--lateness-s', type=float, default=0.0,
                        help="window_sync's allowed_lateness_s (default 0, as shipped)")
    parser.add_argument('--images', action='store_true',
                        help='also subscribe (raw) to the image topics themselves')
    parser.add_argument('--out', default='', help='write the JSON here instead of stdout')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Measure the graph once and print the figures; exit 1 if /emotion never came."""
    args = _arguments(rclpy.utilities.remove_ros_args(sys.argv)[1:] if argv is None
                      else argv)
    rclpy.init()
    probe = GraphProbe(args.images, args.lateness_s)
    # An executor of its own: rclpy.spin_once(node) adds and removes the node each call,
    # which rebuilds the wait set every message.
    executor = SingleThreadedExecutor()
    executor.add_node(probe)
    try:
        deadline = time.monotonic() + args.wait_s
        while probe.emotions_seen == 0 and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        if probe.emotions_seen == 0:
            print(f'no /emotion within {args.wait_s:.0f} s', file=sys.stderr, flush=True)
            sys.exit(1)
        probe.measuring = True
        started = time.monotonic()
        print('measuring', flush=True)
        while time.monotonic() - started < args.duration:
            executor.spin_once(timeout_sec=0.1)
        probe.measuring = False
        wall_s = time.monotonic() - started
        print('measured', flush=True)
        text = json.dumps(probe.result(wall_s), indent=2)
        if args.out:
            with open(args.out, 'w', encoding='utf-8') as stream:
                stream.write(text + '\n')
        else:
            print(text, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        executor.remove_node(probe)
        executor.shutdown()
        probe.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
