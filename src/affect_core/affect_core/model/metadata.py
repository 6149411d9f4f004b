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

- ``affect.labels``: JSON list of label names, in output order (required); names of the
  Emotion vocabulary (affect_core.labels), unless ``affect.label_map`` maps them onto it
- ``affect.input_size``: side of the square input in pixels (required)
- ``affect.normalization``: ``per_crop_standardize`` (each crop to zero mean, unit std;
  the default), ``per_crop_range`` (each crop's darkest to brightest pixel onto [-1, 1])
  or ``unit_range`` (the pixel type's full scale onto [-1, 1]: 255 for 8-bit, 65535 for
  16-bit crops, floats taken as [0, 1])
- ``affect.temperature``: calibration temperature T, probabilities = softmax(logits / T)
- ``affect.model_id``: name@version+hash (``affect.version`` and ``affect.hash`` repeat
  the two parts on their own)
- ``affect.training_data``: plain description of what the model was trained on
- ``affect.has_valence_arousal``: ``true`` when a second output gives valence/arousal
- ``affect.has_rollout``: ``true`` when an ``attention_rollout`` output gives each crop's
  attention-rollout heatmap (K, gh, gw), the model's explanation of where it looked
- ``affect.domain_threshold``: present when a ``domain_distance`` output (K,) gives each
  crop's distance from the model's training data (affect_core.training.domain); crops
  beyond this distance are out of the model's domain

Optional keys that let a classifier made elsewhere run unchanged (see
affect_core.model.adapters, which also reads these keys from ``<model>.json`` beside a
file that lacks them):

- ``affect.label_map``: JSON object from each model label to a vocabulary label; several
  model labels may map to one (their probabilities add up)
- ``affect.input_layout``: ``nchw`` (default) or ``nhwc``
- ``affect.input_channels``: ``1`` (default) or ``3`` (the grey crop repeated)
- ``affect.output``: name of the class-score output (default ``logits``)
- ``affect.output_kind``: ``logits`` (default) or ``probabilities`` (a model that ends in
  a softmax; log-probabilities are used as logits, so temperature still applies)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from affect_core.errors import ModelError

NORMALIZATIONS = ("per_crop_standardize", "per_crop_range", "unit_range")
LAYOUTS = ("nchw", "nhwc")
CHANNELS = (1, 3)
OUTPUT_KINDS = ("logits", "probabilities")
# Largest square input a model may declare: beyond it one crop batch would take gigabytes.
MAX_INPUT_SIZE_PX = 4096


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
    label_map: Mapping[str, str] = field(default_factory=dict)
    input_layout: str = "nchw"
    input_channels: int = 1
    output_name: str = "logits"
    output_kind: str = "logits"
    has_rollout: bool = False
    domain_threshold: float = 0.0  # 0: the model has no domain_distance output

    @property
    def version(self) -> str:
        """Extract the version part of a ``name@version+hash`` model id ("" when it has none)."""
        after = self.model_id.partition("@")[2]
        return after.partition("+")[0]

    @property
    def graph_hash(self) -> str:
        """Extract the hash part of a ``name@version+hash`` model id ("" when it has none)."""
        return self.model_id.partition("@")[2].partition("+")[2]

    def to_props(self) -> dict[str, str]:
        """Encode the metadata as ONNX ``metadata_props`` strings (optional keys only when set)."""
        props = {
            "affect.labels": json.dumps(list(self.labels)),
            "affect.input_size": str(self.input_size_px),
            "affect.normalization": self.normalization,
            "affect.temperature": repr(self.temperature),
            "affect.model_id": self.model_id,
            "affect.training_data": self.training_data,
            "affect.has_valence_arousal": "true" if self.has_valence_arousal else "false",
            "affect.has_rollout": "true" if self.has_rollout else "false",
        }
        # Version and hash also stand alone, for tools that read one key, not the id.
        if self.version:
            props["affect.version"] = self.version
        if self.graph_hash:
            props["affect.hash"] = self.graph_hash
        if self.domain_threshold > 0.0:
            props["affect.domain_threshold"] = repr(self.domain_threshold)
        if self.label_map:
            props["affect.label_map"] = json.dumps(dict(self.label_map))
        optional = {"affect.input_layout": (self.input_layout, "nchw"),
                    "affect.input_channels": (str(self.input_channels), "1"),
                    "affect.output": (self.output_name, "logits"),
                    "affect.output_kind": (self.output_kind, "logits")}
        props.update({key: value for key, (value, default) in optional.items()
                      if value != default})
        return props

    @classmethod
    def from_props(cls, props: Mapping[str, str], source: str) -> ModelMetadata:
        """Parse ``metadata_props``; ``source`` names the file in error messages."""
        try:
            labels = json.loads(props["affect.labels"])
            size = int(props["affect.input_size"])
        except KeyError as err:
            raise ModelError(
                f"model {source} lacks metadata {err.args[0]!r}; export it with `affect train` "
                "or add the affect.* metadata to it or to a .json beside it "
                "(see affect_core.model.metadata and affect_core.model.adapters)"
            ) from err
        except (ValueError, json.JSONDecodeError) as err:
            raise ModelError(f"model {source} has malformed affect metadata: {err}") from err
        if not (isinstance(labels, list) and labels
                and all(isinstance(x, str) for x in labels)):
            raise ModelError(f"model {source}: affect.labels must be a non-empty list of names")
        if not 1 <= size <= MAX_INPUT_SIZE_PX:
            raise ModelError(f"model {source}: affect.input_size must be 1 to "
                             f"{MAX_INPUT_SIZE_PX} pixels, got {size}")
        normalization = props.get("affect.normalization", "per_crop_standardize")
        if normalization not in NORMALIZATIONS:
            raise ModelError(f"model {source}: unknown normalization {normalization!r}; "
                             f"known: {', '.join(NORMALIZATIONS)}")
        temperature = _number(props, "affect.temperature", "1.0", source)
        if not 0.0 < temperature < math.inf:
            raise ModelError(f"model {source}: affect.temperature must be a finite positive "
                             f"number, got {temperature}")
        domain_threshold = _number(props, "affect.domain_threshold", "0", source)
        if not 0.0 <= domain_threshold < math.inf:
            raise ModelError(f"model {source}: affect.domain_threshold must be a finite "
                             f"non-negative number, got {domain_threshold}")
        label_map = _parse_label_map(props.get("affect.label_map"), source)
        layout = _choice(props, "affect.input_layout", "nchw", LAYOUTS, source)
        channels = _choice(props, "affect.input_channels", "1", tuple(map(str, CHANNELS)),
                           source)
        output_kind = _choice(props, "affect.output_kind", "logits", OUTPUT_KINDS, source)
        return cls(
            labels=tuple(labels),
            input_size_px=size,
            normalization=normalization,
            temperature=temperature,
            model_id=props.get("affect.model_id", source),
            training_data=props.get("affect.training_data", "not stated"),
            has_valence_arousal=props.get("affect.has_valence_arousal", "false") == "true",
            label_map=label_map,
            input_layout=layout,
            input_channels=int(channels),
            output_name=props.get("affect.output", "logits"),
            output_kind=output_kind,
            has_rollout=props.get("affect.has_rollout", "false") == "true",
            domain_threshold=domain_threshold,
        )


def _number(props: Mapping[str, str], key: str, default: str, source: str) -> float:
    """Read a numeric property, or say which one is not a number."""
    try:
        return float(props.get(key, default))
    except ValueError as err:
        raise ModelError(f"model {source}: {key} is not a number") from err


def _choice(props: Mapping[str, str], key: str, default: str, known: tuple[str, ...],
            source: str) -> str:
    value = props.get(key, default)
    if value not in known:
        raise ModelError(f"model {source}: unknown {key} {value!r}; known: {', '.join(known)}")
    return value


def _parse_label_map(text: str | None, source: str) -> dict[str, str]:
    """``affect.label_map`` as a dict; whether it covers the labels is the adapter's check."""
    if text is None:
        return {}
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as err:
        raise ModelError(f"model {source}: affect.label_map is not JSON: {err}") from err
    if not (isinstance(mapping, dict) and mapping
            and all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())):
        raise ModelError(f"model {source}: affect.label_map must be a non-empty JSON object "
                         "from model label to vocabulary label")
    return mapping
