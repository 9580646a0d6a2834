"""The runner's ``-p`` (issue 22): a set is refused as a list, naming the parameter (it used
to become "missing parameter"), and a parameter given twice warns which value is used."""

from __future__ import annotations

import pytest

from memwall_lib.core.params import ParameterError
from memwall_lib.run import runner


def test_a_set_is_refused_naming_the_parameter() -> None:
    with pytest.raises(ParameterError) as info:
        runner.parse_parameters([["interconnect_families", "{'pcie'}"]], [])
    assert str(info.value) == (
        "parameter 'interconnect_families': expected a list, got the set {'pcie'}; write it with brackets, "
        "e.g. -p interconnect_families \"['pcie']\""
    )


def test_the_command_line_prints_one_line_for_a_set(capsys: pytest.CaptureFixture[str]) -> None:
    rc = runner.main(["notebooks/01_hardware_scaling.ipynb", "-p", "interconnect_families", "{'pcie'}"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: parameter 'interconnect_families': expected a list, got the set")
    assert err.count("\n") == 1


def test_a_parameter_given_twice_warns(capsys: pytest.CaptureFixture[str]) -> None:
    params = runner.parse_parameters([["year_max", "2020"], ["year_max", "2021"]], [])
    assert params == {"year_max": 2021}
    assert "warning: parameter 'year_max' given twice (2020, then 2021): using 2021" in capsys.readouterr().err
