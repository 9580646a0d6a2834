"""What the authors' plotted points are, and the growth rates they give.

Works on the table of :func:`memwall_lib.authors_plotted.extract` (one row per drawn
element, values in each figure's axis units):

- :func:`identify` names each marker of Figs 1, 2(a), 2(b) after the row of our own data
  (``compute_peak_flops.csv`` + ``compute_devices.csv``, ``dram_technologies.csv``,
  ``interconnects.csv``, ``models.csv``, ``authors_tables.csv``) with the same value (within a
  relative tolerance) and a date within a year. Fig 1 is normalized to each series' first
  point, so its scale (the first point's absolute value) is found as the one that makes the
  most markers match (:func:`consensus_scale`).
- :func:`authors_fits` fits each trend of the paper on the authors' own points with
  :func:`memwall_lib.trends.fit_growth` (log-linear least squares on fractional years);
  :func:`drawn_slopes` gives the per-2-year factor of the authors' drawn lines, from their
  two end points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .data import load_authors_tables, load_hardware, load_models
from .trends import fit_growth, fractional_year

#: Trend id -> (figure, series whose markers are fitted, series of the drawn line).
TRENDS: dict[str, tuple[str, str]] = {
    "fig1.peak_flops": ("fig1", "peak_flops"),
    "fig1.dram_bandwidth": ("fig1", "dram_bandwidth"),
    "fig1.interconnect_bandwidth": ("fig1", "interconnect_bandwidth"),
    "fig2a.transformer": ("fig2a", "transformer"),
    "fig2a.accelerator_memory_div6": ("fig2a", "accelerator_memory_div6"),
    "fig2b.transformer": ("fig2b", "transformer"),
}

#: The paper's growth per 2 years for each trend (PAPER.md), for comparison only.
PAPER_PER_2YR: dict[str, float] = {
    "fig1.peak_flops": 3.0, "fig1.dram_bandwidth": 1.6, "fig1.interconnect_bandwidth": 1.4,
    "fig2a.transformer": 410.0, "fig2a.accelerator_memory_div6": 2.0, "fig2b.transformer": 750.0,
}


#: Significant digits the paper states each rate to ("3.0x", "410x", "2x").
PAPER_DIGITS: dict[str, int] = {"fig1.peak_flops": 2, "fig1.dram_bandwidth": 2, "fig1.interconnect_bandwidth": 2,
                                "fig2a.transformer": 2, "fig2a.accelerator_memory_div6": 1, "fig2b.transformer": 2}


def matches_paper(key: str, per_2yr: float) -> bool:
    """Whether ``per_2yr`` rounds to the paper's number at the precision the paper states it."""
    digits = PAPER_DIGITS[key]
    return float(f"{per_2yr:.{digits}g}") == PAPER_PER_2YR[key]


def _years(frame: pd.DataFrame) -> np.ndarray:
    return fractional_year(pd.to_datetime(frame["date"]))


def authors_fits(frame: pd.DataFrame) -> dict[str, float]:
    """Trend id -> growth per 2 years fitted on the authors' markers of that series (all of
    them, as drawn; Fig 1 normalized values and Fig 2 absolute ones fit alike)."""
    out = {}
    for key, (fig, series) in TRENDS.items():
        pts = frame[(frame["figure"] == fig) & (frame["kind"] == "marker") & (frame["series"] == series)]
        out[key] = fit_growth(_years(pts), pts["value"].to_numpy(float), name=key).per_2yr
    return out


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
    from . import authors_pdf as pdf
    from .authors_plotted import AUTHORS_DIR, FIGURES, _marker_points, axes_box, colour_key

    out = {}
    for fig, spec in FIGURES.items():
        if spec.x_scale != "date":
            continue
        page = pdf.read_page(AUTHORS_DIR / spec.file)
        markers = _marker_points(page, spec)
        for p in page.paths:
            if p.paint == "S" and p.width >= 5 and p.clip == axes_box(page):
                series = spec.line_series[colour_key(p.stroke)]
                xs = sorted(round(m[0], 3) for m in markers
                            if m[2] == (series if series != "moore_law" else "all_models"))
                vx = sorted(round(q[0], 3) for q in p.points)
                out[f"{fig}.{series}"] = (len(vx), len(xs), vx == xs)
    return out


