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

"""Adapting an ONNX classifier made elsewhere to the emotion_vit contract, from metadata.

A classifier trained outside this project differs from the shipped model in three ways
that its ``affect.*`` metadata (affect_core.model.metadata) describes, so any such model
runs without code changes:

- its labels: ``affect.label_map`` sends each model label to an Emotion vocabulary label;
  the probabilities of model labels sharing a vocabulary label add up, and the output
  lists only the vocabulary labels the model can produce, in vocabulary order. Labels it
  cannot produce are left out rather than given probability zero: a model that has no
  notion of contempt has no evidence against it either.
- its input: size, pixel scaling (``affect.normalization``), layout and channel count.
- its output: logits or probabilities, under any output name.

A model file that cannot be edited gets its metadata from ``<model>.json`` beside it: a
JSON object whose ``metadata_props`` holds the same ``affect.*`` keys and string values.
Keys the ONNX file carries itself take precedence.

Valence and arousal stay NaN unless the model has a valence/arousal head: the vocabulary
has no agreed mapping from a category to a point in valence/arousal, and inventing one
would give numbers with no measurement behind them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from affect_core import labels as vocab
from affect_core.errors import ModelError
from affect_core.model.metadata import ModelMetadata

_TINY = 1e-12  # floor for probabilities turned into log-probabilities


def metadata_props(model_path: Path, embedded: Mapping[str, str]) -> dict[str, str]:
    """Read the model's ``affect.*`` metadata: its own, completed from ``<model>.json``."""
    sidecar = model_path.with_suffix(".json")
    if not sidecar.is_file():
        return dict(embedded)
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"cannot read the metadata file {sidecar}: {err}") from err
    props = record.get("metadata_props", {}) if isinstance(record, dict) else {}
    if not (isinstance(props, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in props.items())):
        raise ModelError(f"{sidecar}: metadata_props must be an object of strings, e.g. "
                         '{"affect.labels": "[\\"happy\\", \\"sad\\"]", '
                         '"affect.input_size": "64"}')
    return {**props, **embedded}


class LabelAdapter:
    """Sends a model's class probabilities onto the Emotion vocabulary labels."""

    def __init__(self, metadata: ModelMetadata, source: str) -> None:
        model_labels = metadata.labels
        mapping = dict(metadata.label_map) or {name: name for name in model_labels}
        unmapped = [name for name in model_labels if name not in mapping]
        if unmapped:
            raise ModelError(f"model {source}: labels {unmapped} have no entry in "
                             "affect.label_map; map every model label to one of "
                             f"{', '.join(vocab.EXPRESSIONS)}")
        stray = [name for name in mapping if name not in model_labels]
        if stray:
            raise ModelError(f"model {source}: affect.label_map names {stray}, which are not "
                             f"among the model's labels {list(model_labels)}")
        unknown = sorted({target for target in mapping.values()
                          if target not in vocab.EXPRESSIONS})
        if unknown:
            hint = ("add affect.label_map to map them" if not metadata.label_map
                    else "fix affect.label_map")
            raise ModelError(f"model {source}: labels {unknown} are not in the Emotion "
                             f"vocabulary ({', '.join(vocab.EXPRESSIONS)}); {hint}")
        targets = [mapping[name] for name in model_labels]
        if metadata.label_map:
            self.labels = tuple(name for name in vocab.EXPRESSIONS if name in targets)
        else:
            if len(set(targets)) != len(targets):
                raise ModelError(f"model {source}: affect.labels repeats a label")
            self.labels = tuple(targets)  # the model's own order, as trained
        self.matrix = np.zeros((len(model_labels), len(self.labels)), np.float64)
        for row, target in enumerate(targets):
            self.matrix[row, self.labels.index(target)] = 1.0
        self.identity = self.labels == model_labels

    def apply(self, probabilities: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """(K, model classes) probabilities to (K, len(labels)) vocabulary probabilities."""
        return probabilities if self.identity else probabilities @ self.matrix


def check_input_shape(shape: Sequence[object], metadata: ModelMetadata, source: str) -> None:
    """Raise ModelError unless the model's input fits the metadata's size, layout, channels.

    Dimensions the ONNX file leaves symbolic are accepted: they are set by the batch.
    """
    if len(shape) != 4:
        raise ModelError(f"model {source} must take one 4-D image input, not shape {shape}")
    size, channels = metadata.input_size_px, metadata.input_channels
    wanted = ((channels, size, size) if metadata.input_layout == "nchw"
              else (size, size, channels))
    if any(isinstance(dim, int) and dim != want for dim, want in zip(shape[1:], wanted)):
        raise ModelError(f"model {source} input shape {list(shape)} does not match its "
                         f"metadata: {metadata.input_layout} with input size {size} and "
                         f"{channels} channel(s)")


def scale_crops(crops: Sequence[npt.NDArray[np.generic]], size_px: int,
                normalization: str) -> npt.NDArray[np.float32]:
    """Crops to a (K, 1, S, S) float32 batch in [-1, 1] (``per_crop_range``, ``unit_range``).

    ``per_crop_range`` stretches each crop from its darkest to its brightest pixel, which
    like per-crop standardisation removes IR exposure and illuminator power while giving
    the value range a model trained on 8-bit photographs expects. ``unit_range`` uses
    the pixel type's full scale, exactly as such a model's own preprocessing does.
    """
    batch = np.empty((len(crops), 1, size_px, size_px), np.float32)
    for i, crop in enumerate(crops):
        if normalization == "unit_range":
            full_scale = (float(np.iinfo(crop.dtype).max)
                          if np.issubdtype(crop.dtype, np.integer) else 1.0)
            lo, span = 0.0, full_scale
        elif normalization == "per_crop_range":
            lo, hi = float(crop.min()), float(crop.max())
            span = hi - lo if hi > lo else 1.0
        else:
            raise ModelError(f"scale_crops does not handle normalization {normalization!r}")
        image = crop.astype(np.float32)
        if image.shape != (size_px, size_px):
            image = cv2.resize(image, (size_px, size_px), interpolation=cv2.INTER_AREA)
        batch[i, 0] = (image - lo) * np.float32(2.0 / span) - 1.0
    return batch


def to_model_layout(batch: npt.NDArray[np.float32],
                    metadata: ModelMetadata) -> npt.NDArray[np.float32]:
    """(K, 1, S, S) to the model's channel count and layout."""
    if metadata.input_channels != 1:
        batch = np.repeat(batch, metadata.input_channels, axis=1)
    if metadata.input_layout == "nhwc":
        batch = np.ascontiguousarray(batch.transpose(0, 2, 3, 1))
    return batch


def as_logits(scores: npt.NDArray[np.floating],
              metadata: ModelMetadata) -> npt.NDArray[np.floating]:
    """Class scores as logits: a softmax-ended model's probabilities become log-probabilities.

    softmax(log p / T) is p itself at T = 1, so the runtime's temperature still applies.
    """
    if metadata.output_kind == "probabilities":
        return np.log(np.maximum(scores.astype(np.float64), _TINY))
    return scores
