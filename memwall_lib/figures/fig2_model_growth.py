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
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import paper
from ..core.claims import Claim, growth_claim
from ..core.params import Param
from ..core.paths import resolve
from ..tables import load_authors_tables, load_hardware, load_models
from . import fig2_plot
from .authors_points import with_authors_points
from .fig2_points import (
    FAMILIES,
    MEMORY_CAPACITIES,
    MEMORY_DATE_RULES,
    VALUE_SOURCES,
    Era,
    RobustFit,
    Settings,
    analyse_active,
    analyse_era,
    era_data,
    memory_sensitivity,
    model_table,
    sensitivity_table,
)

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

RELATIONS = (
    (lambda p: p["year_min"] < p["year_max"], "parameters 'year_min' and 'year_max': expected year_min < year_max"),
    (
        lambda p: p["extension_year_max"] > p["year_max"],
        "parameters 'extension_year_max' and 'year_max': expected extension_year_max > year_max",
    ),
)


def growth_claim_robust(claim_id: str, text: str, paper: float, rf: RobustFit, kind: str = "paper") -> Claim:
    """A per-2-year growth claim whose note gives n, the leave-one-out range and the bootstrap CI;
    ``kind`` as in :class:`~memwall_lib.core.claims.Claim`."""
    lo, hi = rf.loo_range
    blo, bhi = rf.bootstrap_ci95
    note = f"n={rf.fit.n}; leave-one-out {lo:,.3g}x-{hi:,.3g}x; bootstrap 95% {blo:,.3g}x-{bhi:,.3g}x"
    return growth_claim(claim_id, text, paper, rf.fit.per_2yr, rf.fit.per_2yr_ci95, note=note, kind=kind)


def claims_2a(era: Era, id_suffix: str = "", text_suffix: str = "") -> list[Claim]:
    """Transformer size 410x / 2 yrs, accelerator memory 2x / 2 yrs, and the gap between them
    (variants of the paper's claims when ``id_suffix`` names other data)."""
    kind = "variant" if id_suffix else "paper"
    sid = f".{id_suffix}" if id_suffix else ""
    stx = f" {text_suffix}" if text_suffix else ""
    size, mem = era.size_fit, era.memory_fit
    c_size, c_mem = paper.claim("fig2a.transformer_size.per_2yr"), paper.claim("fig2a.accelerator_memory.per_2yr")
    c_gap = paper.claim("fig2a.size_outgrows_memory")
    gap = size.fit.per_2yr / mem.fit.per_2yr
    gap_holds = size.fit.per_2yr_ci95[0] > mem.fit.per_2yr_ci95[1]
    return [
        growth_claim_robust(c_size.id + sid, c_size.text + stx, c_size.value, size, kind),
        growth_claim_robust(c_mem.id + sid, c_mem.text + stx, c_mem.value, mem, kind),
        Claim(
            c_gap.id + sid,
            c_gap.text + stx,
            c_gap.value,
            gap,
            None,
            bool(gap_holds),
            rule="holds if the lower end of the size CI exceeds the upper end of the memory CI",
            kind=kind,
        ),
    ]


def claims_2b(era: Era, id_suffix: str = "", text_suffix: str = "") -> list[Claim]:
    """Transformer training compute 750x / 2 yrs, and that it outgrows Moore's law (variants of
    the paper's claims when ``id_suffix`` names other data)."""
    kind = "variant" if id_suffix else "paper"
    sid = f".{id_suffix}" if id_suffix else ""
    stx = f" {text_suffix}" if text_suffix else ""
    comp = era.compute_fit
    c_comp, c_moore = paper.claim("fig2b.transformer_compute.per_2yr"), paper.claim("fig2b.compute_outgrows_moore")
    return [
        growth_claim_robust(c_comp.id + sid, c_comp.text + stx, c_comp.value, comp, kind),
        Claim(
            c_moore.id + sid,
            c_moore.text + stx,
            c_moore.value,
            comp.fit.per_2yr,
            list(comp.fit.per_2yr_ci95),
            bool(comp.fit.per_2yr_ci95[0] > c_moore.value),
            rule="holds if the lower end of the compute CI exceeds 2x / 2 yrs",
            kind=kind,
        ),
    ]


