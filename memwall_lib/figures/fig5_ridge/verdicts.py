"""Figure 5's claims, all beyond the paper (kind "check"): the ridge point grows about as fast
as FLOPS over bandwidth, batch-1 decode is memory-bound on every accelerator, and the decode
batch that reaches the ridge point grows over time."""

from __future__ import annotations

from ...core.claims import Claim
from ..model_params import decoder_source
from ..paper_claims import paper_claim, paper_growth_claim
from .result import Result
from .series import critical_column


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
        fields=dict(models=", ".join(dict.fromkeys(result.intensities["model"]))),
        rule="holds if every accelerator's ridge point exceeds the batch-1 decode intensity of every model",
        note=note,
        kind="check",
        cause="data",
    )


def _critical_claim(result: Result) -> Claim:
    p, fit, cid = result.parameters, result.critical_fit, "fig5.critical_batch.per_2yr"
    fields = dict(model=decoder_source(p["critical_model"]).label, context=p["critical_context_len"])
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
            None,  # undetermined: too few accelerators reach the ridge within max_batch to fit
            fields=fields,
            rule=rule + " (no fit: fewer than 3 points; undetermined)",
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


def figure5_claims(result: Result) -> list[Claim]:
    """The three claims: ridge growth, batch-1 decode memory-bound, critical batch growth."""
    return [_ridge_claim(result), _decode_claim(result), _critical_claim(result)]
