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

"""The model's domain: how far a crop's features lie from those of its training data.

A classifier's softmax is confident on inputs it has never seen the like of (a wall, a
hand, a saturated crop), so confidence alone cannot say "this is not a face I know".
Following Lee et al. (2018), the pre-logit features of the training crops are modelled
as one Gaussian per class with a shared covariance (shrunk toward a multiple of the
identity, so a 96-dimensional estimate from a few thousand crops stays well
conditioned); a crop's distance is the smallest Mahalanobis distance to a class mean.

The threshold is a quantile (``DOMAIN_QUANTILE``) of the distances of held-out
in-domain crops (the validation photographs): by construction about 1 - quantile of
such crops fall beyond it, and the rate on the test split is reported by ``affect eval
faces``. :class:`DomainDistance` computes the same distance inside the exported ONNX
graph, so a node needs nothing but the model file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from affect_core.errors import TrainingError

SHRINKAGE = 0.1
DOMAIN_QUANTILE = 0.98
MIN_CLASS_SAMPLES = 10


@dataclass(frozen=True)
class DomainModel:
    """Class means (C, D) and the shared precision matrix (D, D) of the features."""

    means: npt.NDArray[np.float64]
    precision: npt.NDArray[np.float64]

    def distance(self, features: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Measure the smallest Mahalanobis distance of each feature row to a class mean."""
        diff = features.astype(np.float64)[:, None, :] - self.means[None]
        squared = np.einsum("ncd,de,nce->nc", diff, self.precision, diff)
        return np.asarray(np.sqrt(np.maximum(squared.min(axis=1), 0.0)), np.float64)


def fit_domain(features: npt.NDArray[np.floating], label_index: npt.NDArray[np.int64],
               shrinkage: float = SHRINKAGE) -> DomainModel:
    """Fit class-conditional Gaussians with a shared, shrunk covariance."""
    x = features.astype(np.float64)
    classes = [c for c in np.unique(label_index)
               if int((label_index == c).sum()) >= MIN_CLASS_SAMPLES]
    if not classes:
        raise TrainingError(f"a domain model needs a class with {MIN_CLASS_SAMPLES} samples")
    means = np.stack([x[label_index == c].mean(axis=0) for c in classes])
    centred = np.concatenate([x[label_index == c] - m for c, m in zip(classes, means)])
    covariance = centred.T @ centred / max(len(centred) - 1, 1)
    scale = float(np.trace(covariance)) / covariance.shape[0]
    shrunk = (1.0 - shrinkage) * covariance + shrinkage * scale * np.eye(covariance.shape[0])
    return DomainModel(means, np.linalg.inv(shrunk))


def threshold(model: DomainModel, features: npt.NDArray[np.floating],
              quantile: float = DOMAIN_QUANTILE) -> float:
    """Find the distance that ``quantile`` of these in-domain features stay within."""
    return float(np.quantile(model.distance(features), quantile))


class DomainDistance(nn.Module):
    """The domain model as a torch module, exported with the network (K, D) -> (K,)."""

    def __init__(self, model: DomainModel) -> None:
        super().__init__()
        self.register_buffer("means", torch.tensor(model.means, dtype=torch.float32))
        self.register_buffer("precision", torch.tensor(model.precision, dtype=torch.float32))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        diff = features[:, None, :] - self.means[None]  # (K, C, D)
        squared = ((diff @ self.precision) * diff).sum(dim=-1)  # (K, C)
        return squared.min(dim=1).values.clamp_min(0.0).sqrt()
