"""Notebook 02 end to end: both Figure 2 files, claims computed from the data, committed
figures reproduce."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import assert_figure_files, assert_sidecar_reproduces, committed_sidecar, sidecar

from memwall_lib.core import trends

pytestmark = pytest.mark.notebook
NB = "02_model_growth"
FIGS = ("fig2a_model_size_vs_memory", "fig2b_training_compute")


def _sidecar(folder: Path, name: str) -> dict:
    return sidecar(folder, name)


@pytest.mark.parametrize("name", FIGS)
def test_committed_figure_still_reproduces(notebook_run, name: str) -> None:
    out = notebook_run(NB)
    assert_figure_files(out, name)
    # everything but provenance and output_dir: parameters, data, and every claim's text, rule and note
    assert_sidecar_reproduces(_sidecar(out, name), committed_sidecar(name), rtol=1e-9)


def test_claims_are_computed_from_the_plotted_points(notebook_run) -> None:
    out = notebook_run(NB)
    a, b = _sidecar(out, FIGS[0]), _sidecar(out, FIGS[1])
    checks = [
        (a, "fig2a.transformer_size.per_2yr", a["data"]["paper_era"]["size"]["transformer"]),
        (a, "fig2a.accelerator_memory.per_2yr", a["data"]["paper_era"]["memory"]),
        (b, "fig2b.transformer_compute.per_2yr", b["data"]["paper_era"]["compute"]["transformer"]),
    ]
    for sc, claim_id, pts in checks:
        claim = {c["id"]: c for c in sc["claims"]}[claim_id]
        fit = trends.fit_growth(np.asarray(pts["year"]), np.asarray(pts["value"]))
        assert claim["reproduced"] == pytest.approx(fit.per_2yr, rel=1e-3), claim_id
        assert claim["holds"] == (claim["ci95"][0] <= claim["paper"] <= claim["ci95"][1])


def test_extension_claims_exist(notebook_run) -> None:
    a = _sidecar(notebook_run(NB), FIGS[0])
    ids = {c["id"] for c in a["claims"]}
    assert "fig2a.transformer_size.per_2yr.ext2025" in ids
    assert "fig2a.transformer_size.per_2yr.ext2025_active" in ids


def test_frontier_claims_fit_the_running_record(notebook_run) -> None:
    out = notebook_run(NB)
    for sc, cid, key, col in (
        (_sidecar(out, FIGS[0]), "fig2a.transformer_size.per_2yr", "size", "size"),
        (_sidecar(out, FIGS[1]), "fig2b.transformer_compute.per_2yr", "compute", "compute"),
    ):
        ext = sc["data"]["extension"]
        record = ext["running_record"][key]["name"]
        pts = ext[col]["transformer"]
        keep = [n in record for n in pts["name"]]
        years, values = np.asarray(pts["year"])[keep], np.asarray(pts["value"])[keep]
        # each record beats every earlier point
        assert all(v > np.max(values[:i], initial=0) for i, v in enumerate(values[np.argsort(years, kind="stable")]))
        claim = {c["id"]: c for c in sc["claims"]}[f"{cid}.ext2025_frontier"]
        assert claim["reproduced"] == pytest.approx(trends.fit_growth(years, values).per_2yr, rel=1e-3)
        assert claim["ci95"][0] < claim["reproduced"] < claim["ci95"][1]


def test_growth_claims_carry_the_authors_points(notebook_run) -> None:
    out = notebook_run(NB)
    claims = {c["id"]: c for name in FIGS for c in _sidecar(out, name)["claims"]}
    assert claims["fig2a.transformer_size.per_2yr"]["authors_points"] == pytest.approx(413.43, rel=1e-4)
    assert claims["fig2a.accelerator_memory.per_2yr"]["authors_points"] == pytest.approx(1.8629, rel=1e-4)
    assert claims["fig2b.transformer_compute.per_2yr"]["authors_points"] == pytest.approx(753.17, rel=1e-4)
    assert all("authors_points" in c for c in claims.values())
    assert "comes from the data" in claims["fig2b.transformer_compute.per_2yr"]["note"]


def test_authors_values_change_the_fit(notebook_run) -> None:
    primary = _sidecar(notebook_run(NB, extension=False, bootstrap_resamples=200), FIGS[0])
    authors = _sidecar(notebook_run(NB, extension=False, bootstrap_resamples=200, values="authors"), FIGS[0])
    get = lambda sc: {c["id"]: c["reproduced"] for c in sc["claims"]}["fig2a.transformer_size.per_2yr"]
    assert get(authors) != pytest.approx(get(primary))
