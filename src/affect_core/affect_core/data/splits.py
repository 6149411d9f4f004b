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

"""Deterministic identity-disjoint splits, and resampling by identity.

A person photographed many times must not be in training and test at once: the model
would be scored on faces it has learnt, and the figure would overstate how it reads
strangers. Each identity goes to a split by a hash of (seed, identity), so the
assignment does not depend on the order of the files or on what else the data set
holds: adding photographs of new people never moves an old person to another split.

People with many photographs (``train_only_from`` or more) always go to training: in a
test split, one such person would weigh as much as hundreds of others, and the figure
would describe them rather than strangers (in the real-faces set, two people have 520 and
233 photographs, most others one to a few).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from affect_core.errors import DataError

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)
TRAIN_ONLY_FROM = 50  # photographs of one person from which they always go to training


def identity_unit(identity: str, seed: int) -> float:
    """Place an identity in [0, 1), fixed by (seed, identity): its place in the split."""
    digest = hashlib.sha256(f"{seed}\x00{identity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def identity_split(identities: Sequence[str], fractions: Sequence[float] = DEFAULT_FRACTIONS,
                   seed: int = 0, train_only_from: int = TRAIN_ONLY_FROM
                   ) -> dict[str, npt.NDArray[np.int64]]:
    """Split record indices into train, val and test, no identity in two splits.

    ``fractions`` are the shares of identities (not of images) per split; identities
    with ``train_only_from`` photographs or more go to training (0 disables this).
    """
    if len(fractions) != len(SPLITS) or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-9:
        raise DataError(f"split fractions must be {len(SPLITS)} non-negative shares "
                        f"summing to 1, got {list(fractions)}")
    edges = np.cumsum(fractions)[:-1]
    photos = Counter(identities)
    units = {name: (0.0 if 0 < train_only_from <= photos[name] else identity_unit(name, seed))
             for name in photos}
    which = np.array([int(np.searchsorted(edges, units[name], side="right"))
                      for name in identities], np.int64)
    return {name: np.flatnonzero(which == i) for i, name in enumerate(SPLITS)}


def identity_bootstrap(identities: Sequence[str], draws: int, seed: int = 0
                       ) -> list[npt.NDArray[np.int64]]:
    """Resample the records ``draws`` times, each drawing identities with replacement.

    Photographs of one person are not independent, so intervals resample people, each
    bringing all of their photographs (a cluster bootstrap).
    """
    names, inverse = np.unique(np.asarray(identities), return_inverse=True)
    members = [np.flatnonzero(inverse == i) for i in range(len(names))]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(draws):
        chosen = rng.integers(0, len(names), len(names))
        out.append(np.concatenate([members[i] for i in chosen]) if len(chosen)
                   else np.zeros(0, np.int64))
    return out
