"""Parameters (issue 11): upper bounds where a value could exhaust memory or overflow, list
items validated, and every notebook's parameters checked before any notebook runs, with one
clear line instead of a papermill traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memwall_lib.core import params
from memwall_lib.core.params import Param, ParameterError
from memwall_lib.core.paths import NOTEBOOKS_DIR
from memwall_lib.figures import NOTEBOOK_MODULES, fig1_hardware, fig4_memory, fig4b_remat
from memwall_lib.run import runner
from memwall_lib.run.preflight import check_run, notebook_defaults

NB = {stem: NOTEBOOKS_DIR / f"{stem}.ipynb" for stem in NOTEBOOK_MODULES}


def _check(module: Any, stem: str, **overrides: Any) -> dict[str, Any]:
    return params.check_parameters({**notebook_defaults(NB[stem]), **overrides}, module.PARAMETERS, module.RELATIONS)


def test_every_notebook_default_passes_its_checks() -> None:
    check_run(list(NB.values()), {})


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("seed", 99999999999999999999, r"parameter 'seed': expected <= 4294967295"),
        ("gpt2_hidden", 1048576, r"parameter 'gpt2_hidden': expected <= 16384"),
        ("gpt2_batch_size", 10**9, r"parameter 'gpt2_batch_size': expected <= 4096"),
        ("resnet_image_size", 10**6, r"parameter 'resnet_image_size': expected <= 2048"),
        ("timing_repeats", 10**9, r"parameter 'timing_repeats': expected <= 1000"),
        ("every_k", [100], r"parameter 'every_k': expected every k smaller than the blocks"),
    ],
)
def test_remat_bounds(name: str, value: Any, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        _check(fig4b_remat, "05_rematerialization", **{name: value})


def test_every_k_is_checked_against_the_layers_it_is_given_with() -> None:
    _check(fig4b_remat, "05_rematerialization", every_k=[2, 4])  # 14 GPT-2 blocks, 52 ResNet blocks
    with pytest.raises(ParameterError, match=r"parameter 'every_k'"):  # 4 is not below 2 + 2 blocks
        _check(fig4b_remat, "05_rematerialization", every_k=[2, 4], gpt2_layers=2)


def test_a_model_too_big_for_this_machine_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fig4b_remat, "fits_in_memory", lambda nbytes: nbytes <= 2e9)
    _check(fig4b_remat, "05_rematerialization")  # the defaults: ~0.4 and ~1.1 GB
    with pytest.raises(ParameterError, match=r"'gpt2_batch_size': the GPT-2 stack would need more than half"):
        _check(fig4b_remat, "05_rematerialization", gpt2_hidden=4096, gpt2_heads=16, gpt2_batch_size=64)


def test_machine_memory_is_known() -> None:
    assert params.machine_memory_bytes() > 2**28
    assert params.fits_in_memory(1) and not params.fits_in_memory(1e18)


@pytest.mark.parametrize("value", [[""], ["dual-GPU", "  "]])
def test_empty_strings_in_a_list_are_refused(value: list[str]) -> None:
    with pytest.raises(ParameterError, match=r"parameter 'gpu_exclude\[\d\]': expected a non-empty string"):
        _check(fig4_memory, "04_training_memory", gpu_exclude=value)


def test_batch_sizes_have_an_upper_bound() -> None:
    with pytest.raises(ParameterError, match=r"parameter 'batch_sizes\[0\]': expected <= 1048576"):
        _check(fig4_memory, "04_training_memory", models=["alexnet"], batch_sizes=[2**40])


def test_an_empty_string_list_item_is_refused_in_any_spec() -> None:
    spec = {"names": Param(list, "names", item_type=str)}
    with pytest.raises(ParameterError, match=r"'names\[1\]': expected a non-empty string"):
        params.check_parameters({"names": ["a", ""]}, spec)


def test_notebook_defaults_reads_the_parameters_cell() -> None:
    d = notebook_defaults(NB["01_hardware_scaling"])
    assert set(d) == set(fig1_hardware.PARAMETERS)


def test_all_with_a_parameter_one_notebook_lacks_fails_before_running_any(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Path] = []
    monkeypatch.setattr(runner, "run_notebook", lambda p, *a, **k: ran.append(p))
    rc = runner.main(["--all", "-p", "year_max", "2020", "--no-summary"], preflight=check_run)
    err = capsys.readouterr().err
    assert rc == 2 and ran == []
    assert err.startswith("error: 03_transformer_profiling: unknown parameter(s) ['year_max']")
    assert len(err.strip().splitlines()) == 1


def test_a_bad_value_fails_before_running(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[Path] = []
    monkeypatch.setattr(runner, "run_notebook", lambda p, *a, **k: ran.append(p))
    rc = runner.main([str(NB["05_rematerialization"]), "-p", "seed", "99999999999999999999"], preflight=check_run)
    assert rc == 2 and ran == []
    assert "05_rematerialization: parameter 'seed': expected <= 4294967295" in capsys.readouterr().err


def test_a_missing_notebook_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        runner.main(["notebooks/99_nope.ipynb"])
    assert "no such notebook" in capsys.readouterr().err


def _tiny_notebook(path: Path) -> Path:
    cells = [
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": "# Parameters\nx = 1\n",
            "outputs": [],
            "execution_count": None,
            "id": "p",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "id": "c",
            "source": "from memwall_lib.core.params import ParameterError\n"
            "if x != 1:\n    raise ParameterError(f\"parameter 'x': expected 1, got {x!r}\")\n",
        },
    ]
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))
    return path


def test_a_parameter_error_inside_a_notebook_prints_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("papermill")
    monkeypatch.setattr(runner, "BUILD_DIR", tmp_path)
    nb = _tiny_notebook(tmp_path / "tiny.ipynb")
    monkeypatch.setattr(
        runner,
        "run_notebook",
        lambda p, prm, **k: _real_run_notebook(p, prm, **{**k, "output": tmp_path / "out.ipynb"}),
    )
    rc = runner.main([str(nb), "-p", "x", "2", "--no-summary", "--progress", "off"])
    out, err = capfd.readouterr()
    assert rc == 2
    assert "error: " in err and "ParameterError: parameter 'x': expected 1, got 2" in err
    assert "Traceback" not in err and "without encryption" not in err + out
    assert "KeyboardInterrupt" not in err + out


_real_run_notebook = runner.run_notebook
