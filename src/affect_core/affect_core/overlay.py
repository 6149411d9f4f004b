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

"""The /affect/overlay image: face boxes, labels, confidence bars and attention on IR.

Each person's box, label and confidence bar is drawn on the IR frame, with the model's
attention heatmap blended over the face crop. It shows raw frames, so it is opt-in
(DESIGN section 8): the overlay node runs only when launched with ``overlay:=true``, and
``affect lab`` draws it only with ``--overlay``.

:class:`OverlayState` keeps the latest box, estimate and attention map per person and
decides what is current for a frame: a box older than ``box_max_age_s`` is not drawn (the
face has left), an estimate older than ``emotion_max_age_s`` is drawn as "no estimate".
:func:`render_overlay` draws it. Both are ROS-free; the node only converts messages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from affect_core import labels
from affect_core.errors import InputError
from affect_core.markers import confidence_colour
from affect_core.params import ParamSpec, resolve
from affect_core.types import Emotion, FaceFrame, ImageFrame, WindowPrediction

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("rate_hz", 10.0, "overlay images published per second", 0.5, 120.0),
    ParamSpec("box_max_age_s", 0.25, "draw a face box only while it is this recent",
              0.01, 5.0),
    ParamSpec("emotion_max_age_s", 3.0, "show a person's estimate while it is this recent",
              0.1, 60.0),
    ParamSpec("heatmap", True, "blend the model's attention map over each face"),
    ParamSpec("heatmap_alpha", 0.45, "opacity of the attention heatmap", 0.0, 1.0),
    ParamSpec("crop_margin", 1.2,
              "face crop side as a multiple of the box side (as face_tracker's; the attention "
              "map covers the crop)", 1.0, 3.0),
    ParamSpec("abstain_below", 0.465,
              "where the tick on the confidence bar sits (confidence_fusion's threshold)",
              0.0, 1.0),
)


@dataclass(frozen=True)
class OverlayConfig:
    """Validated overlay parameters (see PARAMS)."""

    rate_hz: float = 10.0
    box_max_age_s: float = 0.25
    emotion_max_age_s: float = 3.0
    heatmap: bool = True
    heatmap_alpha: float = 0.45
    crop_margin: float = 1.2
    abstain_below: float = 0.465

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> OverlayConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        return cls(**resolve(PARAMS, given, "overlay"))


@dataclass(frozen=True)
class OverlayFace:
    """What is drawn for one person in one frame.

    ``label`` is None when there is no current estimate; ``attention`` is a map in
    [0, 1] over the face crop (any resolution), or None.
    """

    person_id: str
    box_px: tuple[int, int, int, int]
    label: str | None = None
    confidence: float = math.nan
    abstained: bool = False
    attention: npt.NDArray[np.float32] | None = None


@dataclass
class _Person:
    box_px: tuple[int, int, int, int] | None = None
    box_ns: int = 0
    emotion: Emotion | None = None
    attention: npt.NDArray[np.float32] | None = None


class OverlayState:
    """Latest box, estimate and attention per person (see the module docstring)."""

    def __init__(self, config: OverlayConfig) -> None:
        self.config = config
        self._people: dict[str, _Person] = {}

    def add_box(self, person_id: str, box_px: tuple[int, int, int, int], stamp_ns: int) -> None:
        """Record a face box of ``person_id`` seen at ``stamp_ns``."""
        person = self._people.setdefault(person_id, _Person())
        if stamp_ns >= person.box_ns:
            person.box_px, person.box_ns = box_px, stamp_ns

    def add_emotion(self, emotion: Emotion) -> None:
        """Record a fused estimate; it replaces the person's previous one."""
        self._people.setdefault(emotion.person_id, _Person()).emotion = emotion

    def add_attention(self, person_id: str, attention: npt.NDArray[np.float32]) -> None:
        """Record the attention map of the person's latest window (values rescaled to [0, 1])."""
        span = float(attention.max() - attention.min()) if attention.size else 0.0
        if attention.ndim != 2 or not math.isfinite(span):
            raise InputError(f"an attention map must be a finite 2-D array, got shape "
                             f"{attention.shape}")
        scaled = (attention - attention.min()) / span if span > 0 else np.zeros_like(attention)
        self._people.setdefault(person_id, _Person()).attention = scaled.astype(np.float32)

    def add_prediction(self, prediction: WindowPrediction) -> None:
        """Record the attention map of a window's newest sample: the one closest to the live frame.

        Nothing happens when the model exports no attention; maps that do not match the
        samples one to one raise InputError.
        """
        maps = prediction.attention
        samples = prediction.window.samples
        if maps is None or not len(maps):
            return
        if len(maps) != len(samples):
            raise InputError(f"{len(maps)} attention maps for {len(samples)} samples")
        newest = max(range(len(samples)), key=lambda k: samples[k].stamp_ns)
        self.add_attention(prediction.window.person_id, maps[newest])

    def faces(self, stamp_ns: int) -> list[OverlayFace]:
        """List what to draw on the frame stamped ``stamp_ns``; forgets people long gone."""
        cfg = self.config
        box_ns = int(cfg.box_max_age_s * 1e9)
        emotion_ns = int(cfg.emotion_max_age_s * 1e9)
        out = []
        for person_id in list(self._people):
            person = self._people[person_id]
            newest = max(person.box_ns, person.emotion.stamp_ns if person.emotion else 0)
            if stamp_ns - newest > max(box_ns, emotion_ns):
                del self._people[person_id]
                continue
            if person.box_px is None or abs(stamp_ns - person.box_ns) > box_ns:
                continue
            emotion = person.emotion
            if emotion is not None and abs(stamp_ns - emotion.stamp_ns) <= emotion_ns:
                out.append(OverlayFace(person_id, person.box_px,
                                       emotion.candidate or emotion.expression,
                                       emotion.confidence, emotion.abstained,
                                       person.attention if cfg.heatmap else None))
            else:
                out.append(OverlayFace(person_id, person.box_px))
        return out


