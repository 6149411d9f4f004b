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

"""The rig rendered in a child process gives the in-process rig's frames, and stops."""

from __future__ import annotations

import numpy as np
import pytest

from affect_core.errors import SourceError
from affect_core.sim.rig import RigConfig
from affect_core.sources.concrete import SimSource
from affect_core.sources.rig_process import RigProcessSource


def test_the_child_renders_the_same_frames_in_the_same_order() -> None:
    config = RigConfig(num_people=2, preset="heterogeneous", seed=3)
    local = list(SimSource(config, 0.25).frames())
    child = RigProcessSource(config, 0.25)
    try:
        remote = list(child.frames())
    finally:
        child.close()
    assert len(remote) == len(local) == 30
    for a, b in zip(local, remote):
        assert a.ir.stamp_ns == b.ir.stamp_ns
        np.testing.assert_array_equal(a.ir.data, b.ir.data)
        assert (a.stereo is None) == (b.stereo is None)
        if a.stereo is not None:
            np.testing.assert_array_equal(a.stereo.left, b.stereo.left)
        assert [p.truth_id for p in a.truth.people] == [p.truth_id for p in b.truth.people]
    assert (child.stats.ir_frames, child.stats.stereo_pairs) == (30, 8)
    assert child.ir_camera == SimSource(config, 0.0).ir_camera


def test_closing_early_stops_the_child() -> None:
    child = RigProcessSource(RigConfig(), 60.0)
    frames = child.frames()
    next(frames)
    child.close()
    assert not child._process.is_alive() and child._process.exitcode == 0


def test_a_renderer_that_fails_is_reported() -> None:
    child = RigProcessSource(RigConfig(), 1.0)
    child._process.start()
    child._started = True
    child._process.kill()
    with pytest.raises(SourceError, match="rig renderer stopped"):
        for _ in child.frames():
            pass
    child.close()
