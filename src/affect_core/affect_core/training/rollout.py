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

"""Attention rollout (Abnar & Zuidema 2020): where in the crop the class token looked.

Per layer the attention matrices are averaged over heads, the identity is added for the
residual path and rows are renormalised; the layers' matrices are multiplied from the
first to the last. The class token's row over the patch tokens, on the patch grid and
scaled to a maximum of 1, is the heatmap. :class:`ExplainedViT` returns it beside the
logits so the exported ONNX file carries the explanation with the model.
"""

from __future__ import annotations

import torch
from torch import nn

from affect_core.training.vit import AffectViT


def rollout(attentions: list[torch.Tensor]) -> torch.Tensor:
    """Rollout (B, N, N) of per-layer attention maps, each (B, heads, N, N), first layer first."""
    joint: torch.Tensor | None = None
    for attention in attentions:
        mean = attention.mean(dim=1)
        eye = torch.eye(mean.shape[-1], dtype=mean.dtype, device=mean.device)
        step = mean + eye
        step = step / step.sum(dim=-1, keepdim=True)
        joint = step if joint is None else step @ joint
    if joint is None:
        raise ValueError("rollout needs at least one layer's attention")
    return joint


def _attention(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Compute the softmax attention (B, heads, N, N) of a timm block on its input ``x``."""
    attn = block.attn
    batch, tokens, _ = x.shape
    qkv = attn.qkv(block.norm1(x)).reshape(batch, tokens, 3, attn.num_heads, attn.head_dim)
    q, k, _ = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    q, k = attn.q_norm(q), attn.k_norm(k)
    return ((q * attn.scale) @ k.transpose(-2, -1)).softmax(dim=-1)


def forward_with_attention(model: AffectViT, crops: torch.Tensor) -> tuple[
        torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Logits, valence/arousal and every layer's attention, in one pass through the blocks."""
    logits, va, attentions, _ = forward_explained(model, crops)
    return logits, va, attentions


def forward_explained(model: AffectViT, crops: torch.Tensor) -> tuple[
        torch.Tensor, torch.Tensor, list[torch.Tensor], torch.Tensor]:
    """:func:`forward_with_attention` plus the features the domain model reads.

    Those are the mean of the patch tokens after the last block, before the final layer
    norm: the class token after the norm (what the heads read) has lost the magnitude
    that tells a face from noise or a drawing (affect_core.training.domain).
    """
    vit = model.backbone
    x = vit.norm_pre(vit.patch_drop(vit._pos_embed(vit.patch_embed(crops))))
    attentions = []
    for block in vit.blocks:
        attentions.append(_attention(block, x))
        x = block(x)
    pooled = vit.forward_head(vit.norm(x), pre_logits=True)
    patches = x[:, vit.num_prefix_tokens:].mean(dim=1)
    return vit.head(pooled), torch.tanh(model.va_head(pooled)), attentions, patches


def heatmap(joint: torch.Tensor, grid: tuple[int, int], prefix_tokens: int) -> torch.Tensor:
    """Map the class token's rollout over the patch grid (B, gh, gw), maximum scaled to 1."""
    cls_row = joint[:, 0, prefix_tokens:].reshape(-1, grid[0], grid[1])
    return cls_row / cls_row.amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)


class ExplainedViT(nn.Module):
    """AffectViT whose forward also returns the attention-rollout heatmap of each crop.

    With a ``domain`` module (affect_core.training.domain.DomainDistance) it returns each
    crop's distance from the training data as a fourth output.
    """

    def __init__(self, model: AffectViT, domain: nn.Module | None = None) -> None:
        super().__init__()
        self.model = model
        self.domain = domain

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits, va, attentions, pooled = forward_explained(self.model, crops)
        vit = self.model.backbone
        maps = heatmap(rollout(attentions), vit.patch_embed.grid_size, vit.num_prefix_tokens)
        if self.domain is None:
            return logits, va, maps
        return logits, va, maps, self.domain(pooled)
