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


"""The self-organising map (MiniSom) over crop embeddings, and the choice of what to label.

A SOM puts similar crops on the same or neighbouring nodes of a small grid, so a node is a
natural group of the footage (one person in one light, a pose, an expression) and the grid
is a map a person can read. What to label is chosen node by node:

- a node's worth: its mass (how much footage a label there speaks for, log-scaled so one
  huge node does not take the whole budget), the model's mean uncertainty on it (entropy
  over log C: a node the model is sure of teaches little) and its novelty (the distance
  from its prototype to the nearest labelled crop, over the median such distance: a node
  next to labelled crops is already covered);
- crops within a node: first the one nearest the prototype (what the node is), then crops
  far from those already chosen there, weighted by uncertainty (what the node also holds);
- each crop taken divides its node's worth by (1 + taken), so the budget spreads over
  nodes in proportion to their worth rather than emptying the best one, and counts as
  labelled for novelty at once, so one batch does not spend itself on neighbouring nodes
  of one group;
- where subgroups are known, a crop's worth is divided by (1 + its subgroup's share of
  the chosen crops x number of subgroups), so no subgroup is left out of the first labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from affect_core.errors import ConfigError

UNCERTAINTY_FLOOR = 0.1  # a node the model is sure of keeps some worth: it may be wrong
NOVELTY_FLOOR = 0.25  # nor does a node beside a labelled crop lose all of it


@dataclass(frozen=True)
class SomConfig:
    """Shape and training of the map; side 0 picks ~5 sqrt(N) nodes (Vesanto's rule)."""

    side: int = 0
    sigma: float = 0.0  # 0: side / 4, at least 1
    learning_rate: float = 0.5
    epochs: int = 10
    seed: int = 0


@dataclass(frozen=True)
class FittedMap:
    """A trained map: node of each crop, node prototypes (side*side, D), the scaling used."""

    side: int
    node: npt.NDArray[np.int64]
    prototypes: npt.NDArray[np.float64]
    scaled: npt.NDArray[np.float64]
    quantization_error: float

    def mass(self) -> npt.NDArray[np.int64]:
        """Crops per node (side*side,)."""
        return np.bincount(self.node, minlength=self.side * self.side)


@dataclass
class Choice:
    """The crops chosen, in labelling order, with the node and worth of each."""

    index: list[int] = field(default_factory=list)
    node: list[int] = field(default_factory=list)
    worth: list[float] = field(default_factory=list)


def map_side(count: int) -> int:
    """Side of a square map with about 5 sqrt(count) nodes, 2 .. 24."""
    return int(min(24, max(2, round(math.sqrt(5.0 * math.sqrt(max(count, 1)))))))


def scale(embeddings: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Standardise each embedding dimension, so no single large dimension draws the map."""
    x = embeddings.astype(np.float64)
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 1e-9, std, 1.0)


def fit_map(embeddings: npt.NDArray[np.floating], config: SomConfig = SomConfig()
            ) -> FittedMap:
    """Train a MiniSom on the standardised embeddings; PCA initialisation, random order."""
    from minisom import MiniSom

    if len(embeddings) < 2:
        raise ConfigError(f"a map needs at least 2 crops, got {len(embeddings)}")
    x = scale(embeddings)
    side = config.side or map_side(len(x))
    sigma = config.sigma or max(1.0, side / 4.0)
    som = MiniSom(side, side, x.shape[1], sigma=sigma, learning_rate=config.learning_rate,
                  neighborhood_function="gaussian", random_seed=config.seed)
    som.pca_weights_init(x)
    som.train(x, config.epochs * len(x), random_order=True)
    prototypes = som.get_weights().reshape(side * side, -1)
    node = _nearest(x, prototypes)
    return FittedMap(side, node, prototypes, x, float(som.quantization_error(x)))


def _nearest(x: npt.NDArray[np.float64], centres: npt.NDArray[np.float64]
             ) -> npt.NDArray[np.int64]:
    squared = (x * x).sum(1)[:, None] - 2 * x @ centres.T + (centres * centres).sum(1)[None]
    return np.asarray(squared.argmin(axis=1), np.int64)


def _distances(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
               ) -> npt.NDArray[np.float64]:
    squared = (x * x).sum(1)[:, None] - 2 * x @ y.T + (y * y).sum(1)[None]
    return np.sqrt(np.maximum(squared, 0.0))


def _novelty(nearest: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Novelty of each node from its prototype's distance to the nearest labelled crop.

    The distance over its median across nodes, within [NOVELTY_FLOOR, 2] so one outlying
    node does not outweigh mass and uncertainty and one labelled crop does not close a
    whole neighbourhood; 1 everywhere while nothing is labelled (all distances infinite).
    """
    if not np.isfinite(nearest).any():
        return np.ones(len(nearest))
    return np.asarray(np.clip(nearest / max(float(np.median(nearest)), 1e-9),
                              NOVELTY_FLOOR, 2.0), np.float64)


def node_novelty(fitted: FittedMap, labelled: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Novelty of each node given the labelled crops (see _novelty)."""
    return _novelty(_nearest_labelled(fitted, labelled))


def _nearest_labelled(fitted: FittedMap, labelled: npt.NDArray[np.int64]
                      ) -> npt.NDArray[np.float64]:
    if len(labelled) == 0:
        return np.full(len(fitted.prototypes), np.inf)
    return np.asarray(_distances(fitted.prototypes, fitted.scaled[labelled]).min(axis=1),
                      np.float64)


def _base_worth(fitted: FittedMap, uncertainty: npt.NDArray[np.floating]
                ) -> npt.NDArray[np.float64]:
    mass = fitted.mass()
    mean_u = np.bincount(fitted.node, weights=uncertainty, minlength=len(mass)) \
        / np.maximum(mass, 1)
    return np.asarray(np.where(mass > 0, np.log1p(mass) * (UNCERTAINTY_FLOOR + mean_u), 0.0),
                      np.float64)


def node_worth(fitted: FittedMap, uncertainty: npt.NDArray[np.floating],
               labelled: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Worth of each node: log(1 + mass) x (floor + mean uncertainty) x novelty."""
    return _base_worth(fitted, uncertainty) * node_novelty(fitted, labelled)


def choose(fitted: FittedMap, uncertainty: npt.NDArray[np.floating], budget: int,
           labelled: npt.NDArray[np.int64] | None = None,
           subgroups: list[str] | None = None) -> Choice:
    """Choose ``budget`` crops to label next (never one of ``labelled``), best first."""
    if budget < 0:
        raise ConfigError(f"budget must be 0 or more, got {budget}")
    labelled = np.zeros(0, np.int64) if labelled is None else np.asarray(labelled, np.int64)
    u = np.asarray(uncertainty, np.float64)
    base = _base_worth(fitted, u)
    nearest = _nearest_labelled(fitted, labelled)
    free = np.ones(len(fitted.node), bool)
    free[labelled] = False
    groups = sorted(set(subgroups)) if subgroups else []
    taken_in_group = dict.fromkeys(groups, 0)
    taken = np.zeros(len(base), np.int64)
    members = [np.flatnonzero(fitted.node == j) for j in range(len(base))]
    chosen_in_node: list[list[int]] = [[] for _ in base]
    out = Choice()
    while len(out.index) < budget and free.any():
        open_nodes = np.array([free[m].any() for m in members])
        score = np.where(open_nodes, base * _novelty(nearest) / (1.0 + taken), -1.0)
        j = int(score.argmax())
        candidates = members[j][free[members[j]]]
        pick = _pick_in_node(fitted, j, candidates, chosen_in_node[j], u, subgroups,
                             taken_in_group, len(out.index))
        free[pick] = False
        nearest = np.minimum(nearest, _distances(fitted.prototypes,
                                                 fitted.scaled[pick:pick + 1])[:, 0])
        taken[j] += 1
        chosen_in_node[j].append(pick)
        if subgroups:
            taken_in_group[subgroups[pick]] += 1
        out.index.append(pick)
        out.node.append(j)
        out.worth.append(float(score[j]))
    return out


def _pick_in_node(fitted: FittedMap, node: int, candidates: npt.NDArray[np.int64],
                  chosen: list[int], u: npt.NDArray[np.float64], subgroups: list[str] | None,
                  taken_in_group: dict[str, int], total: int) -> int:
    """Pick the prototype's nearest crop first, then far-from-chosen ones by uncertainty."""
    x = fitted.scaled[candidates]
    if not chosen:
        value = -_distances(x, fitted.prototypes[node:node + 1])[:, 0]
        value = value - value.min() + 1e-9
    else:
        value = _distances(x, fitted.scaled[chosen]).min(axis=1) * (UNCERTAINTY_FLOOR
                                                                    + u[candidates])
    if subgroups and total > 0:
        shares = np.array([taken_in_group[subgroups[i]] / total for i in candidates])
        value = value / (1.0 + shares * len(taken_in_group))
    return int(candidates[int(value.argmax())])
