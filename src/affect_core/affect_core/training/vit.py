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

``attn_scale="learned"`` multiplies each head's attention logits by a learned factor
(initialised to 1), letting a head sharpen or flatten its attention beyond the fixed
1/sqrt(d); it is an option to ablate, off by default.

:func:`load_pretrained` fills the backbone from a local checkpoint in timm's layout
(DINO releases, or ``affect pretrain``): three-channel patch weights are summed to one
channel, position embeddings and patch kernels are resampled to this model's grid.
Files are read with ``torch.load(weights_only=True)`` or safetensors: never unpickled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from timm.layers import PatchEmbed, resample_abs_pos_embed, resample_patch_embed
from timm.models import adapt_input_conv
from timm.models.vision_transformer import VisionTransformer
from torch import nn

from affect_core.errors import TrainingError

ATTN_SCALES = ("none", "learned")


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


class HeadLogitScale(nn.Module):
    """A learned per-head factor on the queries, hence on the attention logits.

    It takes the place of timm's ``q_norm`` (an identity by default), which both the
    fused and the explicit attention paths apply to the queries.
    """

    def __init__(self, num_heads: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(num_heads, 1, 1))

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        return q * self.scale


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
                 patch_size: int = 8, stem: str = "conv", attn_scale: str = "none",
                 dynamic_img_size: bool = False) -> None:
        super().__init__()
        spec = SIZES[size]
        if stem not in ("patch", "conv"):
            raise ValueError(f"stem must be 'patch' or 'conv', got {stem!r}")
        if stem == "conv" and patch_size & (patch_size - 1):
            raise ValueError(f"the conv stem needs a power-of-two patch size, got {patch_size}")
        if attn_scale not in ATTN_SCALES:
            raise ValueError(f"attn_scale must be one of {ATTN_SCALES}, got {attn_scale!r}")
        self.config = {"num_classes": num_classes, "img_size": img_size,
                       "patch_size": patch_size, "stem": stem, "attn_scale": attn_scale,
                       **asdict(spec)}
        # dynamic_img_size lets DINO's smaller local crops through (position embeddings
        # are interpolated); it changes no weights, so checkpoints move freely between both.
        self.backbone = VisionTransformer(
            img_size=img_size, patch_size=patch_size, in_chans=1, num_classes=num_classes,
            embed_dim=spec.embed_dim, depth=spec.depth, num_heads=spec.num_heads,
            mlp_ratio=spec.mlp_ratio, global_pool="token",
            embed_layer=ConvStemEmbed if stem == "conv" else PatchEmbed,
            dynamic_img_size=dynamic_img_size,
        )
        if attn_scale == "learned":
            for block in self.backbone.blocks:
                block.attn.q_norm = HeadLogitScale(spec.num_heads)
        self.va_head = nn.Linear(spec.embed_dim, 2)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone.forward_features(crops)
        pooled = self.backbone.forward_head(features, pre_logits=True)
        return self.backbone.head(pooled), torch.tanh(self.va_head(pooled))


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file, unwrapping the usual containers; never unpickles."""
    if not path.is_file():
        raise TrainingError(f"pretrained weights not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw: object = load_file(str(path))
        else:
            raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # torch and safetensors raise assorted untyped errors
        raise TrainingError(f"cannot read pretrained weights {path}: {err}") from err
    # DINO's own checkpoints nest the networks ("teacher", "student", "model"/"state_dict").
    for key in ("teacher", "model", "state_dict", "backbone"):
        if isinstance(raw, dict) and isinstance(raw.get(key), dict):
            raw = raw[key]
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise TrainingError(f"{path} holds no state_dict of tensors")
    state = {}
    for key, value in raw.items():
        for prefix in ("module.", "backbone."):
            key = key.removeprefix(prefix)
        state[key] = value
    return state


def load_pretrained(model: AffectViT, path: str | Path) -> list[str]:
    """Fill ``model.backbone`` from a timm-layout checkpoint; return the keys left as they were.

    Classifier heads and projection heads in the file are ignored (their label sets are
    not ours). Mismatched shapes other than the patch embedding and position embedding,
    or a file that fills no block at all, raise TrainingError.
    """
    state = _read_state_dict(Path(path))
    backbone = model.backbone
    own = backbone.state_dict()
    patch_key = "patch_embed.proj.weight"
    if patch_key in state and patch_key not in own:
        raise TrainingError(f"{path} has a linear patch embedding but the model has the conv "
                            "stem; train with --stem patch to use these weights")
    if patch_key in state:
        weight = state[patch_key]
        if weight.shape[1] != 1:
            weight = adapt_input_conv(1, weight)  # sum over RGB: grey = R + G + B response
        if tuple(weight.shape[-2:]) != tuple(own[patch_key].shape[-2:]):
            weight = resample_patch_embed(weight, list(own[patch_key].shape[-2:]))
        state[patch_key] = weight
    if "pos_embed" in state and state["pos_embed"].shape != own["pos_embed"].shape:
        state["pos_embed"] = resample_abs_pos_embed(
            state["pos_embed"], list(backbone.patch_embed.grid_size),
            num_prefix_tokens=backbone.num_prefix_tokens)
    loaded = {}
    for key, value in state.items():
        if key not in own or key.startswith("head"):
            continue
        if value.shape != own[key].shape:
            raise TrainingError(f"{path}: {key} has shape {tuple(value.shape)}, the model "
                                f"needs {tuple(own[key].shape)}; pick the matching --size")
        loaded[key] = value
    if not any(key.startswith("blocks.") for key in loaded):
        raise TrainingError(f"{path} fills none of the model's transformer blocks; "
                            "is it a ViT checkpoint in timm's layout?")
    backbone.load_state_dict(loaded, strict=False)
    return sorted(set(own) - set(loaded))
