"""Figure 2: model size against accelerator memory (a), and training compute (b).

Builds the plotted point sets from ``models.csv`` and the hardware tables (accelerator
memory comes from ``compute_devices.csv``: one source of truth with Figure 1), fits the
paper's trends (:mod:`memwall_lib.trends`), measures how fragile those ~10-point fits are
(leave-one-out range and a bootstrap interval), and states the paper's claims beside them,
for the paper era and with the models and accelerators released since.

Units: parameters in billions (1e9); training compute in PFLOPs (1e15 FLOPs, a total);
memory in GB (1e9 bytes); "largest trainable model" = memory / divisor bytes per parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .data import HardwareData, device_dates, memory_capacity_gb
from .figures import Claim, growth_claim
from .params import Param
from .trends import GrowthFit, bootstrap_growth, fit_growth, fractional_year, leave_one_out

#: The paper's claims (PAPER.md), growth per 2 years.
PAPER_RATES = {"transformer_size": 410.0, "accelerator_memory": 2.0, "transformer_compute": 750.0,
               "moore": 2.0}
#: Families an NLP-model fit can include (the fits are of NLP models).
FAMILIES = ("transformer", "moe", "rnn")
VALUE_SOURCES = ("primary", "authors")

PARAMETERS: dict[str, Param] = {
    "year_min": Param(int, "first year of the paper-era data (paper: 2012)", minimum=1940, maximum=2030),
    "year_max": Param(int, "last year of the paper-era data (paper: 2022)", minimum=1941, maximum=2030),
    "extension": Param(bool, "also fit with models and accelerators released after year_max"),
    "extension_year_max": Param(int, "last year of the extension", minimum=1941, maximum=2030),
    "fit_families": Param(list, "architecture families in the transformer fits (moe = mixture of experts)",
                          item_type=str, choices=FAMILIES, min_items=1),
    "moe_parameters": Param(str, "parameter count of a mixture-of-experts model: all experts or active per token",
                            choices=("total", "active")),
    "memory_divisor": Param(float, "bytes per parameter to train (paper: 6); memory / divisor = largest model",
                            minimum=0.5, maximum=64),
    "model_set": Param(str, "'paper': the models the paper plots; 'all': every model of the era in models.csv",
                       choices=("paper", "all")),
    "values": Param(str, "'primary': primary-source values and dates; 'authors': the authors' published table",
                    choices=VALUE_SOURCES),
    "bootstrap_resamples": Param(int, "bootstrap resamples for the fragility interval", minimum=100, maximum=100000),
    "data_dir": Param(str, "folder with models.csv and the hardware tables", path="dir"),
    "output_dir": Param(str, "folder the figures and sidecars are written to", path="out_dir"),
}

RELATIONS = (
    (lambda p: p["year_min"] < p["year_max"], "parameters 'year_min' and 'year_max': expected year_min < year_max"),
    (lambda p: p["extension_year_max"] > p["year_max"],
     "parameters 'extension_year_max' and 'year_max': expected extension_year_max > year_max"),
)


@dataclass(frozen=True)
class Settings:
    """The choices that select and size the plotted points."""

    year_min: int = 2012
    year_max: int = 2022
    extension_year_max: int = 2025
    fit_families: tuple[str, ...] = ("transformer", "moe")
    moe_parameters: str = "total"
    memory_divisor: float = 6.0
    model_set: str = "paper"
    values: str = "primary"

    @classmethod
    def from_parameters(cls, p: dict[str, Any]) -> "Settings":
        return cls(p["year_min"], p["year_max"], p["extension_year_max"], tuple(p["fit_families"]),
                   p["moe_parameters"], float(p["memory_divisor"]), p["model_set"], p["values"])


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
    return {"transformer": t[fitted], "cv": t[t["domain"] == "cv"],
            "nlp_other": t[(t["domain"] == "nlp") & ~fitted], "speech": t[t["domain"] == "speech"]}


def memory_points(hw: HardwareData, settings: Settings, extension: bool = False) -> pd.DataFrame:
    """Accelerator memory (GB = 1e9 bytes, from the data's nominal GiB) and the largest
    trainable model (billions of parameters = GB / divisor bytes per parameter). Paper era:
    the devices tagged ``2a`` dated from year_min; extension: every GPU/TPU/accelerator with
    a known capacity released after year_max. Devices are dated by first availability,
    else announcement."""
    dev = hw.devices[hw.devices["memory_capacity_GiB"].notna()].copy()
    dev["date"] = device_dates(dev, "availability")
    dev["year"] = fractional_year(dev["date"])
    dev["extension"] = dev["year"] >= settings.year_max + 1
    tagged = dev["paper_figures"].apply(lambda figs: "2a" in figs)
    keep = tagged & ~dev["extension"] & (dev["year"] >= settings.year_min)
    if extension:
        keep |= (dev["extension"] & dev["device_type"].isin(("gpu", "tpu", "accelerator"))
                 & (dev["year"] < settings.extension_year_max + 1))
    dev = dev[keep].sort_values(["year", "name"])
    dev["memory_capacity_GB"] = memory_capacity_gb(dev)
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
    return RobustFit(fit, leave_one_out(x, y), bootstrap_growth(x, y, n_resamples=resamples))


def growth_claim_robust(claim_id: str, text: str, paper: float, rf: RobustFit) -> Claim:
    """A per-2-year growth claim whose note gives n, the leave-one-out range and the bootstrap CI."""
    lo, hi = rf.loo_range
    blo, bhi = rf.bootstrap_ci95
    note = (f"n={rf.fit.n}; leave-one-out {lo:,.3g}x-{hi:,.3g}x; bootstrap 95% {blo:,.3g}x-{bhi:,.3g}x")
    return growth_claim(claim_id, text, paper, rf.fit.per_2yr, rf.fit.per_2yr_ci95, note=note)


def points_data(t: pd.DataFrame, value_col: str) -> dict[str, list[Any]]:
    """The numbers behind a scatter, for the sidecar."""
    return {"name": t["name"].tolist(), "year": t["year"].round(4).tolist(), "value": t[value_col].tolist(),
            "extension": t["extension"].tolist()}


# --------------------------------------------------------------------------- figures
#: Extension points are many; only the largest few of each group are named.
_NAMED_EXTENSION_POINTS = 4


def _scatter(ax: Any, t: pd.DataFrame, col: str, color: str, marker: str, label: str,
             annotate: bool = True) -> None:
    """Paper-era points filled, extension points hollow; names on the paper-era points and
    on the largest few extension points."""
    from . import plotting

    era, ext = t[~t["extension"]], t[t["extension"]]
    ax.scatter(era["year"], era[col], color=color, marker=marker, s=32, zorder=3, label=label)
    if len(ext):
        ax.scatter(ext["year"], ext[col], facecolors="none", edgecolors=color, marker=marker, s=32,
                   zorder=3, label=f"{label} (after the paper)")
    if annotate:
        named = pd.concat([era, ext.nlargest(_NAMED_EXTENSION_POINTS, col)])
        plotting.annotate_points(ax, named["year"], named[col], named["name"], color=color, fontsize=7.5)


def _fit_ylim(ax: Any, groups: list[pd.DataFrame], col: str) -> None:
    """Y limits from the points (so an extrapolated fit line cannot stretch the axis)."""
    values = pd.concat([g[col] for g in groups if len(g)]).dropna()
    ax.set_ylim(values.min() / 4, values.max() * 8)


def _line(ax: Any, fit: GrowthFit, color: str, name: str, linestyle: str = "-",
          span: tuple[float, float] | None = None) -> None:
    from . import plotting

    lx, ly = fit.line(*(span or (None, None)))
    ax.plot(lx, ly, color=color, linestyle=linestyle, linewidth=1.8,
            label=f"{name}: {plotting.format_factor(fit.per_2yr)} / 2 yrs")


def _new_panels(n: int) -> tuple[Any, Any]:
    """A row of ``n`` panels sharing the y axis, in the project style."""
    import matplotlib.pyplot as plt

    from . import plotting

    plotting.apply_style()
    fig, axes = plt.subplots(1, n, figsize=(7.6 * n, 5.8), squeeze=False, sharey=True)
    return fig, axes[0]


def _finish_panel(ax: Any, title: str) -> None:
    from . import plotting

    plotting.log_axis(ax, "y")
    ax.set_xlabel("Year")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)


def _finish_figure(fig: Any, axes: Any, ylabel: str) -> Any:
    from . import plotting

    axes[0].set_ylabel(ylabel)
    fig.tight_layout()
    for ax in axes:
        plotting.declutter_labels(ax)
    return fig


def plot_size_vs_memory(panels: list[tuple[str, dict[str, pd.DataFrame], pd.DataFrame,
                                           dict[str, GrowthFit]]], divisor: float) -> Any:
    """Figure 2(a), one axes per panel: (title, size groups, memory points, fits with keys
    ``transformer`` and ``memory``). Parameters in billions on a log axis."""
    from . import plotting

    fig, axes = _new_panels(len(panels))
    for ax, (title, groups, mem, fits) in zip(axes, panels):
        _scatter(ax, groups["transformer"], "parameters_billions", plotting.PALETTE[0], "o", "Transformers")
        _scatter(ax, groups["cv"], "parameters_billions", plotting.PALETTE[2], "s", "CV models")
        _scatter(ax, groups["recsys"], "parameters_billions", plotting.PALETTE[3], "D", "Recommender")
        _scatter(ax, mem, "largest_model_billions", plotting.PALETTE[1], "^",
                 f"Accelerator memory / {divisor:g} B per parameter", annotate=False)
        era_mem = mem[~mem["extension"]]
        plotting.annotate_points(ax, era_mem["year"], era_mem["largest_model_billions"], era_mem["name"],
                                 color=plotting.PALETTE[1], fontsize=7, offset=(4, -10))
        _line(ax, fits["transformer"], plotting.PALETTE[0], "Transformer size")
        _line(ax, fits["memory"], plotting.PALETTE[1], "Accelerator memory")
        if "paper_transformer" in fits:
            _line(ax, fits["paper_transformer"], plotting.PALETTE[0], "Paper-era transformer fit", "--",
                  span=(fits["paper_transformer"].year_min, fits["transformer"].year_max))
        _finish_panel(ax, title)
        _fit_ylim(ax, [*groups.values(), mem.rename(columns={"largest_model_billions": "parameters_billions"})],
                  "parameters_billions")
    return _finish_figure(fig, axes, "Parameters (billions, log)")


def plot_training_compute(panels: list[tuple[str, dict[str, pd.DataFrame], dict[str, GrowthFit]]]) -> Any:
    """Figure 2(b), one axes per panel: (title, compute groups, fits with key
    ``transformer``), plus a Moore's-law line (2x / 2 yrs) from the first transformer."""
    from . import plotting

    fig, axes = _new_panels(len(panels))
    for ax, (title, groups, fits) in zip(axes, panels):
        _scatter(ax, groups["transformer"], "compute_pflops", plotting.PALETTE[0], "o", "Transformers (NLP)")
        _scatter(ax, groups["nlp_other"], "compute_pflops", plotting.PALETTE[5], "v", "Other NLP (RNN)")
        _scatter(ax, groups["cv"], "compute_pflops", plotting.PALETTE[2], "s", "CV models")
        _scatter(ax, groups["speech"], "compute_pflops", plotting.PALETTE[3], "D", "Speech models")
        tf = fits["transformer"]
        _line(ax, tf, plotting.PALETTE[0], "Transformer training compute")
        if "paper_transformer" in fits:
            _line(ax, fits["paper_transformer"], plotting.PALETTE[0], "Paper-era transformer fit", "--",
                  span=(fits["paper_transformer"].year_min, tf.year_max))
        all_years = pd.concat([g["year"] for g in groups.values()])
        moore = moore_line(tf, float(all_years.min()), float(all_years.max()))
        ax.plot(moore[0], moore[1], color="0.35", linestyle=":", linewidth=1.5,
                label=f"Moore's law: {PAPER_RATES['moore']:g}x / 2 yrs")
        _finish_panel(ax, title)
        _fit_ylim(ax, list(groups.values()), "compute_pflops")
    return _finish_figure(fig, axes, "Training compute (PFLOPs, log)")


def moore_line(anchor: GrowthFit, year_min: float, year_max: float, n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Moore's law (2x / 2 yrs) drawn through ``anchor``'s fitted value at its first year."""
    years = np.linspace(year_min, year_max, n)
    start = anchor.predict([anchor.year_min])[0]
    return years, start * PAPER_RATES["moore"] ** ((years - anchor.year_min) / 2)


# --------------------------------------------------------------------------- analysis
@dataclass
class Era:
    """Points and fits of one era (the paper's, or the paper's plus the extension)."""

    size: dict[str, pd.DataFrame]
    memory: pd.DataFrame
    compute: dict[str, pd.DataFrame]
    size_fit: RobustFit
    memory_fit: RobustFit
    compute_fit: RobustFit


def analyse(table: pd.DataFrame, hw: HardwareData, settings: Settings, extension: bool = False,
            resamples: int = 2000) -> Era:
    """Select the points of an era and fit transformer size, memory / divisor and
    transformer training compute (each with leave-one-out and bootstrap fragility)."""
    size = size_points(table, settings, extension)
    mem = memory_points(hw, settings, extension)
    comp = compute_points(table, settings, extension)
    tag = "with extension" if extension else "paper era"
    return Era(size, mem, comp,
               robust_fit(size["transformer"]["year"], size["transformer"]["parameters_billions"],
                          f"transformer size ({tag})", resamples),
               robust_fit(mem["year"], mem["largest_model_billions"], f"accelerator memory ({tag})", resamples),
               robust_fit(comp["transformer"]["year"], comp["transformer"]["compute_pflops"],
                          f"transformer training compute ({tag})", resamples))


def analyse_active(models: pd.DataFrame, authors: pd.DataFrame | None, hw: HardwareData, settings: Settings,
                   resamples: int = 2000) -> Era:
    """:func:`analyse` with the extension, counting mixture-of-experts models by their
    parameters active per token."""
    active = replace(settings, moe_parameters="active")
    return analyse(model_table(models, active, authors), hw, active, extension=True, resamples=resamples)


def claims_2a(era: Era, id_suffix: str = "", text_suffix: str = "") -> list[Claim]:
    """Transformer size 410x / 2 yrs, accelerator memory 2x / 2 yrs, and the gap between them."""
    sid = f".{id_suffix}" if id_suffix else ""
    stx = f" {text_suffix}" if text_suffix else ""
    size, mem = era.size_fit, era.memory_fit
    gap = size.fit.per_2yr / mem.fit.per_2yr
    gap_holds = size.fit.per_2yr_ci95[0] > mem.fit.per_2yr_ci95[1]
    return [
        growth_claim_robust(f"fig2a.transformer_size.per_2yr{sid}",
                            f"Transformer size grows {PAPER_RATES['transformer_size']:g}x every 2 years{stx}",
                            PAPER_RATES["transformer_size"], size),
        growth_claim_robust(f"fig2a.accelerator_memory.per_2yr{sid}",
                            f"Accelerator memory grows {PAPER_RATES['accelerator_memory']:g}x every 2 years{stx}",
                            PAPER_RATES["accelerator_memory"], mem),
        Claim(f"fig2a.size_outgrows_memory{sid}",
              f"Model size outgrows accelerator memory (ratio of the 2-year growth factors){stx}",
              PAPER_RATES["transformer_size"] / PAPER_RATES["accelerator_memory"], gap, None, bool(gap_holds),
              rule="holds if the lower end of the size CI exceeds the upper end of the memory CI"),
    ]


def claims_2b(era: Era, id_suffix: str = "", text_suffix: str = "") -> list[Claim]:
    """Transformer training compute 750x / 2 yrs, and that it outgrows Moore's law."""
    sid = f".{id_suffix}" if id_suffix else ""
    stx = f" {text_suffix}" if text_suffix else ""
    comp = era.compute_fit
    return [
        growth_claim_robust(f"fig2b.transformer_compute.per_2yr{sid}",
                            f"Transformer training compute grows {PAPER_RATES['transformer_compute']:g}x "
                            f"every 2 years{stx}", PAPER_RATES["transformer_compute"], comp),
        Claim(f"fig2b.compute_outgrows_moore{sid}",
              f"Training compute grows faster than Moore's law (2x / 2 yrs){stx}",
              PAPER_RATES["moore"], comp.fit.per_2yr, list(comp.fit.per_2yr_ci95),
              bool(comp.fit.per_2yr_ci95[0] > PAPER_RATES["moore"]),
              rule="holds if the lower end of the compute CI exceeds 2x / 2 yrs"),
    ]


def era_data(era: Era) -> dict[str, Any]:
    """The numbers behind one era's plots, for the sidecar."""
    return {
        "size": {k: points_data(v, "parameters_billions") for k, v in era.size.items()},
        "memory": {**points_data(era.memory, "largest_model_billions"),
                   "memory_capacity_GB": era.memory["memory_capacity_GB"].tolist()},
        "compute": {k: points_data(v, "compute_pflops") for k, v in era.compute.items()},
        "fits": {"transformer_size": era.size_fit.summary(), "accelerator_memory": era.memory_fit.summary(),
                 "transformer_compute": era.compute_fit.summary()},
    }


def sensitivity_table(models: pd.DataFrame, authors: pd.DataFrame, hw: HardwareData, base: Settings,
                      resamples: int = 500) -> pd.DataFrame:
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
                row: dict[str, Any] = {"values": values, "model_set": model_set, "families": "+".join(fams),
                                       "is_default": s == base}
                for key, pts, col in (("size", size, "parameters_billions"), ("compute", comp, "compute_pflops")):
                    try:
                        f = fit_growth(pts["year"], pts[col])
                        lo, hi = f.per_2yr_ci95
                        paper = PAPER_RATES[f"transformer_{key}"]
                        row.update({f"{key}_n": f.n, f"{key}_per_2yr": f.per_2yr, f"{key}_ci95_lo": lo,
                                    f"{key}_ci95_hi": hi, f"{key}_paper_in_ci": bool(lo <= paper <= hi)})
                    except ValueError:
                        row.update({f"{key}_n": len(pts), f"{key}_per_2yr": np.nan, f"{key}_ci95_lo": np.nan,
                                    f"{key}_ci95_hi": np.nan, f"{key}_paper_in_ci": False})
                rows.append(row)
    return pd.DataFrame(rows)
