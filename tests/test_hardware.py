"""Figure 1 logic on small synthetic tables: precision policies, conventions, claims."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from memwall_lib import tables
from memwall_lib.figures.fig1_hardware import series as fig1_series
from memwall_lib.figures.fig1_hardware import verdicts as fig1_verdicts
from memwall_lib.tables import HardwareData


def _hw() -> HardwareData:
    devices = pd.DataFrame(
        {
            "name": ["cpu96", "gpu06", "gpu12", "gpu20", "gpu24"],
            "device_type": ["cpu", "gpu", "gpu", "gpu", "gpu"],
            "announce_date": [
                dt.date(1994, 10, 1),
                dt.date(2006, 1, 1),
                dt.date(2012, 1, 1),
                dt.date(2020, 1, 1),
                dt.date(2024, 1, 1),
            ],
            "availability_date": [dt.date(1996, 1, 1), None, None, None, None],
            "memory_bandwidth_GB_per_s": [np.nan, 100.0, 200.0, 1600.0, 8000.0],
            "paper_label": ["R10000", None, "K40", "A100", None],
            "paper_figures": [("1",), ("1",), ("1",), ("1", "2a"), ()],
        }
    )
    flops = pd.DataFrame(
        [
            ("cpu96", "fp64", "vector", "dense", 0.0004),
            ("gpu06", "fp32", "vector", "dense", 0.5),
            ("gpu12", "fp32", "vector", "dense", 4.0),
            ("gpu20", "fp32", "vector", "dense", 20.0),
            ("gpu20", "fp16", "tensor", "dense", 300.0),
            ("gpu20", "fp16", "tensor", "sparse", 600.0),
            ("gpu20", "int8", "tensor", "dense", 620.0),
            ("gpu24", "fp16", "tensor", "dense", 2000.0),
            ("gpu24", "fp8", "tensor", "dense", 4000.0),
        ],
        columns=["device", "precision", "unit", "sparsity", "peak_TFLOPS"],
    )
    dram = pd.DataFrame(
        {
            "technology": ["GDDR3", "GDDR5", "HBM2", "HBM3E", "DDR4"],
            "family": ["gddr", "gddr", "hbm", "hbm", "ddr"],
            "date": [
                dt.date(2004, 1, 1),
                dt.date(2008, 1, 1),
                dt.date(2016, 1, 1),
                dt.date(2024, 1, 1),
                dt.date(2014, 1, 1),
            ],
            "bandwidth_GB_per_s": [35.0, 115.0, 720.0, 4800.0, 68.0],
            "reference_device": ["a", "b", "c", "d", "e"],
            "paper_label": ["GDDR3", "GDDR5", "HBM2", None, None],
        }
    )
    links = pd.DataFrame(
        {
            "standard": ["PCIe 1.0a", "PCIe 3.0", "NVLink 1.0", "NVLink 4.0"],
            "family": ["pcie", "pcie", "nvlink", "nvlink"],
            "date": [dt.date(2003, 1, 1), dt.date(2010, 1, 1), dt.date(2016, 1, 1), dt.date(2022, 1, 1)],
            "lane_rate_GT_per_s": [2.5, 8.0, 20.0, 100.0],
            "link_GB_per_s": [4.0, 15.75, 20.0, 25.0],
            "device_GB_per_s": [4.0, 15.75, 80.0, 450.0],
            "paper_label": ["PCIe 1.0a", "PCIe 3.0", "NVLink 1.0", "NVLink 4.0"],
        }
    )
    return HardwareData(devices, flops, dram, links)


@pytest.mark.parametrize(
    "policy, expected",
    [
        ("ai_peak", 300.0),  # fp16 dense tensor; not sparse, not int8
        ("fp32_vector", 20.0),
        ("max_dense_float", 300.0),  # no fp8 row for gpu20
        ("max_any", 620.0),  # int8 beats sparse fp16 here
    ],
)
def test_precision_policy_picks_the_right_peak(policy: str, expected: float) -> None:
    assert tables.device_peaks(_hw().peak_flops, policy).loc["gpu20", "peak_TFLOPS"] == expected


def test_unknown_policy_is_rejected() -> None:
    with pytest.raises(ValueError, match="flops_policy"):
        tables.device_peaks(_hw().peak_flops, "fastest")
    with pytest.raises(ValueError, match="date_rule"):
        fig1_series.Conventions(date_rule="tomorrow")


def test_date_rule_moves_the_r10000_into_the_window() -> None:
    hw = _hw()
    avail = fig1_series.flops_series(hw, fig1_series.Conventions(date_rule="availability"), 1996, 2023)
    announce = fig1_series.flops_series(hw, fig1_series.Conventions(date_rule="announce"), 1996, 2023)
    assert "cpu96" in set(avail.table["name"]) and "cpu96" not in set(announce.table["name"])


def test_extension_points_are_flagged_and_excluded_from_the_paper_fit() -> None:
    s = fig1_series.flops_series(_hw(), fig1_series.Conventions(), 1996, 2023, extension_year_max=2025)
    assert s.table.set_index("name").loc["gpu24", "extension"]
    assert "gpu24" not in set(s.paper_era["name"])
    assert s.fit(include_extension=True).n == s.fit().n + 1


def test_dram_conventions() -> None:
    hw = _hw()
    gen = fig1_series.dram_series(hw, fig1_series.Conventions(), 1996, 2023)
    assert list(gen.table["name"]) == ["GDDR3", "GDDR5", "HBM2"]  # ddr excluded, HBM3E after 2023
    dev = fig1_series.dram_series(hw, fig1_series.Conventions(dram_convention="every_device"), 1996, 2023)
    assert list(dev.table["name"]) == ["gpu06", "gpu12", "gpu20"]


def test_interconnect_metric_and_families() -> None:
    hw = _hw()
    conv = fig1_series.Conventions(interconnect_metric="lane", interconnect_families=("pcie",))
    s = fig1_series.interconnect_series(hw, conv, 1996, 2023)
    assert list(s.table["value"]) == [2.5, 8.0] and s.unit.startswith("GT/s")


def test_rate_claims_are_computed_from_the_fit() -> None:
    s = fig1_series.flops_series(_hw(), fig1_series.Conventions(), 1996, 2023)
    fit = s.fit()
    claims = fig1_verdicts.rate_claims({"flops": fit})
    assert claims[0].reproduced == pytest.approx(fit.per_2yr)
    assert claims[1].reproduced == pytest.approx(fit.per_20yr)
    assert claims[0].holds == (fit.per_2yr_ci95[0] <= 3.0 <= fit.per_2yr_ci95[1])


def test_sensitivity_table_on_real_data_has_the_paper_choice() -> None:
    hw = tables.load_hardware()
    table = fig1_series.sensitivity_table(hw, fig1_series.Conventions(), 1996, 2023)
    assert table["is_default"].sum() >= 3
    pcie = table[(table["series"] == "interconnect") & (table["variant"] == "metric=device, families=pcie")]
    assert pcie["per_2yr"].iloc[0] == pytest.approx(1.41, abs=0.02)
    fp32 = table[(table["series"] == "flops") & (table["variant"] == "policy=fp32_vector")]
    assert not fp32["paper_in_ci"].iloc[0]


def test_default_conventions_are_the_authors_where_our_data_can_express_them() -> None:
    hw = tables.load_hardware()
    plotted = tables.load_authors_plotted()
    marks = plotted[(plotted["figure"] == "fig1") & (plotted["kind"] == "marker")]
    # interconnect: per-lane signalling rate of PCIe and NVLink, the authors' first point = PCIe 1.0a's 2.5 GT/s
    ic = fig1_series.interconnect_series(hw, fig1_series.Conventions(), 1996, 2023)
    theirs = marks[marks["series"] == "interconnect_bandwidth"]["value"] * 2.5
    assert sorted(ic.table["value"]) == pytest.approx(sorted(theirs), rel=1e-6)
    # dates: the H100 FLOPS point sits on its full-production date, as in the authors' figure
    fl = fig1_series.flops_series(hw, fig1_series.Conventions(), 1996, 2023).table.set_index("name")
    h100 = marks[marks["label"] == "H100"]["date"].iloc[0]
    assert str(fl.loc["H100 SXM5 80GB", "date"]) == h100 == "2022-09-20"


def test_device_peaks_breaks_ties_by_precision_not_by_row_order() -> None:
    import pandas as pd

    rows = [
        ("a", "bf16", "tensor", "dense", 100.0),
        ("a", "fp16", "tensor", "dense", 100.0),
        ("b", "fp32", "vector", "dense", 1.0),
        ("b", "fp64", "vector", "dense", 1.0),
    ]
    cols = ["device", "precision", "unit", "sparsity", "peak_TFLOPS"]
    for order in (rows, rows[::-1]):
        peaks = tables.device_peaks(pd.DataFrame(order, columns=cols))
        assert list(peaks.loc[["a", "b"], "precision"]) == ["fp16", "fp64"]