# --------------------------------------------------------------------------- identification
@dataclass(frozen=True)
class Rule:
    """How to identify one series' markers: its candidate rows (``name``, ``value`` in the
    data's units, ``dates``: the dates a row may be plotted at), whether the series is
    normalized (scale found by :func:`consensus_scale`) or has the fixed ``scale`` (axis value
    x scale = data value), the relative value tolerance and the date tolerance in days."""

    candidates: Callable[[], pd.DataFrame]
    normalized: bool
    scale: float = 1.0  # axis value x scale = data value (Fig 2a memory: x 6)
    rel_tol: float = 0.01
    days: int = 366
    unit: str = ""  # data unit of a normalized series' scale


def _dates(*values: object) -> list[object]:
    return [d for d in values if pd.notna(d)]


def _flops() -> pd.DataFrame:
    hw = load_hardware()
    dev = hw.devices.set_index("name")
    f = hw.peak_flops
    return pd.DataFrame({
        "name": f["device"] + " [" + f["precision"] + " " + f["unit"] + " " + f["sparsity"] + "]",
        "value": f["peak_TFLOPS"],
        "dates": [_dates(dev.at[n, "announce_date"], dev.at[n, "availability_date"]) for n in f["device"]]})


def _dram() -> pd.DataFrame:
    hw = load_hardware()
    dev = hw.devices[hw.devices["memory_bandwidth_GB_per_s"].notna()]
    tech = hw.dram[~hw.dram["reference_device"].isin(dev["name"])]
    return pd.concat([
        pd.DataFrame({"name": dev["name"], "value": dev["memory_bandwidth_GB_per_s"],
                      "dates": [_dates(a, b) for a, b in zip(dev["announce_date"], dev["availability_date"])]}),
        pd.DataFrame({"name": tech["reference_device"] + " [" + tech["technology"] + "]",
                      "value": tech["bandwidth_GB_per_s"], "dates": [[d] for d in tech["date"]]}),
    ], ignore_index=True)


def _links() -> pd.DataFrame:
    ic = load_hardware().interconnects
    rows = []
    for col in ("lane_rate_GT_per_s", "link_GB_per_s", "device_GB_per_s"):
        ok = ic[ic[col].notna()]
        rows.append(pd.DataFrame({"name": ok["standard"] + " [" + col + "]", "value": ok[col],
                                  "dates": [[d] for d in ok["date"]]}))
    return pd.concat(rows, ignore_index=True)


def _models(col_ours: str, col_authors: str) -> Callable[[], pd.DataFrame]:
    def build() -> pd.DataFrame:
        m = load_models()
        a = load_authors_tables(models=m)
        ours = m[m[col_ours].notna()]
        theirs = a[a[col_authors].notna()]
        return pd.concat([
            pd.DataFrame({"name": ours["name"], "value": ours[col_ours], "dates": [[d] for d in ours["date"]]}),
            pd.DataFrame({"name": theirs["model"] + " [authors' table]", "value": theirs[col_authors],
                          "dates": [[d] for d in theirs["authors_date"]]})], ignore_index=True)
    return build


def _memory() -> pd.DataFrame:
    dev = load_hardware().devices
    dev = dev[dev["memory_capacity_GiB"].notna()]
    return pd.DataFrame({"name": dev["name"], "value": dev["memory_capacity_GiB"],
                         "dates": [_dates(a, b) for a, b in zip(dev["announce_date"], dev["availability_date"])]})


