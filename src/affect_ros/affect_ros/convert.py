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

"""Conversions between affect_msgs / sensor_msgs and affect_core's dataclasses."""

import array
import math
import sys
from typing import List, Optional, Sequence

from affect_core.calibration import Calibration
from affect_core.errors import InputError
from affect_core.markers import LabelMarker
from affect_core.sinks.records import emotion_record
from affect_core.sources.images import image_from_message
from affect_core.types import CameraModel, Emotion, ENCODING_DTYPES, FaceFrame, FaceObservation
from affect_core.types import EyeState, FaceWindow, FrameQuality, ImageFrame
from affect_core.types import WindowPrediction
from affect_msgs.msg import Emotion as EmotionMsg
from affect_msgs.msg import FaceObservation as FaceObservationMsg
from affect_msgs.msg import FaceObservationArray, FaceWindow as FaceWindowMsg
from affect_msgs.msg import WindowPrediction as WindowPredictionMsg
from builtin_interfaces.msg import Time
from cv_bridge import CvBridge, CvBridgeError
from geometry_msgs.msg import Point, Quaternion
import numpy as np
from rosidl_runtime_py.set_message import set_message_fields
from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker

_BRIDGE = CvBridge()
# Frames larger than this on a side are refused before conversion (the largest sensor
# this suite reads is a few megapixels; an 8000x8000 frame is a fault, not a picture).
MAX_IMAGE_SIDE_PX = 4096


def to_time(stamp_ns: int) -> Time:
    """builtin_interfaces/Time of a nanosecond stamp."""
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return Time(sec=sec, nanosec=nanosec)


