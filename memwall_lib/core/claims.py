"""A claim of the paper beside its reproduction, and ``claims.md``, the tables of them all.

The paper's own numbers and claim texts live in :mod:`memwall_lib.paper`; a figure module
builds a :class:`Claim` from a registry id and what it reproduced (the factory is
:mod:`memwall_lib.figures.paper_claims`: core knows no paper), and says what kind of
claim it is (the paper's, a variant of it, or our own check), why it does not hold (its
``cause``) and whether it was measured. ``claims.md`` is made from the sidecars a run wrote,
so it can never disagree with them: one table per figure at the top, the notes below.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .checks import check_number
from .figure_set import check_sets, folder_lock, repair, write_set
from .output import default_file_mode
from .paths import FIGURES_DIR, resolve

#: What a claim is (``Claim.kind``), as ``claims.md`` explains it.
KINDS: dict[str, str] = {
    "paper": "a claim the paper states, checked as it states it",
    "variant": "a claim of the paper checked on other data (released after the paper), another accounting "
    "or another reading",
    "check": "a check of this reproduction's own method, or a claim beyond the paper: the paper states no value",
}
#: Why a claim does not hold (``Claim.cause``): the word ``claims.md`` shows, and what it means.
CAUSES: dict[str, tuple[str, str]] = {
    "data": ("data", "our data differ from the authors': our method on the authors' points gives the paper's number"),
    "method": ("method", "our method or accounting differs from the authors' (the note says where)"),
    "machine": ("machine", "measured on this machine (its CPU, threads and load), not the paper's"),
    "world": ("world changed since", "data released after the paper follow another trend"),
    "paper": ("paper", "the paper's own number or convention (the note says what it leaves out)"),
}


@dataclass
class Claim:
    """One claim of the paper beside its reproduction.

    ``paper`` and ``reproduced`` are numbers in the same unit (or strings/bools for
    qualitative claims); ``ci95`` is the reproduced value's 95% interval or None;
    ``holds`` is the verdict under ``rule`` (a sentence saying how it was decided): True,
    False, or None when the data cannot decide it (undetermined: too few points to fit, a
    search bound reached), which is never "does not hold".
    ``authors_points`` (growth claims of Figs 1 and 2 only) is the same quantity fitted with
    our method on the points the authors plotted (``data/authors_plotted.csv``): beside
    ``paper`` and ``reproduced`` it splits a gap into method (authors' points vs paper) and
    data (our data vs authors' points); Fig. 4's "close to" claim carries the smallest fraction
    on the authors' own bars there.
    ``kind`` is a key of :data:`KINDS`; ``cause`` a key of :data:`CAUSES`, why the claim does not
    hold (written as "" when it holds); ``measured``: the value was timed or measured on this
    machine (not counted or fitted), so the verdict is machine-specific.
    """

    id: str
    text: str
    paper: Any
    reproduced: Any
    ci95: list[float] | None
    holds: bool | None
    rule: str = ""
    note: str = ""
    authors_points: float | None = None
    kind: str = "paper"
    cause: str = ""
    measured: bool = False

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ValueError unless ``kind`` and ``cause`` are known words."""
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind {self.kind!r} is none of {sorted(KINDS)}")
        if self.cause and self.cause not in CAUSES:
            raise ValueError(f"claim {self.id}: cause {self.cause!r} is none of {sorted(CAUSES)}")

    def to_dict(self) -> dict[str, Any]:
        """The claim as a sidecar holds it (``cause`` is "" when it holds)."""
        self.check()
        d = asdict(self)
        d["holds"] = None if self.holds is None else bool(self.holds)
        d["cause"] = self.cause if self.holds is False else ""
        d["measured"] = bool(self.measured)
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
    kind: str = "paper",
    cause: str = "",
) -> Claim:
    """A growth-rate claim; it holds when ``paper`` lies inside the reproduced 95% CI.
    ``authors_points``: the same fit on the authors' plotted points, if known; ``kind`` and
    ``cause`` as in :class:`Claim`. TypeError or ValueError (naming the argument) for a
    ``paper`` or ``reproduced`` that is not a finite number, or a ``ci95`` that is not two finite numbers,
    low <= high."""
    for name, value in (("paper", paper), ("reproduced", reproduced)):
        check_number(name, value)
    try:
        bounds = [] if isinstance(ci95, (str, bytes)) else [float(v) for v in ci95]
    except (TypeError, ValueError):
        bounds = []
    if len(bounds) != 2 or not all(math.isfinite(v) for v in bounds) or bounds[0] > bounds[1]:
        raise ValueError(f"ci95: expected two finite numbers (low, high) with low <= high, got {ci95!r}")
    lo, hi = bounds
    return Claim(
        claim_id,
        text,
        paper,
        float(reproduced),
        [lo, hi],
        bool(lo <= paper <= hi),
        rule=f"holds if {_fmt(paper)} lies inside the reproduced 95% CI",
        note=note,
        authors_points=None if authors_points is None else float(authors_points),
        kind=kind,
        cause=cause,
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
    95% CI, verdict, note, kind, cause, measured."""
    import pandas as pd

    frame = pd.DataFrame([c.to_dict() for c in claims]).drop(columns=["rule"])
    if "authors_points" in frame:
        frame.insert(frame.columns.get_loc("reproduced"), "authors_points", frame.pop("authors_points"))
    return frame


def measured_on(sidecar: Mapping[str, Any]) -> str:
    """For a sidecar of measured claims (``provenance["measurements"]``): "machine-specific:
    measured on <cpu>, <n> thread(s)" (with "machine busy" if the load was high); "" for
    data-driven figures."""
    runs = (sidecar.get("provenance") or {}).get("measurements") or {}
    if not runs:
        return ""
    first = next(iter(runs.values()))
    busy = any(r.get("busy") for r in runs.values())
    return f"machine-specific: measured on {first.get('cpu') or 'an unknown CPU'}, {first.get('threads')} thread(s)" + (
        ", machine busy" if busy else ""
    )


@dataclass(frozen=True)
class Row:
    """One sidecar claim as ``claims.md`` shows it: ``kind``, ``cause`` as in :class:`Claim`;
    ``where``: :func:`measured_on` for a measured claim, else ""."""

    figure: str
    id: str
    text: str
    kind: str
    paper: Any
    reproduced: Any
    ci95: list[float] | None
    holds: bool | None
    rule: str
    note: str
    authors_points: float | None
    cause: str
    where: str


def sidecar_rows(sidecar: Mapping[str, Any]) -> list[Row]:
    """The claims of one sidecar as rows (kind, cause and measured as the claim states them).
    Raises ValueError for a claim without a kind: a sidecar written before claims had one,
    whose notebook must be rerun."""
    where = measured_on(sidecar)
    rows = []
    for c in sidecar.get("claims", []):
        if "kind" not in c:
            raise ValueError(
                f"{sidecar.get('figure')}: claim {c.get('id')!r} has no kind (written before claims had kind, "
                "cause and measured): rerun its notebook"
            )
        kind, cause, measured = str(c["kind"]), str(c.get("cause") or ""), bool(c.get("measured"))
        holds = None if c.get("holds") is None else bool(c.get("holds"))
        rows.append(
            Row(
                str(sidecar["figure"]),
                str(c["id"]),
                str(c.get("text", "")),
                kind,
                c.get("paper"),
                c.get("reproduced"),
                c.get("ci95"),
                holds,
                str(c.get("rule", "")),
                str(c.get("note", "")),
                c.get("authors_points"),
                cause if holds is False else "",
                where if measured else "",
            )
        )
    return rows


def _cell(text: str) -> str:
    """``text`` safe inside a markdown table cell."""
    return text.replace("|", "\\|")


def _link(text: str, anchor: str) -> str:
    """A link to ``#anchor`` whose text is ``text``, safe inside a table cell."""
    return "[" + _cell(text).replace("[", "\\[").replace("]", "\\]") + f"](#{anchor})"


def _ours(r: Row) -> str:
    ci = f" [{_fmt(r.ci95[0])}, {_fmt(r.ci95[1])}]" if r.ci95 else ""
    return _fmt(r.reproduced) + ci


def _verdict(r: Row) -> str:
    return _word(r.holds, "**does not hold**") + (" (measured)" if r.where else "")


def _word(holds: bool | None, not_held: str = "does not hold") -> str:
    return "undetermined" if holds is None else "holds" if holds else not_held


def _count(rows: Sequence[Row]) -> str:
    """ "X of N hold", and the causes of the others ("; of the 3 that do not: 2 method, 1 data")."""
    held = sum(r.holds is True for r in rows)
    out = f"{held} of {len(rows)} hold"
    failing = [r.cause for r in rows if r.holds is False]
    open_ = sum(r.holds is None for r in rows)
    if open_:
        out += f", {open_} undetermined"
    if failing:
        words = [f"{failing.count(k)} {v[0]}" for k, v in CAUSES.items() if k in failing]
        if "" in failing:
            words.append(f"{failing.count('')} cause not stated")
        verb = "does" if len(failing) == 1 else "do"
        out += f"; of the {len(failing)} that {verb} not: " + ", ".join(words)
    return out


def _table(rows: Sequence[Row]) -> list[str]:
    """A markdown table: claim (linked to its notes), paper, ours, verdict, cause, rule."""
    lines = ["| claim | paper | ours | verdict | cause | rule |", "|---|---|---|---|---|---|"]
    for r in rows:
        paper = _cell(_fmt(r.paper)) if r.kind != "check" else "—"
        cause = CAUSES[r.cause][0] if r.cause in CAUSES else ""
        lines.append(
            f"| {_link(r.text, r.id)} | {paper} | {_cell(_ours(r))} | {_verdict(r)} | {cause} | {_cell(r.rule)} |"
        )
    return lines


def _figure_section(figure: str, rows: Sequence[Row]) -> list[str]:
    """A figure's heading, its paper's claims' table and its checks' and variants' table."""
    lines = [f"## {figure}", ""]
    paper = [r for r in rows if r.kind == "paper"]
    ours = [r for r in rows if r.kind != "paper"]
    if paper:
        lines += [f"The paper's claims: {_count(paper)}.", "", *_table(paper), ""]
    if ours:
        lines += [f"Our checks and variants: {_count(ours)}.", "", *_table(ours), ""]
    return lines


def _notes(r: Row) -> list[str]:
    """The section of one claim: its verdict, values, rule, cause, machine and note."""
    label = "paper" if r.kind != "check" else "compared with (not a value of the paper)"
    values = f"{label}: {_fmt(r.paper)}; ours: {_fmt(r.reproduced)}"
    if r.ci95:
        values += f", 95% CI [{_fmt(r.ci95[0])}, {_fmt(r.ci95[1])}]"
    if r.authors_points is not None:
        values += f"; our method on the authors' points: {_fmt(r.authors_points)}"
    lines = [
        f'<a id="{r.id}"></a>',
        f"### {r.id}",
        "",
        f"**{r.text}**: {_word(r.holds)} ({KINDS[r.kind]}; [{r.figure}](#{r.figure})).",
        "",
        f"- {values}",
        f"- rule: {r.rule or 'not stated'}",
    ]
    if r.cause in CAUSES:
        lines.append(f"- cause: {CAUSES[r.cause][0]} ({CAUSES[r.cause][1]})")
    if r.where:
        lines.append(f"- {r.where}")
    if r.note:
        lines.append(f"- note: {r.note}")
    return [*lines, ""]


def _legend() -> list[str]:
    kinds = [f"- *{k}*: {v}" for k, v in KINDS.items()]
    causes = [f"- *{w}*: {m}" for w, m in CAUSES.values()]
    return ["Kinds of claim:", "", *kinds, "", "Causes (why a claim does not hold):", "", *causes, ""]


def claims_markdown(sidecars: Sequence[Mapping[str, Any]]) -> str:
    """``claims.md``: the counts, one table per figure (the paper's claims, then our checks
    and variants), a legend, then one section of notes per claim, linked from the tables."""
    by_figure = {str(sc["figure"]): sidecar_rows(sc) for sc in sidecars}
    rows = [r for rs in by_figure.values() for r in rs]
    paper = [r for r in rows if r.kind == "paper"]
    ours = [r for r in rows if r.kind != "paper"]
    lines = [
        '# Claims of "AI and Memory Wall", checked',
        "",
        "Generated by `make figures` from the JSON sidecars in this folder; do not edit. "
        'Each verdict follows the rule in its row. For a growth rate, "holds" means the paper\'s value '
        "lies inside the reproduced 95% CI: the data do not contradict it; read the CI's width beside it "
        "(the notes give leave-one-out and bootstrap ranges, and our method's fit on the points the authors "
        "plotted, `data/authors_plotted.csv`). Measured verdicts depend on the machine that ran them.",
        "",
        f"**The paper's claims: {_count(paper)}.**",
        "",
        f"**Our checks and variants: {_count(ours)}.**",
        "",
        *_legend(),
    ]
    for figure, rs in by_figure.items():
        lines += _figure_section(figure, rs)
    lines += ["## Notes, claim by claim", ""]
    for r in rows:
        lines += _notes(r)
    return "\n".join(lines).rstrip() + "\n"


def write_claims_summary(out_dir: str | Path = FIGURES_DIR) -> Path:
    """Write ``claims.md`` (:func:`claims_markdown`) from every ``*.json`` sidecar in ``out_dir``,
    with its manifest ``claims.sha256`` (:mod:`.figure_set`: claims.md and the sidecars it was
    made from, so ``sha256sum -c`` tells whether it summarises the sidecars beside it), under
    the folder's lock (an interrupted write of a figure set is finished first; a set that does
    not match its manifest is named in a warning). A folder with
    no sidecar is refused (ValueError naming it), not summarised as "0 of 0 claims hold"."""
    if not isinstance(out_dir, (str, Path)) or str(out_dir).strip() == "":
        raise TypeError(f"out_dir: expected a folder (str or pathlib.Path), got {out_dir!r}")
    out = resolve(out_dir)
    if not out.is_dir():
        raise ValueError(f"out_dir: folder {str(out)!r} does not exist")
    with folder_lock(out):
        repair(out)
        raw = {p.name: p.read_bytes() for p in sorted(out.glob("*.json"))}
        mixed = {m: p for m, p in check_sets(out).items() if p and m != "claims.sha256"}
    for manifest, problems in mixed.items():
        print(
            f"warning: {out / manifest}: a mixed set ({'; '.join(problems)}): rerun the notebook that writes it",
            file=sys.stderr,
        )
    sidecars = {n: json.loads(b) for n, b in raw.items()}
    used = {n: s for n, s in sidecars.items() if isinstance(s, dict) and "claims" in s and "figure" in s}
    if not used:
        raise ValueError(f"out_dir: no figure sidecar (*.json with claims) in {str(out)!r} to summarise")
    text = claims_markdown(list(used.values()))
    listed = {n: raw[n] for n in used}
    write_set(out, ["claims"], {"claims.md": text.encode("utf-8")}, default_file_mode(), listed)
    return out / "claims.md"
