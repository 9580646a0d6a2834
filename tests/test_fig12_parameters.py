"""Figures 1 and 2 (issue 22, part 5): a year range or a choice of points too small to fit is
refused before any fit, naming the parameters that made it (not a FitError naming none), and
an ``extension_year_max`` past the data's last year does not label claims "data through" a
year the data do not reach."""

from __future__ import annotations

from typing import Any

import pytest

from memwall_lib.core import params
from memwall_lib.core.params import ParameterError
from memwall_lib.core.paths import NOTEBOOKS_DIR
from memwall_lib.figures import fig1_hardware, fig2_model_growth
from memwall_lib.run.preflight import notebook_defaults

FIGURES: dict[str, Any] = {"01_hardware_scaling": fig1_hardware, "02_model_growth": fig2_model_growth}
QUICK = {"01_hardware_scaling": {}, "02_model_growth": {"bootstrap_resamples": 100}}


def _analyse(stem: str, **overrides: Any) -> Any:
    module = FIGURES[stem]
    namespace = {**notebook_defaults(NOTEBOOKS_DIR / f"{stem}.ipynb"), **QUICK[stem], **overrides}
    return module.analyse(params.check_parameters(namespace, module.PARAMETERS, module.RELATIONS))


@pytest.mark.parametrize(
    "stem, overrides, match",
    [
        (
            "01_hardware_scaling",
            {"year_min": 1940, "year_max": 1950},
            r"parameters 'year_min' \(1940\), 'year_max' \(1950\), 'device_set' \('paper'\).*: the paper-era "
            r"flops series has 0 point\(s\), and a growth fit needs at least 3; the data's devices span 1994-2025",
        ),
        (
            "01_hardware_scaling",
            {"device_set": "labelled", "flops_policy": "max_any", "year_min": 2021},
            r"'device_set' \('labelled'\), 'flops_policy' \('max_any'\).*flops series has 2 point\(s\)",
        ),
        (
            "01_hardware_scaling",
            {"interconnect_families": ["ici"]},
            r"'interconnect_metric' \('lane'\), 'interconnect_families' \(\['ici'\]\): the paper-era interconnect "
            r"series has 0 point\(s\)",
        ),
        (
            "02_model_growth",
            {"year_min": 1940, "year_max": 1950},
            r"'year_min' \(1940\), 'year_max' \(1950\), 'fit_families'.*transformer-size fit \(Fig. 2a\) has 0 "
            r"point\(s\).*the data's models span 2012-2025",
        ),
        ("02_model_growth", {"fit_families": ["rnn"]}, r"'fit_families' \(\['rnn'\]\).*has 0 point\(s\)"),
    ],
)
def test_a_selection_too_small_to_fit_names_its_parameters(stem: str, overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ParameterError, match=match) as info:
        _analyse(stem, **overrides)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("stem", sorted(FIGURES))
def test_an_extension_past_the_data_says_what_the_data_cover(stem: str) -> None:
    with pytest.warns(UserWarning, match=r"extension_year_max 2030 is past the last year of the data \(2025\)"):
        result = _analyse(stem, extension_year_max=2030)
    assert result.extension_through == 2025
    claims = [c for cs in FIGURES[stem].claims(result).values() for c in cs]
    extended = [c for c in claims if ".ext" in c.id]
    assert extended and all("2030" not in c.id + c.text for c in claims)
    assert all("ext2025" in c.id and "data through 2025" in c.text for c in extended)
