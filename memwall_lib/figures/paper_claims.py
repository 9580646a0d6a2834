"""A :class:`~memwall_lib.core.claims.Claim` made from its entry in the paper registry.

Every claim a figure checks has a literal id in :mod:`memwall_lib.paper`, with the paper's
value and the claim's text. :func:`paper_claim` and :func:`paper_growth_claim` take that id and
what the figure reproduced, and fill in the rest from the registry, so no figure types a claim's
text or the paper's number by hand. (Core builds claims but must not know the paper, so the
factory lives here, in the figures layer.)

Ids and texts: a claim checked on other data, once per workload or per accounting extends the
registry id with ``.suffix`` (``fig1.flops.per_2yr.ext2025``, ``fig4b.reduction_at_20pct.gpt2``)
and may append ``text_suffix`` to its text ("(data through 2025)"); ``fields`` fill the text's
``{placeholders}`` (:meth:`memwall_lib.paper.PaperClaim.format`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import paper
from ..core.claims import Claim, growth_claim


def claim_id(entry: paper.PaperClaim, suffix: str = "") -> str:
    """The id of a claim of ``entry``: the registry id, with ``.suffix`` when one is given."""
    return f"{entry.id}.{suffix}" if suffix else entry.id


def claim_text(entry: paper.PaperClaim, fields: Mapping[str, Any] | None = None, text_suffix: str = "") -> str:
    """The text of a claim of ``entry``: its placeholders filled with ``fields``, then
    `` text_suffix`` when one is given."""
    text = entry.format(**(fields or {}))
    return f"{text} {text_suffix}" if text_suffix else text


def paper_claim(
    registry_id: str,
    reproduced: Any,
    holds: bool | None,
    *,
    ci95: list[float] | None = None,
    suffix: str = "",
    text_suffix: str = "",
    fields: Mapping[str, Any] | None = None,
    paper_value: Any | None = None,
    rule: str = "",
    note: str = "",
    authors_points: float | None = None,
    kind: str = "paper",
    cause: str = "",
    measured: bool = False,
) -> Claim:
    """The claim ``registry_id`` of :mod:`memwall_lib.paper` (id, text and the paper's value
    from the registry; ``paper_value`` replaces the value where a check compares with a number
    of its own, e.g. the count of models) beside what was ``reproduced`` (its 95% interval
    ``ci95``, if any) and the verdict ``holds`` under ``rule``; ``note``, ``authors_points``,
    ``kind``, ``cause`` and ``measured`` as in :class:`~memwall_lib.core.claims.Claim`."""
    entry = paper.claim(registry_id)
    return Claim(
        claim_id(entry, suffix),
        claim_text(entry, fields, text_suffix),
        entry.value if paper_value is None else paper_value,
        reproduced,
        ci95,
        holds,
        rule=rule,
        note=note,
        authors_points=authors_points,
        kind=kind,
        cause=cause,
        measured=measured,
    )


def paper_growth_claim(
    registry_id: str,
    reproduced: float,
    ci95: Sequence[float],
    *,
    suffix: str = "",
    text_suffix: str = "",
    fields: Mapping[str, Any] | None = None,
    note: str = "",
    kind: str = "paper",
    cause: str = "",
) -> Claim:
    """The growth-rate claim ``registry_id`` (growth per 2 or 20 years), which holds when the
    paper's value lies inside the reproduced 95% interval ``ci95``
    (:func:`memwall_lib.core.claims.growth_claim`); the other arguments as in :func:`paper_claim`."""
    entry = paper.claim(registry_id)
    return growth_claim(
        claim_id(entry, suffix),
        claim_text(entry, fields, text_suffix),
        entry.value,
        reproduced,
        ci95,
        note=note,
        kind=kind,
        cause=cause,
    )
