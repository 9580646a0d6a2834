"""The growth rates of the authors' own plotted points (``data/authors_plotted.csv``).

The points are read from the authors' figure PDFs by :mod:`memwall_lib.tables.authors_plotted`;
here they are fitted:

- :func:`authors_growth_fits` fits each trend of the paper on the authors' markers of that
  series with :func:`memwall_lib.core.trends.fit_growth` (log-linear least squares on
  fractional years, the method our own fits use), and :func:`authors_points` turns those fits
  into the value each growth claim of Figs 1, 2(a), 2(b) gets as ``authors_points``;
- :func:`drawn_slopes` gives the per-2-year factor of the authors' drawn lines, from their
  two end points, and :func:`day_fits` the least-squares slope on day numbers (the x space the
  authors fitted in); :func:`line_vertices_at_markers` checks which points each line used.

Values are in each figure's axis units (Fig 1 normalized, Fig 2(a) billions of parameters,
Fig 2(b) PFLOPs); growth factors are dimensionless.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import paper
from ..core.trends import GrowthFit, fit_growth, fractional_year
from ..tables import load_authors_plotted

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
#: The paper's growth per 2 years for each trend, for comparison only.
PAPER_PER_2YR: dict[str, float] = {key: float(paper.claim(c).value) for key, c in TREND_CLAIMS.items()}


def matches_paper(key: str, per_2yr: float) -> bool:
    """Whether the trend ``key``'s ``per_2yr`` rounds to the paper's number at the precision
    the paper states it (:func:`rounds_to_paper`)."""
    return rounds_to_paper(TREND_CLAIMS[key], per_2yr)


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


def authors_fits(frame: pd.DataFrame) -> dict[str, float]:
    """Trend id -> growth per 2 years fitted on the authors' markers (:func:`authors_growth_fits`)."""
    return {key: fit.per_2yr for key, fit in authors_growth_fits(frame).items()}


def authors_points(frame: pd.DataFrame | None = None) -> dict[str, float]:
    """Paper claim id -> the value our method gives on the authors' points: growth per 2 (and,
    for Fig 1, per 20) years, the size/memory ratio of Fig 2(a) and the compute growth that
    Fig 2(b) compares with Moore's law. ``frame`` defaults to ``data/authors_plotted.csv``."""
    fits = authors_growth_fits(load_authors_plotted() if frame is None else frame)
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


def with_authors_points(claims: list[Any], values: dict[str, float] | None = None) -> list[Any]:
    """``claims`` (:class:`memwall_lib.core.claims.Claim`) with ``authors_points`` and
    ``cause`` (:func:`gap_cause`) set, and the :func:`attribution` appended to the note, on
    every claim that extends a claim of :func:`authors_points` (extension claims too: the
    paper-era reference)."""
    values = authors_points() if values is None else values
    for c in claims:
        base = base_claim_id(c.id)
        if base in values:
            c.authors_points = float(values[base])
            extra = attribution(base, values[base], later_data=c.id != base)
            c.note = f"{c.note}; {extra}" if c.note else extra
            c.cause = gap_cause(base, values[base], later_data=c.id != base)
    return claims


def _days(frame: pd.DataFrame) -> np.ndarray:
    return ((pd.to_datetime(frame["date"]) - pd.Timestamp("1970-01-01")).dt.days).to_numpy(float)


def drawn_slopes(frame: pd.DataFrame) -> dict[str, float]:
    """Line id (``figure.series``, every drawn line) -> growth per 2 years of the authors'
    drawn line between its two end points, a year being 365.25 days (the line is straight
    in log10(value) against matplotlib's day numbers)."""
    out = {}
    ends = frame[frame["kind"].isin(("fit_line_start", "fit_line_end"))]
    for (fig, series), g in ends.groupby(["figure", "series"], sort=False):
        g = g.set_index("kind").loc[["fit_line_start", "fit_line_end"]]
        d0, d1 = _days(g)
        v0, v1 = g["value"].to_numpy(float)
        out[f"{fig}.{series}"] = float((v1 / v0) ** (2 * 365.25 / (d1 - d0)))
    return out


def day_fits(frame: pd.DataFrame) -> dict[str, float]:
    """Like :func:`authors_fits` but least squares of log10(value) on day numbers, a year
    being 365.25 days (the x space the authors' lines were fitted in)."""
    out = {}
    for key, (fig, series) in TRENDS.items():
        pts = frame[(frame["figure"] == fig) & (frame["kind"] == "marker") & (frame["series"] == series)]
        slope = np.polyfit(_days(pts), np.log10(pts["value"].to_numpy(float)), 1)[0]
        out[key] = float(10 ** (slope * 2 * 365.25))
    return out


def line_vertices_at_markers() -> dict[str, tuple[int, int, bool]]:
    """Line id -> (vertices of the drawn line, markers of its series, whether the vertices
    lie exactly at the markers' x positions): which points each line was computed over.
    The Moore's-law line of Fig 2(b) is compared with the ``all_models`` markers."""
    from ..tables import authors_pdf as pdf
    from ..tables.authors_plotted import AUTHORS_DIR, FIGURES, _marker_points, axes_box, colour_key

    out = {}
    for fig, spec in FIGURES.items():
        if spec.x_scale != "date":
            continue
        page = pdf.read_page(AUTHORS_DIR / spec.file)
        markers = _marker_points(page, spec)
        for p in page.paths:
            if p.paint == "S" and p.width >= 5 and p.clip == axes_box(page):
                series = spec.line_series[colour_key(p.stroke)]
                xs = sorted(
                    round(m[0], 3) for m in markers if m[2] == (series if series != "moore_law" else "all_models")
                )
                vx = sorted(round(q[0], 3) for q in p.points)
                out[f"{fig}.{series}"] = (len(vx), len(xs), vx == xs)
    return out
