"""Parameters: the shipped file validates; bad values fail with actionable messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from affect_core.errors import ConfigError
from affect_core.params import ParamSpec, load_params_file, resolve
from affect_core.pipeline import SECTIONS, LabPipeline

from ..conftest import LAB_YAML, REPO


def test_shipped_parameter_file_validates() -> None:
    params = load_params_file(LAB_YAML)
    assert set(params) == set(SECTIONS)
    pipeline = LabPipeline(params)
    assert pipeline.window_config.window_s == 2.0 and pipeline.window_config.hop_s == 0.5
    assert pipeline.rig_config.fps == 120.0


def test_sections_are_the_node_names_of_the_launch_file() -> None:
    launch = (REPO / "launch" / "lab.launch.py").read_text()
    sensors = re.search(r"sensor = ('\w+' if use_sim else '\w+')", launch)
    assert sensors is not None  # the sensor node is named by use_sim
    names = set(re.findall(r"name='(\w+)'", launch)) | set(
        re.findall(r"'(\w+)'", launch.split("STAGES = ")[1].split(")")[0])) | set(
        re.findall(r"'(\w+)'", sensors.group(1)))
    assert set(SECTIONS) <= names


@pytest.mark.parametrize("value, message", [
    (0.0, "below its minimum"), (100.0, "above its maximum"), ("fast", "type float"),
    (float("nan"), "NaN"),
])
def test_out_of_range_and_wrong_type_are_rejected(value: object, message: str) -> None:
    spec = ParamSpec("hop_s", 0.5, "hop", 0.01, 60.0)
    with pytest.raises(ConfigError, match=message):
        spec.validate(value)


def test_integers_widen_to_float_but_bools_do_not() -> None:
    spec = ParamSpec("window_s", 2.0, "length", 0.05, 60.0)
    assert spec.validate(3) == 3.0
    with pytest.raises(ConfigError):
        spec.validate(True)


def test_unknown_parameters_and_choices_are_rejected() -> None:
    specs = (ParamSpec("preset", "curated", "p", choices=("curated", "heterogeneous")),)
    with pytest.raises(ConfigError, match="unknown parameter"):
        resolve(specs, {"prest": "curated"}, "sim_rig")
    with pytest.raises(ConfigError, match="not one of"):
        resolve(specs, {"preset": "studio"}, "sim_rig")
    assert resolve(specs, {"use_sim_time": True}, "sim_rig") == {"preset": "curated"}


def test_malformed_files_fail_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("face_tracker: [1, 2]\n")
    with pytest.raises(ConfigError, match="ros__parameters"):
        load_params_file(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_params_file(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="unknown section"):
        LabPipeline({"face_trackr": {}})
