"""The operator-level rematerialization planner, its exact frontier and a brute force.

:func:`plan_for_budget` minimises recompute FLOPs (a multiply-accumulate is 2 FLOPs)
under a budget on the predicted peak of live activations (bytes), over every segmentation
of the chain, every choice of checkpointed or stored segment and every keep set inside a
checkpointed segment (cost model: :mod:`.profile`).

Dynamic programming: ``f[i][m]`` is the least recompute FLOPs of blocks i..n-1 when earlier
segments hold ``m`` units. A checkpointed segment i..e is a 0/1 knapsack folded into the
table: starting from ``V = f[e+1]``, each cacheable op before the recomputation's stop
turns ``V`` into ``min(V[x] + flops, V[x + w])`` (recompute it, or hold its ``w`` units);
then ``f[i][m] <= const + V[m + input]`` when ``m + full <= cap``. Sweeps for every
segment end run side by side, block by block, so the cost is
``O(n^2/2 * ops per block * cap)`` numpy element operations.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .profile import OpChainProfile, OpPlan, predict_plan, segment_cost

_INF = math.inf


def _units(b: float, unit: float) -> int:
    return int(math.ceil(b / unit - 1e-9))


def _check(profile: OpChainProfile, budget_bytes: float, unit_bytes: float | None, resolution: int) -> None:
    if len(profile) == 0:
        raise ValueError("profile: a chain needs at least one block")
    if not isinstance(budget_bytes, (int, float)) or not math.isfinite(budget_bytes) or budget_bytes <= 0:
        raise ValueError(f"budget_bytes: expected a positive finite number of bytes, got {budget_bytes!r}")
    if unit_bytes is not None and not unit_bytes > 0:
        raise ValueError(f"unit_bytes: expected > 0 bytes, got {unit_bytes!r}")
    if not isinstance(resolution, int) or resolution < 1:
        raise ValueError(f"resolution: expected an integer >= 1, got {resolution!r}")


def recomputed_ops(profile: OpChainProfile, b: int, e: int) -> list[tuple[int, Any]]:
    """Ops of block b recomputed in a segment ending at e: (index, record)."""
    sb, sn = profile.stop_of(b, e)
    if sb < b:
        return []
    ops = profile.blocks[b].ops
    return list(enumerate(ops[:sn] if sb == b else ops))


def _apply(V: np.ndarray, fl: float, w: int, decisions: list | None) -> np.ndarray:
    out = V + fl
    if w <= len(V) - 1:
        shifted = V[w:]
        better = shifted < out[: len(shifted)]
        if decisions is not None:
            decisions.append(better)
        out[: len(shifted)] = np.where(better, shifted, out[: len(shifted)])
    elif decisions is not None:
        decisions.append(np.zeros(len(V), dtype=bool))
    return out


def _sweep(
    profile: OpChainProfile,
    b: int,
    e: int,
    V: np.ndarray,
    unit: float,
    operator_level: bool,
    decisions: list | None = None,
) -> tuple[np.ndarray, float]:
    if not operator_level:  # every op recomputed: a constant, cached on the profile across plans
        key = ("recompute", b, e)
        if key not in profile._cache:
            profile._cache[key] = float(sum(op.flops for _, op in recomputed_ops(profile, b, e)))
        return V, profile._cache[key]
    const = 0.0
    for j, op in recomputed_ops(profile, b, e):
        if operator_level and op.cacheable:
            V = _apply(V, op.flops, _units(op.out_bytes, unit), decisions)
            if decisions is not None:
                decisions[-1] = (b, j, _units(op.out_bytes, unit), decisions[-1])
        else:
            const += op.flops
    return V, const


def plan_for_budget(
    profile: OpChainProfile,
    budget_bytes: float,
    *,
    unit_bytes: float | None = None,
    resolution: int = 1000,
    operator_level: bool = True,
) -> OpPlan | None:
    """The plan with the least recompute FLOPs whose predicted peak fits ``budget_bytes``,
    or None if none fits. Bytes count in units of ``unit_bytes`` (default budget /
    ``resolution``), each term rounded up: a plan always fits in exact bytes, and with
    ``unit_bytes=1`` the optimum is exact. ``operator_level=False``: nothing kept
    (block-level checkpointing only)."""
    _check(profile, budget_bytes, unit_bytes, resolution)
    n = len(profile)
    unit = float(unit_bytes) if unit_bytes else budget_bytes / resolution
    cap = int(math.floor(budget_bytes / unit + 1e-9))
    f = np.full((n + 1, cap + 1), _INF)
    tail = _units(profile.tail_bytes, unit)
    f[n, : max(0, cap - tail + 1)] = 0.0
    sweeps: dict[int, tuple[np.ndarray, float]] = {}
    choice = np.full((n, cap + 1), -1, dtype=np.int64)
    for i in range(n - 1, -1, -1):
        best = np.full(cap + 1, _INF)
        arg = np.full(cap + 1, -1, dtype=np.int64)
        inp = _units(profile.blocks[i].input_bytes, unit)
        sweeps[i] = (f[i + 1].copy(), 0.0)
        for e in range(i, n):
            V, c = sweeps[e]
            V, dc = _sweep(profile, i, e, V, unit, operator_level)
            sweeps[e] = (V, c + dc)
            for ckpt in (False, True):  # candidates for m <= top (none above: they do not fit)
                if ckpt:
                    top = cap - max(_units(profile.saved_union(i, e, True), unit), inp)
                    cand = c + dc + V[inp : inp + top + 1] if top >= 0 else None
                else:
                    held = _units(profile.saved_union(i, e, False), unit)
                    top = cap - held
                    cand = f[e + 1, held : held + top + 1] if top >= 0 else None
                if cand is not None:
                    better = cand < best[: top + 1]
                    best[: top + 1][better] = cand[better]
                    arg[: top + 1][better] = 2 * e + int(ckpt)
        f[i], choice[i] = best, arg
    if not np.isfinite(f[0, 0]):
        return None
    segs: list[tuple[int, int, bool, frozenset]] = []
    i, m = 0, 0
    while i < n:
        e, c = divmod(int(choice[i][m]), 2)
        if not c:
            segs.append((i, e, False, frozenset()))
            m += _units(profile.saved_union(i, e, False), unit)
        else:
            decisions: list = []
            V = f[e + 1].copy()
            for b in range(e, i - 1, -1):
                V, _ = _sweep(profile, b, e, V, unit, operator_level, decisions)
            x = m + _units(profile.blocks[i].input_bytes, unit)
            keep = set()
            for b, j, w, dec in reversed(decisions):
                if x < len(dec) and dec[x]:
                    keep.add((b, j))
                    x += w
            segs.append((i, e, True, frozenset(keep)))
            m = x
        i = e + 1
    return OpPlan(tuple(segs), f"{'operator' if operator_level else 'block'}-level, budget {budget_bytes / 1e6:.4g} MB")


def plan_none(profile: OpChainProfile) -> OpPlan:
    """No checkpointing: one stored segment."""
    return OpPlan(((0, len(profile) - 1, False, frozenset()),), "none")


def frontier(
    profile: OpChainProfile, *, resolution: int = 400, unit_bytes: float | None = None, operator_level: bool = True
) -> list[tuple[int, float, OpPlan]]:
    """The Pareto frontier ``(predicted peak bytes, recompute FLOPs, plan)`` of the planner,
    sorted by peak (descending). Units of ``unit_bytes`` (default: the peak without
    checkpointing / ``resolution``). Exact at that unit: the planner runs at the budget of
    the no-checkpointing peak, then again one unit below each plan's peak, so every budget
    in units is covered and no step is missed (a plan of peak p is optimal for every budget
    from p up to the budget that returned it). No checkpointing is always a candidate (each
    term rounded up, it may not fit the first budget in units)."""
    hi = predict_plan(profile, plan_none(profile))[0]
    _check(profile, float(max(hi, 1)), unit_bytes, resolution)
    unit = float(unit_bytes) if unit_bytes else max(hi, 1) / resolution
    cap = _units(hi, unit)
    points: list[tuple[int, float, OpPlan]] = [(hi, 0.0, plan_none(profile))]  # rounding may exclude it below
    while cap >= 1:
        plan = plan_for_budget(profile, cap * unit, unit_bytes=unit, operator_level=operator_level)
        if plan is None:
            break
        peak, extra = predict_plan(profile, plan)
        points.append((peak, extra, plan))
        cap = min(cap - 1, _units(peak, unit) - 1)
    out: list[tuple[int, float, OpPlan]] = []
    for p in sorted(points, key=lambda t: (t[1], t[0])):
        if not out or p[0] < out[-1][0]:
            out.append(p)
    return sorted(out, key=lambda t: -t[0])


__all__ = [
    "recomputed_ops",
    "plan_for_budget",
    "plan_none",
    "frontier",
    "segment_cost",
]