def claims_frontier(era: Era, year: int) -> tuple[list[Claim], list[Claim]]:
    """Transformer size (a) and training compute (b) growth over the running records through
    ``year`` (the largest model released so far), beside the all-models fits."""
    out: tuple[list[Claim], list[Claim]] = ([], [])
    for i, (cid, rf) in enumerate(
        (
            ("fig2a.transformer_size.per_2yr", era.size_frontier_fit),
            ("fig2b.transformer_compute.per_2yr", era.compute_frontier_fit),
        )
    ):
        if rf is not None:
            c = paper.claim(cid)
            out[i].append(
                growth_claim_robust(
                    f"{c.id}.ext{year}_frontier",
                    f"{c.text} (running record, data through {year})",
                    c.value,
                    rf,
                    "variant",
                )
            )
    return out


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = False
#: The data files this figure reads (for ``make``'s dependencies).
DATA_FILES: tuple[str, ...] = (
    "models.csv",
    "authors_tables.csv",
    "compute_devices.csv",
    "compute_peak_flops.csv",
    "dram_technologies.csv",
    "interconnects.csv",
    "authors_plotted.csv",
)
#: The figures written: model size vs memory (a), training compute (b).
OUTPUTS: tuple[str, ...] = ("fig2a_model_size_vs_memory", "fig2b_training_compute")


@dataclass
class Result:
    """Figure 2 analysed: the paper era, the extension (all parameters, and MoE counted by
    active parameters), and the sensitivity of the paper-era fits to values and model sets."""

    parameters: dict[str, Any]
    paper_era: Era
    extended: Era | None
    extended_active: Era | None
    sensitivity: pd.DataFrame
    memory_sensitivity: list[dict[str, Any]]

    def fits_table(self) -> pd.DataFrame:
        """The transformer-size fit of each era (growth, CI, leave-one-out, bootstrap)."""
        eras = {"paper era": self.paper_era, "with extension": self.extended}
        return pd.DataFrame(
            {
                name: era.size_fit.summary() | {"fit": "transformer size"}
                for name, era in eras.items()
                if era is not None
            }
        ).T


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 2 from checked parameters (:data:`PARAMETERS`)."""
    p = dict(params)
    settings = Settings.from_parameters(p)
    data_dir = resolve(p["data_dir"])
    models = load_models(data_dir)
    authors = load_authors_tables(data_dir, models)
    hw = load_hardware(data_dir)
    table = model_table(models, settings, authors)
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
    )


def _extension_tags(result: Result, active: bool = False) -> dict[str, str]:
    year = result.parameters["extension_year_max"]
    if active:
        return dict(id_suffix=f"ext{year}_active", text_suffix=f"(data through {year}, MoE active parameters)")
    return dict(id_suffix=f"ext{year}", text_suffix=f"(data through {year})")


def claims(result: Result) -> dict[str, list[Claim]]:
    """Panel (a): size, memory and their gap; panel (b): compute and Moore's law; each on the
    paper era and, with the extension, on all data (size also by MoE active parameters)."""
    a, b = claims_2a(result.paper_era), claims_2b(result.paper_era)
    if result.extended is not None and result.extended_active is not None:
        a += claims_2a(result.extended, **_extension_tags(result))
        a += [
            c
            for c in claims_2a(result.extended_active, **_extension_tags(result, active=True))
            if c.id.startswith("fig2a.transformer_size.per_2yr")
        ]
        b += claims_2b(result.extended, **_extension_tags(result))
        fa, fb = claims_frontier(result.extended, result.parameters["extension_year_max"])
        a, b = a + fa, b + fb
    return {OUTPUTS[0]: with_authors_points(a), OUTPUTS[1]: with_authors_points(b)}


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
        "moore_line": dict(zip(("year", "pflops"), fig2_plot.moore_line(fit, fit.year_min, fit.year_max))),
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
        later = f"through {p['extension_year_max']}"
        fits_a = {"transformer": ext.size_fit.fit, "memory": ext.memory_fit.fit, "paper_transformer": era.size_fit.fit}
        fits_b = {"transformer": ext.compute_fit.fit, "paper_transformer": era.compute_fit.fit}
        if ext.size_frontier_fit is not None:
            fits_a["frontier"] = ext.size_frontier_fit.fit
        if ext.compute_frontier_fit is not None:
            fits_b["frontier"] = ext.compute_frontier_fit.fit
        panels_a.append((later, ext.size, ext.memory, fits_a))
        panels_b.append((later, ext.compute, fits_b))
    return {
        OUTPUTS[0]: fig2_plot.plot_size_vs_memory(panels_a, p["memory_divisor"]),
        OUTPUTS[1]: fig2_plot.plot_training_compute(panels_b),
    }
