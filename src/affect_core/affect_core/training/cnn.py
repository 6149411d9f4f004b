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

"""A timm CNN with the emotion ViT's two heads, for comparing architectures fairly.

``AffectCNN`` wraps any timm ResNet (default ``resnet10t``) on 1-channel crops and returns
what AffectViT returns, (logits, valence_arousal) from the same pooled features, so
``affect train``'s recipe (data, loss, optimiser, schedule, early stopping, calibration)
trains it unchanged: an architecture comparison then differs in the architecture only.
It has no attention, so it is not exported with a rollout output; it is scored in PyTorch.
"""

from __future__ import annotations

import timm
import torch
from torch import nn

CNN_ARCHS = ("resnet10t", "resnet18", "resnet50")


class AffectCNN(nn.Module):
    """timm ResNet backbone + category head + valence/arousal head."""

    def __init__(self, num_classes: int, arch: str = "resnet10t") -> None:
        super().__init__()
        if arch not in CNN_ARCHS:
            raise ValueError(f"arch must be one of {CNN_ARCHS}, got {arch!r}")
        self.config = {"num_classes": num_classes, "arch": arch}
        self.backbone = timm.create_model(arch, pretrained=False, in_chans=1,
                                          num_classes=num_classes)
        self.va_head = nn.Linear(self.backbone.num_features, 2)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone.forward_features(crops)
        pooled = self.backbone.forward_head(features, pre_logits=True)
        return self.backbone.get_classifier()(pooled), torch.tanh(self.va_head(pooled))
