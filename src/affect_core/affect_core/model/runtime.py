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

"""Running an emotion model with ONNX Runtime on the best available execution provider."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.errors import ModelError
from affect_core.model import adapters
from affect_core.model.metadata import ModelMetadata

PROVIDER_PREFERENCE = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)
PROVIDER_CHOICES = ("auto", "tensorrt", "cuda", "cpu")
_PROVIDER_BY_CHOICE = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
# Trained on real photographs (models/MODEL_CARD.md); affect_vit_micro_rig is the rig-only one.
DEFAULT_MODEL = MODELS_DIR / "affect_vit_micro_faces.onnx"
RIG_MODEL = MODELS_DIR / "affect_vit_micro_rig.onnx"


def shipped_models() -> list[Path]:
    """List every emotion model shipped in models/, the default first."""
    others = sorted(p for p in MODELS_DIR.glob("*.onnx") if p != DEFAULT_MODEL)
    return [DEFAULT_MODEL, *others]


def choose_providers(choice: str, available: Sequence[str]) -> list[str]:
    """Choose the execution providers for ``choice`` given what ONNX Runtime offers."""
    if choice == "auto":
        return [p for p in PROVIDER_PREFERENCE if p in available]
    if choice not in _PROVIDER_BY_CHOICE:
        raise ModelError(f"unknown execution provider {choice!r}; use one of "
                         f"{', '.join(PROVIDER_CHOICES)}")
    wanted = _PROVIDER_BY_CHOICE[choice]
    if wanted not in available:
        raise ModelError(f"execution provider {wanted} is not available in this ONNX Runtime "
                         f"(available: {', '.join(available)}); use 'auto' or 'cpu'")
    return [wanted, "CPUExecutionProvider"] if wanted != "CPUExecutionProvider" else [wanted]


def preprocess(crops: Sequence[npt.NDArray[np.generic]], size_px: int) -> npt.NDArray[np.float32]:
    """Stack crops into a (K, 1, size, size) float32 batch, each standardised on its own.

    Per-crop standardisation removes exposure and illuminator power, which vary between
    rigs and over time, so the model sees expression, not brightness.
    """
    batch = np.empty((len(crops), 1, size_px, size_px), np.float32)
    for i, crop in enumerate(crops):
        image = crop.astype(np.float32)
        if image.shape != (size_px, size_px):
            image = cv2.resize(image, (size_px, size_px), interpolation=cv2.INTER_AREA)
        std = float(image.std())
        batch[i, 0] = (image - float(image.mean())) / (std if std > 1e-6 else 1.0)
    return batch


def softmax(logits: npt.NDArray[np.floating], temperature: float) -> npt.NDArray[np.float64]:
    """Row-wise softmax of logits / temperature, numerically stable."""
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


class EmotionModel:
    """An ONNX emotion classifier with its affect metadata.

    Inputs: ``crops`` (K, 1, S, S) float32. Outputs: ``logits`` (K, C) and, when the
    metadata says so, ``valence_arousal`` (K, 2) in [-1, 1] and ``attention_rollout``
    (K, gh, gw), the attention-rollout heatmap of each crop. A model made elsewhere
    declares its own input, output and label map in its metadata (model.adapters).
    """

    def __init__(self, path: str | Path | None = None, provider: str = "auto",
                 intra_op_threads: int = 1) -> None:
        import onnxruntime as ort

        self.path = Path(path) if path else DEFAULT_MODEL
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}; set the emotion_vit "
                             "model_path parameter, or create the default with `affect train`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        providers = choose_providers(provider, ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise ModelError(f"cannot load model {self.path}: {err}") from err
        try:
            embedded = self.session.get_modelmeta().custom_metadata_map
        except UnicodeDecodeError as err:  # ONNX strings are UTF-8; a damaged file's are not
            raise ModelError(f"model {self.path} has metadata that is not UTF-8 text "
                             f"(byte {err.start}): the file is damaged") from err
        props = adapters.metadata_props(self.path, embedded)
        self.metadata = ModelMetadata.from_props(props, str(self.path))
        self.provider = self.session.get_providers()[0]
        self._check_signature()
        self._labels = adapters.LabelAdapter(self.metadata, str(self.path))

    def _check_signature(self) -> None:
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelError(f"model {self.path} must take one input of shape (K, 1, S, S)")
        adapters.check_input_shape(inputs[0].shape, self.metadata, str(self.path))
        self._input_name = inputs[0].name
        shapes = {o.name: o.shape for o in self.session.get_outputs()}
        outputs = list(shapes)
        scores = self.metadata.output_name
        if scores not in outputs:
            raise ModelError(f"model {self.path} has no {scores!r} output (outputs: {outputs})")
        classes = shapes[scores][-1] if shapes[scores] else None
        if isinstance(classes, int) and classes != len(self.metadata.labels):
            raise ModelError(f"model {self.path} has {classes} class scores but its metadata "
                             f"names {len(self.metadata.labels)} labels; re-export it with its "
                             "own label list")
        if self.metadata.has_valence_arousal and "valence_arousal" not in outputs:
            raise ModelError(f"model {self.path} declares valence/arousal but has no "
                             "'valence_arousal' output")
        if self.metadata.has_rollout and "attention_rollout" not in outputs:
            raise ModelError(f"model {self.path} declares attention rollout but has no "
                             "'attention_rollout' output")
        if self.metadata.domain_threshold > 0.0 and "domain_distance" not in outputs:
            raise ModelError(f"model {self.path} declares affect.domain_threshold but has no "
                             "'domain_distance' output")
        self._outputs = [scores] + (["valence_arousal"] if self.metadata.has_valence_arousal
                                    else [])
        if self.metadata.domain_threshold > 0.0:
            self._outputs.append("domain_distance")

    @property
    def labels(self) -> tuple[str, ...]:
        """Emotion vocabulary labels of the probabilities, in order."""
        return self._labels.labels

    def predict(self, crops: Sequence[npt.NDArray[np.generic]]) -> tuple[
            npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Calibrated probabilities (K, C), valence (K,) and arousal (K,) for K crops."""
        probabilities, valence, arousal, _, _ = self.predict_explained(crops, attention=False)
        return probabilities, valence, arousal

    def predict_explained(self, crops: Sequence[npt.NDArray[np.generic]],
                          attention: bool = True) -> tuple[
            npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64],
            npt.NDArray[np.float32] | None, npt.NDArray[np.float64] | None]:
        """:meth:`predict` plus attention maps and domain distances from the same run.

        The maps (K, gh, gw) are None when ``attention`` is off or the model carries no
        rollout; one session run serves both, so explaining costs only the rollout's own
        arithmetic. Domain distances (K,) are in units of the model's threshold (above 1:
        out of its domain), None when the model has no domain model.
        """
        with_maps = attention and self.metadata.has_rollout
        has_domain = self.metadata.domain_threshold > 0.0
        if not crops:
            empty = np.zeros((0,), np.float64)
            return (np.zeros((0, len(self.labels)), np.float64), empty, empty.copy(),
                    np.zeros((0, 0, 0), np.float32) if with_maps else None,
                    empty.copy() if has_domain else None)
        meta = self.metadata
        if meta.normalization == "per_crop_standardize":
            batch = preprocess(crops, meta.input_size_px)
        else:
            batch = adapters.scale_crops(crops, meta.input_size_px, meta.normalization)
        batch = adapters.to_model_layout(batch, meta)
        names = self._outputs + (["attention_rollout"] if with_maps else [])
        outputs = self.session.run(names, {self._input_name: batch})
        logits = adapters.as_logits(outputs[0], meta)
        if logits.shape != (len(crops), len(meta.labels)):
            raise ModelError(f"model {self.path} returned logits of shape {logits.shape}, "
                             f"expected {(len(crops), len(meta.labels))}")
        probabilities = self._labels.apply(softmax(logits, meta.temperature))
        maps = outputs[-1].astype(np.float32) if with_maps else None
        if maps is not None and (maps.ndim != 3 or len(maps) != len(crops)):
            raise ModelError(f"model {self.path} returned attention maps of shape "
                             f"{maps.shape}, expected ({len(crops)}, gh, gw)")
        domain = None
        if has_domain:
            distance = outputs[len(self._outputs) - 1].astype(np.float64).reshape(-1)
            domain = np.where(np.isfinite(distance), distance, np.inf) \
                / self.metadata.domain_threshold
        if self.metadata.has_valence_arousal:
            va = np.clip(outputs[1].astype(np.float64), -1.0, 1.0)
            return probabilities, va[:, 0], va[:, 1], maps, domain
        nan = np.full(len(crops), np.nan)
        return probabilities, nan, nan.copy(), maps, domain

    def explain(self, crops: Sequence[npt.NDArray[np.generic]]) -> npt.NDArray[np.float32]:
        """Attention-rollout heatmaps (K, gh, gw), each scaled to a maximum of 1."""
        if not self.metadata.has_rollout:
            raise ModelError(f"model {self.path} carries no attention rollout; re-export it "
                             "with `affect export`")
        batch = preprocess(crops, self.metadata.input_size_px)
        (maps,) = self.session.run(["attention_rollout"], {self._input_name: batch})
        return maps
