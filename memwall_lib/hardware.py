"""Figure 1: peak compute, DRAM bandwidth and interconnect bandwidth over time.

Turns the validated hardware tables (:func:`memwall_lib.data.load_hardware`) into the
three series of the paper's Figure 1 under explicit, switchable conventions, fits them
(:mod:`memwall_lib.trends`), and states the paper's claims beside the fits.

Conventions (each one a parameter; ``data/README.md`` says which one the paper used):

- FLOPS policy: which peak a chip contributes (see :data:`FLOPS_POLICIES`);
- device set: the devices the paper plotted (``paper_figures`` contains ``1``) or every
  device in the data;
- date rule: announcement or availability date;
- DRAM: one leading device per memory generation, or every accelerator's bandwidth;
- interconnect metric: per-device, per-link or per-lane bandwidth, and which families.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import pandas as pd

from .data import DATE_RULES, HardwareData, device_dates
from .figures import Claim, growth_claim
from .params import Param
from .trends import GrowthFit, fit_growth, fractional_year

# --------------------------------------------------------------------------- conventions
_AI_PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16")
_FLOAT_PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "fp4")


def _pick(rows: pd.DataFrame, precisions: tuple[str, ...] | None, units: tuple[str, ...] | None,
          sparse_ok: bool) -> pd.DataFrame:
    keep = pd.Series(True, index=rows.index)
    if precisions is not None:
        keep &= rows["precision"].isin(precisions)
    if units is not None:
        keep &= rows["unit"].isin(units)
    if not sparse_ok:
        keep &= rows["sparsity"] == "dense"
    return rows[keep]


#: name -> (description, row filter). A chip contributes the largest peak its rows allow.
FLOPS_POLICIES: dict[str, tuple[str, Callable[[pd.DataFrame], pd.DataFrame]]] = {
    "ai_peak": ("largest dense peak at >= 16-bit floating point (fp64/fp32/tf32/fp16/bf16), vector or "
                "tensor units: the peak the chip offers for AI training of its day (the paper's choice)",
                lambda r: _pick(r, _AI_PRECISIONS, None, False)),
    "fp32_vector": ("fp32 on vector units only, dense (a like-for-like single-precision series)",
                    lambda r: _pick(r, ("fp32",), ("vector",), False)),
    "max_dense_float": ("largest dense floating-point peak at any width, fp8/fp4 included",
                        lambda r: _pick(r, _FLOAT_PRECISIONS, None, False)),
    "max_any": ("largest figure the vendor quotes: any precision including int8/int4, sparse included",
                lambda r: _pick(r, None, None, True)),
}

DEVICE_SETS = ("paper", "labelled", "all")
DRAM_CONVENTIONS = ("generation", "labelled", "every_device")
INTERCONNECT_METRICS = ("device", "link", "lane")

#: The paper's values (PAPER.md): growth per 2 years and per 20 years.
PAPER_RATES: dict[str, dict[str, float]] = {
    "flops": {"per_2yr": 3.0, "per_20yr": 60000.0},
    "dram": {"per_2yr": 1.6, "per_20yr": 100.0},
    "interconnect": {"per_2yr": 1.4, "per_20yr": 30.0},
}
SERIES_TITLES = {"flops": "Peak FLOPS", "dram": "DRAM bandwidth", "interconnect": "Interconnect bandwidth"}

#: Last year of the paper's data; later rows are the extension.
PAPER_YEAR_MAX = 2023


def _in_choices(choices: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda v: all(x in choices for x in v)


PARAMETERS: dict[str, Param] = {
    "year_min": Param(int, "first year of the paper-era fit (paper: 1996)", minimum=1940, maximum=2030),
    "year_max": Param(int, "last year of the paper-era fit (paper: 2023)", minimum=1941, maximum=2030),
    "extension": Param(bool, "also fit with hardware released after year_max (through extension_year_max)"),
    "extension_year_max": Param(int, "last year of the extension fit", minimum=1941, maximum=2030),
    "flops_policy": Param(str, "which peak a chip contributes", choices=tuple(FLOPS_POLICIES)),
    "device_set": Param(str, "'paper': devices the paper plotted; 'labelled': only its labelled points; "
                             "'all': every device in the data",
                        choices=DEVICE_SETS),
    "date_rule": Param(str, "date of a device: announcement or availability", choices=DATE_RULES),
    "dram_convention": Param(str, "'generation': one leading device per GDDR/HBM generation; 'labelled': "
                                  "only the generations the paper labels; 'every_device': every "
                                  "accelerator's bandwidth", choices=DRAM_CONVENTIONS),
    "interconnect_metric": Param(str, "per-device, per-link (x16 / one NVLink) or per-lane bandwidth",
                                 choices=INTERCONNECT_METRICS),
    "interconnect_families": Param(list, "interconnect families to include", item_type=str, min_items=1,
                                   choices=("pcie", "nvlink", "infinity_fabric", "ici", "ethernet")),
    "data_dir": Param(str, "folder with the hardware CSV files", path="dir"),
    "output_dir": Param(str, "folder the figures and sidecars are written to", path="out_dir"),
}


@dataclass(frozen=True)
class Conventions:
    """The choices that turn raw tables into the three series."""

    flops_policy: str = "ai_peak"
    device_set: str = "paper"
    date_rule: str = "availability"
    dram_convention: str = "generation"
    interconnect_metric: str = "device"
    interconnect_families: tuple[str, ...] = ("pcie", "nvlink")

    def __post_init__(self) -> None:
        checks = [("flops_policy", tuple(FLOPS_POLICIES)), ("device_set", DEVICE_SETS),
                  ("date_rule", DATE_RULES), ("dram_convention", DRAM_CONVENTIONS),
                  ("interconnect_metric", INTERCONNECT_METRICS)]
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}: expected one of {list(allowed)}, got {getattr(self, name)!r}")

    @classmethod
    def from_parameters(cls, p: dict[str, Any]) -> "Conventions":
        return cls(p["flops_policy"], p["device_set"], p["date_rule"], p["dram_convention"],
                   p["interconnect_metric"], tuple(p["interconnect_families"]))


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


def device_peaks(hw: HardwareData, policy: str = "ai_peak") -> pd.DataFrame:
    """One row per device: the peak (TFLOPS) it contributes under ``policy``, and which
    precision/unit/sparsity that peak is. Devices with no qualifying row are dropped."""
    if policy not in FLOPS_POLICIES:
        raise ValueError(f"flops_policy: expected one of {list(FLOPS_POLICIES)}, got {policy!r}")
    rows = FLOPS_POLICIES[policy][1](hw.peak_flops)
    best = rows.sort_values("peak_TFLOPS", ascending=False).drop_duplicates("device")
    return best.set_index("device")[["peak_TFLOPS", "precision", "unit", "sparsity"]]


def flops_series(hw: HardwareData, conv: Conventions, year_min: int, year_max: int,
                 extension_year_max: int | None = None) -> Series:
    """Peak FLOPS per device (TFLOPS) under the conventions. With the ``paper`` and
    ``labelled`` device sets, extension points are every device dated after ``year_max``."""
    dev = hw.devices.copy()
    dev["date"] = device_dates(dev, conv.date_rule)
    after = fractional_year(dev["date"]) >= year_max + 1
    if conv.device_set == "paper":
        dev = dev[dev["paper_figures"].apply(lambda figs: "1" in figs) | after]
    elif conv.device_set == "labelled":
        dev = dev[dev["paper_label"].notna() | after]
    peaks = device_peaks(hw, conv.flops_policy)
    dev = dev[dev["name"].isin(peaks.index)]
    frame = pd.DataFrame({
        "name": dev["name"], "date": dev["date"], "device_type": dev["device_type"],
        "label": dev["paper_label"].fillna(""),
        "value": peaks.loc[dev["name"], "peak_TFLOPS"].to_numpy(),
        "precision": peaks.loc[dev["name"], "precision"].to_numpy(),
        "unit": peaks.loc[dev["name"], "unit"].to_numpy(),
        "sparsity": peaks.loc[dev["name"], "sparsity"].to_numpy(),
    })
    return Series("flops", _finish(frame, year_min, year_max, extension_year_max), "TFLOPS",
                  f"{conv.flops_policy}, {conv.device_set} devices, {conv.date_rule} dates")


def dram_series(hw: HardwareData, conv: Conventions, year_min: int, year_max: int,
                extension_year_max: int | None = None) -> Series:
    """DRAM bandwidth (GB/s): the leading device of each GDDR/HBM generation (``labelled``:
    only the generations the paper labels, plus later ones), or every GPU/TPU/accelerator's
    memory bandwidth (``every_device``)."""
    if conv.dram_convention in ("generation", "labelled"):
        d = hw.dram[hw.dram["family"].isin(("gddr", "hbm"))]
        if conv.dram_convention == "labelled":
            d = d[d["paper_label"].notna() | (fractional_year(d["date"]) >= year_max + 1)]
        frame = pd.DataFrame({"name": d["technology"], "date": d["date"],
                              "label": d["paper_label"].fillna(""), "value": d["bandwidth_GB_per_s"],
                              "reference_device": d["reference_device"]})
    else:
        dev = hw.devices
        dev = dev[dev["device_type"].isin(("gpu", "tpu", "accelerator")) & dev["memory_bandwidth_GB_per_s"].notna()]
        frame = pd.DataFrame({"name": dev["name"], "date": device_dates(dev, conv.date_rule),
                              "label": "", "value": dev["memory_bandwidth_GB_per_s"],
                              "reference_device": dev["name"]})
    return Series("dram", _finish(frame, year_min, year_max, extension_year_max), "GB/s",
                  f"{conv.dram_convention}")


def interconnect_series(hw: HardwareData, conv: Conventions, year_min: int, year_max: int,
                        extension_year_max: int | None = None) -> Series:
    """Interconnect bandwidth per direction: per device (GB/s), per link (GB/s) or the
    per-lane signalling rate (GT/s), for the chosen families."""
    col = {"device": "device_GB_per_s", "link": "link_GB_per_s", "lane": "lane_rate_GT_per_s"}[conv.interconnect_metric]
    unit = "GT/s per lane" if conv.interconnect_metric == "lane" else "GB/s per direction"
    ic = hw.interconnects
    ic = ic[ic["family"].isin(conv.interconnect_families) & ic[col].notna()]
    frame = pd.DataFrame({"name": ic["standard"], "date": ic["date"], "family": ic["family"],
                          "label": ic["paper_label"].fillna(""), "value": ic[col]})
    return Series("interconnect", _finish(frame, year_min, year_max, extension_year_max), unit,
                  f"{conv.interconnect_metric}, {'+'.join(conv.interconnect_families)}")


def all_series(hw: HardwareData, conv: Conventions, year_min: int, year_max: int,
               extension_year_max: int | None = None) -> dict[str, Series]:
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
    out.append(("dram", f"dram=every_device, date_rule={other_rule}",
                replace(base, dram_convention="every_device", date_rule=other_rule)))
    all_families = ("pcie", "nvlink", "infinity_fabric", "ici")
    for metric in INTERCONNECT_METRICS:
        for fams in (("pcie", "nvlink"), ("pcie",), ("nvlink",), all_families):
            out.append(("interconnect", f"metric={metric}, families={'+'.join(fams)}",
                        replace(base, interconnect_metric=metric, interconnect_families=fams)))
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
            hw, conv, year_min, year_max)
        row: dict[str, Any] = {"series": key, "variant": desc, "is_default": conv == base,
                               "n": len(series.paper_era), "paper_per_2yr": PAPER_RATES[key]["per_2yr"]}
        try:
            fit = series.fit()
            lo, hi = fit.per_2yr_ci95
            row.update(per_2yr=fit.per_2yr, per_2yr_lo=lo, per_2yr_hi=hi, per_20yr=fit.per_20yr,
                       paper_in_ci=bool(lo <= PAPER_RATES[key]["per_2yr"] <= hi))
        except ValueError:
            row.update(per_2yr=np.nan, per_2yr_lo=np.nan, per_2yr_hi=np.nan, per_20yr=np.nan, paper_in_ci=False)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- claims
def rate_claims(fits: dict[str, GrowthFit], id_suffix: str = "", text_suffix: str = "",
                note: str = "") -> list[Claim]:
    """Six claims: growth per 2 years and per 20 years of each series vs the paper's."""
    claims = []
    tag_id = f".{id_suffix}" if id_suffix else ""
    tag_text = f" {text_suffix}" if text_suffix else ""
    for key, fit in fits.items():
        title = SERIES_TITLES[key]
        paper = PAPER_RATES[key]
        claims.append(growth_claim(f"fig1.{key}.per_2yr{tag_id}",
                                   f"{title} grows {paper['per_2yr']}x every 2 years{tag_text}",
                                   paper["per_2yr"], fit.per_2yr, fit.per_2yr_ci95, note=note))
        claims.append(growth_claim(f"fig1.{key}.per_20yr{tag_id}",
                                   f"{title} grows {paper['per_20yr']:,.0f}x in 20 years{tag_text}",
                                   paper["per_20yr"], fit.per_20yr, fit.per_20yr_ci95, note=note))
    return claims


