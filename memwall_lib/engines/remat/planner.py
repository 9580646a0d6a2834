"""The cost model of a chain (bytes each block saves, FLOPs it costs), measured on one forward
pass, and the schedule with the least recomputation under a memory budget (dynamic programming).

Predicted peak of a schedule with segments 1..m: ``max_k (sum_{j<k} held_j + full_k)`` where
``held_j`` is what segment j keeps until its backward (all its saved storages if stored, its
input if checkpointed) and ``full_k`` is what it holds while its backward runs (all its saved
storages, plus its input). Single-level checkpointing as in Chen et al. 2016 and Rotor's
one-level case (Beaumont et al. 2019). Units: bytes; FLOPs (a multiply-accumulate is 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..memory.saved import storage_key, storage_nbytes
from .chains import Chain
from .schedules import Schedule, _check_n, schedule_every_k, schedule_none, schedule_sqrt_n


@dataclass
class ChainProfile:
    """The measured cost model of a chain (bytes, FLOPs).

    ``saved[i]``: storage id -> bytes of every storage block i saves for backward (parameters
    excluded); ``input_key[i]``/``input_bytes[i]``: block i's input storage; ``flops[i]``:
    forward FLOPs of block i; ``flops_to_last_save[i]``: FLOPs of block i before its last
    saved tensor (parameters included) is packed, or None if it saves nothing: a recomputation
    stops there (non-reentrant checkpoint's early stop). Synthetic profiles (tests) may use
    any distinct ids and leave ``flops_to_last_save`` out (whole blocks are recomputed).
    """

    saved: list[dict[int, int]]
    input_key: list[int]
    input_bytes: list[int]
    flops: list[float]
    flops_to_last_save: list[float | None] | None = None
    _seg: dict[tuple[int, int], int] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.saved)

    def segment_bytes(self, s: int, e: int, with_input: bool = False) -> int:
        """Bytes of the union of storages saved by blocks s..e (and of block s's input)."""
        key = (s, e, with_input)
        if key not in self._seg:
            union: dict[int, int] = {}
            for i in range(s, e + 1):
                union.update(self.saved[i])
            if with_input:
                union[self.input_key[s]] = self.input_bytes[s]
            self._seg[key] = sum(union.values())  # type: ignore[index]
        return self._seg[key]  # type: ignore[index]

    def segment_flops(self, s: int, e: int) -> float:
        """FLOPs of recomputing blocks s..e: up to the segment's last saved tensor."""
        last = self.flops_to_last_save
        if last is None:
            return float(sum(self.flops[s : e + 1]))
        for j in range(e, s - 1, -1):
            stop = last[j]
            if stop is not None:
                return float(sum(self.flops[s:j]) + stop)
        return 0.0

    def held(self, s: int, e: int, ckpt: bool) -> int:
        """Bytes segment s..e keeps from its forward until its backward."""
        return self.input_bytes[s] if ckpt else self.segment_bytes(s, e)

    def full(self, s: int, e: int, ckpt: bool) -> int:
        """Bytes segment s..e holds while its backward runs (recomputed if checkpointed)."""
        return self.segment_bytes(s, e, with_input=ckpt)

    def to_dict(self) -> dict[str, Any]:
        return {
            "saved_bytes": [sum(d.values()) for d in self.saved],
            "input_bytes": list(self.input_bytes),
            "forward_flops": list(self.flops),
            "flops_to_last_save": self.flops_to_last_save,
        }


def predict(profile: ChainProfile, schedule: Schedule) -> tuple[int, float]:
    """(predicted peak activation bytes, extra forward FLOPs) of ``schedule``."""
    if schedule.n_blocks != len(profile):
        raise ValueError(f"schedule {schedule.label!r} covers {schedule.n_blocks} blocks, profile has {len(profile)}")
    peak, held, extra = 0, 0, 0.0
    for s, e, c in schedule.segments:
        peak = max(peak, held + profile.full(s, e, c))
        held += profile.held(s, e, c)
        if c:
            extra += profile.segment_flops(s, e)
    return peak, extra


def optimal_schedule(
    profile: ChainProfile, budget_bytes: float, unit_bytes: float | None = None, resolution: int = 2000
) -> Schedule | None:
    """The schedule with the least recomputed FLOPs whose predicted peak fits ``budget_bytes``
    (ties: the lower peak), or None if none fits. Dynamic programming over (block, bytes held
    by earlier segments); bytes are counted in units of ``unit_bytes`` (default
    budget / ``resolution``), each term rounded up, so a returned schedule always fits the
    budget in exact bytes. With ``unit_bytes=1`` and integer bytes it is exact.
    """
    n = len(profile)
    _check_n(n)
    if budget_bytes <= 0:
        return None
    unit = float(unit_bytes) if unit_bytes else budget_bytes / resolution
    cap = int(math.floor(budget_bytes / unit + 1e-9))

    def units(b: int) -> int:
        return int(math.ceil(b / unit - 1e-9))

    inf = math.inf
    eps = 1e-9 * max(1.0, sum(profile.flops))
    # f[i][m]: least extra FLOPs for blocks i..n-1 given m units held by earlier segments;
    # r[i][m]: the least suffix peak (exact bytes above m) among those schedules.
    f = np.full((n + 1, cap + 1), inf)
    r = np.zeros((n + 1, cap + 1))
    f[n, :] = 0.0
    choice: dict[int, np.ndarray] = {}
    for i in range(n - 1, -1, -1):
        best = np.full(cap + 1, inf)
        best_r = np.full(cap + 1, inf)
        arg = np.full(cap + 1, -1, dtype=np.int64)
        for e in range(i, n):
            for c in (False, True):
                full_b, held_b = profile.full(i, e, c), profile.held(i, e, c)
                full_u, held_u = units(full_b), units(held_b)
                top = min(cap - full_u, cap - held_u)  # m + full <= cap and m + held <= cap
                if top < 0:
                    continue
                cost = profile.segment_flops(i, e) if c else 0.0
                cand = np.full(cap + 1, inf)
                cand[: top + 1] = cost + f[e + 1, held_u : held_u + top + 1]
                cand_r = np.full(cap + 1, inf)
                cand_r[: top + 1] = np.maximum(full_b, held_b + r[e + 1, held_u : held_u + top + 1])
                with np.errstate(invalid="ignore"):  # inf - inf where neither fits
                    better = (cand < best - eps) | ((np.abs(cand - best) <= eps) & (cand_r < best_r))
                best[better] = cand[better]
                best_r[better] = cand_r[better]
                arg[better] = 2 * e + int(c)
        f[i], r[i] = best, np.where(np.isfinite(best), best_r, 0.0)
        choice[i] = arg
    if not np.isfinite(f[0, 0]):
        return None
    segs, i, m = [], 0, 0
    while i < n:
        e, c_int = divmod(int(choice[i][m]), 2)
        segs.append((i, e, bool(c_int)))
        m += units(profile.held(i, e, bool(c_int)))
        i = e + 1
    return Schedule("optimal", f"optimal, budget {budget_bytes / 1e6:.3g} MB", tuple(segs))


def optimal_sweep(profile: ChainProfile, n_budgets: int = 8) -> list[Schedule]:
    """Optimal schedules for ``n_budgets`` budgets spaced geometrically between the smallest
    feasible predicted peak and the peak without checkpointing (distinct schedules only)."""
    n = len(profile)
    hi = predict(profile, schedule_none(n))[0]
    lo = hi
    for s in (schedule_every_k(n, 1), schedule_sqrt_n(n)):
        lo = min(lo, predict(profile, s)[0])
    # the smallest feasible budget: bisect the DP below every-block's peak
    a, b = 0.0, float(lo)
    for _ in range(12):
        mid = (a + b) / 2
        if optimal_schedule(profile, mid, resolution=400) is None:
            a = mid
        else:
            b = mid
    budgets = np.geomspace(b, hi, max(2, n_budgets))
    out: list[Schedule] = []
    seen: set[tuple] = set()
    for budget in budgets:
        sch = optimal_schedule(profile, float(budget))
        if sch is not None and sch.segments not in seen:
            seen.add(sch.segments)
            out.append(sch)
    return out


def profile_chain(chain: Chain) -> ChainProfile:
    """Measure the cost model of ``chain``: one real forward pass, block by block, under
    saved-tensor hooks (saved storages) and FlopCounterMode (forward FLOPs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    excluded = {storage_key(t) for t in [*chain.module.parameters(), *chain.module.buffers()]}
    saved: list[dict[int, int]] = []
    keep: list[Any] = []
    keys: list[int] = []
    in_bytes: list[int] = []
    flops: list[float] = []
    to_last: list[float | None] = []
    counter: list[Any] = []

    def pack(t: Any) -> Any:
        # inputs are packed before an op computes, outputs after: the count so far is what a
        # recomputation must redo to reach this tensor
        to_last[-1] = float(counter[-1].get_total_flops())
        k = storage_key(t)
        if k not in excluded:
            saved[-1].setdefault(k, storage_nbytes(t))
            keep.append(t)
        return t

    h = chain.make_input()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        for block in chain.blocks:
            keys.append(storage_key(h))
            in_bytes.append(storage_nbytes(h))
            saved.append({})
            to_last.append(None)
            with FlopCounterMode(display=False) as fc:
                counter.append(fc)
                h = block(h)
            flops.append(float(fc.get_total_flops()))
    keep.clear()
    return ChainProfile(saved, keys, in_bytes, flops, to_last)
