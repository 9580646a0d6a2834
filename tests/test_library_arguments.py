"""Library misuse (issue 22, part 6): the public functions of core and tables called with a
wrong type or range raise TypeError or ValueError naming the argument and what was expected,
never a foreign traceback (AttributeError, KeyError, IsADirectoryError) or a silent wrong
answer (a string iterated letter by letter, NaN returned, "0 of 0 claims hold")."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memwall_lib import tables
from memwall_lib.core import checks, claims, output, trends
from memwall_lib.core.paths import DATA_DIR
from memwall_lib.core.schema import read_table


@pytest.fixture(scope="module")
def hw() -> Any:
    return tables.load_hardware()


def _cases(hw: Any, tmp: Path) -> dict[str, tuple[Callable[[], Any], type[Exception], str]]:
    years = np.array([2000.0, 2001.0, 2002.0])
    return {
        "growth_claim with a 1-element CI": (
            lambda: claims.growth_claim("x", "t", 2.0, 2.1, [1.0]),
            ValueError,
            r"ci95: expected two finite numbers",
        ),
        "growth_claim of NaN": (
            lambda: claims.growth_claim("x", "t", 2.0, float("nan"), [1.0, 3.0]),
            ValueError,
            r"reproduced: expected a finite number, got nan",
        ),
        "read_table without a schema": (
            lambda: read_table(DATA_DIR / "models.csv", None),
            TypeError,
            r"schema: expected a memwall_lib.core.schema.Schema",
        ),
        "read_table of None": (
            lambda: read_table(None, tables.SCHEMAS["models.csv"]),
            TypeError,
            r"path: expected a CSV file path",
        ),
        "device_peaks on the devices frame": (
            lambda: tables.device_peaks(hw.devices),
            ValueError,
            r"peak_flops: missing column\(s\) \['device', 'precision', 'unit', 'sparsity', 'peak_TFLOPS'\]",
        ),
        "device_peaks on a list": (lambda: tables.device_peaks([1, 2]), TypeError, r"peak_flops: expected a pandas"),
        "device_dates on the peaks": (
            lambda: tables.device_dates(hw.peak_flops),
            ValueError,
            r"devices: missing column\(s\) \['announce_date', 'availability_date'\]",
        ),
        "gpu_memory_by_year with exclude a string": (
            lambda: tables.gpu_memory_by_year(hw.devices, [2020], exclude="dual-GPU"),
            TypeError,
            r"exclude: expected a list of strings, got the string 'dual-GPU' \(write \['dual-GPU'\]\)",
        ),
        "gpu_memory_by_year of a year as text": (
            lambda: tables.gpu_memory_by_year(hw.devices, ["2020"]),
            TypeError,
            r"years\[0\]: expected an integer, got '2020'",
        ),
        "atomic_write_text on a folder": (
            lambda: output.atomic_write_text(tmp, "x"),
            ValueError,
            r"path: expected a file, got the folder",
        ),
        "atomic_write_text on None": (
            lambda: output.atomic_write_text(None, "x"),
            TypeError,
            r"path: expected a file path",
        ),
        "atomic_write_text of bytes": (
            lambda: output.atomic_write_text(tmp / "a.txt", b"x"),
            TypeError,
            r"text: expected a str, got bytes",
        ),
        "leave_one_out with 2 points": (
            lambda: trends.leave_one_out(years[:2], [1.0, 2.0]),
            ValueError,
            r"needs at least 3 points, got 2",
        ),
        "leave_one_out with 3 points": (
            lambda: trends.leave_one_out(years, [1.0, 2.0, 4.0]),
            ValueError,
            r"years: leave_one_out needs at least 4 points",
        ),
        "leave_one_out over a negative horizon": (
            lambda: trends.leave_one_out(np.arange(2000.0, 2005.0), [1.0, 2.0, 4.0, 8.0, 16.0], horizon_years=-2),
            ValueError,
            r"horizon_years: expected a positive number of years, got -2",
        ),
        "write_claims_summary on an empty folder": (
            lambda: claims.write_claims_summary(tmp),
            ValueError,
            r"out_dir: no figure sidecar",
        ),
        "write_claims_summary on None": (
            lambda: claims.write_claims_summary(None),
            TypeError,
            r"out_dir: expected a folder",
        ),
        "load_models of a missing folder": (
            lambda: tables.load_models(tmp / "nope"),
            ValueError,
            r"data_dir: folder .* does not exist",
        ),
        "load_authors_plotted of None": (
            lambda: tables.load_authors_plotted(None),
            TypeError,
            r"data_dir: expected a folder",
        ),
    }


def test_every_misuse_names_its_argument(hw: Any, tmp_path: Path) -> None:
    failures = []
    for label, (call, kind, match) in _cases(hw, tmp_path).items():
        try:
            call()
        except kind as exc:
            if not re.search(match, str(exc)):
                failures.append(f"{label}: {type(exc).__name__}: {exc}")
            elif "\n" in str(exc):
                failures.append(f"{label}: more than one line: {exc}")
        except Exception as exc:  # a foreign one
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{label}: returned without an error")
    assert failures == []


def test_the_checkers() -> None:
    with pytest.raises(TypeError, match=r"x: expected a pandas DataFrame \(a table\), got list"):
        checks.check_frame("x", [], ["a"], "a table")
    with pytest.raises(TypeError, match=r"x: expected a list of strings, got the item 3"):
        checks.check_str_list("x", ["a", 3])
    assert checks.check_str_list("x", ("a", "b")) == ["a", "b"]
    assert checks.check_int("n", np.int64(3)) == 3
