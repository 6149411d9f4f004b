"""Backbone loading, attention rollout, DINO pretraining, sampling and resumable training."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (PyTorch, timm)")
timm = pytest.importorskip("timm", reason="training needs the train extra (PyTorch, timm)")

from timm.layers import resample_abs_pos_embed  # noqa: E402

from affect_core import labels  # noqa: E402
from affect_core.errors import TrainingError  # noqa: E402
from affect_core.training.dataset import render_crops  # noqa: E402
from affect_core.training.dino import (  # noqa: E402
    DinoConfig,
    DinoTrainer,
    MultiCrop,
    dino_loss,
    pretrain,
)
from affect_core.training.rollout import forward_with_attention, rollout  # noqa: E402
from affect_core.training.train import (  # noqa: E402
    TrainConfig,
    balanced_probabilities,
    sample_weights,
    train,
    weights_path,
)
from affect_core.training.vit import AffectViT, load_pretrained  # noqa: E402

pytestmark = pytest.mark.train


@pytest.fixture(scope="module")
def timm_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    torch.manual_seed(0)
    reference = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0)
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    path = tmp_path_factory.mktemp("dino") / "dino_vit_tiny.pth"
    torch.save(state, str(path))
    return path, state


def test_dino_weights_in_timm_layout_load_into_the_one_channel_model(
        timm_checkpoint: tuple[Path, dict]) -> None:
    path, state = timm_checkpoint
    model = AffectViT(len(labels.EXPRESSIONS), "tiny", img_size=64, patch_size=16,
                      stem="patch")
    untouched = load_pretrained(model, path)
    own = model.backbone.state_dict()
    # Grey = R + G + B response: the one-channel kernel is the sum over the RGB kernels.
    assert torch.equal(own["patch_embed.proj.weight"],
                       state["patch_embed.proj.weight"].sum(dim=1, keepdim=True))
    # 14 x 14 patches at 224 px become 4 x 4 at 64 px, resampled as timm does.
    expected = resample_abs_pos_embed(state["pos_embed"], [4, 4], num_prefix_tokens=1)
    assert own["pos_embed"].shape == (1, 17, 192)
    assert torch.equal(own["pos_embed"], expected)
    for key in ("cls_token", "blocks.0.attn.qkv.weight", "blocks.11.mlp.fc2.bias",
                "norm.weight", "patch_embed.proj.bias"):
        assert torch.equal(own[key], state[key]), key
    assert untouched == ["head.bias", "head.weight"]


def test_nested_dino_checkpoints_and_patch_resampling(tmp_path: Path,
                                                      timm_checkpoint: tuple[Path, dict]) -> None:
    _, state = timm_checkpoint
    nested = tmp_path / "checkpoint.pth"  # DINO's own training checkpoint layout
    torch.save({"teacher": {f"module.backbone.{k}": v for k, v in state.items()},
                "epoch": 100}, str(nested))
    model = AffectViT(3, "tiny", img_size=64, patch_size=8, stem="patch")
    load_pretrained(model, nested)
    own = model.backbone.state_dict()
    assert own["patch_embed.proj.weight"].shape == (192, 1, 8, 8)
    assert own["pos_embed"].shape == (1, 65, 192)
    assert torch.equal(own["blocks.5.attn.proj.weight"], state["blocks.5.attn.proj.weight"])


def test_unusable_pretrained_files_fail_with_training_error(
        tmp_path: Path, timm_checkpoint: tuple[Path, dict]) -> None:
    path, _ = timm_checkpoint
    with pytest.raises(TrainingError, match="--stem patch"):
        load_pretrained(AffectViT(3, "tiny", 64, 16, "conv"), path)
    with pytest.raises(TrainingError, match="--size"):
        load_pretrained(AffectViT(3, "small", 64, 16, "patch"), path)
    with pytest.raises(TrainingError, match="not found"):
        load_pretrained(AffectViT(3, "tiny", 64, 16, "patch"), tmp_path / "none.pth")
    other = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, str(other))
    with pytest.raises(TrainingError, match="transformer blocks"):
        load_pretrained(AffectViT(3, "tiny", 64, 16, "patch"), other)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="cannot read"):
        load_pretrained(AffectViT(3, "tiny", 64, 16, "patch"), garbage)


def test_rollout_closed_forms() -> None:
    tokens, layers = 5, 3
    identity = torch.eye(tokens).expand(2, 4, tokens, tokens)
    assert torch.allclose(rollout([identity] * layers), torch.eye(tokens).expand(2, -1, -1))
    # Uniform attention U: each layer is (U + I) / 2, and U U = U, so L layers give
    # U (1 - 2^-L) + I 2^-L.
    uniform = torch.full((1, 3, tokens, tokens), 1.0 / tokens)
    expected = (torch.full((tokens, tokens), 1.0 / tokens) * (1 - 2.0 ** -layers)
                + torch.eye(tokens) * 2.0 ** -layers)
    assert torch.allclose(rollout([uniform] * layers)[0], expected, atol=1e-6)


def test_attention_pass_reproduces_the_model() -> None:
    torch.manual_seed(1)
    model = AffectViT(4, attn_scale="learned").eval()
    for block in model.backbone.blocks:
        block.attn.q_norm.scale.data.uniform_(0.5, 2.0)
    crops = torch.randn(3, 1, 64, 64)
    with torch.no_grad():
        logits, va = model(crops)
        logits2, va2, attentions = forward_with_attention(model, crops)
    assert torch.allclose(logits, logits2, atol=1e-5) and torch.allclose(va, va2, atol=1e-5)
    assert len(attentions) == 4 and attentions[0].shape == (3, 3, 65, 65)
    assert torch.allclose(attentions[2].sum(dim=-1), torch.ones(3, 3, 65), atol=1e-5)


def test_dino_loss_of_uniform_outputs_is_log_dim() -> None:
    dim = 64
    flat = [torch.zeros(4, dim)] * 3
    loss = dino_loss(flat, flat[:2], torch.zeros(1, dim), 0.1, 0.04)
    assert float(loss) == pytest.approx(math.log(dim), rel=1e-6)


def test_dino_step_updates_teacher_by_ema_and_centre_by_running_mean() -> None:
    torch.manual_seed(2)
    config = DinoConfig(stem="patch", crop_size_px=32, patch_size=8, out_dim=32,
                        local_crops=2, center_momentum=0.9)
    trainer = DinoTrainer(config, total_steps=4)
    augment = MultiCrop(32, 2, 8)
    views = augment(torch.randn(6, 1, 32, 32))
    assert views[0].shape == (6, 1, 32, 32) and views[2].shape == (6, 1, 16, 16)
    for _ in range(2):
        teacher_before = [p.clone() for p in trainer.teacher.parameters()]
        center_before = trainer.center.clone()
        with torch.no_grad():
            teacher_out = trainer.teacher(torch.cat(views[:2]))
        momentum = trainer.momentum_at(trainer.step_count)
        assert trainer.step(views) > 0.0
        for t0, t1, s1 in zip(teacher_before, trainer.teacher.parameters(),
                              trainer.student.parameters()):
            assert torch.allclose(t1, momentum * t0 + (1 - momentum) * s1, atol=1e-6)
        expected = 0.9 * center_before + 0.1 * teacher_out.mean(dim=0, keepdim=True)
        assert torch.allclose(trainer.center, expected, atol=1e-6)
    assert trainer.momentum_at(0) == pytest.approx(config.teacher_momentum)
    assert trainer.momentum_at(4) == pytest.approx(1.0)


def test_pretrained_backbone_loads_for_fine_tuning(tmp_path: Path) -> None:
    config = DinoConfig(samples=40, epochs=1, batch_size=16, crop_size_px=32, local_crops=2,
                        out_dim=64)
    out = tmp_path / "dino.pt"
    summary = pretrain(config, out, progress=False)
    assert summary["crops"] >= 32
    stored = torch.load(str(out), weights_only=True)["backbone"]
    model = AffectViT(3, "micro", 32, 8, "conv")
    untouched = load_pretrained(model, out)
    assert untouched == ["head.bias", "head.weight"]
    own = model.backbone.state_dict()
    for key, value in stored.items():
        if not key.startswith("head"):
            assert torch.equal(own[key], value), key


def test_quality_evidence_and_balanced_draws_on_rig_crops() -> None:
    curated = render_crops(30, "curated", seed=21, crop_size_px=32, progress=False)
    hetero = render_crops(60, "heterogeneous", seed=22, crop_size_px=32, progress=False)
    # The curated rig holds still under steady light; the heterogeneous one does not.
    assert np.all(curated.quality > 0.9)
    assert np.median(hetero.quality) < 0.5
    config = TrainConfig(quality_weighting=True, quality_floor=0.05)
    assert np.allclose(sample_weights(hetero, config), np.maximum(hetero.quality, 0.05))
    off = TrainConfig(quality_weighting=False)
    assert np.all(sample_weights(hetero, off) == 1.0)
    groups = curated.subgroup + hetero.subgroup
    p = balanced_probabilities(groups)
    shares = {g: p[[i for i, x in enumerate(groups) if x == g]].sum() for g in set(groups)}
    assert np.allclose(list(shares.values()), 1.0 / len(shares))


def test_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    config = TrainConfig(train_samples=160, val_samples=40, test_samples=20, epochs=3,
                         batch_size=32, crop_size_px=32, seed=5,
                         expressions=(labels.NEUTRAL, labels.HAPPY))
    cache = tmp_path / "cache"
    whole = train(config, tmp_path / "whole.onnx", progress=False, cache=cache)
    assert train(config, tmp_path / "split.onnx", progress=False, stop_after_epochs=1,
                 cache=cache) == {}
    resumed = train(config, tmp_path / "split.onnx", progress=False, resume=True, cache=cache)
    assert resumed["history"] == whole["history"]
    a = torch.load(str(weights_path(tmp_path / "whole.onnx")), weights_only=True)
    b = torch.load(str(weights_path(tmp_path / "split.onnx")), weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    with pytest.raises(TrainingError, match="other settings"):
        train(TrainConfig(**{**config.__dict__, "seed": 6}), tmp_path / "split.onnx",
              progress=False, resume=True, cache=cache)
