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

"""``affect pretrain``: DINO self-supervised pretraining on unlabelled face crops.

DINO (Caron et al. 2021) trains a student network to match a teacher on different views
of the same crop, with no labels: a lab adapts the backbone to its own cameras before
fine-tuning on the few labels it has. As in the paper:

- multi-crop: two global views (random resized crops of 40-100 % of the crop at full
  size) and several local views (5-40 %, at half size); flips, intensity jitter and blur
  on the one-channel standardised crop, batched with torch operations. The teacher sees
  the global views only, the student all views; each student view is matched to each
  teacher view but its own.
- centring and sharpening: the teacher's outputs are centred by a running mean c
  (c <- m c + (1 - m) mean(teacher outputs), m = ``center_momentum``) and sharpened
  with a low temperature; the student's softmax uses a higher one.
- EMA teacher: after each student step, teacher <- l teacher + (1 - l) student, with l
  rising from ``teacher_momentum`` to 1 on a cosine over the run.

Two settings differ from the paper's ViT defaults because, on a few thousand small
one-channel crops, runs with them collapsed to a uniform output (loss stuck at
log(out_dim)): batch norm in the projection head (the paper's ``use_bn`` option) and a
sharper teacher (temperature 0.02 instead of 0.04).

The output file holds the teacher backbone in timm's layout (``backbone`` key), which
``affect train --init`` loads through the same loader as published DINO weights.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import roi_align
from tqdm import tqdm

from affect_core import labels
from affect_core.errors import TrainingError
from affect_core.model.runtime import preprocess
from affect_core.training.dataset import cached_crops
from affect_core.training.vit import AffectViT

DINO_FORMAT = "affect-dino/1"


@dataclass(frozen=True)
class DinoConfig:
    """What a pretraining run does."""

    samples: int = 6000  # unlabelled crops rendered by the rig (when no folder is given)
    preset_mix: float = 0.5
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 5e-4
    weight_decay: float = 0.04
    size: str = "micro"
    stem: str = "conv"
    crop_size_px: int = 64
    patch_size: int = 8
    local_crops: int = 4
    out_dim: int = 1024
    hidden_dim: int = 512
    student_temp: float = 0.1
    teacher_temp: float = 0.02
    teacher_momentum: float = 0.996
    center_momentum: float = 0.9
    clip_grad: float = 3.0
    seed: int = 0
    threads: int = 2


class DINOHead(nn.Module):
    """Projection head: MLP, l2-normalised bottleneck, weight-normalised output layer."""

    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int = 512,
                 bottleneck_dim: int = 128, use_bn: bool = True) -> None:
        super().__init__()

        def norm() -> nn.Module:
            return nn.BatchNorm1d(hidden_dim) if use_bn else nn.Identity()

        # The paper's head has an optional batch norm (use_bn). On small one-channel crops
        # the backbone's features differ little between images at first, the teacher's
        # targets barely differ either and the run collapses to a uniform output; batch
        # norm in the head takes out the shared part and keeps the targets apart.
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden_dim), norm(), nn.GELU(),
                                 nn.Linear(hidden_dim, hidden_dim), norm(), nn.GELU(),
                                 nn.Linear(hidden_dim, bottleneck_dim))
        last = nn.Linear(bottleneck_dim, out_dim, bias=False)
        self.last_layer = nn.utils.parametrizations.weight_norm(last)
        # The paper fixes the weight-norm gain at 1 (norm_last_layer): more stable.
        self.last_layer.parametrizations.weight.original0.data.fill_(1.0)
        self.last_layer.parametrizations.weight.original0.requires_grad = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last_layer(F.normalize(self.mlp(x), dim=-1))


class DinoNet(nn.Module):
    """Backbone (class token) + projection head."""

    def __init__(self, backbone: nn.Module, head: DINOHead) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone.forward_head(self.backbone.forward_features(x), pre_logits=True)
        return self.head(features)


def dino_loss(student: list[torch.Tensor], teacher: list[torch.Tensor], center: torch.Tensor,
              student_temp: float, teacher_temp: float) -> torch.Tensor:
    """Mean cross-entropy of every student view against every teacher view but its own."""
    targets = [F.softmax((t - center) / teacher_temp, dim=-1).detach() for t in teacher]
    total, pairs = torch.zeros(()), 0
    for i, target in enumerate(targets):
        for j, out in enumerate(student):
            if i == j:
                continue
            total = total + torch.sum(-target * F.log_softmax(out / student_temp, dim=-1),
                                      dim=-1).mean()
            pairs += 1
    return total / pairs


@torch.no_grad()
def update_center(center: torch.Tensor, teacher: list[torch.Tensor],
                  momentum: float) -> torch.Tensor:
    """Move the centre: c <- m c + (1 - m) mean(teacher outputs over batch and views)."""
    return center * momentum + torch.cat(teacher).mean(dim=0, keepdim=True) * (1.0 - momentum)


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """Move the teacher: t <- momentum t + (1 - momentum) s, parameter by parameter."""
    for t, s in zip(teacher.parameters(), student.parameters()):
        t.mul_(momentum).add_(s.detach(), alpha=1.0 - momentum)


class MultiCrop:
    """Two global and ``local_crops`` local views of each crop of a (B, 1, S, S) batch.

    Batched: every view of the whole batch is one roi_align call (random resized crop,
    bilinear, sampling ratio 2), then per-sample flips, gain/offset and blur by masks, so
    the augmentation costs little next to the networks even on a small CPU.
    """

    def __init__(self, size_px: int, local_crops: int, patch_size: int) -> None:
        self.global_px = size_px
        self.local_px = max(patch_size, (size_px // 2) // patch_size * patch_size)
        self.local_crops = local_crops
        kernel = torch.exp(-0.5 * (torch.arange(5.0) - 2.0) ** 2)  # sigma = 1 pixel
        kernel = kernel / kernel.sum()
        self.blur_kernel = (kernel[:, None] * kernel[None, :])[None, None]

    def _view(self, batch: torch.Tensor, out_px: int, scale: tuple[float, float]) -> torch.Tensor:
        n, _, height, width = batch.shape
        area = torch.empty(n).uniform_(*scale) * height * width
        log_ratio = torch.empty(n).uniform_(math.log(3 / 4), math.log(4 / 3))
        w = torch.sqrt(area * torch.exp(log_ratio)).clamp(2.0, width)
        h = torch.sqrt(area / torch.exp(log_ratio)).clamp(2.0, height)
        x0 = torch.rand(n) * (width - w)
        y0 = torch.rand(n) * (height - h)
        boxes = torch.stack([torch.arange(n, dtype=torch.float32), x0, y0, x0 + w, y0 + h], 1)
        view = roi_align(batch, boxes, out_px, spatial_scale=1.0, sampling_ratio=2,
                         aligned=True)
        flip = torch.rand(n, 1, 1, 1) < 0.5
        view = torch.where(flip, view.flip(-1), view)
        blurred = F.conv2d(F.pad(view, (2, 2, 2, 2), mode="replicate"), self.blur_kernel)
        view = torch.where(torch.rand(n, 1, 1, 1) < 0.5, blurred, view)
        # Contrast and brightness on standardised levels: a gain and an offset.
        gain = torch.empty(n, 1, 1, 1).uniform_(0.6, 1.4)
        offset = torch.empty(n, 1, 1, 1).uniform_(-0.4, 0.4)
        return view * gain + offset

    def __call__(self, batch: torch.Tensor) -> list[torch.Tensor]:
        views = [self._view(batch, self.global_px, (0.4, 1.0)) for _ in range(2)]
        views += [self._view(batch, self.local_px, (0.05, 0.4)) for _ in range(self.local_crops)]
        return views


class DinoTrainer:
    """Student, EMA teacher, centre and optimiser of one pretraining run."""

    def __init__(self, config: DinoConfig, total_steps: int) -> None:
        self.config = config
        backbone = AffectViT(1, config.size, config.crop_size_px, config.patch_size,
                             config.stem, dynamic_img_size=True).backbone
        backbone.reset_classifier(0)
        head = DINOHead(backbone.embed_dim, config.out_dim, config.hidden_dim)
        self.student = DinoNet(backbone, head)
        self.teacher = copy.deepcopy(self.student)
        for p in self.teacher.parameters():
            p.requires_grad = False
        self.center = torch.zeros(1, config.out_dim)
        params = [p for p in self.student.parameters() if p.requires_grad]
        self.optimiser = torch.optim.AdamW(params, lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        self.total_steps = max(total_steps, 1)
        warm_up = max(self.total_steps // 10, 1)
        # Linear warm-up, then cosine decay: the paper's learning-rate schedule.
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimiser, lambda step: min(
            1.0, (step + 1) / warm_up) * 0.5 * (1.0 + math.cos(math.pi * step / self.total_steps)))
        self.step_count = 0

    def momentum_at(self, step: int) -> float:
        """Teacher EMA momentum at ``step``: cosine from teacher_momentum to 1."""
        base = self.config.teacher_momentum
        return 1.0 - (1.0 - base) * (math.cos(math.pi * step / self.total_steps) + 1.0) / 2.0

    def step(self, views: list[torch.Tensor]) -> float:
        """One student step on a batch of views (global views first); returns the loss."""
        cfg = self.config
        self.student.train()
        self.teacher.train()
        with torch.no_grad():
            teacher_out = list(self.teacher(torch.cat(views[:2])).chunk(2))
        by_size: dict[tuple[int, ...], list[int]] = {}
        for i, view in enumerate(views):
            by_size.setdefault(tuple(view.shape[-2:]), []).append(i)
        student_out: list[torch.Tensor] = [torch.empty(0)] * len(views)
        for indices in by_size.values():  # one forward per view size, as the paper does
            outs = self.student(torch.cat([views[i] for i in indices])).chunk(len(indices))
            for i, out in zip(indices, outs):
                student_out[i] = out
        loss = dino_loss(student_out, teacher_out, self.center, cfg.student_temp,
                         cfg.teacher_temp)
        if not torch.isfinite(loss):
            raise TrainingError("DINO loss is not finite; lower the learning rate")
        self.optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.student.parameters(), cfg.clip_grad)
        self.optimiser.step()
        self.schedule.step()
        ema_update(self.teacher, self.student, self.momentum_at(self.step_count))
        self.center = update_center(self.center, teacher_out, cfg.center_momentum)
        self.step_count += 1
        return float(loss.item())


def load_crop_folder(folder: Path) -> list[npt.NDArray[np.generic]]:
    """Every PNG under ``folder`` (e.g. ``affect synth --mode crops`` output) as a crop."""
    paths = sorted(folder.rglob("*.png"))
    if not paths:
        raise TrainingError(f"no PNG face crops under {folder}")
    crops = []
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None or image.ndim != 2:
            raise TrainingError(f"{path} is not a one-channel image")
        crops.append(image)
    return crops


def _rig_crops(config: DinoConfig, progress: bool,
               cache: Path | None) -> list[npt.NDArray[np.generic]]:
    n_het = int(round(config.samples * config.preset_mix))
    # Seeds apart from affect train's so pretraining never sees its test crops.
    parts = [cached_crops(cache, config.samples - n_het, "curated", config.seed * 10 + 101,
                          config.crop_size_px, progress, labels.EXPRESSIONS),
             cached_crops(cache, n_het, "heterogeneous", config.seed * 10 + 102,
                          config.crop_size_px, progress, labels.EXPRESSIONS)]
    return [c for p in parts for c in p.crops]


def pretrain(config: DinoConfig, out_path: Path, crops_folder: Path | None = None,
             progress: bool = True, cache: Path | None = None) -> dict[str, object]:
    """Run DINO on unlabelled crops; write the teacher backbone to ``out_path``."""
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    crops = (load_crop_folder(crops_folder) if crops_folder is not None
             else _rig_crops(config, progress, cache))
    if len(crops) < config.batch_size:
        raise TrainingError(f"only {len(crops)} unlabelled crops; DINO needs at least a batch "
                            f"({config.batch_size})")
    x = torch.from_numpy(preprocess(crops, config.crop_size_px))
    batches = len(x) // config.batch_size  # whole batches only: the centre needs them
    trainer = DinoTrainer(config, config.epochs * batches)
    augment = MultiCrop(config.crop_size_px, config.local_crops, config.patch_size)
    generator = torch.Generator().manual_seed(config.seed)
    history = []
    for epoch in range(config.epochs):
        order = torch.randperm(len(x), generator=generator)
        losses = []
        bar = tqdm(range(batches), desc=f"DINO epoch {epoch + 1}", disable=not progress,
                   unit="batch", leave=False)
        for b in bar:
            batch = x[order[b * config.batch_size:(b + 1) * config.batch_size]]
            losses.append(trainer.step(augment(batch)))
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses))})
        if progress:
            print(f"DINO epoch {epoch + 1}: loss {history[-1]['loss']:.3f}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": DINO_FORMAT, "config": asdict(config),
                "backbone": trainer.teacher.backbone.state_dict()}, str(out_path))
    return {"crops": len(x), "history": history, "out": str(out_path)}
