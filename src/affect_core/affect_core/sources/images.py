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

"""sensor_msgs/Image <-> numpy for rosbags messages (mono8, mono16, 32FC1, 16UC1).

Whatever a recording holds, decoding it gives an ImageFrame whose pixels match its
encoding, or an InputError saying what is wrong with the message.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from affect_core.errors import InputError
from affect_core.types import ENCODING_DTYPES, ImageFrame

IMAGE_TYPE = "sensor_msgs/msg/Image"


def image_fields(frame: ImageFrame) -> dict[str, Any]:
    """sensor_msgs/Image fields (record form) of an ImageFrame, little-endian.

    Besides the single-channel encodings, bgr8 (H, W, 3) is accepted for drawings such as
    /affect/overlay.
    """
    if frame.encoding == "bgr8" and frame.data.ndim == 3 and frame.data.shape[2] == 3:
        sec, nanosec = divmod(frame.stamp_ns, 1_000_000_000)
        pixels = np.ascontiguousarray(frame.data, np.uint8)
        return {
            "header": {"stamp": {"sec": sec, "nanosec": nanosec}, "frame_id": frame.frame_id},
            "height": pixels.shape[0], "width": pixels.shape[1], "encoding": "bgr8",
            "is_bigendian": 0, "step": pixels.shape[1] * 3, "data": pixels.reshape(-1),
        }
    if frame.encoding not in ENCODING_DTYPES:
        raise InputError(f"cannot record encoding {frame.encoding!r}; supported: "
                         f"{', '.join(ENCODING_DTYPES)}")
    data = np.ascontiguousarray(frame.data, dtype=np.dtype(ENCODING_DTYPES[frame.encoding])
                                .newbyteorder("<"))
    sec, nanosec = divmod(frame.stamp_ns, 1_000_000_000)
    return {
        "header": {"stamp": {"sec": sec, "nanosec": nanosec}, "frame_id": frame.frame_id},
        "height": data.shape[0], "width": data.shape[1], "encoding": frame.encoding,
        "is_bigendian": 0, "step": data.shape[1] * data.itemsize,
        "data": np.frombuffer(data.tobytes(), np.uint8),
    }


def image_from_message(msg: Any, copy: bool = True) -> ImageFrame:
    """Decode a sensor_msgs/Image (rosbags' or rclpy's) into an ImageFrame.

    ``copy=False`` returns a view of the message's buffer where the rows are unpadded
    and in this machine's byte order (what a live subscriber gets at 120 fps), and
    copies only where padding or byte order make it necessary.
    """
    encoding = str(msg.encoding)
    if encoding not in ENCODING_DTYPES:
        raise InputError(f"image encoding {encoding!r} is not supported; use mono16, mono8 "
                         "(IR) or 32FC1 (depth)")
    dtype = np.dtype(ENCODING_DTYPES[encoding]).newbyteorder(">" if msg.is_bigendian else "<")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    raw: npt.NDArray[np.uint8] = np.asarray(msg.data, np.uint8)
    if step < width * dtype.itemsize or raw.size < height * step:
        raise InputError(f"image of {width}x{height} {encoding} has step {step} and "
                         f"{raw.size} bytes: truncated or corrupt")
    rows = raw[: height * step].reshape(height, step)[:, : width * dtype.itemsize]
    data = np.ascontiguousarray(rows).view(dtype).reshape(height, width).astype(
        dtype.newbyteorder("="), copy=copy)
    stamp = int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
    return ImageFrame(stamp, str(msg.header.frame_id), encoding, data)


def image_from_cdr(raw: bytes, msgtype: str = IMAGE_TYPE) -> ImageFrame:
    """Decode a CDR-serialised sensor_msgs/Image (as a recording stores it).

    A corrupt message (bad lengths, missing string terminators, a truncated buffer) is
    an InputError, so a reader can count it and go on with the next one. Its message is
    the same for every corrupt message, so the count has one line; rosbags' reason is
    the error's cause.
    """
    from rosbags.serde import SerdeError

    from affect_core.sinks.messages import typestore

    try:
        msg = typestore().deserialize_cdr(raw, msgtype)
    except SerdeError as err:
        raise InputError(f"corrupt {msgtype} message (not valid CDR)") from err
    return image_from_message(msg)
