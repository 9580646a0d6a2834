"""Which rows of our data the authors' plotted points are.

:func:`identify` names each marker of Figs 1, 2(a), 2(b) in the table of
:func:`memwall_lib.authors.plotted.extract` after the row of our own data
(``compute_peak_flops.csv`` + ``compute_devices.csv``, ``dram_technologies.csv``,
``interconnects.csv``, ``models.csv``, ``authors_tables.csv``) with the same value (within a
relative tolerance) and a date within a year. Fig 1 is normalized to each series' first
point, so its scale (the first point's absolute value) is found as the one that makes the
most markers match (:func:`consensus_scale`). Matching only: no trend is fitted here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..tables import load_authors_tables, load_hardware, load_models


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
    return pd.DataFrame(
        {
            "name": f["device"] + " [" + f["precision"] + " " + f["unit"] + " " + f["sparsity"] + "]",
            "value": f["peak_TFLOPS"],
            "dates": [_dates(dev.at[n, "announce_date"], dev.at[n, "availability_date"]) for n in f["device"]],
        }
    )


def _dram() -> pd.DataFrame:
    hw = load_hardware()
    dev = hw.devices[hw.devices["memory_bandwidth_GB_per_s"].notna()]
    tech = hw.dram[~hw.dram["reference_device"].isin(dev["name"])]
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "name": dev["name"],
                    "value": dev["memory_bandwidth_GB_per_s"],
                    "dates": [_dates(a, b) for a, b in zip(dev["announce_date"], dev["availability_date"])],
                }
            ),
            pd.DataFrame(
                {
                    "name": tech["reference_device"] + " [" + tech["technology"] + "]",
                    "value": tech["bandwidth_GB_per_s"],
                    "dates": [[d] for d in tech["date"]],
                }
            ),
        ],
        ignore_index=True,
    )


def _links() -> pd.DataFrame:
    ic = load_hardware().interconnects
    rows = []
    for col in ("lane_rate_GT_per_s", "link_GB_per_s", "device_GB_per_s"):
        ok = ic[ic[col].notna()]
        rows.append(
            pd.DataFrame(
                {"name": ok["standard"] + " [" + col + "]", "value": ok[col], "dates": [[d] for d in ok["date"]]}
            )
        )
    return pd.concat(rows, ignore_index=True)


def _models(col_ours: str, col_authors: str) -> Callable[[], pd.DataFrame]:
    def build() -> pd.DataFrame:
        m = load_models()
        a = load_authors_tables(models=m)
        ours = m[m[col_ours].notna()]
        theirs = a[a[col_authors].notna()]
        return pd.concat(
            [
                pd.DataFrame({"name": ours["name"], "value": ours[col_ours], "dates": [[d] for d in ours["date"]]}),
                pd.DataFrame(
                    {
                        "name": theirs["model"] + " [authors' table]",
                        "value": theirs[col_authors],
                        "dates": [[d] for d in theirs["authors_date"]],
                    }
                ),
            ],
            ignore_index=True,
        )

    return build


def _memory() -> pd.DataFrame:
    dev = load_hardware().devices
    dev = dev[dev["memory_capacity_GiB"].notna()]
    return pd.DataFrame(
        {
            "name": dev["name"],
            "value": dev["memory_capacity_GiB"],
            "dates": [_dates(a, b) for a, b in zip(dev["announce_date"], dev["availability_date"])],
        }
    )


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
    ("fig2b", "transformer"): Rule(_models("training_compute_pflops", "training_compute_pflops"), False, rel_tol=0.05),
}


def _gaps(dates: pd.Series, cands: pd.DataFrame) -> np.ndarray:
    """Days between each point's date and each candidate's nearest date (points x cands)."""
    stamps = [[pd.Timestamp(d) for d in ds] for ds in cands["dates"]]
    return np.array(
        [[min((abs((t - pd.Timestamp(d)).days) for t in ts), default=10**6) for ts in stamps] for d in dates]
    )


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
            ranked = [
                cands.at[j, "name"]
                for j in sorted(ok, key=lambda j: (round(err[i, j], 4), "sparse" in cands.at[j, "name"], gap[i, j]))
            ]
            base = [n.split(" [")[0] for n in ranked]
            keep = [n for k, n in enumerate(ranked) if base[k] not in base[:k]]
            names.append(" | ".join(keep[:3]))
        if rule.normalized and names:
            names[0] = "; ".join(n for n in (names[0], f"normalized 1 = {scale:.6g} {rule.unit}") if n)
        out.loc[sel, "identified_as"] = names
    return out
