"""Figure 1: peak compute, DRAM bandwidth and interconnect bandwidth over time.

Turns the validated hardware tables (:func:`memwall_lib.tables.load_hardware`) into the
three series of the paper's Figure 1 under explicit, switchable conventions, fits them
(:mod:`memwall_lib.core.trends`), and states the paper's claims beside the fits.

API (the same in every figure module): :data:`PARAMETERS` and :data:`RELATIONS` (the
notebook's parameters), :func:`analyse` (parameters -> :class:`Result`), :func:`claims`,
:func:`sidecar` and :func:`plot` (each keyed by output figure name, see :data:`OUTPUTS`).

Conventions (each one a parameter; ``data/README.md`` says which one the paper used):

- FLOPS policy: which peak a chip contributes (see :data:`FLOPS_POLICIES`);
- device set: the devices the paper plotted (``paper_figures`` contains ``1``) or every
  device in the data;
- date rule: announcement or availability date;
- DRAM: one leading device per memory generation, or every accelerator's bandwidth;
- interconnect metric: per-device, per-link or per-lane bandwidth, and which families.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import paper
from ..core.claims import Claim, growth_claim
from ..core.params import Param
from ..core.paths import resolve
from ..core.trends import GrowthFit
from ..tables import DATE_RULES, FLOPS_POLICIES, load_hardware
from .authors_points import with_authors_points
from .fig1_series import (
    CLAIM_IDS,
    DEVICE_SETS,
    DRAM_CONVENTIONS,
    INTERCONNECT_METRICS,
    PAPER_YEAR_MAX,
    SERIES_TITLES,
    Conventions,
    Series,
    all_series,
    sensitivity_table,
)


def _in_choices(choices: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda v: all(x in choices for x in v)


PARAMETERS: dict[str, Param] = {
    "year_min": Param(int, "first year of the paper-era fit (paper: 1996)", minimum=1940, maximum=2030),
    "year_max": Param(int, "last year of the paper-era fit (paper: 2023)", minimum=1941, maximum=2030),
    "extension": Param(bool, "also fit with hardware released after year_max (through extension_year_max)"),
    "extension_year_max": Param(int, "last year of the extension fit", minimum=1941, maximum=2030),
    "flops_policy": Param(str, "which peak a chip contributes", choices=tuple(FLOPS_POLICIES)),
    "device_set": Param(
        str,
        "'paper': devices the paper plotted; 'labelled': only its labelled points; 'all': every device in the data",
        choices=DEVICE_SETS,
    ),
    "date_rule": Param(str, "date of a device: announcement or availability", choices=DATE_RULES),
    "dram_convention": Param(
        str,
        "'generation': one leading device per GDDR/HBM generation; 'labelled': "
        "only the generations the paper labels; 'every_device': every "
        "accelerator's bandwidth",
        choices=DRAM_CONVENTIONS,
    ),
    "interconnect_metric": Param(
        str,
        "per-lane signalling rate (the authors' choice), per-link (x16 / one NVLink) or per-device bandwidth",
        choices=INTERCONNECT_METRICS,
    ),
    "interconnect_families": Param(
        list,
        "interconnect families to include",
        item_type=str,
        min_items=1,
        choices=("pcie", "nvlink", "infinity_fabric", "ici", "ethernet"),
    ),
    "data_dir": Param(str, "folder with the hardware CSV files", path="dir"),
    "output_dir": Param(str, "folder the figures and sidecars are written to", path="out_dir"),
}


# --------------------------------------------------------------------------- claims
def rate_claims(fits: dict[str, GrowthFit], id_suffix: str = "", text_suffix: str = "", note: str = "") -> list[Claim]:
    """Six claims: growth per 2 years and per 20 years of each series vs the paper's (variants
    of the paper's claims when ``id_suffix`` names other data)."""
    kind = "variant" if id_suffix else "paper"
    claims = []
    tag_id = f".{id_suffix}" if id_suffix else ""
    tag_text = f" {text_suffix}" if text_suffix else ""
    for key, fit in fits.items():
        per_2yr, per_20yr = (paper.claim(i) for i in CLAIM_IDS[key])
        claims.append(
            growth_claim(
                per_2yr.id + tag_id,
                per_2yr.text + tag_text,
                per_2yr.value,
                fit.per_2yr,
                fit.per_2yr_ci95,
                note=note,
                kind=kind,
            )
        )
        claims.append(
            growth_claim(
                per_20yr.id + tag_id,
                per_20yr.text + tag_text,
                per_20yr.value,
                fit.per_20yr,
                fit.per_20yr_ci95,
                note=note,
                kind=kind,
            )
        )
    return claims


