"""Figure 2's claims: the growth of transformer size, accelerator memory and training compute per 2 years against the paper's (robust fits: leave-one-out and bootstrap), and the running-record frontier."""

from __future__ import annotations

from ... import paper
from ...core.claims import Claim, growth_claim
from .points import (
    Era,
    RobustFit,
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
