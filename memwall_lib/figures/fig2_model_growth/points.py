"""Figure 2's points and fits: models (primary-source or the authors' values), accelerator
memory / divisor, the paper era and the extension, growth fits with their fragility
(leave-one-out range, bootstrap interval), and which choices give the paper's rates.

Units: parameters in billions (1e9); training compute in PFLOPs (1e15 FLOPs); memory in
GB (1e9 bytes, from the data's nominal GiB).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ... import paper
from ...core.trends import (
    LEAVE_ONE_OUT_MIN_POINTS,
    GrowthFit,
    bootstrap_growth,
    fit_growth,
    fractional_year,
    leave_one_out,
)
from ...tables import HardwareData, device_dates, memory_capacity_gb
from ..selection import require_points

#: The paper's claim of the growth per 2 years of each fitted transformer quantity.
TRANSFORMER_CLAIMS = {"size": "fig2a.transformer_size.per_2yr", "compute": "fig2b.transformer_compute.per_2yr"}
#: Families an NLP-model fit can include (the fits are of NLP models).
FAMILIES = ("transformer", "moe", "rnn")
VALUE_SOURCES = ("primary", "authors")
#: How an accelerator is dated in Fig. 2(a): announcement (the authors' choice) or first availability.
MEMORY_DATE_RULES = ("announce", "availability")
#: Memory in GB: the vendor's nominal number ("80GB", as the authors plot it) or bytes / 1e9 (80 GiB = 85.9 GB).
MEMORY_CAPACITIES = ("nominal", "bytes")


@dataclass(frozen=True)
class Settings:
    """The choices that select and size the plotted points. The defaults are the authors'
    conventions where our data can express them (``data/authors/FINDINGS.md``): memory points
    at the accelerators' announcement dates and their nominal "GB" numbers / 6."""

    year_min: int = 2012
    year_max: int = 2022
    extension_year_max: int = 2025
    fit_families: tuple[str, ...] = ("transformer", "moe")
    moe_parameters: str = "total"
    memory_divisor: float = 6.0
    model_set: str = "paper"
    values: str = "primary"
    memory_date_rule: str = "announce"
    memory_capacity: str = "nominal"

    @classmethod
    def from_parameters(cls, p: dict[str, Any]) -> Settings:
        return cls(
            p["year_min"],
            p["year_max"],
            p["extension_year_max"],
            tuple(p["fit_families"]),
            p["moe_parameters"],
            float(p["memory_divisor"]),
            p["model_set"],
            p["values"],
            p["memory_date_rule"],
            p["memory_capacity"],
        )


# --------------------------------------------------------------------------- points
def model_table(models: pd.DataFrame, settings: Settings, authors: pd.DataFrame | None = None) -> pd.DataFrame:
    """Models with ``year``, ``parameters_billions`` (total or active for MoE) and
    ``compute_pflops``; with ``values="authors"`` the authors' published dates, counts and
    compute replace the primary ones wherever the authors give them."""
    t = models.copy()
    params = t["parameters_total_billions"].copy()
    if settings.moe_parameters == "active":
        moe = (t["family"] == "moe") & t["parameters_active_billions"].notna()
        params[moe] = t.loc[moe, "parameters_active_billions"]
    t["parameters_billions"] = params
    t["compute_pflops"] = t["training_compute_pflops"]
    t["value_source"] = "primary"
    if settings.values == "authors":
        if authors is None:
            raise ValueError("values='authors' needs the authors' table (data/authors_tables.csv)")
        a = authors.set_index("model")
        hit = t["name"].isin(a.index)
        for i in t.index[hit]:
            row = a.loc[t.at[i, "name"]]
            t.at[i, "date"] = row["authors_date"]
            if np.isfinite(row["parameters_billions"]):
                t.at[i, "parameters_billions"] = row["parameters_billions"]
            if np.isfinite(row["training_compute_pflops"]):
                t.at[i, "compute_pflops"] = row["training_compute_pflops"]
            t.at[i, "value_source"] = "authors"
    t["year"] = fractional_year(t["date"])
    return t.sort_values(["year", "name"]).reset_index(drop=True)


