"""Figure 2: model size against accelerator memory (a), and training compute (b).

Builds the plotted point sets from ``models.csv`` and the hardware tables (accelerator
memory comes from ``compute_devices.csv``: one source of truth with Figure 1), fits the
paper's trends (:mod:`memwall_lib.core.trends`), measures how fragile those ~10-point fits are
(leave-one-out range and a bootstrap interval), and states the paper's claims beside them,
for the paper era and with the models and accelerators released since.

Units: parameters in billions (1e9); training compute in PFLOPs (1e15 FLOPs, a total);
memory in GB (1e9 bytes); "largest trainable model" = memory / divisor bytes per parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...core.claims import Claim
from ...core.params import YEAR_RANGE_RELATIONS, Param
from ...core.paths import resolve
from ...tables import (
    HARDWARE_FILES,
    load_authors_plotted,
    load_authors_tables,
    load_hardware,
    load_models,
)
from ..authors_points import authors_points, with_authors_points
from ..selection import extension_through
from . import draw
from .points import (
    FAMILIES,
    MEMORY_CAPACITIES,
    MEMORY_DATE_RULES,
    VALUE_SOURCES,
    Settings,
    analyse_active,
    analyse_era,
    check_selections,
    era_data,
    memory_sensitivity,
    model_table,
    sensitivity_table,
)
from .result import Result
from .verdicts import claims_2a, claims_2b, claims_frontier, extension_tags

PARAMETERS: dict[str, Param] = {
    "year_min": Param(int, "first year of the paper-era data (paper: 2012)", minimum=1940, maximum=2030),
    "year_max": Param(int, "last year of the paper-era data (paper: 2022)", minimum=1941, maximum=2030),
    "extension": Param(bool, "also fit with models and accelerators released after year_max"),
    "extension_year_max": Param(int, "last year of the extension", minimum=1941, maximum=2030),
    "fit_families": Param(
        list,
        "architecture families in the transformer fits (moe = mixture of experts)",
        item_type=str,
        choices=FAMILIES,
        min_items=1,
    ),
    "moe_parameters": Param(
        str,
        "parameter count of a mixture-of-experts model: all experts or active per token",
        choices=("total", "active"),
    ),
    "memory_divisor": Param(
        float, "bytes per parameter to train (paper: 6); memory / divisor = largest model", minimum=0.5, maximum=64
    ),
    "model_set": Param(
        str,
        "'paper': the models the paper plots; 'all': every model of the era in models.csv",
        choices=("paper", "all"),
    ),
    "values": Param(
        str,
        "'primary': primary-source values and dates; 'authors': the authors' published table",
        choices=VALUE_SOURCES,
    ),
    "memory_date_rule": Param(
        str,
        "date of an accelerator in panel (a): 'announce' (the authors' choice) or "
        "'availability' (first availability where known)",
        choices=MEMORY_DATE_RULES,
    ),
    "memory_capacity": Param(
        str,
        "memory in GB: 'nominal' (the vendor's \"80GB\", as the authors plot it) or 'bytes' (nominal GiB as 1e9 bytes)",
        choices=MEMORY_CAPACITIES,
    ),
    "bootstrap_resamples": Param(int, "bootstrap resamples for the fragility interval", minimum=100, maximum=100000),
    "data_dir": Param(str, "folder with models.csv and the hardware tables", path="dir"),
    "output_dir": Param(str, "folder the figures and sidecars are written to", path="out_dir"),
}

RELATIONS = YEAR_RANGE_RELATIONS


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = False
#: The data files this figure reads (for ``make``'s dependencies).
DATA_FILES: tuple[str, ...] = (
    "models.csv",
    "authors_tables.csv",
    *HARDWARE_FILES,
    "authors_plotted.csv",
)
#: The figures written: model size vs memory (a), training compute (b).
OUTPUTS: tuple[str, ...] = ("fig2a_model_size_vs_memory", "fig2b_training_compute")


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 2 from checked parameters (:data:`PARAMETERS`)."""
    p = dict(params)
    settings = Settings.from_parameters(p)
    data_dir = resolve(p["data_dir"])
    models = load_models(data_dir)
    authors = load_authors_tables(data_dir, models)
    hw = load_hardware(data_dir)
    plotted = authors_points(load_authors_plotted(data_dir))
    table = model_table(models, settings, authors)
    check_selections(table, hw, settings, p)
    last = max(int(table["year"].max()), max(d.year for d in hw.devices["announce_date"]))
    through = extension_through(p, last) if p["extension"] else int(p["extension_year_max"])
    n = p["bootstrap_resamples"]
    paper_era = analyse_era(table, hw, settings, resamples=n)
    extended = analyse_era(table, hw, settings, extension=True, resamples=n) if p["extension"] else None
    active = analyse_active(models, authors, hw, settings, resamples=n) if p["extension"] else None
    return Result(
        p,
        paper_era,
        extended,
        active,
        sensitivity_table(models, authors, hw, settings),
        memory_sensitivity(hw, settings),
        plotted,
        through,
    )


