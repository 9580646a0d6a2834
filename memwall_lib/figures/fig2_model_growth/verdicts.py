"""Figure 2's claims: the growth of transformer size, accelerator memory and training compute per 2 years against the paper's (robust fits: leave-one-out and bootstrap), and the running-record frontier."""

from __future__ import annotations

from ... import paper
from ...core.claims import Claim
from ..paper_claims import paper_claim, paper_growth_claim
from .points import (
    Era,
    RobustFit,
)


def growth_claim_robust(
    registry_id: str, rf: RobustFit, kind: str = "paper", suffix: str = "", text_suffix: str = ""
) -> Claim:
    """The per-2-year growth claim ``registry_id`` whose note gives n, the leave-one-out range
    and the bootstrap CI; ``kind``, ``suffix`` and ``text_suffix`` as in
    :func:`memwall_lib.figures.paper_claims.paper_claim`."""
    lo, hi = rf.loo_range
    blo, bhi = rf.bootstrap_ci95
    note = f"n={rf.fit.n}; leave-one-out {lo:,.3g}x-{hi:,.3g}x; bootstrap 95% {blo:,.3g}x-{bhi:,.3g}x"
    return paper_growth_claim(
        registry_id,
        rf.fit.per_2yr,
        rf.fit.per_2yr_ci95,
        suffix=suffix,
        text_suffix=text_suffix,
        note=note,
        kind=kind,
    )


def extension_tags(year: int, active: bool = False) -> dict[str, str]:
    """The ``id_suffix`` and ``text_suffix`` of the claims checked on data through ``year``
    (``active``: with mixture-of-experts models counted by their active parameters)."""
    if active:
        return dict(id_suffix=f"ext{year}_active", text_suffix=f"(data through {year}, MoE active parameters)")
    return dict(id_suffix=f"ext{year}", text_suffix=f"(data through {year})")


def claims_2a(era: Era, id_suffix: str = "", text_suffix: str = "") -> list[Claim]:
    """Transformer size 410x / 2 yrs, accelerator memory 2x / 2 yrs, and the gap between them
    (variants of the paper's claims when ``id_suffix`` names other data)."""
    kind = "variant" if id_suffix else "paper"
    size, mem = era.size_fit, era.memory_fit
    gap = size.fit.per_2yr / mem.fit.per_2yr
    gap_holds = size.fit.per_2yr_ci95[0] > mem.fit.per_2yr_ci95[1]
    return [
        growth_claim_robust("fig2a.transformer_size.per_2yr", size, kind, suffix=id_suffix, text_suffix=text_suffix),
        growth_claim_robust("fig2a.accelerator_memory.per_2yr", mem, kind, suffix=id_suffix, text_suffix=text_suffix),
        paper_claim(
            "fig2a.size_outgrows_memory",
            gap,
            bool(gap_holds),
            rule="holds if the lower end of the size CI exceeds the upper end of the memory CI",
            kind=kind,
            suffix=id_suffix,
            text_suffix=text_suffix,
        ),
    ]


def claims_2b(era: Era, id_suffix: str = "", text_suffix: str = "") -> list[Claim]:
    """Transformer training compute 750x / 2 yrs, and that it outgrows Moore's law (variants of
    the paper's claims when ``id_suffix`` names other data)."""
    kind = "variant" if id_suffix else "paper"
    comp = era.compute_fit
    return [
        growth_claim_robust("fig2b.transformer_compute.per_2yr", comp, kind, suffix=id_suffix, text_suffix=text_suffix),
        paper_claim(
            "fig2b.compute_outgrows_moore",
            comp.fit.per_2yr,
            bool(comp.fit.per_2yr_ci95[0] > paper.MOORE_PER_2YR),
            ci95=list(comp.fit.per_2yr_ci95),
            rule="holds if the lower end of the compute CI exceeds 2x / 2 yrs",
            kind=kind,
            suffix=id_suffix,
            text_suffix=text_suffix,
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
            out[i].append(
                growth_claim_robust(
                    cid,
                    rf,
                    "variant",
                    suffix=f"ext{year}_frontier",
                    text_suffix=f"(running record, data through {year})",
                )
            )
    return out