def extension_residuals(series: Series) -> pd.DataFrame:
    """For each extension point: its value over the paper-era trend's prediction at its date
    (>1: above the trend)."""
    fit = series.fit()
    ext = series.table[series.table["extension"]]
    return pd.DataFrame({"name": ext["name"], "year": ext["year"], "value": ext["value"],
                         "trend_value": fit.predict(ext["year"].to_numpy()),
                         "ratio_to_trend": ext["value"].to_numpy() / fit.predict(ext["year"].to_numpy())})


def series_data(series: Series, fit: GrowthFit, fit_extended: GrowthFit | None = None) -> dict[str, Any]:
    """The numbers behind one plotted series, for the sidecar."""
    t = series.table
    out: dict[str, Any] = {
        "unit": series.unit,
        "convention": series.convention,
        "points": {
            "name": t["name"].tolist(), "year": t["year"].round(4).tolist(), "value": t["value"].tolist(),
            "normalized": series.normalized().tolist(), "label": t["label"].tolist(),
            "extension": t["extension"].tolist(),
        },
        "normalized_to": t["name"].iloc[0],
        "fit": fit.summary(),
    }
    if "precision" in t:
        out["points"]["precision"] = t["precision"].tolist()
    if fit_extended is not None:
        out["fit_with_extension"] = fit_extended.summary()
    return out


