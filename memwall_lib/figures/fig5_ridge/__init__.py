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

This module holds the figure's API, as every figure package: :data:`PARAMETERS`,
:data:`RELATIONS`, :func:`analyse`, :func:`claims`, :func:`sidecar`, :func:`plot` (keyed by
:data:`OUTPUTS`); beside it: :mod:`.series` (the tables: accelerators, intensities, bounds,
critical batches), :mod:`.verdicts` (the claims), :mod:`.result` and :mod:`.draw`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from ...core.claims import Claim
from ...core.params import YEAR_ORDER, Param
from ...core.paths import resolve
from ...tables import DATE_RULES, FLOPS_POLICIES, HARDWARE_FILES, load_hardware
from ..model_params import decoder_source, decoder_sources
from ..selection import require_points
from . import draw
from .result import Result
from .series import (
    BYTES_CONVENTION,
    FAMILIES,
    LOW_PRECISION,
    PRECISIONS,
    REMOVED_BY,
    check_context,
    counters_for,
    critical_batches,
    critical_column,
    fitted_rows,
    growth_fit,
    intensities,
    latency_bounds,
    records,
    select_accelerators,
    source_texts,
    user_chips,
    user_file,
    user_specs,
)
from .verdicts import figure5_claims

PARAMETERS: dict[str, Param] = {
    "models": Param(
        list,
        "decoders whose intensities are drawn: preset names or paths to a Hugging Face config.json",
        item_type=str,
        min_items=1,
        validate=decoder_sources,
    ),
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
    "latency_model": Param(
        str, "the model (preset or config.json) whose roofline time is drawn on every chip", validate=decoder_source
    ),
    "latency_batch": Param(int, "batch of that decode step and prefill", minimum=1, maximum=1 << 16),
    "critical_model": Param(
        str, "the model (preset or config.json) of the critical-batch claim", validate=decoder_source
    ),
    "critical_context_len": Param(int, "KV cache tokens of the critical-batch claim", minimum=0, maximum=1 << 20),
    "max_batch": Param(int, "largest decode batch searched for the critical batch", minimum=1, maximum=1 << 24),
    "accelerators_file": Param(str, "a CSV of your own chips, columns as in data/ ('' for none)", validate=user_file),
    "extra_accelerators": Param(
        list,
        "your own chips: {name, year, peak_tflops, dram_tb_s, memory_gb} each",
        item_type=dict,
        validate=user_specs,
    ),
    "fit_user_accelerators": Param(bool, "include your own chips in the growth fits (else drawn only)"),
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


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 5 from checked parameters (:data:`PARAMETERS`)."""
    p = dict(params)
    hw = user_chips(load_hardware(resolve(p["data_dir"])), p["accelerators_file"], p["extra_accelerators"])
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
    require_points(
        "the accelerators with a ridge point",
        int(acc["ridge"].notna().sum()),
        ("year_min", "year_max", "accelerator_families", "flops_policy", "date_rule"),
        p,
    )
    fitted = fitted_rows(acc, p["fit_user_accelerators"])
    main, low = fitted[fitted["ridge"].notna()], fitted[fitted["ridge_fp8"].notna()]
    fits = {
        "ridge": growth_fit(main["year"], main["ridge"], "ridge point"),
        "peak_flops": growth_fit(main["year"], main["peak_TFLOPS"], "peak FLOPS"),
        "bandwidth": growth_fit(main["year"], main["bandwidth_GB_per_s"], "DRAM bandwidth"),
        f"ridge_{LOW_PRECISION}": growth_fit(low["year"], low["ridge_fp8"], f"ridge point ({LOW_PRECISION})"),
    }
    counters, models_from = counters_for([*p["models"], p["latency_model"], p["critical_model"]], p["precision"])
    check_context(models_from, p)
    models, latency, critical = counters[: len(p["models"])], counters[-2], counters[-1]
    batches = sorted(set(p["batch_sizes"]))
    inten = intensities({c.label: c for c in models}, batches, p["context_len"], p["prefill_tokens"])
    lat = latency_bounds(acc, latency, p["latency_batch"], p["context_len"], p["prefill_tokens"])
    claimed = critical_column(p["critical_context_len"])
    crit = critical_batches(acc, {claimed: critical}, p["critical_context_len"], p["max_batch"])
    at_ctx = critical_batches(acc, {"b": critical}, p["context_len"], p["max_batch"])
    crit[critical_column(p["context_len"])] = at_ctx["b"].to_numpy()
    finite = crit[crit[claimed].notna() & crit["name"].isin(fitted["name"])]
    crit_fit = growth_fit(finite["year"], finite[claimed], "critical decode batch")
    sources = source_texts(counters, models_from)
    methods: dict[str, str] = {c.label: c.method for c in counters}
    return Result(p, acc, fits, inten, lat, crit, crit_fit, removed, sources, methods)


def claims(result: Result) -> dict[str, list[Claim]]:
    """The three claims: ridge growth, batch-1 decode memory-bound, critical batch growth; all
    beyond the paper (kind "check"), so a claim that fails does so on the accelerator data."""
    return {OUTPUTS[0]: figure5_claims(result)}


# --------------------------------------------------------------------------- sidecar and plot
def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """The numbers behind every panel: accelerators and ridge points, fits, intensities,
    roofline bounds, critical batches, and the conventions."""
    p = result.parameters
    return {
        OUTPUTS[0]: {
            "accelerators": records(result.accelerators),
            "accelerators_removed": {
                k: {"filter": REMOVED_BY[k], "devices": names} for k, names in result.removed.items()
            },
            "fits": {k: (f.summary() if f is not None else None) for k, f in result.fits.items()},
            "intensities": records(result.intensities),
            "latency": {
                "model": p["latency_model"],
                "batch": p["latency_batch"],
                "unit": "seconds",
                "rows": records(result.latency),
            },
            "critical_batch": {
                "model": p["critical_model"],
                "context_len": p["critical_context_len"],
                "rows": records(result.critical),
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
            "model_sources": result.sources,
        }
    }


def plot(result: Result) -> dict[str, Any]:
    """Figure 5, by output name."""
    return {OUTPUTS[0]: draw.plot_figure5(result)}