#: (figure, series) -> identification rule. Fig 2(a) memory: value x 6 = the nominal
#: capacity ("80GB", our ``memory_capacity_GiB``), not bytes.
RULES: dict[tuple[str, str], Rule] = {
    ("fig1", "peak_flops"): Rule(_flops, True, unit="TFLOPS"),
    ("fig1", "dram_bandwidth"): Rule(_dram, True, unit="GB/s"),
    ("fig1", "interconnect_bandwidth"): Rule(_links, True, unit="in the unit of the matched metric"),
    ("fig2a", "transformer"): Rule(_models("parameters_total_billions", "parameters_billions"), False, rel_tol=0.05),
    ("fig2a", "cv"): Rule(_models("parameters_total_billions", "parameters_billions"), False, rel_tol=0.05),
    ("fig2a", "recsys"): Rule(_models("parameters_total_billions", "parameters_billions"), False, rel_tol=0.05),
    ("fig2a", "accelerator_memory_div6"): Rule(_memory, False, scale=6.0),
    ("fig2b", "all_models"): Rule(_models("training_compute_pflops", "training_compute_pflops"), False, rel_tol=0.05),
    ("fig2b", "transformer"): Rule(_models("training_compute_pflops", "training_compute_pflops"), False,
                                   rel_tol=0.05),
}


def _gaps(dates: pd.Series, cands: pd.DataFrame) -> np.ndarray:
    """Days between each point's date and each candidate's nearest date (points x cands)."""
    stamps = [[pd.Timestamp(d) for d in ds] for ds in cands["dates"]]
    return np.array([[min((abs((t - pd.Timestamp(d)).days) for t in ts), default=10 ** 6) for ts in stamps]
                     for d in dates])


def _log_ratios(points: pd.DataFrame, cands: pd.DataFrame) -> np.ndarray:
    """ln(candidate value / point value), points x candidates."""
    return np.log(cands["value"].to_numpy(float))[None, :] - np.log(points["value"].to_numpy(float))[:, None]


def consensus_scale(points: pd.DataFrame, cands: pd.DataFrame, rule: Rule) -> float:
    """The scale s (data value = s x normalized value) that lets the most ``points``
    (``value``, ``date``) match a candidate within the tolerances; ties go to the smaller
    total log misfit. Every (point, candidate) pair within the date tolerance proposes its
    own ratio as a trial scale."""
    ratio, near = _log_ratios(points, cands), _gaps(points["date"], cands) <= rule.days
    tol = np.log1p(rule.rel_tol)
    best: tuple[int, float, float] = (-1, 0.0, 0.0)
    for trial in np.unique(np.round(ratio[near], 9)):
        err = np.where(near, np.abs(ratio - trial), np.inf)
        hit = err.min(axis=1) <= tol
        score = (int(hit.sum()), -float(err.min(axis=1)[hit].sum()))
        if score > best[:2]:
            best = (score[0], score[1], float(trial))
    return float(np.exp(best[2]))


def identify(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``identified_as`` filled for every marker that matches rows of our
    data within the rule's tolerances: the best match (smallest value misfit, then date
    gap), then ``" | "`` and up to two other matching names. For the normalized Fig 1 series,
    the scale found is appended to the series' first marker as ``"(scale S)"`` (TFLOPS, GB/s
    or the interconnect metric's unit per normalized unit)."""
    out = frame.copy()
    for (fig, series), rule in RULES.items():
        sel = (out["figure"] == fig) & (out["kind"] == "marker") & (out["series"] == series)
        pts = out[sel]
        cands = rule.candidates().reset_index(drop=True)
        scale = consensus_scale(pts, cands, rule) if rule.normalized else rule.scale
        err = np.abs(_log_ratios(pts, cands) - np.log(scale))
        gap = _gaps(pts["date"], cands)
        names = []
        for i in range(len(pts)):
            ok = np.flatnonzero((err[i] <= np.log1p(rule.rel_tol)) & (gap[i] <= rule.days))
            # equal values: a dense peak before a sparse one, then the nearer date
            ranked = [cands.at[j, "name"] for j in sorted(
                ok, key=lambda j: (round(err[i, j], 4), "sparse" in cands.at[j, "name"], gap[i, j]))]
            base = [n.split(" [")[0] for n in ranked]
            keep = [n for k, n in enumerate(ranked) if base[k] not in base[:k]]
            names.append(" | ".join(keep[:3]))
        if rule.normalized and names:
            names[0] = "; ".join(n for n in (names[0], f"normalized 1 = {scale:.6g} {rule.unit}") if n)
        out.loc[sel, "identified_as"] = names
    return out
