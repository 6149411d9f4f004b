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

"""The face models' contrast stretch against its definition with np.percentile."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from affect_core.face.onnx_models import stretch_to_unit


def _reference(image: np.ndarray, valid: tuple[int, int] | None) -> np.ndarray:
    values = image.astype(np.float64)
    region = values if valid is None else values[:valid[0], :valid[1]]
    lo, hi = np.percentile(region, (1.0, 99.5)) if region.size else (0.0, 0.0)
    if hi - lo < 1e-6:
        return np.zeros(image.shape)
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0)


images = st.one_of(
    hnp.arrays(np.uint16, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40)),
    hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40)),
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
               elements=st.floats(0.0, 1e4, width=32)))


@settings(max_examples=200, deadline=None)
@given(images, st.data())
def test_stretch_matches_np_percentile(image: np.ndarray, data: st.DataObject) -> None:
    valid = data.draw(st.none() | st.tuples(st.integers(1, image.shape[0]),
                                            st.integers(1, image.shape[1])))
    got = stretch_to_unit(image, valid)
    assert got.dtype == np.float32 and got.shape == image.shape
    np.testing.assert_allclose(got, _reference(image, valid), atol=2e-6)


def test_a_flat_region_maps_to_zeros() -> None:
    assert not stretch_to_unit(np.full((8, 8), 300, np.uint16)).any()
    # Only the valid region counts: a picture of one value beside bright padding is flat.
    padded = np.zeros((8, 8), np.uint16)
    padded[:, 4:] = 9000
    assert not stretch_to_unit(padded, (8, 4)).any()
