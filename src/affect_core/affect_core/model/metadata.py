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

"""Metadata an affect ONNX model carries, so a node needs nothing else to run it.

Keys live in the ONNX file's ``metadata_props`` under the ``affect.`` prefix:

- ``affect.labels``: JSON list of label names, in output order (required)
- ``affect.input_size``: side of the square input in pixels (required)
- ``affect.normalization``: ``per_crop_standardize`` (each crop to zero mean, unit std)
- ``affect.temperature``: calibration temperature T, probabilities = softmax(logits / T)
- ``affect.model_id``: name@version+hash
- ``affect.training_data``: plain description of what the model was trained on
- ``affect.has_valence_arousal``: ``true`` when a second output gives valence/arousal
- ``affect.has_rollout``: ``true`` when an ``attention_rollout`` output gives each crop's
  attention-rollout heatmap (K, gh, gw), the model's explanation of where it looked
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from affect_core.errors import ModelError

NORMALIZATIONS = ("per_crop_standardize",)


@dataclass(frozen=True)
class ModelMetadata:
    """The parsed ``affect.*`` metadata of a model."""

    labels: tuple[str, ...]
    input_size_px: int
    normalization: str
    temperature: float
    model_id: str
    training_data: str
    has_valence_arousal: bool
    has_rollout: bool = False

    def to_props(self) -> dict[str, str]:
        """The metadata as ONNX ``metadata_props`` strings."""
        return {
            "affect.labels": json.dumps(list(self.labels)),
            "affect.input_size": str(self.input_size_px),
            "affect.normalization": self.normalization,
            "affect.temperature": repr(self.temperature),
            "affect.model_id": self.model_id,
            "affect.training_data": self.training_data,
            "affect.has_valence_arousal": "true" if self.has_valence_arousal else "false",
            "affect.has_rollout": "true" if self.has_rollout else "false",
        }

    @classmethod
    def from_props(cls, props: Mapping[str, str], source: str) -> ModelMetadata:
        """Parse ``metadata_props``; ``source`` names the file in error messages."""
        try:
            labels = json.loads(props["affect.labels"])
            size = int(props["affect.input_size"])
        except KeyError as err:
            raise ModelError(
                f"model {source} lacks metadata {err.args[0]!r}; export it with `affect train` "
                "or add the affect.* metadata (see affect_core.model.metadata)"
            ) from err
        except (ValueError, json.JSONDecodeError) as err:
            raise ModelError(f"model {source} has malformed affect metadata: {err}") from err
        if not (isinstance(labels, list) and labels
                and all(isinstance(x, str) for x in labels)):
            raise ModelError(f"model {source}: affect.labels must be a non-empty list of names")
        normalization = props.get("affect.normalization", "per_crop_standardize")
        if normalization not in NORMALIZATIONS:
            raise ModelError(f"model {source}: unknown normalization {normalization!r}; "
                             f"known: {', '.join(NORMALIZATIONS)}")
        try:
            temperature = float(props.get("affect.temperature", "1.0"))
        except ValueError as err:
            raise ModelError(f"model {source}: affect.temperature is not a number") from err
        if not temperature > 0.0:
            raise ModelError(f"model {source}: affect.temperature must be positive")
        return cls(
            labels=tuple(labels),
            input_size_px=size,
            normalization=normalization,
            temperature=temperature,
            model_id=props.get("affect.model_id", source),
            training_data=props.get("affect.training_data", "not stated"),
            has_valence_arousal=props.get("affect.has_valence_arousal", "false") == "true",
            has_rollout=props.get("affect.has_rollout", "false") == "true",
        )
