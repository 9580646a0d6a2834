"""Checkpointing schedules of a chain of n blocks: which segments are checkpointed.

A *schedule* cuts the chain into segments; a checkpointed segment keeps only its input in the
forward pass and runs again in the backward pass (``torch.utils.checkpoint``,
``use_reentrant=False``), a stored segment keeps everything autograd saves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

STRATEGIES: tuple[str, ...] = ("none", "every_block", "every_k", "sqrt_n", "optimal")


@dataclass(frozen=True)
class Schedule:
    """Segments ``(start, end, checkpointed)`` (block indices, ``end`` inclusive) covering the
    chain in order; ``strategy`` is one of :data:`STRATEGIES`, ``label`` names it in plots."""

    strategy: str
    label: str
    segments: tuple[tuple[int, int, bool], ...]
    sqrt_segments: int = 0  # > 0: run with checkpoint_sequential(segments=sqrt_segments)

    def __post_init__(self) -> None:
        pos = 0
        for s, e, _ in self.segments:
            if s != pos or e < s:
                raise ValueError(f"schedule {self.label!r}: segments must tile the chain, got {self.segments}")
            pos = e + 1

    @property
    def n_blocks(self) -> int:
        return self.segments[-1][1] + 1 if self.segments else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "label": self.label,
            "segments": [[s, e, bool(c)] for s, e, c in self.segments],
        }


def schedule_none(n: int) -> Schedule:
    """No checkpointing: one stored segment."""
    _check_n(n)
    return Schedule("none", "none", ((0, n - 1, False),))


def schedule_every_k(n: int, k: int) -> Schedule:
    """Checkpoint segments of ``k`` blocks (the last may be shorter); k = 1 is every block."""
    _check_n(n)
    if k < 1:
        raise ValueError(f"k: expected >= 1, got {k}")
    segs = tuple((s, min(s + k, n) - 1, True) for s in range(0, n, k))
    return Schedule("every_block", "every block", segs) if k == 1 else Schedule("every_k", f"every {k} blocks", segs)


def schedule_sqrt_n(n: int) -> Schedule:
    """``checkpoint_sequential`` with round(sqrt(n)) segments: segments of n // s blocks
    checkpointed, the last (with the remainder) stored, exactly as torch runs it."""
    _check_n(n)
    segments = max(1, round(math.sqrt(n)))
    size = n // segments
    segs = [(s, s + size - 1, True) for s in range(0, size * (segments - 1), size)]
    start = segs[-1][1] + 1 if segs else 0
    segs.append((start, n - 1, False))
    return Schedule("sqrt_n", f"sqrt(n): {segments} segments", tuple(segs), sqrt_segments=segments)


def _check_n(n: int) -> None:
    if n < 1:
        raise ValueError(f"a chain needs at least one block, got {n}")
