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

from collections.abc import Mapping
from typing import Any

from ...core.claims import Claim
from ...core.params import YEAR_RANGE_RELATIONS, Param
from ...core.paths import resolve
from ...tables import DATE_RULES, FLOPS_POLICIES, HARDWARE_FILES, load_authors_plotted, load_hardware
from ..authors_points import authors_points, with_authors_points
from ..selection import extension_through
from .draw import plot_figure1
from .result import Result
from .series import (
    DEVICE_SETS,
    DRAM_CONVENTIONS,
    INTERCONNECT_METRICS,
    Conventions,
    all_series,
    check_selections,
    sensitivity_table,
)
from .verdicts import extension_residuals, rate_claims, series_data

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


#: Checks across parameters, for :func:`memwall_lib.core.params.check_parameters`.
RELATIONS = YEAR_RANGE_RELATIONS


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = False
#: The data files this figure reads (for ``make``'s dependencies).
DATA_FILES: tuple[str, ...] = (
    *HARDWARE_FILES,
    "authors_plotted.csv",
)
#: The figures written: the paper era, and the extension (when ``extension`` is on).
OUTPUTS: tuple[str, ...] = ("fig1_hardware_scaling", "fig1b_hardware_scaling_extension")


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 1 from checked parameters (:data:`PARAMETERS`)."""
    p = dict(params)
    conv = Conventions.from_parameters(p)
    data_dir = resolve(p["data_dir"])
    hw = load_hardware(data_dir)
    authors = authors_points(load_authors_plotted(data_dir))
    series = all_series(hw, conv, p["year_min"], p["year_max"], p["extension_year_max"] if p["extension"] else None)
    check_selections(series, hw, p)
    last = max(int(s.table["year"].max()) for s in series.values())
    through = extension_through(p, last) if p["extension"] else int(p["extension_year_max"])
    fits = {key: s.fit() for key, s in series.items()}
    extended = {key: s.fit(include_extension=True) for key, s in series.items()} if p["extension"] else None
    sensitivity = sensitivity_table(hw, conv, p["year_min"], p["year_max"])
    return Result(p, conv, series, fits, extended, sensitivity, authors, through)


def claims(result: Result) -> dict[str, list[Claim]]:
    """The paper's six rate claims, on the paper era and (with the extension) on all data."""
    out = {OUTPUTS[0]: with_authors_points(rate_claims(result.fits), result.authors_values)}
    if result.fits_extended is not None:
        year = result.extension_through
        out[OUTPUTS[1]] = with_authors_points(
            rate_claims(
                result.fits_extended,
                id_suffix=f"ext{year}",
                text_suffix=f"(data through {year})",
                note="fit including hardware released after the paper",
            ),
            result.authors_values,
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