def _era(t: pd.DataFrame, settings: Settings, panel: str, extension: bool) -> pd.DataFrame:
    """Rows of the paper era (flagged ``extension`` False) and, with ``extension``, the
    models released after year_max through extension_year_max (flagged True)."""
    last = settings.extension_year_max if extension else settings.year_max
    t = t[(t["year"] >= settings.year_min) & (t["year"] < last + 1)].copy()
    t["extension"] = t["year"] >= settings.year_max + 1
    in_panel = t["paper_figures"].apply(lambda figs: panel in figs)
    if settings.model_set == "paper":
        t = t[in_panel | t["extension"]]
    return t


def size_points(models: pd.DataFrame, settings: Settings, extension: bool = False) -> dict[str, pd.DataFrame]:
    """Figure 2(a) groups: ``transformer`` (the fitted families, NLP), ``cv``, ``recsys``."""
    t = _era(models, settings, "2a", extension)
    fitted = t["family"].isin(settings.fit_families) & (t["domain"] == "nlp")
    return {"transformer": t[fitted], "cv": t[t["domain"] == "cv"], "recsys": t[t["domain"] == "recsys"]}


def compute_points(models: pd.DataFrame, settings: Settings, extension: bool = False) -> dict[str, pd.DataFrame]:
    """Figure 2(b) groups with a training compute: ``transformer`` (fitted), ``cv``,
    ``nlp_other`` (RNNs etc.), ``speech``."""
    t = _era(models, settings, "2b", extension)
    t = t[t["compute_pflops"].notna()]
    fitted = t["family"].isin(settings.fit_families) & (t["domain"] == "nlp")
    return {
        "transformer": t[fitted],
        "cv": t[t["domain"] == "cv"],
        "nlp_other": t[(t["domain"] == "nlp") & ~fitted],
        "speech": t[t["domain"] == "speech"],
    }


def memory_points(hw: HardwareData, settings: Settings, extension: bool = False) -> pd.DataFrame:
    """Accelerator memory in GB (``memory_capacity``: the vendor's nominal number, or bytes /
    1e9 from the data's nominal GiB) and the largest trainable model (billions of parameters =
    GB / divisor bytes per parameter). Paper era: the devices tagged ``2a`` dated from year_min;
    extension: every GPU/TPU/accelerator with a known capacity released after year_max. Devices
    are dated by ``memory_date_rule`` (announcement, or first availability where known)."""
    if settings.memory_date_rule not in MEMORY_DATE_RULES:
        raise ValueError(
            f"memory_date_rule: expected one of {list(MEMORY_DATE_RULES)}, got {settings.memory_date_rule!r}"
        )
    if settings.memory_capacity not in MEMORY_CAPACITIES:
        raise ValueError(
            f"memory_capacity: expected one of {list(MEMORY_CAPACITIES)}, got {settings.memory_capacity!r}"
        )
    dev = hw.devices[hw.devices["memory_capacity_GiB"].notna()].copy()
    dev["date"] = device_dates(dev, settings.memory_date_rule)
    dev["year"] = fractional_year(dev["date"])
    dev["extension"] = dev["year"] >= settings.year_max + 1
    tagged = dev["paper_figures"].apply(lambda figs: "2a" in figs)
    keep = tagged & ~dev["extension"] & (dev["year"] >= settings.year_min)
    if extension:
        keep |= (
            dev["extension"]
            & dev["device_type"].isin(("gpu", "tpu", "accelerator"))
            & (dev["year"] < settings.extension_year_max + 1)
        )
    dev = dev[keep].sort_values(["year", "name"])
    dev["memory_capacity_GB"] = (
        dev["memory_capacity_GiB"] if settings.memory_capacity == "nominal" else memory_capacity_gb(dev)
    )
    dev["largest_model_billions"] = dev["memory_capacity_GB"] / settings.memory_divisor
    return dev.reset_index(drop=True)


# --------------------------------------------------------------------------- fits
@dataclass
class RobustFit:
    """A growth fit with its fragility: the per-2-year factor's leave-one-out range and a
    percentile bootstrap interval."""

    fit: GrowthFit
    loo_range: tuple[float, float]
    bootstrap_ci95: tuple[float, float]

    def summary(self) -> dict[str, Any]:
        d = self.fit.summary()
        d.update(per_2yr_leave_one_out=list(self.loo_range), per_2yr_bootstrap_ci95=list(self.bootstrap_ci95))
        return d


