"""The growth rates of the authors' own plotted points (``data/authors_plotted.csv``).

The points are read from the authors' figure PDFs by :mod:`memwall_lib.authors.plotted` (into
``data/authors_plotted.csv``, loaded by :func:`memwall_lib.tables.load_authors_plotted`); here they
are fitted (a figures concern: they become values of the paper's claims, :mod:`memwall_lib.paper`):

- :func:`authors_growth_fits` fits each trend of the paper on the authors' markers of that
  series with :func:`memwall_lib.core.trends.fit_growth` (log-linear least squares on
  fractional years, the method our own fits use), and :func:`authors_points` turns those fits
  into the value each growth claim of Figs 1, 2(a), 2(b) gets as ``authors_points``;
- the tests compare the authors' drawn lines (their slopes, fits on day numbers, and the
  points each line was computed over) with these fits.

Values are in each figure's axis units (Fig 1 normalized, Fig 2(a) billions of parameters,
Fig 2(b) PFLOPs); growth factors are dimensionless.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import paper
from ..core.trends import GrowthFit, fit_growth, fractional_year

#: Trend id -> (figure, series whose markers are fitted, series of the drawn line).
TRENDS: dict[str, tuple[str, str]] = {
    "fig1.peak_flops": ("fig1", "peak_flops"),
    "fig1.dram_bandwidth": ("fig1", "dram_bandwidth"),
    "fig1.interconnect_bandwidth": ("fig1", "interconnect_bandwidth"),
    "fig2a.transformer": ("fig2a", "transformer"),
    "fig2a.accelerator_memory_div6": ("fig2a", "accelerator_memory_div6"),
    "fig2b.transformer": ("fig2b", "transformer"),
}

#: Trend id -> the paper's claim of its growth per 2 years (:mod:`memwall_lib.paper`).
TREND_CLAIMS: dict[str, str] = {
    "fig1.peak_flops": "fig1.flops.per_2yr",
    "fig1.dram_bandwidth": "fig1.dram.per_2yr",
    "fig1.interconnect_bandwidth": "fig1.interconnect.per_2yr",
    "fig2a.transformer": "fig2a.transformer_size.per_2yr",
    "fig2a.accelerator_memory_div6": "fig2a.accelerator_memory.per_2yr",
    "fig2b.transformer": "fig2b.transformer_compute.per_2yr",
}


def _years(frame: pd.DataFrame) -> np.ndarray:
    return fractional_year(pd.to_datetime(frame["date"]))


def authors_growth_fits(frame: pd.DataFrame) -> dict[str, GrowthFit]:
    """Trend id -> the growth fit on the authors' markers of that series (all of them, as
    drawn; Fig 1 normalized values and Fig 2 absolute ones fit alike)."""
    out = {}
    for key, (fig, series) in TRENDS.items():
        pts = frame[(frame["figure"] == fig) & (frame["kind"] == "marker") & (frame["series"] == series)]
        out[key] = fit_growth(_years(pts), pts["value"].to_numpy(float), name=f"{key} (authors' points)")
    return out


def authors_points(frame: pd.DataFrame) -> dict[str, float]:
    """Paper claim id -> the value our method gives on the authors' points: growth per 2 (and,
    for Fig 1, per 20) years, the size/memory ratio of Fig 2(a) and the compute growth that
    Fig 2(b) compares with Moore's law. ``frame``: ``authors_plotted.csv`` as
    :func:`memwall_lib.tables.load_authors_plotted` reads it from the run's ``data_dir``."""
    fits = authors_growth_fits(frame)
    out = {TREND_CLAIMS[key]: fit.per_2yr for key, fit in fits.items()}
    for key in ("fig1.peak_flops", "fig1.dram_bandwidth", "fig1.interconnect_bandwidth"):
        out[TREND_CLAIMS[key].replace("per_2yr", "per_20yr")] = fits[key].per_20yr
    out["fig2a.size_outgrows_memory"] = (
        fits["fig2a.transformer"].per_2yr / fits["fig2a.accelerator_memory_div6"].per_2yr
    )
    out["fig2b.compute_outgrows_moore"] = fits["fig2b.transformer"].per_2yr
    return out


