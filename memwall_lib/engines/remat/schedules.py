"""The block-level checkpointing schedules people use on a chain of n blocks.

A *schedule* cuts the chain into segments; a checkpointed segment keeps only its input in the
forward pass and runs again in the backward pass (``torch.utils.checkpoint``,
``use_reentrant=False``), a stored segment keeps everything autograd saves. Figure 4b runs
them as operator-level plans that keep nothing (:meth:`.profile.OpPlan.from_schedule`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    """Segments ``(start, end, checkpointed)`` (block indices, ``end`` inclusive) covering the
    chain in order; ``label`` names the schedule in plots."""

    label: str
    segments: tuple[tuple[int, int, bool], ...]

    def __post_init__(self) -> None:
        pos = 0
        for s, e, _ in self.segments:
            if s != pos or e < s:
                raise ValueError(f"schedule {self.label!r}: segments must tile the chain, got {self.segments}")
            pos = e + 1

    @property
    def n_blocks(self) -> int:
        return self.segments[-1][1] + 1 if self.segments else 0


def schedule_every_k(n: int, k: int) -> Schedule:
    """Checkpoint segments of ``k`` blocks (the last may be shorter); k = 1 is every block."""
    _check_n(n)
    if k < 1:
        raise ValueError(f"k: expected >= 1, got {k}")
    segs = tuple((s, min(s + k, n) - 1, True) for s in range(0, n, k))
    return Schedule("every block" if k == 1 else f"every {k} blocks", segs)


def schedule_sqrt_n(n: int) -> Schedule:
    """The segments ``torch.utils.checkpoint.checkpoint_sequential`` runs with round(sqrt(n))
    segments: segments of n // s blocks checkpointed, the last (with the remainder) stored."""
    _check_n(n)
    segments = max(1, round(math.sqrt(n)))
    size = n // segments
    segs = [(s, s + size - 1, True) for s in range(0, size * (segments - 1), size)]
    start = segs[-1][1] + 1 if segs else 0
    segs.append((start, n - 1, False))
    return Schedule(f"sqrt(n): {segments} segments", tuple(segs))


def _check_n(n: int) -> None:
    if n < 1:
        raise ValueError(f"a chain needs at least one block, got {n}")