def display_levels(image: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """Stretch a mono8/mono16 IR frame to 8 bits (1st to 99.5th percentile) for display.

    Active-IR frames use a small part of their 16-bit range; a plain shift would show
    them black.
    """
    if image.ndim != 2 or image.dtype not in (np.uint8, np.uint16) or image.size == 0:
        raise InputError(f"the overlay draws on mono8/mono16 frames, got {image.dtype} of "
                         f"shape {image.shape}")
    step = max(1, image.size // 20000)
    lo, hi = np.percentile(image.reshape(-1)[::step].astype(np.float32), (1.0, 99.5))
    scale = 255.0 / max(float(hi - lo), 1.0)
    return np.asarray(cv2.convertScaleAbs(image.astype(np.float32), alpha=scale,
                                          beta=-float(lo) * scale), np.uint8)


def _bgr(rgba: tuple[float, float, float, float]) -> tuple[int, int, int]:
    return (int(255 * rgba[2]), int(255 * rgba[1]), int(255 * rgba[0]))


def crop_square(box_px: tuple[int, int, int, int], margin: float) -> tuple[int, int, int]:
    """x0, y0 and side of the square crop the model saw (as face_tracker's square_crop)."""
    x, y, w, h = box_px
    side = int(round(max(w, h) * margin))
    return (int(round(x + w / 2.0 - side / 2.0)), int(round(y + h / 2.0 - side / 2.0)), side)


def _blend_heatmap(canvas: npt.NDArray[np.uint8], attention: npt.NDArray[np.float32],
                   square: tuple[int, int, int], alpha: float) -> None:
    x0, y0, side = square
    if side <= 1:
        return
    heat = cv2.resize(attention, (side, side), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap(np.clip(heat * 255.0, 0, 255).astype(np.uint8),
                               cv2.COLORMAP_JET)
    # Clip the square to the image; the crop was zero-padded outside it.
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + side, canvas.shape[1]), min(y0 + side, canvas.shape[0])
    if ix1 <= ix0 or iy1 <= iy0:
        return
    region = canvas[iy0:iy1, ix0:ix1].astype(np.float32)
    patch = colour[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0].astype(np.float32)
    # Opacity follows attention, so the face stays visible where the model did not look.
    weight = alpha * heat[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0, None]
    canvas[iy0:iy1, ix0:ix1] = np.clip(region * (1.0 - weight) + patch * weight, 0,
                                       255).astype(np.uint8)


def render_overlay(image: npt.NDArray[np.generic], faces: Sequence[OverlayFace],
                   config: OverlayConfig) -> npt.NDArray[np.uint8]:
    """Draw the overlay of ``faces`` on ``image`` as a BGR (bgr8) image of the same size."""
    canvas = np.asarray(cv2.cvtColor(display_levels(image), cv2.COLOR_GRAY2BGR), np.uint8)
    for face in faces:
        x, y, w, h = face.box_px
        if face.attention is not None and config.heatmap:
            _blend_heatmap(canvas, face.attention, crop_square(face.box_px, config.crop_margin),
                           config.heatmap_alpha)
        if face.label is None:
            colour = (160, 160, 160)
            text = f"{face.person_id}: no estimate"
        else:
            colour = _bgr(confidence_colour(face.confidence, face.abstained))
            text = (f"{face.person_id}: {labels.UNKNOWN} ({face.label}? {face.confidence:.2f})"
                    if face.abstained else
                    f"{face.person_id}: {face.label} {face.confidence:.2f}")
        cv2.rectangle(canvas, (x, y), (x + w, y + h), colour, 2)
        cv2.putText(canvas, text, (x, max(y - 8, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    colour, 1, cv2.LINE_AA)
        _confidence_bar(canvas, face, config.abstain_below, colour)
    return canvas


def _confidence_bar(canvas: npt.NDArray[np.uint8], face: OverlayFace, abstain_below: float,
                    colour: tuple[int, int, int]) -> None:
    """Draw a bar under the box: filled to the confidence, with a tick at the abstain threshold."""
    x, y, w, h = face.box_px
    top = min(y + h + 4, canvas.shape[0] - 7)
    cv2.rectangle(canvas, (x, top), (x + w, top + 6), (90, 90, 90), 1)
    if face.label is not None and math.isfinite(face.confidence):
        fill = int(round(w * min(max(face.confidence, 0.0), 1.0)))
        if fill > 0:
            cv2.rectangle(canvas, (x, top), (x + fill, top + 6), colour, -1)
    tick = x + int(round(w * abstain_below))
    cv2.line(canvas, (tick, top - 2), (tick, top + 8), (255, 255, 255), 1)


class OverlayFeed:
    """The overlay of an in-process run (``affect lab --overlay``), at most rate_hz.

    Fed with what the pipeline produces, in stream order; :meth:`frame` returns the
    drawing of an IR frame when one is due, else None.
    """

    def __init__(self, config: OverlayConfig) -> None:
        self.state = OverlayState(config)
        self._period_ns = int(round(1e9 / config.rate_hz))
        self._next_ns: int | None = None
        self.drawn = 0

    def faces(self, frame: FaceFrame) -> None:
        """Record the tracker's faces of one IR frame."""
        for face in frame.faces:
            self.state.add_box(face.person_id, face.box_px, frame.stamp_ns)

    def window(self, emotion: Emotion, prediction: WindowPrediction) -> None:
        """Record a window's estimate, and its newest sample's attention map if it has one."""
        self.state.add_emotion(emotion)
        self.state.add_prediction(prediction)

    def frame(self, ir: ImageFrame) -> npt.NDArray[np.uint8] | None:
        """Draw the overlay of ``ir`` when one is due (every 1 / rate_hz of stream time)."""
        if self._next_ns is not None and ir.stamp_ns < self._next_ns:
            return None
        self._next_ns = ir.stamp_ns + self._period_ns
        self.drawn += 1
        return render_overlay(ir.data, self.state.faces(ir.stamp_ns), self.state.config)
