"""Notebook 06 (Figure 5, beyond the paper) end to end: papermill run, sidecar contract, claims
computed from the plotted numbers, and the committed Figure 5 still reproduces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import assert_figure_files, assert_sidecar_reproduces, committed_sidecar, sidecar
from papermill.exceptions import PapermillExecutionError

from memwall_lib.core import trends
from memwall_lib.core.paths import NOTEBOOKS_DIR
from memwall_lib.run.runner import run_notebook

pytestmark = pytest.mark.notebook
NB = "06_memory_wall_by_accelerator"
FIG = "fig5_memory_wall_by_accelerator"


def test_writes_png_pdf_json(notebook_run) -> None:
    assert_figure_files(notebook_run(NB), FIG)


def test_committed_figure_still_reproduces(notebook_run) -> None:
    # analytic: every number, parameter and claim text equal to the committed sidecar's
    assert_sidecar_reproduces(sidecar(notebook_run(NB), FIG), committed_sidecar(FIG), rtol=1e-9)


def test_claims_are_computed_from_the_plotted_points(notebook_run) -> None:
    sc = sidecar(notebook_run(NB), FIG)
    claims = {c["id"]: c for c in sc["claims"]}
    acc = sc["data"]["accelerators"]
    has = np.array([r is not None for r in acc["ridge"]])
    years, ridge = np.asarray(acc["year"])[has], np.asarray(acc["ridge"], dtype=object)[has].astype(float)
    fit = trends.fit_growth(years, ridge)  # years are rounded to 4 decimals in the sidecar
    assert claims["fig5.ridge.per_2yr"]["reproduced"] == pytest.approx(fit.per_2yr, rel=1e-4)
    b1 = [
        i
        for i, (ph, b) in enumerate(zip(sc["data"]["intensities"]["phase"], sc["data"]["intensities"]["batch"]))
        if ph == "decode" and b == 1
    ]
    top = max(sc["data"]["intensities"]["intensity"][i] for i in b1)
    n_bound = int((ridge > top).sum())
    assert claims["fig5.decode_b1_memory_bound"]["reproduced"] == f"{n_bound} of {len(ridge)}"
    crit = sc["data"]["critical_batch"]["rows"]
    column = f"critical_batch_kv_cache_{sc['data']['critical_batch']['context_len']}"
    ok = [i for i, b in enumerate(crit[column]) if b is not None]
    cfit = trends.fit_growth(np.asarray(crit["year"])[ok], np.asarray(crit[column])[ok].astype(float))
    assert claims["fig5.critical_batch.per_2yr"]["reproduced"] == pytest.approx(cfit.per_2yr, rel=1e-4)


def test_parameters_move_the_figure(notebook_run) -> None:
    base = sidecar(notebook_run(NB), FIG)
    fp32 = sidecar(notebook_run(NB, precision="fp32", accelerator_families=["nvidia"]), FIG)
    assert set(fp32["data"]["accelerators"]["family"]) == {"nvidia"}
    get = lambda sc: sc["data"]["intensities"]["intensity"][0]  # noqa: E731
    assert get(fp32) == pytest.approx(get(base) / 2, rel=0.05)  # twice the bytes per element


def test_mistyped_parameter_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(PapermillExecutionError, match="unknown parameter.*'contex_len'.*did you mean 'context_len'"):
        run_notebook(
            NOTEBOOKS_DIR / f"{NB}.ipynb",
            {"contex_len": 512, "output_dir": str(tmp_path)},
            output=tmp_path / "out.ipynb",
        )
    assert not list(tmp_path.glob("*.json"))


def test_bad_value_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(PapermillExecutionError, match="'batch_sizes': must include 1"):
        run_notebook(
            NOTEBOOKS_DIR / f"{NB}.ipynb",
            {"batch_sizes": [8, 64], "output_dir": str(tmp_path)},
            output=tmp_path / "out.ipynb",
        )


def test_your_own_model_and_chip(notebook_run) -> None:
    """A config.json the project has no formula for (Qwen2.5, traced) beside a preset, and a
    chip given through extra_accelerators: both drawn and labelled, the chip out of the fits."""
    mine = {"name": "MyChip", "year": 2026, "peak_tflops": 1000, "dram_tb_s": 4, "memory_gb": 96}
    sc = sidecar(
        notebook_run(NB, models=["examples/configs/qwen2.5-7b.json", "llama3-70b"], extra_accelerators=[mine]), FIG
    )
    data = sc["data"]
    assert list(dict.fromkeys(data["intensities"]["model"])) == ["qwen2.5-7b", "llama3-70b"]
    assert data["model_sources"]["qwen2.5-7b"] == "examples/configs/qwen2.5-7b.json (traced on the meta device)"
    acc = data["accelerators"]
    row = acc["name"].index("MyChip")
    assert acc["user_supplied"][row] and acc["family"][row] == "user" and acc["ridge"][row] == pytest.approx(250)
    base = committed_sidecar(FIG)["data"]["fits"]["ridge"]
    assert data["fits"]["ridge"]["n"] == base["n"]  # MyChip is drawn, not fitted


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"models": ["examples/configs/missing.json"]}, r"parameter 'models'\[0\]: .*missing.json.* does not exist"),
        ({"models": ["examples/configs/bert-base-uncased.json"]}, r"'bert-base-uncased' is an encoder"),
        (
            {"extra_accelerators": [{"name": "Z", "year": 2026, "peak_tflops": 1, "dram_tb_s": 0, "memory_gb": 1}]},
            r"parameter 'extra_accelerators': extra_accelerators\[0\]\.dram_tb_s: expected a positive number",
        ),
    ],
)
def test_a_bad_model_or_chip_is_one_line_before_any_work(tmp_path: Path, params: dict, match: str) -> None:
    with pytest.raises(PapermillExecutionError, match=match):
        run_notebook(
            NOTEBOOKS_DIR / f"{NB}.ipynb", {**params, "output_dir": str(tmp_path)}, output=tmp_path / "o.ipynb"
        )
    assert not list(tmp_path.glob("*.json"))
