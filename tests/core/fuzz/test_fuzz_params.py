"""Fuzz parameter files and every stage's ``from_params`` with YAML-like values.

Invariants: a section is either accepted, and then every value has its parameter's type
and lies in its declared range (and the cheap stages build from it), or it is a
ConfigError whose message names a parameter that was given. A parameter file is either
read into ``{node: {param: value}}`` exactly as written, or refused with a ConfigError
naming the file: never a UnicodeDecodeError, a TypeError or an OverflowError.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from affect_core.camera import PARAMS as CAMERA_PARAMS
from affect_core.camera import IrCameraConfig
from affect_core.errors import ConfigError
from affect_core.face.tracker import PARAMS as TRACKER_PARAMS
from affect_core.face.tracker import FaceTrackerConfig
from affect_core.fusion import PARAMS as FUSION_PARAMS
from affect_core.fusion import ConfidenceFusion, FusionConfig
from affect_core.model.stage import PARAMS as VIT_PARAMS
from affect_core.model.stage import EmotionVitConfig
from affect_core.overlay import PARAMS as OVERLAY_PARAMS
from affect_core.overlay import OverlayConfig, OverlayState
from affect_core.params import ROS_STANDARD_PARAMS, ParamSpec, load_params_file
from affect_core.sim.rig import PARAMS as RIG_PARAMS
from affect_core.sim.rig import RigConfig
from affect_core.stereo import PARAMS as STEREO_PARAMS
from affect_core.stereo import StereoConfig, StereoDepth
from affect_core.window import PARAMS as WINDOW_PARAMS
from affect_core.window import WindowConfig, Windower

from tests.core.fuzz.values import nasty_floats, nasty_ints
from tests.fuzzing import fuzz_target, scratch_dir

# Each stage: its specs, how it is configured, and how the stage is built (None where
# building loads a model or opens a device, which other targets cover).
STAGES: dict[str, tuple[tuple[ParamSpec, ...], Callable[[Mapping[str, Any]], Any],
                        Callable[[Any], Any] | None]] = {
    "window_sync": (WINDOW_PARAMS, WindowConfig.from_params, Windower),
    "confidence_fusion": (FUSION_PARAMS, FusionConfig.from_params, ConfidenceFusion),
    "stereo_depth": (STEREO_PARAMS, StereoConfig.from_params, StereoDepth),
    "face_tracker": (TRACKER_PARAMS, FaceTrackerConfig.from_params, None),
    "emotion_vit": (VIT_PARAMS, EmotionVitConfig.from_params, None),
    "ir_camera": (CAMERA_PARAMS, IrCameraConfig.from_params, None),
    "sim_rig": (RIG_PARAMS, RigConfig.from_params, None),
    "overlay": (OVERLAY_PARAMS, OverlayConfig.from_params, OverlayState),
}

_SCALARS = st.one_of(st.none(), st.booleans(), nasty_ints(), nasty_floats(), st.text(max_size=12))
YAML_VALUES = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


def _near_valid(spec: ParamSpec) -> st.SearchStrategy[Any]:
    """Values of the parameter's own type around its range, and its choices."""
    if isinstance(spec.default, bool):
        return st.booleans()
    if spec.choices:
        return st.sampled_from(spec.choices) | st.text(max_size=12)
    low = spec.min_value if spec.min_value is not None else -1e6
    high = spec.max_value if spec.max_value is not None else 1e6
    if isinstance(spec.default, int):
        return st.integers(int(low) - 2, int(high) + 2)
    span = high - low
    return st.floats(low - 0.1 * span, high + 0.1 * span) | st.sampled_from(
        [low, high, math.nan, math.inf, -math.inf])


@st.composite
def sections(draw: st.DrawFn, specs: tuple[ParamSpec, ...]) -> dict[Any, Any]:
    """Draw a ros__parameters mapping: mostly the stage's names, some typos and junk keys."""
    section: dict[Any, Any] = {}
    for spec in draw(st.lists(st.sampled_from(specs), max_size=6, unique_by=lambda s: s.name)):
        section[spec.name] = draw(_near_valid(spec) | YAML_VALUES)
    extras = draw(st.lists(st.one_of(
        st.sampled_from(sorted(ROS_STANDARD_PARAMS)), st.text(max_size=10), st.integers(),
        st.none(), st.booleans(), st.floats()), max_size=2))
    for key in extras:
        section[key] = draw(YAML_VALUES)
    return section


