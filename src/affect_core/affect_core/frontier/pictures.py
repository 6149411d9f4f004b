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


"""Pictures a labeller reads: a contact sheet per chosen node and the map itself.

The map picture draws one square per node: its hue is the label the model predicts most
often there, its brightness how sure the model is (dark: uncertain), a white frame marks
the nodes in the queue and the number is the node's crop count. Drawn with OpenCV so the
runtime needs nothing more.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.frontier.som import FittedMap

THUMB_PX = 64
CELL_PX = 48
LEGEND_PX = 190


def contact_sheet(crops: list[npt.NDArray[np.generic]], columns: int = 6,
                  thumb_px: int = THUMB_PX) -> npt.NDArray[np.uint8]:
    """Tile crops (any bit depth, each stretched to its own range) into one grey sheet."""
    rows = max(1, -(-len(crops) // columns))
    sheet = np.full((rows * (thumb_px + 2), columns * (thumb_px + 2)), 32, np.uint8)
    for i, crop in enumerate(crops):
        image = crop.astype(np.float32)
        lo, hi = float(image.min()), float(image.max())
        image = (image - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(image)
        thumb = cv2.resize(image, (thumb_px, thumb_px), interpolation=cv2.INTER_AREA)
        r, c = divmod(i, columns)
        sheet[r * (thumb_px + 2) + 1:r * (thumb_px + 2) + 1 + thumb_px,
              c * (thumb_px + 2) + 1:c * (thumb_px + 2) + 1 + thumb_px] = thumb.astype(np.uint8)
    return sheet


def label_colours(count: int) -> list[tuple[int, int, int]]:
    """One distinct BGR colour per label (evenly spaced hues)."""
    out = []
    for i in range(count):
        hsv = np.uint8([[[int(180 * i / max(count, 1)), 200, 255]]])
        out.append(tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]))
    return out


def map_picture(fitted: FittedMap, probabilities: npt.NDArray[np.float64] | None,
                uncertainty: npt.NDArray[np.float64], label_names: tuple[str, ...],
                queued_nodes: set[int]) -> npt.NDArray[np.uint8]:
    """Draw the map coloured by predicted label and uncertainty (BGR image)."""
    side, mass = fitted.side, fitted.mass()
    colours = label_colours(len(label_names))
    image = np.full((side * CELL_PX + 40, side * CELL_PX + LEGEND_PX, 3), 255, np.uint8)
    for j in range(side * side):
        r, c = divmod(j, side)
        y0, x0 = 30 + r * CELL_PX, c * CELL_PX
        if mass[j] == 0:
            colour = (235, 235, 235)
        else:
            members = fitted.node == j
            if probabilities is None:
                colour = (160, 160, 160)
            else:
                top = int(np.bincount(probabilities[members].argmax(axis=1),
                                      minlength=len(label_names)).argmax())
                colour = colours[top]
            sure = 1.0 - float(uncertainty[members].mean())
            colour = tuple(int(v * (0.25 + 0.75 * sure)) for v in colour)
        cv2.rectangle(image, (x0 + 1, y0 + 1), (x0 + CELL_PX - 2, y0 + CELL_PX - 2), colour, -1)
        if j in queued_nodes:
            cv2.rectangle(image, (x0 + 1, y0 + 1), (x0 + CELL_PX - 2, y0 + CELL_PX - 2),
                          (0, 0, 0), 3)
        if mass[j]:
            cv2.putText(image, str(int(mass[j])), (x0 + 4, y0 + CELL_PX // 2 + 4),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(image, "SOM: hue = predicted label, dark = uncertain, frame = queued",
                (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    x_legend = side * CELL_PX + 10
    for i, name in enumerate(label_names if probabilities is not None else ()):
        y = 40 + i * 20
        cv2.rectangle(image, (x_legend, y), (x_legend + 14, y + 14), colours[i], -1)
        cv2.putText(image, name, (x_legend + 20, y + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return image


def write_png(path: Path, image: npt.NDArray[np.uint8]) -> None:
    """Write a PNG through a temporary name and a rename, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"OpenCV could not encode {path}")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.tobytes())
    tmp.replace(path)