#: Significant digits the paper states each claim to ("3.0x", "60,000x", "2x").
CLAIM_DIGITS: dict[str, int] = {
    "fig1.flops.per_2yr": 2,
    "fig1.dram.per_2yr": 2,
    "fig1.interconnect.per_2yr": 2,
    "fig1.flops.per_20yr": 1,
    "fig1.dram.per_20yr": 1,
    "fig1.interconnect.per_20yr": 1,
    "fig2a.transformer_size.per_2yr": 2,
    "fig2a.accelerator_memory.per_2yr": 1,
    "fig2b.transformer_compute.per_2yr": 2,
}


def base_claim_id(claim_id: str) -> str | None:
    """The registry id a sidecar claim id extends (``fig1.flops.per_2yr.ext2025`` ->
    ``fig1.flops.per_2yr``), or None if it extends none."""
    parts = claim_id.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in paper.CLAIMS:
            return ".".join(parts[:n])
    return None


def rounds_to_paper(claim_id: str, value: float) -> bool:
    """Whether ``value`` rounds to the paper's number of claim ``claim_id`` at the precision
    the paper states it (:data:`CLAIM_DIGITS`)."""
    digits = CLAIM_DIGITS[claim_id]
    return float(f"{value:.{digits}g}") == float(paper.claim(claim_id).value)


def attribution(claim_id: str, authors_value: float, later_data: bool = False) -> str:
    """A sentence for the claim's note: whether our method on the authors' points gives the
    paper's number, so that a gap to the paper comes from the data (or not). ``later_data``:
    the claim is checked on data after the paper (the authors' points are its paper-era reference)."""
    if claim_id == "fig2a.size_outgrows_memory":
        return (
            f"authors' points: size grows {authors_value:.3g}x faster than memory (the paper's 205 is "
            f"410x / 2x, both rounded)"
        )
    if claim_id == "fig2b.compute_outgrows_moore":
        return f"authors' points: transformer compute {authors_value:.4g}x / 2 yrs, far above Moore's 2x"
    shown = f"{authors_value:,.0f}" if authors_value >= 1000 else f"{authors_value:.4g}"
    if rounds_to_paper(claim_id, authors_value):
        if later_data:
            return (
                f"authors' points (paper era) give {shown}x, the paper's number: the method reproduces "
                f"the paper, so a gap here is what the later data show"
            )
        return (
            f"authors' points give {shown}x, the paper's number at its precision: the method "
            f"reproduces the paper, so a gap between our data and the paper comes from the data"
        )
    return f"authors' points give {shown}x, not the paper's number: part of the gap is not the data's"


def gap_cause(claim_id: str, authors_value: float, later_data: bool = False) -> str:
    """Why the claim would not hold (a key of :data:`memwall_lib.core.claims.CAUSES`), as
    :func:`attribution` says it: when our method on the authors' points gives the paper's
    number, the data ("world" on data after the paper); otherwise our method. The two ratio
    claims of Fig 2 compare our growth fits, so a gap there is the data's too."""
    reproduced = claim_id not in CLAIM_DIGITS or rounds_to_paper(claim_id, authors_value)
    if not reproduced:
        return "method"
    return "world" if later_data else "data"


def with_authors_points(claims: list[Any], values: dict[str, float]) -> list[Any]:
    """``claims`` (:class:`memwall_lib.core.claims.Claim`) with ``authors_points`` and
    ``cause`` (:func:`gap_cause`) set, and the :func:`attribution` appended to the note, on
    every claim that extends a claim of :func:`authors_points` (extension claims too: the
    paper-era reference)."""
    for c in claims:
        base = base_claim_id(c.id)
        if base in values:
            c.authors_points = float(values[base])
            extra = attribution(base, values[base], later_data=c.id != base)
            c.note = f"{c.note}; {extra}" if c.note else extra
            c.cause = gap_cause(base, values[base], later_data=c.id != base)
    return claims
