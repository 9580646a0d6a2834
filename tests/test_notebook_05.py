"""Notebook 05 end to end with a small GPT-2 stack and a small ResNet-152: files, sidecar,
every strategy present with equal gradients, claims computed from the measurements."""

from __future__ import annotations

from pathlib import Path

import pytest

from papermill.exceptions import PapermillExecutionError

from helpers import assert_figure_files, sidecar
from memwall_lib.core.paths import NOTEBOOKS_DIR
from memwall_lib.core.runner import run_notebook
from memwall_lib.engines import remat
from memwall_lib.figures import fig4b_remat

pytestmark = pytest.mark.notebook
NB = "05_rematerialization"
FIG = "fig4b_rematerialization"
QUICK = dict(gpt2_layers=4, gpt2_hidden=64, gpt2_heads=4, gpt2_tokens=32, resnet_image_size=32,
             every_k=[2], n_budgets=3, timing_repeats=1)


def _sidecar(folder: Path) -> dict:
    return sidecar(folder, FIG)


def test_writes_files_and_every_strategy(notebook_run) -> None:
    out = notebook_run(NB, **QUICK)
    assert_figure_files(out, FIG)
    data = _sidecar(out)["data"]
    for chain in remat.CHAINS:
        ms = data[chain]["measurements"]
        assert {m["schedule"]["strategy"] for m in ms} >= set(remat.STRATEGIES)
        assert all(m["grads_equal"] for m in ms)
        assert all(m["peak_activation_bytes"] > 0 and m["flops"] > 0 for m in ms)
        assert all(m["cuda_peak_bytes"] is None for m in ms)


def test_claims_are_computed_from_the_measurements(notebook_run) -> None:
    sc = _sidecar(notebook_run(NB, **QUICK))
    limit = sc["parameters"]["max_overhead"]
    claims = {c["id"]: c for c in sc["claims"]}
    for chain in remat.CHAINS:
        ms = sc["data"][chain]["measurements"]
        ref = next(m for m in ms if m["schedule"]["strategy"] == "none")
        best = min(m["peak_activation_bytes"] for m in ms if m["overhead"] <= limit + 1e-12)
        claim = claims[f"fig4b.reduction_at_20pct.{chain}"]
        assert claim["reproduced"] == pytest.approx(ref["peak_activation_bytes"] / best, rel=1e-12)
        assert claim["paper"] == fig4b_remat.PAPER_REDUCTION
        assert claim["holds"] == (claim["reproduced"] >= fig4b_remat.REDUCTION_TOLERANCE * fig4b_remat.PAPER_REDUCTION)
        assert sc["data"][chain]["reduction_at_max_overhead"] == claim["reproduced"]


def test_bad_value_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(PapermillExecutionError, match="'device': expected one of"):
        run_notebook(NOTEBOOKS_DIR / f"{NB}.ipynb", {"device": "tpu", "output_dir": str(tmp_path)},
                     output=tmp_path / "out.ipynb")
