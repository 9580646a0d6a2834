"""Figure 2 logic: point selection, MoE counting, authors' values, memory / divisor, claims."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from memwall_lib import tables
from memwall_lib.figures.fig2_model_growth import points, verdicts
from memwall_lib.tables import HardwareData


def _models() -> pd.DataFrame:
    rows = [  # name, date, domain, family, total, active, compute, figs
        ("T1", dt.date(2017, 6, 1), "nlp", "transformer", 0.1, np.nan, 1e4, ("2a", "2b")),
        ("T2", dt.date(2018, 6, 1), "nlp", "transformer", 1.0, np.nan, 1e5, ("2a", "2b")),
        ("T3", dt.date(2019, 6, 1), "nlp", "transformer", 10.0, np.nan, 1e6, ("2a", "2b")),
        ("M1", dt.date(2020, 6, 1), "nlp", "moe", 1000.0, 10.0, np.nan, ("2a",)),
        ("C1", dt.date(2016, 1, 1), "cv", "cnn", 0.05, np.nan, 1e4, ("2a", "2b")),
        ("X1", dt.date(2019, 1, 1), "nlp", "transformer", 5.0, np.nan, 1e5, ()),
        ("N1", dt.date(2024, 6, 1), "nlp", "moe", 600.0, 40.0, 1e9, ()),
    ]
    t = pd.DataFrame(
        rows,
        columns=[
            "name",
            "date",
            "domain",
            "family",
            "parameters_total_billions",
            "parameters_active_billions",
            "training_compute_pflops",
            "paper_figures",
        ],
    )
    return t


def test_moe_parameters_total_or_active() -> None:
    total = points.model_table(_models(), points.Settings())
    active = points.model_table(_models(), points.Settings(moe_parameters="active"))
    get = lambda t, n: t.set_index("name").loc[n, "parameters_billions"]
    assert get(total, "M1") == 1000.0 and get(active, "M1") == 10.0
    assert get(active, "T3") == 10.0


def test_paper_set_extension_and_families() -> None:
    t = points.model_table(_models(), points.Settings())
    paper = points.size_points(t, points.Settings())
    assert list(paper["transformer"]["name"]) == ["T1", "T2", "T3", "M1"]  # X1 not in the paper's set
    assert list(paper["cv"]["name"]) == ["C1"]
    dense = points.size_points(t, points.Settings(fit_families=("transformer",)))
    assert "M1" not in set(dense["transformer"]["name"])
    allm = points.size_points(t, points.Settings(model_set="all"))
    assert "X1" in set(allm["transformer"]["name"])
    ext = points.size_points(t, points.Settings(), extension=True)
    assert ext["transformer"].set_index("name").loc["N1", "extension"]
    comp = points.compute_points(t, points.Settings())
    assert list(comp["transformer"]["name"]) == ["T1", "T2", "T3"]  # M1 has no compute


def test_authors_values_replace_primary_ones() -> None:
    authors = pd.DataFrame(
        {
            "model": ["T1"],
            "authors_date": [dt.date(2017, 12, 6)],
            "parameters_billions": [0.2],
            "training_compute_pflops": [np.nan],
        }
    )
    t = points.model_table(_models(), points.Settings(values="authors"), authors).set_index("name")
    assert t.loc["T1", "parameters_billions"] == 0.2
    assert t.loc["T1", "compute_pflops"] == 1e4  # kept: the authors give none
    assert t.loc["T1", "date"] == dt.date(2017, 12, 6)
    with pytest.raises(ValueError, match="authors_tables.csv"):
        points.model_table(_models(), points.Settings(values="authors"), None)


def test_memory_divided_by_the_divisor() -> None:
    devices = pd.DataFrame(
        {
            "name": ["G1", "G2", "G3"],
            "device_type": ["gpu"] * 3,
            "announce_date": [dt.date(2016, 1, 1), dt.date(2020, 1, 1), dt.date(2024, 1, 1)],
            "availability_date": [None] * 3,
            "memory_capacity_GiB": [12.0, 80.0, 192.0],
            "paper_figures": [("2a",), ("1", "2a"), ()],
        }
    )
    hw = HardwareData(devices, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    pts = points.memory_points(hw, points.Settings(memory_divisor=4.0))
    # default (the authors' convention): the nominal "GB" number / 4 bytes per parameter
    assert list(pts["largest_model_billions"]) == pytest.approx([12 / 4, 80 / 4])
    # bytes: nominal GiB -> GB (1e9 bytes) -> billions of parameters at 4 bytes each
    pts = points.memory_points(hw, points.Settings(memory_divisor=4.0, memory_capacity="bytes"))
    assert list(pts["largest_model_billions"]) == pytest.approx([12 * 2**30 / 4e9, 80 * 2**30 / 4e9])
    assert len(points.memory_points(hw, points.Settings(year_min=2018))) == 1  # year_min applies to memory too
    assert len(points.memory_points(hw, points.Settings(), extension=True)) == 3


def test_claims_follow_the_fits() -> None:
    t = points.model_table(_models(), points.Settings())
    devices = pd.DataFrame(
        {
            "name": ["G1", "G2", "G3"],
            "device_type": ["gpu"] * 3,
            "announce_date": [dt.date(2016, 1, 1), dt.date(2018, 1, 1), dt.date(2020, 1, 1)],
            "availability_date": [None] * 3,
            "memory_capacity_GiB": [12.0, 32.0, 80.0],
            "paper_figures": [("2a",)] * 3,
        }
    )
    era = points.analyse_era(
        t, HardwareData(devices, pd.DataFrame(), pd.DataFrame(), pd.DataFrame()), points.Settings(), resamples=200
    )
    claims = {c.id: c for c in verdicts.claims_2a(era) + verdicts.claims_2b(era)}
    assert claims["fig2b.transformer_compute.per_2yr"].reproduced == pytest.approx(100.0)  # 10x / yr exactly
    assert claims["fig2a.transformer_size.per_2yr"].reproduced == pytest.approx(era.size_fit.fit.per_2yr)
    assert "leave-one-out" in claims["fig2a.transformer_size.per_2yr"].note


def test_real_authors_table_refers_to_known_models() -> None:
    models = tables.load_models()
    authors = tables.load_authors_tables(models=models)
    assert len(authors) >= 20
    paper_2a = models[models["paper_figures"].apply(lambda f: "2a" in f)]
    assert len(paper_2a) >= 15


def test_memory_dates_follow_the_date_rule() -> None:
    devices = pd.DataFrame(
        {
            "name": ["G1", "G2"],
            "device_type": ["gpu"] * 2,
            "announce_date": [dt.date(2017, 5, 17), dt.date(2022, 3, 22)],
            "availability_date": [dt.date(2018, 2, 12), None],
            "memory_capacity_GiB": [16.0, 80.0],
            "paper_figures": [("2a",), ("2a",)],
        }
    )
    hw = HardwareData(devices, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    assert list(points.memory_points(hw, points.Settings())["date"]) == [dt.date(2017, 5, 17), dt.date(2022, 3, 22)]
    avail = points.memory_points(hw, points.Settings(memory_date_rule="availability"))
    assert list(avail["date"]) == [dt.date(2018, 2, 12), dt.date(2022, 3, 22)]
    with pytest.raises(ValueError, match="memory_date_rule"):
        points.memory_points(hw, points.Settings(memory_date_rule="shipping"))


def test_running_record_keeps_only_new_records() -> None:
    t = pd.DataFrame(
        {
            "name": ["a", "b", "c", "d", "e"],
            "year": [2017.0, 2018.0, 2018.5, 2019.0, 2019.0],
            "v": [1.0, 0.5, 3.0, 3.0, 9.0],
        }
    )
    # b is smaller than a; d ties c's record and e beats it on the same date
    assert points.running_record(t, "v")["name"].tolist() == ["a", "c", "e"]


def test_default_fits_use_the_models_of_the_authors_lines() -> None:
    # the recovered convention: the authors' Fig 2(a) and 2(b) transformer lines run over exactly
    # these models (GShard and Switch in (a); XLNet and the unlabelled RoBERTa, ALBERT, ELECTRA in (b))
    models = tables.load_models()
    t = points.model_table(models, points.Settings())
    plotted = tables.load_authors_plotted()
    for panel, group in (
        ("fig2a", points.size_points(t, points.Settings())["transformer"]),
        ("fig2b", points.compute_points(t, points.Settings())["transformer"]),
    ):
        theirs = plotted[
            (plotted["figure"] == panel) & (plotted["kind"] == "marker") & (plotted["series"] == "transformer")
        ]
        known = theirs["identified_as"].notna()
        names = {n.split(" | ")[0].removesuffix(" [authors' table]") for n in theirs["identified_as"][known]}
        # Fig 2(b)'s BERT is plotted at 533,000 PFLOPs, a value in no table: named by its label
        assert theirs["label"][~known].tolist() == ([] if panel == "fig2a" else ["BERT"])
        names |= {"BERT-Large"} if panel == "fig2b" else set()
        assert len(theirs) == 10 and set(group["name"]) == names, panel
