"""The domain model: Mahalanobis distances in closed form, in torch, and inside the ONNX file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (PyTorch, timm)")
pytest.importorskip("timm", reason="training needs the train extra (PyTorch, timm)")

from affect_core import labels  # noqa: E402
from affect_core.model.runtime import EmotionModel, preprocess  # noqa: E402
from affect_core.training.dataset import render_crops  # noqa: E402
from affect_core.training.domain import (  # noqa: E402
    DomainDistance,
    DomainModel,
    fit_domain,
    threshold,
)
from affect_core.training.export import export_onnx  # noqa: E402
from affect_core.training.rollout import forward_explained  # noqa: E402
from affect_core.training.train import TrainConfig  # noqa: E402
from affect_core.training.vit import AffectViT  # noqa: E402

pytestmark = pytest.mark.train


def test_distance_is_mahalanobis_to_the_nearest_class_mean() -> None:
    means = np.array([[0.0, 0.0], [10.0, 0.0]])
    precision = np.diag([1.0, 0.25])  # standard deviations 1 and 2
    model = DomainModel(means, precision)
    points = np.array([[0.0, 2.0], [9.0, 0.0], [5.0, 0.0]])
    assert model.distance(points) == pytest.approx([1.0, 1.0, 5.0])


def test_fit_recovers_clusters_and_flags_far_points() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0] * 8, [6.0] * 8, [-6.0] + [0.0] * 7])
    label = rng.integers(0, 3, 3000)
    x = centres[label] + rng.normal(0.0, 1.0, (3000, 8))
    model = fit_domain(x, label)
    assert model.means == pytest.approx(centres, abs=0.15)
    held_out_label = rng.integers(0, 3, 1000)
    held_out = centres[held_out_label] + rng.normal(0.0, 1.0, (1000, 8))
    limit = threshold(model, held_out, 0.98)
    # Distances of in-domain points follow a chi distribution with 8 degrees of freedom.
    assert 3.5 < limit < 4.6
    far = rng.normal(0.0, 1.0, (200, 8)) + np.array([20.0] + [0.0] * 7)
    assert np.mean(model.distance(far) > limit) == 1.0
    fresh = centres[rng.integers(0, 3, 2000)] + rng.normal(0.0, 1.0, (2000, 8))
    assert abs(np.mean(model.distance(fresh) > limit) - 0.02) < 0.015


def test_torch_module_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 6))
    model = fit_domain(x, rng.integers(0, 2, 500))
    points = rng.normal(size=(20, 6)) * 3
    got = DomainDistance(model)(torch.tensor(points, dtype=torch.float32)).numpy()
    assert got == pytest.approx(model.distance(points), rel=1e-4, abs=1e-4)


def test_exported_model_carries_the_domain_and_the_runtime_scales_it(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = AffectViT(len(labels.EXPRESSIONS)).eval()
    crops = render_crops(24, "curated", seed=5, progress=False).crops
    batch = preprocess(list(crops), 64)
    with torch.no_grad():
        features = forward_explained(model, torch.from_numpy(batch))[3].numpy()
    domain = fit_domain(np.repeat(features, 2, axis=0) + 0.01,
                        np.zeros(2 * len(features), np.int64))
    path = tmp_path / "domain.onnx"
    export_onnx(model, path, 1.0, TrainConfig(), "test", "rig crops", domain=domain,
                domain_threshold=2.5)
    runtime = EmotionModel(path)
    assert runtime.metadata.domain_threshold == pytest.approx(2.5)
    (raw,) = runtime.session.run(["domain_distance"], {"crops": batch})
    assert raw == pytest.approx(domain.distance(features), rel=1e-3, abs=1e-3)
    *_, scaled = runtime.predict_explained(list(crops), attention=False)
    assert scaled == pytest.approx(raw / 2.5, rel=1e-5)
    # A black and a saturated crop lie further out than the faces the model was fitted on.
    flat = [np.zeros((64, 64), np.uint16), np.full((64, 64), 65535, np.uint16)]
    *_, odd = runtime.predict_explained(flat, attention=False)
    assert odd is not None and odd.min() > scaled.max()
