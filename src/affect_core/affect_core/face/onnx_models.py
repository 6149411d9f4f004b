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


"""Loading the shipped face models and preparing IR frames for them.

The face models (models/face, see its README) were trained on colour photographs; an
active-IR frame is one channel, often dark and of low contrast. ``stretch_to_unit``
maps a region's own 1st-99.5th percentile range to [0, 1] so that a dim face under a weak
illuminator looks to the model like a normally exposed grey photograph.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.errors import InputError, ModelError

FACE_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "face"


def open_session(path: Path, input_shape: tuple[int, ...], threads: int = 1) -> Any:
    """Open an ONNX Runtime CPU session for ``path``, checked to take ``input_shape``.

    The face models are small (0.4-2.6 MB) and run per face, so one CPU thread is the
    default: they then leave the other cores to the rest of the pipeline.
    """
    import onnxruntime as ort

    if not path.is_file():
        raise ModelError(f"face model file not found: {path}; reinstall affect-core or "
                         "rebuild models/face with scripts/convert_face_models")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load face model {path}: {err}; rebuild it with "
                         "scripts/convert_face_models") from err
    shape = tuple(session.get_inputs()[0].shape)
    if shape != input_shape:
        raise ModelError(f"face model {path} takes input {shape}, expected {input_shape}")
    return session


def check_ir_frame(image: npt.NDArray[np.generic], min_side_px: int) -> None:
    """Raise InputError unless ``image`` is a mono8/mono16 frame at least min_side_px."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"IR frames must be numpy arrays, got {type(image).__name__}")
    if image.ndim != 2:
        raise InputError(f"IR frames must be single-channel (mono8/mono16), got shape "
                         f"{image.shape}")
    if image.dtype not in (np.uint8, np.uint16):
        raise InputError(f"IR frames must be mono8 or mono16, got dtype {image.dtype}")
    if min(image.shape) < min_side_px:
        raise InputError(f"IR frame of shape {image.shape} is too small to hold a face of "
                         f"{min_side_px} px")


def stretch_to_unit(image: npt.NDArray[np.generic],
                    valid: tuple[int, int] | None = None) -> npt.NDArray[np.float32]:
    """``image`` as float32 in [0, 1], its 1st-99.5th percentile range stretched to fill it.

    ``valid`` (height, width) limits the percentiles to the top-left region that holds
    the picture when the rest is letterbox padding. A flat region maps to zeros. The
    percentiles are np.percentile's (linear interpolation between order statistics),
    found with one partial sort of the raw pixels: this runs for every model crop, and
    np.percentile's float copy and general machinery cost four times as much.
    """
    region = image if valid is None else image[:valid[0], :valid[1]]
    lo, hi = _percentiles(region.ravel(), (1.0, 99.5)) if region.size else (0.0, 0.0)
    if hi - lo < 1e-6:
        return np.zeros(image.shape, np.float32)
    out = image.astype(np.float32)
    out -= np.float32(lo)
    out *= np.float32(1.0 / (hi - lo))
    return np.clip(out, 0.0, 1.0, out=out)


def _percentiles(values: npt.NDArray[np.generic],
                 percents: tuple[float, ...]) -> tuple[float, ...]:
    """np.percentile(values, percents) of a non-empty 1-D array, by one np.partition."""
    last = values.size - 1
    positions = [last * q / 100.0 for q in percents]
    below = [int(math.floor(p)) for p in positions]
    part = np.partition(values, sorted({k for b in below for k in (b, min(b + 1, last))}))
    result = []
    for p, b in zip(positions, below):
        low, high = float(part[b]), float(part[min(b + 1, last)])
        result.append(low + (p - b) * (high - low))
    return tuple(result)


def letterbox(image: npt.NDArray[np.generic], side_px: int
              ) -> tuple[npt.NDArray[np.generic], float, tuple[int, int]]:
    """``image`` scaled to fit a side_px square, padded at the right and bottom.

    Returns the square, the scale (model pixels per image pixel) and the (height, width)
    of the picture inside it. Area interpolation keeps small faces from aliasing.
    """
    height, width = image.shape[:2]
    scale = side_px / float(max(height, width))
    new_w = max(1, min(side_px, int(round(width * scale))))
    new_h = max(1, min(side_px, int(round(height * scale))))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    square = np.zeros((side_px, side_px), dtype=image.dtype)
    square[:new_h, :new_w] = resized
    return square, scale, (new_h, new_w)


def to_model_input(unit: npt.NDArray[np.float32], low: float,
                   high: float) -> npt.NDArray[np.float32]:
    """Make a (1, 3, S, S) batch: the grey [0, 1] image in [low, high], copied to R, G and B."""
    scaled = unit * np.float32(high - low) + np.float32(low)
    return np.ascontiguousarray(np.broadcast_to(scaled, (1, 3) + scaled.shape))
