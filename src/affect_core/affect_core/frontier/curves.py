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


"""``affect frontier-curves``: what the SOM frontier saves against other ways to choose.

For each labels-spent step, every strategy chooses that many crops of a pool, a labeller
gives their labels (here the data set's own labels play the labeller), and a cheap
learner is fitted on them: multinomial logistic regression on the model's frozen
embedding (a linear probe), scored on held-out data. The probe is a proxy for
fine-tuning (``affect train --labels``), fast enough for many steps, strategies and seeds
in one run; the figures say so.

Strategies: random; uncertainty sampling (the crops of highest entropy under the current
probe, the first step random); k-means (k = labels, the crop nearest each centre); the
SOM frontier (affect_core.frontier.som.choose, with the probe's uncertainty and what is
already labelled). "Labels saved" is 1 - n_frontier / n_random at equal accuracy, n_random
read off the random curve by log-linear interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from affect_core.frontier.som import SomConfig, choose, fit_map, scale

STRATEGIES = ("random", "uncertainty", "kmeans", "som")
L2 = 1e-2


@dataclass(frozen=True)
class Pool:
    """Embeddings and labels of the pool and the held-out set, with subgroups."""

    name: str
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.int64]
    uncertainty: npt.NDArray[np.float64]  # the model's own, before any label
    x_test: npt.NDArray[np.float64]
    y_test: npt.NDArray[np.int64]
    groups_test: list[str]
    classes: int
    data: str = ""  # where the crops come from and their domain, for captions
    label_blind: bool = False  # the embedding never saw these labels (a user's own footage)


def probe(x: npt.NDArray[np.float64], y: npt.NDArray[np.int64], classes: int
          ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Fit L2-regularised multinomial logistic regression (L-BFGS); weights and bias."""
    from scipy.optimize import minimize

    present = np.unique(y)
    onehot = np.eye(classes)[y]
    d = x.shape[1]

    def loss(theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        w, b = theta[:d * classes].reshape(d, classes), theta[d * classes:]
        logits = x @ w + b
        logits[:, np.setdiff1d(np.arange(classes), present)] = -1e9
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.mean(np.log(np.clip((p * onehot).sum(1), 1e-12, None))) \
            + 0.5 * L2 * float((w * w).sum())
        g = (p - onehot) / len(x)
        return value, np.concatenate([(x.T @ g + L2 * w).ravel(), g.sum(0)])

    theta = minimize(loss, np.zeros(d * classes + classes), jac=True, method="L-BFGS-B",
                     options={"maxiter": 200}).x
    w, b = theta[:d * classes].reshape(d, classes), theta[d * classes:].copy()
    b[np.setdiff1d(np.arange(classes), present)] = -1e9
    return w, b


def _probabilities(x: npt.NDArray[np.float64], w: npt.NDArray[np.float64],
                   b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    logits = x @ w + b
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return np.asarray(p / p.sum(axis=1, keepdims=True), np.float64)


def entropy(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Entropy of each row of probabilities over log(C): 0 sure .. 1 uniform."""
    q = np.clip(p, 1e-12, 1.0)
    return np.asarray(-(q * np.log(q)).sum(1) / np.log(q.shape[1]), np.float64)


def figures(pool: Pool, labelled: npt.NDArray[np.int64]) -> dict[str, float]:
    """Accuracy, macro recall and worst-subgroup gap of the probe on the held-out set."""
    w, b = probe(pool.x[labelled], pool.y[labelled], pool.classes)
    hits = _probabilities(pool.x_test, w, b).argmax(1) == pool.y_test
    recall = float(np.mean([hits[pool.y_test == c].mean() for c in np.unique(pool.y_test)]))
    groups = np.array(pool.groups_test)
    per_group = [hits[groups == g].mean() for g in np.unique(groups)]
    return {"accuracy": float(hits.mean()), "macro_recall": recall,
            "subgroup_gap": float(max(per_group) - min(per_group))}


def _kmeans_choice(x: npt.NDArray[np.float64], k: int, seed: int) -> npt.NDArray[np.int64]:
    from scipy.cluster.vq import kmeans2

    centres, _ = kmeans2(x, k, iter=10, minit="++", seed=seed)
    chosen: list[int] = []
    taken = np.zeros(len(x), bool)
    for centre in centres:
        d = ((x - centre) ** 2).sum(1)
        d[taken] = np.inf
        i = int(d.argmin())
        taken[i] = True
        chosen.append(i)
    return np.array(chosen, np.int64)


def curve(pool: Pool, strategy: str, steps: tuple[int, ...], seed: int,
          som: SomConfig | None = None) -> list[dict[str, float]]:
    """Figures at each labels-spent step for one strategy and seed."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool.x))
    labelled = np.zeros(0, np.int64)
    fitted = fit_map(pool.x, SomConfig(**{**(som.__dict__ if som else {}), "seed": seed})) \
        if strategy == "som" else None
    out = []
    for n in steps:
        extra = n - len(labelled)
        if strategy == "random":
            labelled = order[:n]
        elif strategy == "kmeans":
            labelled = _kmeans_choice(pool.x, n, seed)
        else:
            if len(labelled):
                w, b = probe(pool.x[labelled], pool.y[labelled], pool.classes)
                u = entropy(_probabilities(pool.x, w, b))
            else:
                u = pool.uncertainty
            if strategy == "uncertainty":
                if not len(labelled):
                    new = order[:extra]
                else:
                    u = u.copy()
                    u[labelled] = -1.0
                    new = np.argsort(-u)[:extra]
            else:
                assert fitted is not None
                new = np.array(choose(fitted, u, extra, labelled).index, np.int64)
            labelled = np.concatenate([labelled, new])
        out.append({"labels": n, **figures(pool, labelled)})
    return out


def labels_saved(frontier: list[tuple[int, float]], random: list[tuple[int, float]]
                 ) -> list[dict[str, float]]:
    """Per frontier step: the random labels needed for its accuracy, and the share saved.

    The random curve's label count is read at the frontier's accuracy by log-linear
    interpolation between its steps; beyond the random curve's reach it is None.
    """
    n_r = np.log([n for n, _ in random])
    acc_r = np.maximum.accumulate([a for _, a in random])
    out = []
    for n, acc in frontier:
        if acc > acc_r[-1] or acc < acc_r[0]:
            out.append({"labels": n, "accuracy": acc, "random_labels": None, "saved": None})
            continue
        k = int(np.searchsorted(acc_r, acc))
        if k == 0:
            equal = float(np.exp(n_r[0]))
        else:
            span = acc_r[k] - acc_r[k - 1]
            t = 0.0 if span <= 0 else (acc - acc_r[k - 1]) / span
            equal = float(np.exp(n_r[k - 1] + t * (n_r[k] - n_r[k - 1])))
        out.append({"labels": n, "accuracy": acc, "random_labels": equal,
                    "saved": 1.0 - n / equal})
    return out


def standardised(x: npt.NDArray[np.floating], x_test: npt.NDArray[np.floating]
                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Scale pool and held-out embeddings with the pool's mean and deviation."""
    pool = x.astype(np.float64)
    mean, std = pool.mean(0), pool.std(0)
    std = np.where(std > 1e-9, std, 1.0)
    return scale(pool), (x_test.astype(np.float64) - mean) / std
