"""Figure 5 (beyond the paper): the memory wall accelerator by accelerator, for today's LLMs.

Joins the paper's Figure 1 (peak compute outgrows DRAM bandwidth) and Figure 3 (a workload's
arithmetic intensity decides whether it can use the compute): for each accelerator since
2012 its ridge point (peak FLOP/s over DRAM bytes/s, from the same device rows and
conventions as Figure 1), against the arithmetic intensity of prefill and of decode at
several batch sizes for LLMs people serve (:mod:`memwall_lib.engines.counts.llm`), and the roofline
lower bound of one model's decode step and prefill on every accelerator.

Panels: (a) ridge point over time, by precision, with its growth per 2 years and 95% CI;
(b) arithmetic intensity of decode (per batch) and prefill, per model, on the same axis;
(c) roofline lower bound of one model's decode step and prefill on each accelerator, and
which side of the roof bounds it.

API as every figure module: :data:`PARAMETERS`, :data:`RELATIONS`, :func:`analyse`,
:func:`claims`, :func:`sidecar`, :func:`plot` (keyed by :data:`OUTPUTS`). Tables:
:mod:`.series`; drawing: :mod:`.draw`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...core.claims import Claim
from ...core.params import YEAR_ORDER, Param
from ...core.paths import resolve
from ...core.trends import FitError, GrowthFit, fit_growth
from ...engines.counts.presets import PRESETS, SOURCES
from ...tables import DATE_RULES, FLOPS_POLICIES, HARDWARE_FILES, load_hardware
from ..paper_claims import paper_claim, paper_growth_claim
from . import draw as fig5_plot
from .series import (
    FAMILIES,
    LOW_PRECISION,
    REMOVED_BY,
    critical_batches,
    intensities,
    latency_bounds,
    select_accelerators,
)

#: Precisions of weights, activations and KV cache the workloads can be counted at.
PRECISIONS: tuple[str, ...] = ("bf16", "fp16", "fp32", "int8")

PARAMETERS: dict[str, Param] = {
    "models": Param(list, "LLM presets whose intensities are drawn", item_type=str, choices=PRESETS, min_items=1),
    "batch_sizes": Param(
        list, "decode (and prefill) batch sizes; must include 1", item_type=int, minimum=1, maximum=1 << 16, min_items=1
    ),
    "context_len": Param(int, "tokens in the KV cache at a decode step", minimum=0, maximum=1 << 20),
    "prefill_tokens": Param(int, "prompt tokens per sequence of a prefill", minimum=1, maximum=1 << 20),
    "precision": Param(str, "bytes per weight, activation and KV element of the workloads", choices=PRECISIONS),
    "flops_policy": Param(str, "which peak a chip contributes (as in Figure 1)", choices=tuple(FLOPS_POLICIES)),
    "fp8_ridge": Param(bool, "also draw the ridge point at the dense fp8 peak, where a chip has one"),
    "year_min": Param(int, "first year of accelerators", minimum=1990, maximum=2030),
    "year_max": Param(int, "last year of accelerators", minimum=1991, maximum=2030),
    "accelerator_families": Param(
        list, "accelerator families (by vendor)", item_type=str, choices=tuple(FAMILIES), min_items=1
    ),
    "date_rule": Param(str, "date of a device: availability (else announcement) or announcement", choices=DATE_RULES),
    "latency_model": Param(str, "the model whose roofline time is drawn on every accelerator", choices=PRESETS),
    "latency_batch": Param(int, "batch of that decode step and prefill", minimum=1, maximum=1 << 16),
    "critical_model": Param(str, "the model of the critical-batch claim", choices=PRESETS),
    "critical_context_len": Param(int, "KV cache tokens of the critical-batch claim", minimum=0, maximum=1 << 20),
    "max_batch": Param(int, "largest decode batch searched for the critical batch", minimum=1, maximum=1 << 24),
    "data_dir": Param(str, "folder with the hardware CSV files", path="dir"),
    "output_dir": Param(str, "folder the figures and sidecars are written to", path="out_dir"),
}

#: Checks across parameters, for :func:`memwall_lib.core.params.check_parameters`.
RELATIONS = (
    YEAR_ORDER,
    (lambda p: 1 in p["batch_sizes"], "parameter 'batch_sizes': must include 1 (the batch-1 decode claim)"),
)

#: Whether the notebook times things on this machine (it does not: everything is analytic).
TIMED: bool = False
#: The data files this figure reads.
DATA_FILES: tuple[str, ...] = HARDWARE_FILES  # load_hardware validates all four together
#: The figure written.
OUTPUTS: tuple[str, ...] = ("fig5_memory_wall_by_accelerator",)

#: What the workloads' bytes count (the sidecar states it).
BYTES_CONVENTION = (
    "bytes of one forward pass: every weight read once per pass (MoE: the experts the pass's tokens touch "
    "under uniform top-k routing, an upper bound on distinct experts), the KV cache read by attention and "
    "written for the new tokens, every op's activations read and written once (no fusion between ops); "
    "prefill computes the logits of the last token only; FLOPs count a multiply-accumulate as 2"
)


@dataclass
class Result:
    """Figure 5 analysed: accelerators with ridge points, their fits, workload intensities,
    one model's roofline bounds, and critical decode batches."""

    parameters: dict[str, Any]
    accelerators: pd.DataFrame
    fits: dict[str, GrowthFit | None]
    intensities: pd.DataFrame
    latency: pd.DataFrame
    critical: pd.DataFrame
    critical_fit: GrowthFit | None
    removed: dict[str, list[str]] = field(default_factory=dict)

    def fits_table(self) -> pd.DataFrame:
        """Growth per 2 years (95% CI) of the ridge point and of its two factors, same devices."""
        return pd.DataFrame(
            {
                k: {"points": f.n, "x / 2 yrs": f.per_2yr, "95% CI": f.per_2yr_ci95, "R^2": f.r_squared}
                for k, f in self.fits.items()
                if f is not None
            }
        ).T

    def intensity_table(self) -> pd.DataFrame:
        """Arithmetic intensity (FLOPs/byte): one row per model and phase, one column per batch."""
        return self.intensities.pivot_table(index=["model", "phase"], columns="batch", values="intensity")

    def decode_b1_margin(self) -> pd.DataFrame:
        """Per accelerator: its ridge point over the largest batch-1 decode intensity (> 1: memory-bound)."""
        b1 = self.intensities[(self.intensities["phase"] == "decode") & (self.intensities["batch"] == 1)]
        top = float(b1["intensity"].max())
        acc = self.accelerators[self.accelerators["ridge"].notna()]
        return pd.DataFrame(
            {
                "name": acc["name"],
                "year": acc["year"].round(2),
                "ridge": acc["ridge"],
                "ridge_over_b1_decode": acc["ridge"] / top,
            }
        ).reset_index(drop=True)