def robust_fit(years: Any, values: Any, name: str, resamples: int = 2000) -> RobustFit:
    x, y = np.asarray(years, dtype=float), np.asarray(values, dtype=float)
    fit = fit_growth(x, y, name=name)
    loo = leave_one_out(x, y) if len(x) >= LEAVE_ONE_OUT_MIN_POINTS else (math.nan, math.nan)
    return RobustFit(fit, loo, bootstrap_growth(x, y, n_resamples=resamples))


def points_data(t: pd.DataFrame, value_col: str) -> dict[str, list[Any]]:
    """The numbers behind a scatter, for the sidecar."""
    return {
        "name": t["name"].tolist(),
        "year": t["year"].round(4).tolist(),
        "value": t[value_col].tolist(),
        "extension": t["extension"].tolist(),
    }


def running_record(t: pd.DataFrame, col: str) -> pd.DataFrame:
    """The rows of ``t`` that set a record of ``col`` when released: in date order, each one
    larger than every model before it (the frontier the paper's trend lines follow)."""
    t = t.sort_values(["year", col], ascending=[True, False])
    best = t[col].cummax().shift(fill_value=-np.inf)
    return t[t[col] > best]


# --------------------------------------------------------------------------- analysis
@dataclass
class Era:
    """Points and fits of one era (the paper's, or the paper's plus the extension); the
    frontier fits are over the running records of the fitted transformers (None with fewer
    than 3 records)."""

    size: dict[str, pd.DataFrame]
    memory: pd.DataFrame
    compute: dict[str, pd.DataFrame]
    size_fit: RobustFit
    memory_fit: RobustFit
    compute_fit: RobustFit
    size_frontier: pd.DataFrame | None = None
    compute_frontier: pd.DataFrame | None = None
    size_frontier_fit: RobustFit | None = None
    compute_frontier_fit: RobustFit | None = None


def analyse_era(
    table: pd.DataFrame, hw: HardwareData, settings: Settings, extension: bool = False, resamples: int = 2000
) -> Era:
    """Select the points of an era and fit transformer size, memory / divisor and
    transformer training compute (each with leave-one-out and bootstrap fragility)."""
    size = size_points(table, settings, extension)
    mem = memory_points(hw, settings, extension)
    comp = compute_points(table, settings, extension)
    tag = "with extension" if extension else "paper era"
    rec_size = running_record(size["transformer"], "parameters_billions")
    rec_comp = running_record(comp["transformer"], "compute_pflops")
    frontier = lambda t, col, what: (
        robust_fit(t["year"], t[col], f"{what} running record ({tag})", resamples) if len(t) >= 3 else None
    )
    return Era(
        size,
        mem,
        comp,
        robust_fit(
            size["transformer"]["year"],
            size["transformer"]["parameters_billions"],
            f"transformer size ({tag})",
            resamples,
        ),
        robust_fit(mem["year"], mem["largest_model_billions"], f"accelerator memory ({tag})", resamples),
        robust_fit(
            comp["transformer"]["year"],
            comp["transformer"]["compute_pflops"],
            f"transformer training compute ({tag})",
            resamples,
        ),
        rec_size,
        rec_comp,
        frontier(rec_size, "parameters_billions", "transformer size"),
        frontier(rec_comp, "compute_pflops", "transformer training compute"),
    )


def analyse_active(
    models: pd.DataFrame, authors: pd.DataFrame | None, hw: HardwareData, settings: Settings, resamples: int = 2000
) -> Era:
    """:func:`analyse_era` with the extension, counting mixture-of-experts models by their
    parameters active per token."""
    active = replace(settings, moe_parameters="active")
    return analyse_era(model_table(models, active, authors), hw, active, extension=True, resamples=resamples)


def era_data(era: Era) -> dict[str, Any]:
    """The numbers behind one era's plots, for the sidecar."""
    return {
        "size": {k: points_data(v, "parameters_billions") for k, v in era.size.items()},
        "memory": {
            **points_data(era.memory, "largest_model_billions"),
            "memory_capacity_GB": era.memory["memory_capacity_GB"].tolist(),
        },
        "compute": {k: points_data(v, "compute_pflops") for k, v in era.compute.items()},
        "fits": {
            "transformer_size": era.size_fit.summary(),
            "accelerator_memory": era.memory_fit.summary(),
            "transformer_compute": era.compute_fit.summary(),
        },
        "running_record": {
            "size": {
                "name": [] if era.size_frontier is None else era.size_frontier["name"].tolist(),
                "fit": None if era.size_frontier_fit is None else era.size_frontier_fit.summary(),
            },
            "compute": {
                "name": [] if era.compute_frontier is None else era.compute_frontier["name"].tolist(),
                "fit": None if era.compute_frontier_fit is None else era.compute_frontier_fit.summary(),
            },
        },
    }


