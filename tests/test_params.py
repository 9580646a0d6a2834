"""Notebook parameter validation: unknown names, types, ranges, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from memwall_lib.core.params import Param, ParameterError, assigned_names, check_parameters, parameter_cell_names
from memwall_lib.figures import fig1_hardware

SPEC = {
    "year_max": Param(int, "last year", minimum=1990, maximum=2030),
    "policy": Param(str, "policy", choices=("a", "b")),
    "ratio": Param(float, "a ratio", minimum=0.0),
    "flag": Param(bool, "a flag"),
    "lengths": Param(list, "lengths", item_type=int, minimum=1, min_items=1),
    "output_dir": Param(str, "out", path="out_dir"),
}


def _ns(tmp_path: Path, **over):
    ns = {
        "year_max": 2023,
        "policy": "a",
        "ratio": 1,
        "flag": True,
        "lengths": [128, 256],
        "output_dir": str(tmp_path / "out"),
        "__name__": "__main__",
        "In": [],
        "Path": Path,
    }
    ns.update(over)
    return ns


def test_valid_parameters_come_back_typed(tmp_path: Path) -> None:
    p = check_parameters(_ns(tmp_path), SPEC)
    assert p["ratio"] == 1.0 and isinstance(p["ratio"], float)
    assert (tmp_path / "out").is_dir()


def test_mistyped_name_is_caught_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) 'yaer_max' \(did you mean 'year_max'\?\)"):
        check_parameters(_ns(tmp_path, yaer_max=2025), SPEC)


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("year_max", "2025", "'year_max': expected an integer"),
        ("year_max", 1800, "'year_max': expected >= 1990"),
        ("policy", "c", r"'policy': expected one of \['a', 'b'\]"),
        ("flag", 1, "'flag': expected True or False"),
        ("lengths", 128, "'lengths': expected a list"),
        ("lengths", [128, -1], r"'lengths\[1\]': expected >= 1"),
        ("lengths", [], "at least 1 item"),
        ("ratio", "x", "'ratio': expected a number"),
        ("lengths", {128, 256}, r"'lengths': expected a list .*got \{128, 256\}"),  # a YAML !!set, not 'missing'
        ("lengths", {"a": 1}, r"'lengths': expected a list"),  # a YAML mapping
        ("policy", {"a"}, r"'policy': expected a str"),
    ],
)
def test_bad_values_name_the_parameter(tmp_path: Path, name, value, match) -> None:
    with pytest.raises(ParameterError, match=match):
        check_parameters(_ns(tmp_path, **{name: value}), SPEC)


def test_missing_parameter(tmp_path: Path) -> None:
    ns = _ns(tmp_path)
    del ns["flag"]
    with pytest.raises(ParameterError, match=r"missing parameter\(s\) \['flag'\]"):
        check_parameters(ns, SPEC)


def test_missing_input_folder(tmp_path: Path) -> None:
    spec = {"data_dir": Param(str, "data", path="dir")}
    with pytest.raises(ParameterError, match="'data_dir': folder .* does not exist"):
        check_parameters({"data_dir": str(tmp_path / "nope")}, spec)


def test_relations_across_parameters(tmp_path: Path) -> None:
    ns = {
        "year_min": 2020,
        "year_max": 2010,
        "extension": True,
        "extension_year_max": 2025,
        "flops_policy": "ai_peak",
        "device_set": "paper",
        "date_rule": "announce",
        "dram_convention": "generation",
        "interconnect_metric": "device",
        "interconnect_families": ["pcie"],
        "data_dir": "data",
        "output_dir": str(tmp_path),
    }
    with pytest.raises(ParameterError, match="year_min < year_max"):
        check_parameters(ns, fig1_hardware.PARAMETERS, fig1_hardware.RELATIONS)


# --------------------------------------------------------------------------- in a kernel: the In history
PARAMS_CELL = (
    "# Parameters (papermill overrides these)\nyear_max = 2023\npolicy = 'a'\nratio = 1\n"
    "flag = True\nlengths = [128, 256]\noutput_dir = 'out'\n"
)


def test_assigned_names() -> None:
    assert assigned_names("a = 1\nb: int = 2\nc = d = 3\ne, (f, g) = 1, (2, 3)\nh += 1\nprint(z)\n") == set("abcdefgh")
    assert assigned_names("def (") == set()


def test_parameter_cell_names_reads_the_parameters_cells_of_the_history() -> None:
    history = ["", PARAMS_CELL, "# Parameters\nyear_max = 2025\nextra = 1\n", "x = 5\n# Parameters\ny = 1"]
    assert parameter_cell_names({"In": history}) == {
        "year_max",
        "policy",
        "ratio",
        "flag",
        "lengths",
        "output_dir",
        "extra",
    }
    assert parameter_cell_names({"In": ["", "x = 1"]}) is None  # no parameters cell ran
    assert parameter_cell_names({}) is None  # not in a kernel


def test_in_a_kernel_later_names_are_not_parameters(tmp_path: Path) -> None:
    ns = _ns(tmp_path, x=5, claims_seen=[1, 2], In=["", PARAMS_CELL, "x = 5\nclaims_seen = [1, 2]"])
    assert check_parameters(ns, SPEC)["year_max"] == 2023
    # outside a kernel the same globals are all checked
    with pytest.raises(ParameterError, match="unknown parameter"):
        check_parameters({k: v for k, v in ns.items() if k != "In"}, SPEC)


def test_in_a_kernel_a_mistyped_injected_parameter_is_caught(tmp_path: Path) -> None:
    ns = _ns(tmp_path, yaer_max=2025, In=["", PARAMS_CELL, "# Parameters\nyaer_max = 2025\n"])
    with pytest.raises(ParameterError, match=r"'yaer_max' \(did you mean 'year_max'\?\)"):
        check_parameters(ns, SPEC)