def _check_accepted(config: Any, specs: tuple[ParamSpec, ...]) -> None:
    for spec in specs:
        if not hasattr(config, spec.name):
            continue  # e.g. the rig's factors, kept in config.factors
        value = getattr(config, spec.name)
        assert type(value) is type(spec.default), spec.name
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert not math.isnan(value), spec.name
            assert spec.min_value is None or value >= spec.min_value, spec.name
            assert spec.max_value is None or value <= spec.max_value, spec.name
        if spec.choices:
            assert value in spec.choices, spec.name


@fuzz_target(short=200, long=8_000)
@given(st.sampled_from(sorted(STAGES)).flatmap(
    lambda name: st.tuples(st.just(name), sections(STAGES[name][0]))))
def test_each_section_is_accepted_in_range_or_refused_naming_a_parameter(
        case: tuple[str, dict[Any, Any]]) -> None:
    name, section = case
    specs, from_params, build = STAGES[name]
    try:
        config = from_params(section)
    except ConfigError as err:
        message = str(err)
        assert any(str(key) in message for key in section), message
        return
    assert {str(k) for k in section} - ROS_STANDARD_PARAMS <= {s.name for s in specs}
    _check_accepted(config, specs)
    if build is not None:
        build(config)


def _one_section_per_node(data: dict[Any, Any]) -> bool:
    names = [str(k).lstrip("/") for k in data]
    return len(names) == len(set(names))


FILE_BODIES = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=64).map(lambda t: t.encode("utf-8")),
    st.dictionaries(st.one_of(st.text(max_size=8), st.just("/**"), st.integers()),
                    YAML_VALUES | st.fixed_dictionaries({"ros__parameters": YAML_VALUES}),
                    max_size=3).filter(_one_section_per_node).map(
                        lambda d: yaml.safe_dump(d, sort_keys=False).encode("utf-8")),
    st.sampled_from([b"a: &x [*x]\n", b"\xff\xfe\x00", b"!!python/object:os.system {}\n",
                     b"a: b: c\n", b"[" * 2000, b"- 1\n- 2\n", b""]),
)


@fuzz_target(short=150, long=8_000)
@given(FILE_BODIES)
def test_a_parameter_file_is_read_as_written_or_refused_naming_it(body: bytes) -> None:
    path = _scratch_file(body)
    try:
        sections_read = load_params_file(path)
    except ConfigError as err:
        assert str(path) in str(err)
        return
    data = yaml.safe_load(body.decode("utf-8"))
    assert isinstance(data, dict)
    written = {str(k).lstrip("/"): v["ros__parameters"] for k, v in data.items()}
    shared = written.pop("**", {})
    assert sections_read == {node: {**shared, **values} for node, values in written.items()}


_SCRATCH: list[Path] = []


def _scratch_file(body: bytes) -> Path:
    """Write ``body`` to this session's scratch parameter file (hypothesis has no tmp_path)."""
    if not _SCRATCH:
        _SCRATCH.append(scratch_dir("affect-fuzz-params-") / "params.yaml")
    _SCRATCH[0].write_bytes(body)
    return _SCRATCH[0]


@pytest.mark.parametrize("value", [10**400, -10**400])
def test_an_integer_too_large_for_a_float_parameter_is_a_config_error(value: int) -> None:
    # Found by the section target: float(10**400) raised OverflowError.
    with pytest.raises(ConfigError, match="'window_s'"):
        WindowConfig.from_params({"window_s": value})


def test_unknown_keys_that_are_not_strings_are_named() -> None:
    # Found by the section target: sorting an int key among str keys raised TypeError.
    with pytest.raises(ConfigError, match="unknown parameter.*12.*None"):
        WindowConfig.from_params({12: 1, None: 2, "window_s": 2.0})


@pytest.mark.parametrize(("body", "reason"), [(b"\xff\xfe window_sync:\n", "not UTF-8"),
                                             (b"[" * 2000, "nests too deeply")])
def test_a_parameter_file_that_is_not_yaml_text_is_a_config_error(
        tmp_path: Path, body: bytes, reason: str) -> None:
    # Found by the file target: UnicodeDecodeError, and RecursionError inside PyYAML.
    path = tmp_path / "params.yaml"
    path.write_bytes(body)
    with pytest.raises(ConfigError, match=reason):
        load_params_file(path)