def claims(result: Result) -> dict[str, list[Claim]]:
    """Panel (a): size, memory and their gap; panel (b): compute and Moore's law; each on the
    paper era and, with the extension, on all data (size also by MoE active parameters)."""
    a, b = claims_2a(result.paper_era), claims_2b(result.paper_era)
    year = result.extension_through
    if result.extended is not None and result.extended_active is not None:
        a += claims_2a(result.extended, **extension_tags(year))
        a += [
            c
            for c in claims_2a(result.extended_active, **extension_tags(year, active=True))
            if c.id.startswith("fig2a.transformer_size.per_2yr")
        ]
        b += claims_2b(result.extended, **extension_tags(year))
        fa, fb = claims_frontier(result.extended, year)
        a, b = a + fa, b + fb
    values = result.authors_values
    return {OUTPUTS[0]: with_authors_points(a, values), OUTPUTS[1]: with_authors_points(b, values)}


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """The points and fits of each era, the sensitivity table and the Moore's-law line."""
    fit = result.paper_era.compute_fit.fit
    data_a: dict[str, Any] = {
        "paper_era": era_data(result.paper_era),
        "sensitivity": result.sensitivity.to_dict(orient="records"),
        "memory_sensitivity": result.memory_sensitivity,
    }
    data_b: dict[str, Any] = {
        "paper_era": era_data(result.paper_era),
        "moore_line": dict(zip(("year", "pflops"), draw.moore_line(fit, fit.year_min, fit.year_max))),
    }
    if result.extended is not None and result.extended_active is not None:
        data_a["extension"] = era_data(result.extended)
        data_a["extension_moe_active"] = era_data(result.extended_active)
        data_b["extension"] = era_data(result.extended)
    return {OUTPUTS[0]: data_a, OUTPUTS[1]: data_b}


def plot(result: Result) -> dict[str, Any]:
    """Panels (a) and (b): the paper era, and beside it the extension."""
    p, era, ext = result.parameters, result.paper_era, result.extended
    title = f"{p['year_min']}-{p['year_max']} (the paper)"
    panels_a = [(title, era.size, era.memory, {"transformer": era.size_fit.fit, "memory": era.memory_fit.fit})]
    panels_b = [(title, era.compute, {"transformer": era.compute_fit.fit})]
    if ext is not None:
        later = f"through {result.extension_through}"
        fits_a = {"transformer": ext.size_fit.fit, "memory": ext.memory_fit.fit, "paper_transformer": era.size_fit.fit}
        fits_b = {"transformer": ext.compute_fit.fit, "paper_transformer": era.compute_fit.fit}
        if ext.size_frontier_fit is not None:
            fits_a["frontier"] = ext.size_frontier_fit.fit
        if ext.compute_frontier_fit is not None:
            fits_b["frontier"] = ext.compute_frontier_fit.fit
        panels_a.append((later, ext.size, ext.memory, fits_a))
        panels_b.append((later, ext.compute, fits_b))
    return {
        OUTPUTS[0]: draw.plot_size_vs_memory(panels_a, p["memory_divisor"]),
        OUTPUTS[1]: draw.plot_training_compute(panels_b),
    }