def to_ns(stamp: Time) -> int:
    """Nanoseconds of a builtin_interfaces/Time."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def image_to_msg(frame: ImageFrame) -> Image:
    """
    Build the sensor_msgs/Image of an ImageFrame, copying its pixels once.

    The core's encodings (mono8, mono16, 32FC1) in their native dtype go straight into
    an array.array, which rclpy takes as it is and serialises with one memcpy: at 120
    fps a 600 KB frame is worth not copying twice (cv_bridge's tobytes, then frombytes).
    Any other encoding or dtype goes through cv_bridge, which checks that they agree.
    """
    data = np.ascontiguousarray(frame.data)
    dtype = ENCODING_DTYPES.get(frame.encoding)
    if dtype is None or data.ndim != 2 or data.dtype != np.dtype(dtype):
        msg = _BRIDGE.cv2_to_imgmsg(data, encoding=frame.encoding)
    else:
        payload = array.array('B')
        payload.frombytes(memoryview(data).cast('B'))
        msg = Image(height=data.shape[0], width=data.shape[1], encoding=frame.encoding,
                    is_bigendian=int(sys.byteorder == 'big'),
                    step=data.shape[1] * data.itemsize)
        msg.data = payload
    msg.header = Header(stamp=to_time(frame.stamp_ns), frame_id=frame.frame_id)
    return msg


def msg_to_image(msg: Image) -> ImageFrame:
    """
    Convert a sensor_msgs/Image to an ImageFrame, keeping its encoding (cv_bridge).

    An empty, oversized or inconsistent message (data shorter or longer than height x
    step, an encoding cv_bridge does not know) raises InputError saying which.
    """
    size = f'{msg.width}x{msg.height} {msg.encoding!r} image'
    if msg.width == 0 or msg.height == 0:
        raise InputError(f'empty {size}')
    if max(msg.width, msg.height) > MAX_IMAGE_SIDE_PX:
        raise InputError(f'{size} is larger than {MAX_IMAGE_SIDE_PX} px a side')
    if len(msg.data) != msg.step * msg.height:
        raise InputError(f'{size}: {len(msg.data)} bytes of data, but height x step is '
                         f'{msg.step * msg.height}')
    if msg.encoding in ENCODING_DTYPES:
        # The core's decoder: a view of the buffer where rows are unpadded and in this
        # machine's byte order, each row read from its step otherwise.
        return image_from_message(msg, copy=False)
    try:
        dtype, channels = _BRIDGE.encoding_to_dtype_with_channels(msg.encoding)
    except (CvBridgeError, TypeError, ValueError) as err:
        raise InputError(f'unreadable {size}: {err}') from err
    pixel_bytes = np.dtype(dtype).itemsize * channels
    if msg.step < msg.width * pixel_bytes or msg.step % pixel_bytes:
        raise InputError(f'{size}: a step of {msg.step} bytes does not hold a row of '
                         f'{msg.width} pixels of {pixel_bytes} bytes')
    try:
        data = _BRIDGE.imgmsg_to_cv2(msg, desired_encoding='passthrough')
    except (CvBridgeError, TypeError, ValueError) as err:
        raise InputError(f'unreadable {size}: {err}') from err
    return ImageFrame(to_ns(msg.header.stamp), msg.header.frame_id, msg.encoding, data)


def camera_info_msg(camera: CameraModel, stamp_ns: int) -> CameraInfo:
    """Build a rectified sensor_msgs/CameraInfo (no distortion); P[3] = -fx * baseline."""
    msg = CameraInfo()
    set_message_fields(msg, Calibration.from_model(camera, camera.frame_id).info_fields(
        camera.frame_id, stamp_ns))
    return msg


def camera_model(msg: CameraInfo) -> CameraModel:
    """Read rectified intrinsics and baseline from a sensor_msgs/CameraInfo."""
    return Calibration.from_info(msg).camera_model(msg.header.frame_id)


def _point(xyz: Sequence[float]) -> Point:
    return Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def observation_to_msg(obs: FaceObservation, frame_id: str) -> FaceObservationMsg:
    """affect_msgs/FaceObservation of a FaceObservation."""
    x, y, w, h = obs.box_px
    msg = FaceObservationMsg()
    msg.person_id = obs.person_id
    msg.roi = RegionOfInterest(x_offset=max(int(x), 0), y_offset=max(int(y), 0),
                               width=int(w), height=int(h))
    msg.landmarks = [float(v) for v in obs.landmarks_px.reshape(-1)]
    msg.head_position = _point(obs.head_position_m)
    qx, qy, qz, qw = obs.head_orientation_xyzw
    msg.head_orientation = Quaternion(x=qx, y=qy, z=qz, w=qw)
    msg.pose_stability = float(obs.quality.pose_stability)
    msg.lighting_consistency = float(obs.quality.lighting_consistency)
    msg.depth_consistency = float(obs.quality.depth_consistency)
    msg.sharpness = float(obs.quality.sharpness)
    eyes = obs.eyes
    msg.eye_openness = float(eyes.openness)
    msg.eye_openness_confidence = float(eyes.openness_confidence)
    msg.blink = bool(eyes.blink)
    msg.blink_rate_per_min = float(eyes.blink_rate_per_min)
    msg.blink_rate_confidence = float(eyes.blink_rate_confidence)
    msg.pupil_diameter_px = float(eyes.pupil_diameter_px)
    msg.pupil_diameter_mm = float(eyes.pupil_diameter_mm)
    msg.pupil_confidence = float(eyes.pupil_confidence)
    msg.crop = image_to_msg(ImageFrame(obs.stamp_ns, frame_id, obs.crop_encoding, obs.crop))
    return msg


def msg_to_observation(msg: FaceObservationMsg, stamp_ns: int) -> FaceObservation:
    """Convert an affect_msgs/FaceObservation taken at ``stamp_ns`` to the core type."""
    crop = msg_to_image(msg.crop)
    landmarks = np.asarray(msg.landmarks, np.float32).reshape(-1, 2)
    quality = FrameQuality(msg.pose_stability, msg.lighting_consistency,
                           msg.depth_consistency, msg.sharpness)
    p, q = msg.head_position, msg.head_orientation
    eyes = EyeState(msg.eye_openness, msg.eye_openness_confidence, msg.blink,
                    msg.blink_rate_per_min, msg.blink_rate_confidence, msg.pupil_diameter_px,
                    msg.pupil_diameter_mm, msg.pupil_confidence)
    return FaceObservation(
        stamp_ns, msg.person_id,
        (msg.roi.x_offset, msg.roi.y_offset, msg.roi.width, msg.roi.height),
        (p.x, p.y, p.z), quality, crop.data, crop.encoding, landmarks, (q.x, q.y, q.z, q.w),
        eyes=eyes)


def face_frame_to_msg(frame: FaceFrame) -> FaceObservationArray:
    """affect_msgs/FaceObservationArray of a FaceFrame."""
    msg = FaceObservationArray()
    msg.header = Header(stamp=to_time(frame.stamp_ns), frame_id=frame.frame_id)
    msg.faces = [observation_to_msg(obs, frame.frame_id) for obs in frame.faces]
    msg.depth_associated = frame.depth_associated
    return msg


def msg_to_face_frame(msg: FaceObservationArray) -> FaceFrame:
    """Convert an affect_msgs/FaceObservationArray to a FaceFrame."""
    stamp = to_ns(msg.header.stamp)
    return FaceFrame(stamp, msg.header.frame_id,
                     [msg_to_observation(face, stamp) for face in msg.faces],
                     msg.depth_associated)


def window_to_msg(window: FaceWindow) -> FaceWindowMsg:
    """affect_msgs/FaceWindow of a FaceWindow."""
    msg = FaceWindowMsg()
    msg.header = Header(stamp=to_time(window.end_ns), frame_id=window.frame_id)
    msg.person_id = window.person_id
    msg.window_start = to_time(window.start_ns)
    msg.frames_used = window.frames_used
    msg.frames_expected = window.frames_expected
    msg.samples = [observation_to_msg(s, window.frame_id) for s in window.samples]
    msg.sample_stamps = [to_time(s.stamp_ns) for s in window.samples]
    msg.frame_stamps = [to_time(t) for t in window.frame_stamps_ns]
    msg.frame_pose_stability = [float(q.pose_stability) for q in window.frame_quality]
    msg.frame_lighting_consistency = [float(q.lighting_consistency)
                                      for q in window.frame_quality]
    msg.frame_depth_consistency = [float(q.depth_consistency) for q in window.frame_quality]
    msg.frame_sharpness = [float(q.sharpness) for q in window.frame_quality]
    msg.pose_stability = window.pose_stability
    msg.lighting_consistency = window.lighting_consistency
    msg.depth_consistency = window.depth_consistency
    msg.head_position = _point(window.head_position_m)
    return msg


def msg_to_window(msg: FaceWindowMsg) -> FaceWindow:
    """Convert an affect_msgs/FaceWindow to the core type."""
    samples = [msg_to_observation(s, to_ns(t)) for s, t in zip(msg.samples, msg.sample_stamps)]
    p = msg.head_position
    quality = tuple(FrameQuality(*q) for q in zip(
        msg.frame_pose_stability, msg.frame_lighting_consistency, msg.frame_depth_consistency,
        msg.frame_sharpness))
    finite = [v for v in msg.frame_sharpness if math.isfinite(v)]
    return FaceWindow(msg.person_id, msg.header.frame_id, to_ns(msg.window_start),
                      to_ns(msg.header.stamp), msg.frames_used, msg.frames_expected, samples,
                      msg.pose_stability, msg.lighting_consistency, msg.depth_consistency,
                      (p.x, p.y, p.z), tuple(to_ns(t) for t in msg.frame_stamps), quality,
                      sum(finite) / len(finite) if finite else math.nan)


def prediction_to_msg(prediction: WindowPrediction) -> WindowPredictionMsg:
    """affect_msgs/WindowPrediction of a WindowPrediction."""
    window = prediction.window
    msg = WindowPredictionMsg()
    msg.header = Header(stamp=to_time(window.end_ns), frame_id=window.frame_id)
    msg.person_id = window.person_id
    msg.window_start = to_time(window.start_ns)
    msg.frames_used = window.frames_used
    msg.frames_expected = window.frames_expected
    msg.labels = list(prediction.labels)
    msg.probabilities = [float(v) for v in prediction.probabilities.reshape(-1)]
    msg.valence = [float(v) for v in prediction.valence]
    msg.arousal = [float(v) for v in prediction.arousal]
    msg.pose_stability = [float(s.quality.pose_stability) for s in window.samples]
    msg.lighting_consistency = [float(s.quality.lighting_consistency) for s in window.samples]
    msg.depth_consistency = [float(s.quality.depth_consistency) for s in window.samples]
    msg.sample_stamps = [to_time(s.stamp_ns) for s in window.samples]
    msg.window_pose_stability = window.pose_stability
    msg.window_lighting_consistency = window.lighting_consistency
    msg.window_depth_consistency = window.depth_consistency
    msg.head_position = _point(window.head_position_m)
    msg.model_id = prediction.model_id
    if prediction.domain_distance is not None:
        msg.domain_distance = [float(v) for v in prediction.domain_distance]
    if prediction.attention is not None and prediction.attention.size:
        _, msg.attention_height, msg.attention_width = prediction.attention.shape
        msg.attention = [float(v) for v in prediction.attention.reshape(-1)]
    return msg


def msg_to_prediction(msg: WindowPredictionMsg) -> WindowPrediction:
    """Convert an affect_msgs/WindowPrediction to the core type (samples carry no crops)."""
    empty = np.zeros((0, 0), np.uint16)
    samples: List[FaceObservation] = []
    for i, stamp in enumerate(msg.sample_stamps):
        quality = FrameQuality(msg.pose_stability[i], msg.lighting_consistency[i],
                               msg.depth_consistency[i], math.nan)
        samples.append(FaceObservation(to_ns(stamp), msg.person_id, (0, 0, 0, 0),
                                       (math.nan,) * 3, quality, empty, 'mono16'))
    p = msg.head_position
    window = FaceWindow(msg.person_id, msg.header.frame_id, to_ns(msg.window_start),
                        to_ns(msg.header.stamp), msg.frames_used, msg.frames_expected, samples,
                        msg.window_pose_stability, msg.window_lighting_consistency,
                        msg.window_depth_consistency, (p.x, p.y, p.z))
    count = len(msg.labels)
    probabilities = np.asarray(msg.probabilities, np.float64).reshape(-1, count) if count \
        else np.zeros((0, 0))
    attention = None
    if msg.attention_height and msg.attention_width and len(msg.attention):
        attention = np.asarray(msg.attention, np.float32).reshape(
            -1, msg.attention_height, msg.attention_width)
    domain = (np.asarray(msg.domain_distance, np.float64)
              if len(msg.domain_distance) == len(samples) and len(samples) else None)
    return WindowPrediction(window, tuple(msg.labels), probabilities,
                            np.asarray(msg.valence, np.float64),
                            np.asarray(msg.arousal, np.float64), msg.model_id, attention,
                            domain)


def msg_to_emotion(msg: EmotionMsg) -> Emotion:
    """
    Convert an affect_msgs/Emotion to the core type.

    The message does not carry the label an abstained estimate pointed to; the most
    probable label stands in for it.
    """
    probabilities = tuple(float(p) for p in msg.probabilities)
    candidate = msg.expression
    if msg.abstained and probabilities and len(msg.labels) == len(probabilities):
        candidate = msg.labels[int(np.argmax(probabilities))]
    p = msg.head_position
    return Emotion(to_ns(msg.header.stamp), msg.header.frame_id, msg.person_id,
                   to_ns(msg.window_start), tuple(msg.labels), probabilities, msg.expression,
                   msg.valence, msg.arousal, msg.confidence, msg.abstained, msg.pose_stability,
                   msg.lighting_consistency, msg.depth_consistency, msg.frames_used,
                   msg.frames_expected, (p.x, p.y, p.z), msg.model_id, candidate,
                   msg.abstain_reason, msg.domain_distance)


def emotion_to_msg(emotion: Emotion, msg: Optional[EmotionMsg] = None) -> EmotionMsg:
    """affect_msgs/Emotion from the core's message-shaped record (one mapping for all)."""
    msg = msg or EmotionMsg()
    set_message_fields(msg, emotion_record(emotion))
    return msg


def marker_msg(spec: LabelMarker) -> Marker:
    """Build the TEXT_VIEW_FACING visualization_msgs/Marker of a label marker."""
    marker = Marker(ns='affect', id=spec.marker_id, type=Marker.TEXT_VIEW_FACING,
                    action=Marker.ADD, text=spec.text)
    marker.header.frame_id = spec.frame_id
    marker.pose.position = _point(spec.position_m)
    marker.pose.orientation.w = 1.0
    marker.scale.z = 0.06
    marker.color = ColorRGBA(r=spec.rgba[0], g=spec.rgba[1], b=spec.rgba[2], a=spec.rgba[3])
    sec = int(spec.lifetime_s)
    marker.lifetime.sec = sec
    marker.lifetime.nanosec = int((spec.lifetime_s - sec) * 1e9)
    return marker
