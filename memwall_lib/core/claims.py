"""A claim of the paper beside its reproduction, and ``claims.md``, the table of them all.

The paper's own numbers and claim texts live in :mod:`memwall_lib.paper`; a figure module
builds a :class:`Claim` from a registry entry and what it reproduced. ``claims.md`` is made
from the sidecars a run wrote (one row per claim), so it can never disagree with them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .output import atomic_write_text
from .paths import FIGURES_DIR


@dataclass
class Claim:
    """One claim of the paper beside its reproduction.

    ``paper`` and ``reproduced`` are numbers in the same unit (or strings/bools for
    qualitative claims); ``ci95`` is the reproduced value's 95% interval or None;
    ``holds`` is the verdict under ``rule`` (a sentence saying how it was decided).
    ``authors_points`` (growth claims of Figs 1 and 2 only) is the same quantity fitted with
    our method on the points the authors plotted (``data/authors_plotted.csv``): beside
    ``paper`` and ``reproduced`` it splits a gap into method (authors' points vs paper) and
    data (our data vs authors' points).
    """

    id: str
    text: str
    paper: Any
    reproduced: Any
    ci95: list[float] | None
    holds: bool
    rule: str = ""
    note: str = ""
    authors_points: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["holds"] = bool(self.holds)
        if self.authors_points is None:
            del d["authors_points"]
        else:
            d["authors_points"] = float(self.authors_points)
        if self.ci95 is not None:
            d["ci95"] = [float(v) for v in self.ci95]
        return d


def growth_claim(
    claim_id: str,
    text: str,
    paper: float,
    reproduced: float,
    ci95: Sequence[float],
    note: str = "",
    authors_points: float | None = None,
) -> Claim:
    """A growth-rate claim; it holds when the paper's value lies inside the reproduced 95% CI.
    ``authors_points``: the same fit on the authors' plotted points, if known."""
    lo, hi = float(ci95[0]), float(ci95[1])
    return Claim(
        claim_id,
        text,
        paper,
        float(reproduced),
        [lo, hi],
        bool(lo <= paper <= hi),
        rule="holds if the paper's value lies inside the reproduced 95% CI",
        note=note,
        authors_points=None if authors_points is None else float(authors_points),
    )


# --------------------------------------------------------------------------- claims summary
def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        v = float(value)
        if v == 0:
            return "0"
        if abs(v) >= 1e5 or abs(v) < 1e-2:
            return f"{v:.3g}"
        return f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"
    return str(value)


def claims_frame(claims: Sequence[Claim]) -> Any:
    """The claims as a table for a notebook: id, text, paper, (authors' points,) reproduced,
    95% CI, verdict, note."""
    import pandas as pd

    frame = pd.DataFrame([c.to_dict() for c in claims]).drop(columns=["rule"])
    if "authors_points" in frame:
        frame.insert(frame.columns.get_loc("reproduced"), "authors_points", frame.pop("authors_points"))
    return frame


def measured_on(sidecar: Mapping[str, Any]) -> str:
    """For a sidecar of measured claims (``provenance["measurements"]``): "on this machine only:
    <cpu>, <n> thread(s)" (with "busy" if the load was high); "" for data-driven figures."""
    runs = (sidecar.get("provenance") or {}).get("measurements") or {}
    if not runs:
        return ""
    first = next(iter(runs.values()))
    busy = any(r.get("busy") for r in runs.values())
    return f"machine-specific: measured on {first.get('cpu') or 'an unknown CPU'}, {first.get('threads')} thread(s)" + (
        ", machine busy" if busy else ""
    )


def claims_table(sidecars: Sequence[Mapping[str, Any]]) -> str:
    """Markdown table of every claim of every sidecar: the paper's value, our fit on the
    authors' plotted points (growth claims of Figs 1 and 2; empty elsewhere), our value on our
    data with its 95% CI, and the verdict."""
    rows = [
        "| figure | claim | paper | authors' points (our fit) | our data | 95% CI | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for sc in sidecars:
        where = measured_on(sc)
        for c in sc.get("claims", []):
            ci = c.get("ci95")
            ci_txt = f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""
            verdict = "holds" if c.get("holds") else "does not hold"
            if where:
                verdict += f" <br><sub>{where}</sub>"
            text = str(c.get("text", "")).replace("|", "\\|")
            if c.get("note"):
                text += f" <br><sub>{str(c['note']).replace('|', '/')}</sub>"
            rows.append(
                f"| {sc['figure']} | {text} | {_fmt(c.get('paper'))} | {_fmt(c.get('authors_points'))} | "
                f"{_fmt(c.get('reproduced'))} | {ci_txt} | {verdict} |"
            )
    return "\n".join(rows) + "\n"


def write_claims_summary(out_dir: str | Path = FIGURES_DIR) -> Path:
    """Write ``claims.md``: one table of the claims of every ``*.json`` sidecar in ``out_dir``."""
    out = Path(out_dir)
    sidecars = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    sidecars = [s for s in sidecars if isinstance(s, dict) and "claims" in s and "figure" in s]
    n = sum(len(s["claims"]) for s in sidecars)
    held = sum(bool(c.get("holds")) for s in sidecars for c in s["claims"])
    text = (
        '# Claims of "AI and Memory Wall", checked\n\n'
        "Generated by `make figures` from the JSON sidecars in this folder; do not edit.\n"
        "Each verdict follows the rule stated in its sidecar (`rule`). For a growth rate, "
        '"holds" means the paper\'s value lies inside the reproduced 95% CI: the data do not '
        "contradict it. Read the CI's width beside it: a fit on ten points can hold a claim "
        "without pinning it down (the notes give leave-one-out and bootstrap ranges). "
        '"Authors\' points" is our fit on the points the authors plotted in their own figure files '
        "(`data/authors_plotted.csv`): where it matches the paper and our data does not, the gap "
        "comes from the data, not the method. "
        "Verdicts of measured claims (Figure 3's latencies, Figure 4b) depend on the machine "
        "that ran them.\n\n"
        f"{held} of {n} claims hold.\n\n" + claims_table(sidecars)
    )
    return atomic_write_text(out / "claims.md", text)