def _fit(years: Any, values: Any, name: str) -> GrowthFit | None:
    try:
        return fit_growth(np.asarray(years, dtype=float), np.asarray(values, dtype=float), name=name)
    except FitError:
        return None


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 5 from checked parameters (:data:`PARAMETERS`)."""
    p = dict(params)
    hw = load_hardware(resolve(p["data_dir"]))
    acc, removed = select_accelerators(
        hw, p["flops_policy"], p["date_rule"], p["accelerator_families"], p["year_min"], p["year_max"]
    )
    if removed["family"]:
        warnings.warn(
            f"Figure 5 leaves out {len(removed['family'])} device(s) whose vendor and type are not in "
            f"accelerator_families {p['accelerator_families']}: {', '.join(removed['family'])} (the sidecar "
            "lists every row a filter removed under 'accelerators_removed')",
            stacklevel=2,
        )
    main = acc[acc["ridge"].notna()]
    low = acc[acc["ridge_fp8"].notna()]
    fits = {
        "ridge": _fit(main["year"], main["ridge"], "ridge point"),
        "peak_flops": _fit(main["year"], main["peak_TFLOPS"], "peak FLOPS"),
        "bandwidth": _fit(main["year"], main["bandwidth_GB_per_s"], "DRAM bandwidth"),
        f"ridge_{LOW_PRECISION}": _fit(low["year"], low["ridge_fp8"], f"ridge point ({LOW_PRECISION})"),
    }
    batches = sorted(set(p["batch_sizes"]))
    inten = intensities(p["models"], batches, p["context_len"], p["prefill_tokens"], p["precision"])
    lat = latency_bounds(
        acc, p["latency_model"], p["latency_batch"], p["context_len"], p["prefill_tokens"], p["precision"]
    )
    crit = critical_batches(acc, [p["critical_model"]], p["critical_context_len"], p["precision"], p["max_batch"])
    claimed = critical_column(p["critical_context_len"])
    crit = crit.rename(columns={p["critical_model"]: claimed})
    at_ctx = critical_batches(acc, [p["critical_model"]], p["context_len"], p["precision"], p["max_batch"])
    crit[critical_column(p["context_len"])] = at_ctx[p["critical_model"]].to_numpy()
    finite = crit[crit[claimed].notna()]
    crit_fit = _fit(finite["year"], finite[claimed], "critical decode batch")
    return Result(p, acc, fits, inten, lat, crit, crit_fit, removed)


def critical_column(context_len: int) -> str:
    """The column of :attr:`Result.critical` with the critical batch at a KV cache of
    ``context_len`` tokens (``critical_context_len``, the claim's, and ``context_len``)."""
    return f"critical_batch_kv_cache_{context_len}"


# --------------------------------------------------------------------------- claims
def _ridge_claim(result: Result) -> Claim:
    p, fit, cid = result.parameters, result.fits["ridge"], "fig5.ridge.per_2yr"
    fields = dict(policy=p["flops_policy"], years=f"{p['year_min']}-{p['year_max']}")
    if fit is None:
        return paper_claim(cid, None, False, fields=fields, rule="no fit: fewer than 3 accelerators", kind="check")
    fl, bw = result.fits["peak_flops"], result.fits["bandwidth"]
    note = (
        f"{fit.n} accelerators; on the same devices peak FLOPS grows {fl.per_2yr:.2f}x and DRAM bandwidth "
        f"{bw.per_2yr:.2f}x per 2 years"
        if fl is not None and bw is not None
        else ""
    )
    return paper_growth_claim(cid, fit.per_2yr, fit.per_2yr_ci95, fields=fields, note=note, kind="check", cause="data")


def _decode_claim(result: Result) -> Claim:
    p = result.parameters
    margin = result.decode_b1_margin()
    n, k = len(margin), int((margin["ridge_over_b1_decode"] > 1).sum())
    b1 = result.intensities[(result.intensities["phase"] == "decode") & (result.intensities["batch"] == 1)]
    top = b1.loc[b1["intensity"].idxmax()]
    low = margin.loc[margin["ridge_over_b1_decode"].idxmin()] if n else None
    note = (
        f"{p['context_len']}-token KV cache, {p['precision']}; largest batch-1 decode intensity "
        f"{top['intensity']:.2f} FLOPs/byte ({top['model']})"
    )
    if low is not None:
        note += (
            f"; smallest ridge point {low['ridge']:.1f} ({low['name']}), {low['ridge_over_b1_decode']:.1f}x above it"
        )
    return paper_claim(
        "fig5.decode_b1_memory_bound",
        f"{k} of {n}",
        bool(n > 0 and k == n),
        fields=dict(models=", ".join(p["models"])),
        rule="holds if every accelerator's ridge point exceeds the batch-1 decode intensity of every model",
        note=note,
        kind="check",
        cause="data",
    )


def _critical_claim(result: Result) -> Claim:
    p, fit, cid = result.parameters, result.critical_fit, "fig5.critical_batch.per_2yr"
    fields = dict(model=p["critical_model"], context=p["critical_context_len"])
    crit = result.critical
    unreached = int(crit[critical_column(p["critical_context_len"])].isna().sum())
    at_ctx = int(crit[critical_column(p["context_len"])].isna().sum())
    note = (
        f"fit over the {len(crit) - unreached} of {len(crit)} accelerators where a batch up to "
        f"{p['max_batch']} reaches the ridge; with a {p['context_len']}-token KV cache no batch reaches it on "
        f"{at_ctx} of {len(crit)}"
    )
    rule = "holds if the 95% CI of the growth per 2 years lies above 1"
    if fit is None:
        return paper_claim(
            cid,
            None,
            False,
            fields=fields,
            rule=rule + " (no fit: fewer than 3 points)",
            note=note,
            kind="check",
        )
    lo, hi = fit.per_2yr_ci95
    return paper_claim(
        cid,
        fit.per_2yr,
        bool(lo > 1),
        ci95=[lo, hi],
        fields=fields,
        rule=rule,
        note=note,
        kind="check",
        cause="data",
    )


def claims(result: Result) -> dict[str, list[Claim]]:
    """The three claims: ridge growth, batch-1 decode memory-bound, critical batch growth; all
    beyond the paper (kind "check"), so a claim that fails does so on the accelerator data."""
    return {OUTPUTS[0]: [_ridge_claim(result), _decode_claim(result), _critical_claim(result)]}


# --------------------------------------------------------------------------- sidecar and plot
def _records(frame: pd.DataFrame) -> dict[str, list[Any]]:
    f = frame.copy()
    for col in f.columns:
        if col == "date":
            f[col] = [str(pd.Timestamp(d).date()) for d in f[col]]
        elif col == "year":
            f[col] = f[col].round(4)
    return f.to_dict(orient="list")


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """The numbers behind every panel: accelerators and ridge points, fits, intensities,
    roofline bounds, critical batches, and the conventions."""
    p = result.parameters
    return {
        OUTPUTS[0]: {
            "accelerators": _records(result.accelerators),
            "accelerators_removed": {
                k: {"filter": REMOVED_BY[k], "devices": names} for k, names in result.removed.items()
            },
            "fits": {k: (f.summary() if f is not None else None) for k, f in result.fits.items()},
            "intensities": _records(result.intensities),
            "latency": {
                "model": p["latency_model"],
                "batch": p["latency_batch"],
                "unit": "seconds",
                "rows": _records(result.latency),
            },
            "critical_batch": {
                "model": p["critical_model"],
                "context_len": p["critical_context_len"],
                "rows": _records(result.critical),
                "fit": result.critical_fit.summary() if result.critical_fit is not None else None,
            },
            "conventions": {
                "flops_policy": FLOPS_POLICIES[p["flops_policy"]][0],
                "ridge_point": "peak FLOP/s / DRAM bytes/s (FLOPs per byte; GB = 1e9 bytes)",
                "low_precision_ridge": f"dense {LOW_PRECISION} peak / DRAM bandwidth, where the chip has one",
                "bytes": BYTES_CONVENTION,
                "latency": "roofline lower bound max(FLOPs / peak, bytes / bandwidth) on one chip; "
                "split N ways both sides shrink N-fold (interconnect ignored)",
            },
            "model_sources": {m: SOURCES[m] for m in sorted({*p["models"], p["latency_model"], p["critical_model"]})},
        }
    }


def plot(result: Result) -> dict[str, Any]:
    """Figure 5, by output name."""
    return {OUTPUTS[0]: fig5_plot.plot_figure5(result)}