def memory_sensitivity(hw: HardwareData, base: Settings) -> list[dict[str, Any]]:
    """Paper-era accelerator-memory rate (x / 2 yrs, 95% CI) under each date rule and capacity
    unit: the authors' conventions (announcement, nominal GB) and ours (availability, bytes)."""
    rows = []
    for rule in MEMORY_DATE_RULES:
        for cap in MEMORY_CAPACITIES:
            s = replace(base, memory_date_rule=rule, memory_capacity=cap)
            mem = memory_points(hw, s)
            f = fit_growth(mem["year"], mem["largest_model_billions"])
            rows.append(
                {
                    "memory_date_rule": rule,
                    "memory_capacity": cap,
                    "is_default": s == base,
                    "n": f.n,
                    "per_2yr": f.per_2yr,
                    "ci95_lo": f.per_2yr_ci95[0],
                    "ci95_hi": f.per_2yr_ci95[1],
                    "names": mem["name"].tolist(),
                }
            )
    return rows


def sensitivity_table(
    models: pd.DataFrame, authors: pd.DataFrame, hw: HardwareData, base: Settings, resamples: int = 500
) -> pd.DataFrame:
    """Paper-era transformer size and compute rates (x / 2 yrs) under each choice of values
    (primary vs authors'), model set and fitted families: which choices give 410x and 750x?"""
    rows = []
    for values in VALUE_SOURCES:
        for model_set in ("paper", "all"):
            for fams in (("transformer", "moe"), ("transformer",)):
                s = replace(base, values=values, model_set=model_set, fit_families=fams)
                t = model_table(models, s, authors)
                size = size_points(t, s)["transformer"]
                comp = compute_points(t, s)["transformer"]
                row: dict[str, Any] = {
                    "values": values,
                    "model_set": model_set,
                    "families": "+".join(fams),
                    "is_default": s == base,
                }
                for key, pts, col in (("size", size, "parameters_billions"), ("compute", comp, "compute_pflops")):
                    try:
                        f = fit_growth(pts["year"], pts[col])
                        lo, hi = f.per_2yr_ci95
                        paper_rate = paper.claim(TRANSFORMER_CLAIMS[key]).value
                        row.update(
                            {
                                f"{key}_n": f.n,
                                f"{key}_per_2yr": f.per_2yr,
                                f"{key}_ci95_lo": lo,
                                f"{key}_ci95_hi": hi,
                                f"{key}_paper_in_ci": bool(lo <= paper_rate <= hi),
                            }
                        )
                    except ValueError:
                        row.update(
                            {
                                f"{key}_n": len(pts),
                                f"{key}_per_2yr": np.nan,
                                f"{key}_ci95_lo": np.nan,
                                f"{key}_ci95_hi": np.nan,
                                f"{key}_paper_in_ci": False,
                            }
                        )
                rows.append(row)
    return pd.DataFrame(rows)


def check_selections(table: pd.DataFrame, hw: HardwareData, settings: Settings, p: Mapping[str, Any]) -> None:
    """Refuse (ParameterError naming the parameters) a paper era whose transformer size,
    transformer compute or memory series has too few points to fit."""
    years = f"{int(table['year'].min())}-{int(table['year'].max())}"
    models = ("year_min", "year_max", "fit_families", "model_set", "values")
    require_points(
        "the paper-era transformer-size fit (Fig. 2a)",
        len(size_points(table, settings)["transformer"]),
        models,
        p,
        f"the data's models span {years}",
    )
    require_points(
        "the paper-era transformer-compute fit (Fig. 2b)",
        len(compute_points(table, settings)["transformer"]),
        models,
        p,
        f"the data's models span {years}",
    )
    require_points(
        "the paper-era accelerator-memory fit (Fig. 2a)",
        len(memory_points(hw, settings)),
        ("year_min", "year_max", "memory_date_rule"),
        p,
    )