def extension_residuals(series: Series) -> pd.DataFrame:
    """For each extension point: its value over the paper-era trend's prediction at its date
    (>1: above the trend)."""
    fit = series.fit()
    ext = series.table[series.table["extension"]]
    return pd.DataFrame(
        {
            "name": ext["name"],
            "year": ext["year"],
            "value": ext["value"],
            "trend_value": fit.predict(ext["year"].to_numpy()),
            "ratio_to_trend": ext["value"].to_numpy() / fit.predict(ext["year"].to_numpy()),
        }
    )


def series_data(series: Series, fit: GrowthFit, fit_extended: GrowthFit | None = None) -> dict[str, Any]:
    """The numbers behind one plotted series, for the sidecar."""
    t = series.table
    out: dict[str, Any] = {
        "unit": series.unit,
        "convention": series.convention,
        "points": {
            "name": t["name"].tolist(),
            "year": t["year"].round(4).tolist(),
            "value": t["value"].tolist(),
            "normalized": series.normalized().tolist(),
            "label": t["label"].tolist(),
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


#: Checks across parameters, for :func:`memwall_lib.core.params.check_parameters`.
RELATIONS = (
    (lambda p: p["year_min"] < p["year_max"], "parameters 'year_min' and 'year_max': expected year_min < year_max"),
    (
        lambda p: p["extension_year_max"] > p["year_max"],
        "parameters 'extension_year_max' and 'year_max': expected extension_year_max > year_max",
    ),
)


# --------------------------------------------------------------------------- figures
# series -> (palette index, marker, label offset in points, label alignment)
_STYLE = {
    "flops": (0, "o", (-5, 5), "right"),
    "dram": (1, "s", (6, -10), "left"),
    "interconnect": (2, "^", (-6, 5), "right"),
}
# labels that would collide with a neighbour under their series' default placement
_LABEL_PLACEMENT = {
    "R10000": ((0, -15), "center"),
    "TPUv4": ((6, -12), "left"),
    "PCIe 5.0": ((6, -10), "left"),
    "HBM": ((4, -12), "center"),
}


def plot_figure1(
    series: dict[str, Series],
    fits: dict[str, GrowthFit],
    extended: bool = False,
    extended_fits: dict[str, GrowthFit] | None = None,
    year_max: int = PAPER_YEAR_MAX,
) -> Any:
    """The paper's Figure 1: each series normalized to its first point, log y, fitted lines
    with their rates in the legend, the paper's labelled points named.

    With ``extended``, extension points are drawn hollow, the paper-era fits dashed and
    extended to the last point, and the fits with the extension solid. ``year_max`` is the
    last year of the paper-era fit (for the labels).
    """
    import matplotlib.pyplot as plt

    from ..core import plotting

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
            plotting.plot_trend(
                ax,
                era["year"],
                era["value"],
                fits[key],
                name=f"{title} to {year_max}",
                color=color,
                marker=marker,
                scale=1 / ref,
                linestyle="--",
                line_span=(fits[key].year_min, end),
            )
            if len(ext):
                plotting.plot_trend(
                    ax,
                    ext["year"],
                    ext["value"],
                    None,
                    name=f"{title}: released after {year_max}",
                    color=color,
                    marker=marker,
                    scale=1 / ref,
                    filled=False,
                )
            if extended_fits is not None:
                efit = extended_fits[key]
                lx, ly = efit.line()
                ax.plot(
                    lx,
                    ly / ref,
                    color=color,
                    linewidth=1.4,
                    alpha=0.9,
                    label=f"{title} with extension: {plotting.fit_label(efit)}",
                )
        else:
            plotting.plot_trend(
                ax, era["year"], era["value"], fits[key], name=title, color=color, marker=marker, scale=1 / ref
            )
        default = t["label"].map(lambda lab: lab not in _LABEL_PLACEMENT)
        plotting.annotate_points(
            ax, t["year"][default], t["value"][default] / ref, t["label"][default], color=color, offset=offset, ha=ha
        )
        for lab, (off, align) in _LABEL_PLACEMENT.items():
            hit = t[t["label"] == lab]
            plotting.annotate_points(
                ax, hit["year"], hit["value"] / ref, hit["label"], color=color, offset=off, ha=align
            )
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


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = False
#: The data files this figure reads (for ``make``'s dependencies).
DATA_FILES: tuple[str, ...] = (
    "compute_devices.csv",
    "compute_peak_flops.csv",
    "dram_technologies.csv",
    "interconnects.csv",
    "authors_plotted.csv",
)
#: The figures written: the paper era, and the extension (when ``extension`` is on).
OUTPUTS: tuple[str, ...] = ("fig1_hardware_scaling", "fig1b_hardware_scaling_extension")


@dataclass
class Result:
    """Figure 1 analysed: the three series, their paper-era fits (and fits with the
    extension), and the sensitivity of each fit to the conventions."""

    parameters: dict[str, Any]
    conventions: Conventions
    series: dict[str, Series]
    fits: dict[str, GrowthFit]
    fits_extended: dict[str, GrowthFit] | None
    sensitivity: pd.DataFrame

    def fits_table(self) -> pd.DataFrame:
        """One row per series: points, growth per 2 years with its 95% CI, per 20 years, R^2."""
        return pd.DataFrame(
            {
                key: {
                    "points": f.n,
                    "x / 2 yrs": f.per_2yr,
                    "95% CI": f.per_2yr_ci95,
                    "x / 20 yrs": f.per_20yr,
                    "R^2": f.r_squared,
                }
                for key, f in self.fits.items()
            }
        ).T

    def residuals(self) -> pd.DataFrame | None:
        """Each extension point against the paper-era trend (None without the extension)."""
        if self.fits_extended is None:
            return None
        return pd.concat({key: extension_residuals(s) for key, s in self.series.items()})


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 1 from checked parameters (:data:`PARAMETERS`)."""
    p = dict(params)
    conv = Conventions.from_parameters(p)
    hw = load_hardware(resolve(p["data_dir"]))
    series = all_series(hw, conv, p["year_min"], p["year_max"], p["extension_year_max"] if p["extension"] else None)
    fits = {key: s.fit() for key, s in series.items()}
    extended = {key: s.fit(include_extension=True) for key, s in series.items()} if p["extension"] else None
    return Result(p, conv, series, fits, extended, sensitivity_table(hw, conv, p["year_min"], p["year_max"]))


def claims(result: Result) -> dict[str, list[Claim]]:
    """The paper's six rate claims, on the paper era and (with the extension) on all data."""
    out = {OUTPUTS[0]: with_authors_points(rate_claims(result.fits))}
    if result.fits_extended is not None:
        year = result.parameters["extension_year_max"]
        out[OUTPUTS[1]] = with_authors_points(
            rate_claims(
                result.fits_extended,
                id_suffix=f"ext{year}",
                text_suffix=f"(data through {year})",
                note="fit including hardware released after the paper",
            )
        )
    return out


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """The numbers behind each figure: points, fits, the sensitivity table, the residuals."""
    data: dict[str, Any] = {key: series_data(s, result.fits[key]) for key, s in result.series.items()}
    data["sensitivity"] = result.sensitivity.to_dict(orient="records")
    data["flops_policies"] = {k: v[0] for k, v in FLOPS_POLICIES.items()}
    out = {OUTPUTS[0]: data}
    if result.fits_extended is not None:
        ext: dict[str, Any] = {
            key: series_data(s, result.fits[key], result.fits_extended[key]) for key, s in result.series.items()
        }
        ext["residuals_to_paper_era_trend"] = {
            key: extension_residuals(s).to_dict(orient="list") for key, s in result.series.items()
        }
        out[OUTPUTS[1]] = ext
    return out


def plot(result: Result) -> dict[str, Any]:
    """The paper-era figure and (with the extension) the extension figure, by output name."""
    year_max = result.parameters["year_max"]
    out = {OUTPUTS[0]: plot_figure1(result.series, result.fits, year_max=year_max)}
    if result.fits_extended is not None:
        out[OUTPUTS[1]] = plot_figure1(
            result.series, result.fits, extended=True, extended_fits=result.fits_extended, year_max=year_max
        )
    return out
