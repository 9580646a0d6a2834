"""Figure 1's three series under explicit conventions, and how each convention moves the fits.

Conventions (each one a parameter of :mod:`.fig1_hardware`; ``data/README.md`` says which
one the paper used):

- FLOPS policy: which peak a chip contributes (:data:`memwall_lib.tables.FLOPS_POLICIES`);
- device set: the devices the paper plotted (``paper_figures`` contains ``1``), its labelled
  points, or every device in the data;
- date rule: announcement or availability date;
- DRAM: one leading device per memory generation, or every accelerator's bandwidth;
- interconnect metric: per-device, per-link or per-lane bandwidth, and which families.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ... import paper
from ...core.trends import GrowthFit, fit_growth, fractional_year
from ...tables import DATE_RULES, FLOPS_POLICIES, HardwareData, device_dates, device_peaks
from ..selection import require_points

DEVICE_SETS = ("paper", "labelled", "all")
DRAM_CONVENTIONS = ("generation", "labelled", "every_device")
INTERCONNECT_METRICS = ("device", "link", "lane")

#: The paper's claims on each series (:mod:`memwall_lib.paper`): growth per 2 and per 20 years.
CLAIM_IDS: dict[str, tuple[str, str]] = {
    "flops": ("fig1.flops.per_2yr", "fig1.flops.per_20yr"),
    "dram": ("fig1.dram.per_2yr", "fig1.dram.per_20yr"),
    "interconnect": ("fig1.interconnect.per_2yr", "fig1.interconnect.per_20yr"),
}
SERIES_TITLES = {"flops": "Peak FLOPS", "dram": "DRAM bandwidth", "interconnect": "Interconnect bandwidth"}

#: Last year of the paper's data; later rows are the extension.
PAPER_YEAR_MAX = 2023


@dataclass(frozen=True)
class Conventions:
    """The choices that turn raw tables into the three series. The defaults are the
    conventions recovered from the authors' own figure file (``data/authors/FINDINGS.md``):
    dense >= 16-bit peaks, the tagged devices, first availability (H100 in full production),
    one leading device per DRAM generation, per-lane signalling rate of PCIe and NVLink."""

    flops_policy: str = "ai_peak"
    device_set: str = "paper"
    date_rule: str = "availability"
    dram_convention: str = "generation"
    interconnect_metric: str = "lane"
    interconnect_families: tuple[str, ...] = ("pcie", "nvlink")

    def __post_init__(self) -> None:
        checks = [
            ("flops_policy", tuple(FLOPS_POLICIES)),
            ("device_set", DEVICE_SETS),
            ("date_rule", DATE_RULES),
            ("dram_convention", DRAM_CONVENTIONS),
            ("interconnect_metric", INTERCONNECT_METRICS),
        ]
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}: expected one of {list(allowed)}, got {getattr(self, name)!r}")

    @classmethod
    def from_parameters(cls, p: dict[str, Any]) -> Conventions:
        return cls(
            p["flops_policy"],
            p["device_set"],
            p["date_rule"],
            p["dram_convention"],
            p["interconnect_metric"],
            tuple(p["interconnect_families"]),
        )


@dataclass
class Series:
    """One plotted series: a table with ``name``, ``date``, ``year``, ``value``, ``label``
    (the paper's label or ""), ``extension`` (True for points after the paper era), and
    the value's unit."""

    key: str
    table: pd.DataFrame
    unit: str
    convention: str

    @property
    def paper_era(self) -> pd.DataFrame:
        return self.table[~self.table["extension"]]

    def fit(self, include_extension: bool = False) -> GrowthFit:
        t = self.table if include_extension else self.paper_era
        return fit_growth(t["year"].to_numpy(), t["value"].to_numpy(), name=f"{self.key} ({self.convention})")

    def normalized(self) -> pd.Series:
        """Each value relative to the series' first (earliest) point."""
        return self.table["value"] / self.table["value"].iloc[0]


def _finish(frame: pd.DataFrame, year_min: int, year_max: int, extension_year_max: int | None) -> pd.DataFrame:
    """Add fractional years, cut to the window, flag extension rows, sort by date."""
    frame = frame.copy()
    frame["year"] = fractional_year(frame["date"]) if len(frame) else np.array([], dtype=float)
    last = extension_year_max if extension_year_max is not None else year_max
    frame = frame[(frame["year"] >= year_min) & (frame["year"] < last + 1)]
    frame["extension"] = frame["year"] >= year_max + 1
    frame = frame.sort_values(["year", "name"]).reset_index(drop=True)
    return frame


def flops_series(
    hw: HardwareData, conv: Conventions, year_min: int, year_max: int, extension_year_max: int | None = None
) -> Series:
    """Peak FLOPS per device (TFLOPS) under the conventions. With the ``paper`` and
    ``labelled`` device sets, extension points are every device dated after ``year_max``."""
    dev = hw.devices.copy()
    dev["date"] = device_dates(dev, conv.date_rule)
    after = fractional_year(dev["date"]) >= year_max + 1
    if conv.device_set == "paper":
        dev = dev[dev["paper_figures"].apply(lambda figs: "1" in figs) | after]
    elif conv.device_set == "labelled":
        dev = dev[dev["paper_label"].notna() | after]
    peaks = device_peaks(hw.peak_flops, conv.flops_policy)
    dev = dev[dev["name"].isin(peaks.index)]
    frame = pd.DataFrame(
        {
            "name": dev["name"],
            "date": dev["date"],
            "device_type": dev["device_type"],
            "label": dev["paper_label"].fillna(""),
            "value": peaks.loc[dev["name"], "peak_TFLOPS"].to_numpy(),
            "precision": peaks.loc[dev["name"], "precision"].to_numpy(),
            "unit": peaks.loc[dev["name"], "unit"].to_numpy(),
            "sparsity": peaks.loc[dev["name"], "sparsity"].to_numpy(),
        }
    )
    return Series(
        "flops",
        _finish(frame, year_min, year_max, extension_year_max),
        "TFLOPS",
        f"{conv.flops_policy}, {conv.device_set} devices, {conv.date_rule} dates",
    )


def dram_series(
    hw: HardwareData, conv: Conventions, year_min: int, year_max: int, extension_year_max: int | None = None
) -> Series:
    """DRAM bandwidth (GB/s): the leading device of each GDDR/HBM generation (``labelled``:
    only the generations the paper labels, plus later ones), or every GPU/TPU/accelerator's
    memory bandwidth (``every_device``)."""
    if conv.dram_convention in ("generation", "labelled"):
        d = hw.dram[hw.dram["family"].isin(("gddr", "hbm"))]
        if conv.dram_convention == "labelled":
            d = d[d["paper_label"].notna() | (fractional_year(d["date"]) >= year_max + 1)]
        frame = pd.DataFrame(
            {
                "name": d["technology"],
                "date": d["date"],
                "label": d["paper_label"].fillna(""),
                "value": d["bandwidth_GB_per_s"],
                "reference_device": d["reference_device"],
            }
        )
    else:
        dev = hw.devices
        dev = dev[dev["device_type"].isin(("gpu", "tpu", "accelerator")) & dev["memory_bandwidth_GB_per_s"].notna()]
        frame = pd.DataFrame(
            {
                "name": dev["name"],
                "date": device_dates(dev, conv.date_rule),
                "label": "",
                "value": dev["memory_bandwidth_GB_per_s"],
                "reference_device": dev["name"],
            }
        )
    return Series("dram", _finish(frame, year_min, year_max, extension_year_max), "GB/s", f"{conv.dram_convention}")


def interconnect_series(
    hw: HardwareData, conv: Conventions, year_min: int, year_max: int, extension_year_max: int | None = None
) -> Series:
    """Interconnect bandwidth per direction: per device (GB/s), per link (GB/s) or the
    per-lane signalling rate (GT/s), for the chosen families."""
    col = {"device": "device_GB_per_s", "link": "link_GB_per_s", "lane": "lane_rate_GT_per_s"}[conv.interconnect_metric]
    unit = "GT/s per lane" if conv.interconnect_metric == "lane" else "GB/s per direction"
    ic = hw.interconnects
    ic = ic[ic["family"].isin(conv.interconnect_families) & ic[col].notna()]
    frame = pd.DataFrame(
        {
            "name": ic["standard"],
            "date": ic["date"],
            "family": ic["family"],
            "label": ic["paper_label"].fillna(""),
            "value": ic[col],
        }
    )
    return Series(
        "interconnect",
        _finish(frame, year_min, year_max, extension_year_max),
        unit,
        f"{conv.interconnect_metric}, {'+'.join(conv.interconnect_families)}",
    )


def all_series(
    hw: HardwareData, conv: Conventions, year_min: int, year_max: int, extension_year_max: int | None = None
) -> dict[str, Series]:
    """The three series of Figure 1, keyed ``flops``, ``dram``, ``interconnect``."""
    return {
        "flops": flops_series(hw, conv, year_min, year_max, extension_year_max),
        "dram": dram_series(hw, conv, year_min, year_max, extension_year_max),
        "interconnect": interconnect_series(hw, conv, year_min, year_max, extension_year_max),
    }


# --------------------------------------------------------------------------- sensitivity
def _variants(base: Conventions) -> list[tuple[str, str, Conventions]]:
    """(series, description, conventions): the base, then one convention changed at a time."""
    out: list[tuple[str, str, Conventions]] = []
    for policy in FLOPS_POLICIES:
        out.append(("flops", f"policy={policy}", replace(base, flops_policy=policy)))
    for ds in DEVICE_SETS:
        if ds != base.device_set:
            out.append(("flops", f"device_set={ds}", replace(base, device_set=ds)))
    for rule in DATE_RULES:
        if rule != base.date_rule:
            out.append(("flops", f"date_rule={rule}", replace(base, date_rule=rule)))
    for dc in DRAM_CONVENTIONS:
        out.append(("dram", f"dram={dc}", replace(base, dram_convention=dc)))
    other_rule = [r for r in DATE_RULES if r != base.date_rule][0]
    out.append(
        (
            "dram",
            f"dram=every_device, date_rule={other_rule}",
            replace(base, dram_convention="every_device", date_rule=other_rule),
        )
    )
    all_families = ("pcie", "nvlink", "infinity_fabric", "ici")
    for metric in INTERCONNECT_METRICS:
        for fams in (("pcie", "nvlink"), ("pcie",), ("nvlink",), all_families):
            out.append(
                (
                    "interconnect",
                    f"metric={metric}, families={'+'.join(fams)}",
                    replace(base, interconnect_metric=metric, interconnect_families=fams),
                )
            )
    return out


def sensitivity_table(hw: HardwareData, base: Conventions, year_min: int, year_max: int) -> pd.DataFrame:
    """How each convention moves each fit (paper era): one row per (series, variant) with
    n, growth per 2 years and its 95% CI, growth per 20 years, and whether the paper's
    per-2-year value lies inside the CI. Variants that leave fewer than 3 points are listed
    with NaN rates."""
    rows = []
    seen = set()
    for key, desc, conv in _variants(base):
        if (key, desc) in seen:
            continue
        seen.add((key, desc))
        series = {"flops": flops_series, "dram": dram_series, "interconnect": interconnect_series}[key](
            hw, conv, year_min, year_max
        )
        row: dict[str, Any] = {
            "series": key,
            "variant": desc,
            "is_default": conv == base,
            "n": len(series.paper_era),
            "paper_per_2yr": paper.claim(CLAIM_IDS[key][0]).value,
        }
        try:
            fit = series.fit()
            lo, hi = fit.per_2yr_ci95
            row.update(
                per_2yr=fit.per_2yr,
                per_2yr_lo=lo,
                per_2yr_hi=hi,
                per_20yr=fit.per_20yr,
                paper_in_ci=bool(lo <= paper.claim(CLAIM_IDS[key][0]).value <= hi),
            )
        except ValueError:
            row.update(per_2yr=np.nan, per_2yr_lo=np.nan, per_2yr_hi=np.nan, per_20yr=np.nan, paper_in_ci=False)
        rows.append(row)
    return pd.DataFrame(rows)


#: The parameters that select each series' points (named when a selection is too small to fit).
SELECTED_BY: dict[str, tuple[str, ...]] = {
    "flops": ("year_min", "year_max", "device_set", "flops_policy", "date_rule"),
    "dram": ("year_min", "year_max", "dram_convention", "date_rule"),
    "interconnect": ("year_min", "year_max", "interconnect_metric", "interconnect_families"),
}


_SPANS = {"flops": "devices", "dram": "DRAM generations", "interconnect": "interconnects"}


def _span(hw: HardwareData, key: str) -> str:
    """The first and last year of the table behind series ``key``."""
    dates = {
        "flops": hw.devices["announce_date"],
        "dram": hw.dram["date"],
        "interconnect": hw.interconnects["date"],
    }[key]
    return f"{min(dates).year}-{max(dates).year}"


def check_selections(series: dict[str, Series], hw: HardwareData, p: Mapping[str, Any]) -> None:
    """Refuse (ParameterError naming :data:`SELECTED_BY`'s parameters) a paper era whose
    series has too few points to fit."""
    for key, s in series.items():
        span = f"the data's {_SPANS[key]} span {_span(hw, key)}"
        require_points(f"the paper-era {key} series", len(s.paper_era), SELECTED_BY[key], p, span)
