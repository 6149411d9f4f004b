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

"""The emotion ViT: a timm VisionTransformer on 1-channel IR crops with two heads.

``forward`` returns (logits, valence_arousal): class logits from timm's own head, and
valence/arousal in [-1, 1] from a tanh head on the same pre-logits features.

Two stems: ``patch`` is timm's linear patch embedding (the layout DINO weights use);
``conv`` replaces it by a few strided 3x3 convolutions with the same output grid
("early convolutions", Xiao et al. 2021), which trains much faster from scratch on
the few thousand crops a lab or the rig provides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from timm.layers import PatchEmbed
from timm.models.vision_transformer import VisionTransformer
from torch import nn


class ConvStemEmbed(PatchEmbed):
    """timm's PatchEmbed with its projection replaced by strided 3x3 convolutions."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        patch = self.patch_size[0]
        in_chans = self.proj.in_channels
        embed_dim = self.proj.out_channels
        layers: list[nn.Module] = []
        channels = in_chans
        width = max(embed_dim // 4, 16)
        while patch > 1:
            layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            channels, width, patch = width, min(width * 2, embed_dim), patch // 2
        layers.append(nn.Conv2d(channels, embed_dim, 1))
        self.proj = nn.Sequential(*layers)


@dataclass(frozen=True)
class VitSize:
    """Backbone size, as data (timm's naming)."""

    name: str
    embed_dim: int
    depth: int
    num_heads: int
    mlp_ratio: float = 4.0


SIZES = {
    "micro": VitSize("micro", 96, 4, 3, 2.0),
    "tiny": VitSize("tiny", 192, 12, 3),
    "small": VitSize("small", 384, 12, 6),
    "base": VitSize("base", 768, 12, 12),
}


class AffectViT(nn.Module):
    """ViT backbone + category head + valence/arousal head."""

    def __init__(self, num_classes: int, size: str = "micro", img_size: int = 64,
                 patch_size: int = 8, stem: str = "conv") -> None:
        super().__init__()
        spec = SIZES[size]
        if stem not in ("patch", "conv"):
            raise ValueError(f"stem must be 'patch' or 'conv', got {stem!r}")
        if stem == "conv" and patch_size & (patch_size - 1):
            raise ValueError(f"the conv stem needs a power-of-two patch size, got {patch_size}")
        self.config = {"num_classes": num_classes, "img_size": img_size,
                       "patch_size": patch_size, "stem": stem, **asdict(spec)}
        self.backbone = VisionTransformer(
            img_size=img_size, patch_size=patch_size, in_chans=1, num_classes=num_classes,
            embed_dim=spec.embed_dim, depth=spec.depth, num_heads=spec.num_heads,
            mlp_ratio=spec.mlp_ratio, global_pool="token",
            embed_layer=ConvStemEmbed if stem == "conv" else PatchEmbed,
        )
        self.va_head = nn.Linear(spec.embed_dim, 2)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone.forward_features(crops)
        pooled = self.backbone.forward_head(features, pre_logits=True)
        return self.backbone.head(pooled), torch.tanh(self.va_head(pooled))
