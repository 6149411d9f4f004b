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


"""Choosing a face detector by name, so configuration files and the CLI can pick one.

``auto`` (the default) is ``blazeface_whole`` on the simulated rig and ``blazeface`` on
every other source (:func:`resolve_detector`). ``blob`` is the weight-free bright-blob
detector (affect_core.face.detect), made for the rig's former line drawings; it does not
find the rig's shaded heads.
``blazeface`` is MediaPipe's full-range BlazeFace (affect_core.face.blazeface), pretrained
on photographs, run on the whole frame and on 2x2 overlapping tiles: the model finds
faces only above about a tenth of its input side (about 60 px in a 640x480 frame), and
the tiles bring faces down to about 40 px within reach, at five model runs per pass
(the face_tracker runs one tile per pass by default, taking turns: ``tiles_per_pass``).
``blazeface_whole`` runs it once on the whole frame (a fifth of the cost, for near
faces); ``blazeface_short`` is the short-range model, for faces that fill much of the
frame. OpenCV's Haar cascades are not offered: OpenCV 5 dropped CascadeClassifier and
ships no cascades. ``affect eval detectors`` prints the figures behind these choices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from affect_core.errors import ConfigError
from affect_core.face.detect import BlobFaceDetector, Detection

DETECTOR_CHOICES = ("auto", "blob", "blazeface", "blazeface_whole", "blazeface_short")
AUTO = "auto"
SIM_DETECTOR = "blazeface_whole"  # the rig's faces are near and real-looking: no tiles
REAL_DETECTOR = "blazeface"  # every other source: pretrained on real faces, rejects non-faces


def resolve_detector(name: str, simulated: bool) -> str:
    """Resolve ``auto``: blazeface_whole on the simulated rig, blazeface elsewhere.

    The blob detector finds bright blobs, so on real footage it boxes lamps, windows and
    shirts (75 of scikit-image's 100 non-face photographs) and splits one face into two;
    BlazeFace was trained on real faces.
    """
    if name != AUTO:
        return name
    return SIM_DETECTOR if simulated else REAL_DETECTOR


def follow_detector_for(detector: str, follow: str) -> str:
    """Resolve the follow detector's ``auto``: blazeface_short after a BlazeFace detector.

    A tracked face fills about half of the window it is followed in, where the short-range
    model (one 128 px pass) finds it as well as the full-range one, in 0.4 times the time
    (rig, 2x windows: hit rate 1.00 for both, median IoU with the true box 0.78 against
    0.78); any other detector follows with itself.
    """
    if follow != AUTO:
        return follow
    return "blazeface_short" if detector.startswith("blazeface") else detector


class FaceDetector(Protocol):
    """Anything that finds face boxes in a mono8/mono16 frame."""

    def detect(self, image: npt.NDArray[np.generic], every_tile: bool = False,
               faces_px: Sequence[tuple[int, int, int, int]] = ()) -> list[Detection]:
        """Face boxes, best first.

        For a tiled detector: ``every_tile`` runs all its tiles at once; ``faces_px``
        (x, y, w, h), the faces followed, whose tiles it looks at beside those in turn.
        """
        ...


def make_detector(name: str, min_face_px: int = 24, max_faces: int = 4,
                  tiles_per_pass: int = 0) -> FaceDetector:
    """Make the detector called ``name`` (DETECTOR_CHOICES; ``auto`` is a real source).

    ``tiles_per_pass``: how many of the tiled detector's tiles each pass runs, taking turns
    (0: all of them); detectors without tiles ignore it.
    """
    name = resolve_detector(name, simulated=False)
    if name == "blob":
        return BlobFaceDetector(min_face_px, max_faces)
    if name in ("blazeface", "blazeface_whole", "blazeface_short"):
        from affect_core.face.blazeface import BlazeFaceDetector

        variant = "short" if name == "blazeface_short" else "full"
        tiles = 2 if name == "blazeface" else 1
        return BlazeFaceDetector(variant, min_face_px=min_face_px, max_faces=max_faces,
                                 tiles=tiles, tiles_per_pass=tiles_per_pass if tiles > 1 else 0)
    raise ConfigError(f"unknown face detector {name!r}; use one of "
                      f"{', '.join(DETECTOR_CHOICES)}")
