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

"""Training augmentation: geometry, and visible-light grey photographs toward active IR.

The photographs the default model learns from are visible-light images converted to
grey; the camera it runs on is a 120 fps active-IR sensor. :func:`ir_look` moves a batch
of photographs toward what that sensor records, with the simulated rig's sensor model
(affect_core.sim.render) as the reference for each effect:

- skin reflects near-IR more evenly than visible light: a random gamma flattens or
  deepens contrast (IR faces look smoother, with darker brows and lips);
- the on-axis illuminator falls off with distance from the beam's centre (a radial gain
  around a random centre) and its power varies (a global gain), and bright skin saturates
  at the sensor's full scale;
- ambient IR adds a level; the sensor adds shot noise (proportional to the square root of
  the signal), read noise and 16-bit quantisation; motion and focus add blur.

:func:`geometry` jitters the crop as the tracker's boxes jitter (shift, scale, a small
rotation) and mirrors faces (an expression mirrored is the same expression). Both work
on (B, 1, S, S) tensors in [0, 1] with a torch generator, so a seeded run is repeatable.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

FULL_SCALE = 65535.0  # the sensor's 16-bit full scale


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def geometry(batch: torch.Tensor, gen: torch.Generator, shift: float = 0.06,
             scale: float = 0.08, rotation_deg: float = 10.0) -> torch.Tensor:
    """Shift (share of the side), scale, rotate and mirror each crop at random."""
    n = batch.shape[0]
    angle = torch.deg2rad(_uniform(n, -rotation_deg, rotation_deg, gen))
    zoom = _uniform(n, 1.0 - scale, 1.0 + scale, gen)
    mirror = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * mirror, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * mirror, cos
    theta[:, :, 2] = _uniform(2 * n, -2 * shift, 2 * shift, gen).reshape(n, 2)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="border",
                         align_corners=False)


def _gaussian_blur(batch: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image with its own sigma (pixels; 0 leaves it as it is)."""
    radius = 3
    offsets = torch.arange(-radius, radius + 1, dtype=batch.dtype)
    safe = sigma.clamp_min(1e-3)[:, None]
    kernel = torch.exp(-0.5 * (offsets[None, :] / safe) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    n, _, h, w = batch.shape
    x = batch.reshape(1, n, h, w)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"),
                 kernel[:, None, None, :], groups=n)
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"),
                 kernel[:, None, :, None], groups=n)
    return x.reshape(n, 1, h, w)


def ir_look(batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Render photographs in [0, 1] as an active-IR sensor might record them."""
    n, _, h, w = batch.shape
    x = batch.clamp(0.0, 1.0) ** _uniform(n, 0.6, 1.6, gen)[:, None, None, None]
    # Illuminator: radial fall-off around a centre near the crop's middle.
    ys = torch.linspace(-1.0, 1.0, h)[:, None]
    xs = torch.linspace(-1.0, 1.0, w)[None, :]
    cy, cx = _uniform(n, -0.6, 0.6, gen), _uniform(n, -0.6, 0.6, gen)
    falloff = _uniform(n, 0.0, 0.5, gen)
    r2 = (ys[None] - cy[:, None, None]) ** 2 + (xs[None] - cx[:, None, None]) ** 2
    x = x * (1.0 - falloff[:, None, None] * r2 / 2.0).clamp_min(0.2)[:, None]
    # Power and exposure: a gain that may saturate the brightest skin, an ambient level.
    gain = torch.exp(_uniform(n, math.log(0.4), math.log(1.8), gen))[:, None, None, None]
    ambient = _uniform(n, 0.0, 0.15, gen)[:, None, None, None]
    signal = (x * gain + ambient) * FULL_SCALE * 0.8
    shot = torch.sqrt(signal.clamp_min(0.0)) * _uniform(n, 0.5, 3.0, gen)[:, None, None, None]
    read = _uniform(n, 20.0, 400.0, gen)[:, None, None, None]
    noisy = signal + shot * torch.randn(signal.shape, generator=gen) \
        + read * torch.randn(signal.shape, generator=gen)
    recorded = torch.round(noisy.clamp(0.0, FULL_SCALE)) / FULL_SCALE
    sigma = torch.where(torch.rand(n, generator=gen) < 0.5, 0.0, 1.0) \
        * _uniform(n, 0.3, 1.5, gen)
    return _gaussian_blur(recorded, sigma)


def standardize(batch: torch.Tensor) -> torch.Tensor:
    """Standardise each crop to zero mean and unit deviation, as the runtime does."""
    mean = batch.mean(dim=(1, 2, 3), keepdim=True)
    std = batch.std(dim=(1, 2, 3), keepdim=True, unbiased=False)
    return (batch - mean) / torch.where(std > 1e-6, std, torch.ones_like(std))