#: Checks across parameters, for :func:`memwall_lib.params.check_parameters`.
RELATIONS = (
    (lambda p: p["year_min"] < p["year_max"], "parameters 'year_min' and 'year_max': expected year_min < year_max"),
    (lambda p: p["extension_year_max"] > p["year_max"],
     "parameters 'extension_year_max' and 'year_max': expected extension_year_max > year_max"),
)


# --------------------------------------------------------------------------- figures
# series -> (palette index, marker, label offset in points, label alignment)
_STYLE = {"flops": (0, "o", (-5, 5), "right"), "dram": (1, "s", (6, -10), "left"),
          "interconnect": (2, "^", (-6, 5), "right")}
# labels that would collide with a neighbour under their series' default placement
_LABEL_PLACEMENT = {"R10000": ((0, -15), "center"), "TPUv4": ((6, -12), "left"),
                    "PCIe 5.0": ((6, -10), "left"), "HBM": ((4, -12), "center")}


def plot_figure1(series: dict[str, Series], fits: dict[str, GrowthFit], extended: bool = False,
                 extended_fits: dict[str, GrowthFit] | None = None, year_max: int = PAPER_YEAR_MAX) -> Any:
    """The paper's Figure 1: each series normalized to its first point, log y, fitted lines
    with their rates in the legend, the paper's labelled points named.

    With ``extended``, extension points are drawn hollow, the paper-era fits dashed and
    extended to the last point, and the fits with the extension solid. ``year_max`` is the
    last year of the paper-era fit (for the labels).
    """
    import matplotlib.pyplot as plt

    from . import plotting

    plotting.apply_style()
    fig, ax = plt.subplots(figsize=(8.6, 7.0 if extended else 5.6))
    for key, s in series.items():
        ci, marker, offset, ha = _STYLE[key]
        color = plotting.PALETTE[ci]
        t = s.table if extended else s.paper_era
        ref = float(s.table["value"].iloc[0])
        era, ext = t[~t["extension"]], t[t["extension"]]
        title = SERIES_TITLES[key]
        if extended:
            end = float(t["year"].max())
            plotting.plot_trend(ax, era["year"], era["value"], fits[key], name=f"{title} to {year_max}",
                                color=color, marker=marker, scale=1 / ref, linestyle="--",
                                line_span=(fits[key].year_min, end))
            if len(ext):
                plotting.plot_trend(ax, ext["year"], ext["value"],
                                    None, name=f"{title}: released after {year_max}",
                                    color=color, marker=marker, scale=1 / ref, filled=False)
            if extended_fits is not None:
                efit = extended_fits[key]
                lx, ly = efit.line()
                ax.plot(lx, ly / ref, color=color, linewidth=1.4, alpha=0.9,
                        label=f"{title} with extension: {plotting.fit_label(efit)}")
        else:
            plotting.plot_trend(ax, era["year"], era["value"], fits[key], name=title, color=color,
                                marker=marker, scale=1 / ref)
        default = t["label"].map(lambda lab: lab not in _LABEL_PLACEMENT)
        plotting.annotate_points(ax, t["year"][default], t["value"][default] / ref, t["label"][default],
                                 color=color, offset=offset, ha=ha)
        for lab, (off, align) in _LABEL_PLACEMENT.items():
            hit = t[t["label"] == lab]
            plotting.annotate_points(ax, hit["year"], hit["value"] / ref, hit["label"], color=color,
                                     offset=off, ha=align)
    plotting.log_axis(ax, "y")
    ax.set_xlabel("Year")
    ax.set_ylabel("Scaling, relative to the first point of each series (log)")
    title = "Peak compute vs memory and interconnect bandwidth"
    if extended:
        title += f": does the trend hold after {year_max}?"
    ax.set_title(title)
    if extended:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2, fontsize=8.5)
    else:
        ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
