"""One chain studied at block and operator granularity, for Figure 4b.

:func:`study_chain` profiles a chain operator by operator, computes the exact frontiers of
the planner (:func:`.plan.frontier`) with and without keeping operator outputs,
and measures on real forward+backward steps (:func:`.run.measure_plan`: peak live
activation bytes, FLOPs, gradients against no checkpointing):

- the block-level strategies people use (every block, every k blocks, sqrt(n) segments);
- a subset of each frontier (:func:`frontier_subset`: the best plan within the overhead
  limit, the next one above it, and a few spread over the frontier) or every plan (a plan
  predicted exactly like one already measured, e.g. none or every block, is not rerun);
  the frontiers are those of recompute counted in matrix-product FLOPs (FlopCounterMode's
  count), and at operator level also in the full count (element-wise ops too,
  :mod:`.flops`; :func:`.profile.full_count`), whose plans may keep element-wise outputs;
- the fixed operator policies people use (:data:`POLICIES`): every block checkpointed,
  the outputs of all matmuls kept, or of the matmuls with a weight operand only;
- optionally PyTorch's anchor (:func:`.compile_anchor.compile_anchor`: each distinct
  block compiled once per budget, bytes and FLOPs times the number of identical blocks,
  gradients checked with the masks of recomputed random ops replayed), on the chain and,
  if it has dropout, on a copy with dropout off (:func:`.chains.without_dropout`: no mask
  to re-draw, so even the plain gradient check is valid; its memory holds no masks), with
  that copy's own operator-level frontier.

A plan is timed (seconds, medians) round-robin with the reference when it is an
operator-level plan (frontier and policies) measured within the overhead limit in either
FLOP count, or the best block-level plan within it: the candidates for "within the limit
in wall time" (recomputed pointwise ops cost time but no matrix-product FLOPs, so a plan's
wall-time overhead exceeds its matrix-product FLOP overhead in every measurement here).

Units: bytes, FLOPs (a multiply-accumulate is 2 FLOPs), seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..timing.clock import using_threads
from .chains import Chain, without_dropout
from .plan import frontier, plan_none, recomputed_ops
from .profile import OpChainProfile, OpPlan, full_count, predict_plan
from .run import PlanMeasurement, measure_plan, profile_chain_ops, reference_run, time_plans
from .schedules import schedule_every_k, schedule_sqrt_n

#: aten ops that are matrix products (names without the overload).
MATMUL_OPS: frozenset[str] = frozenset(
    {
        "aten.mm",
        "aten.addmm",
        "aten.bmm",
        "aten.baddbmm",
        "aten.convolution",
        "aten._scaled_dot_product_flash_attention_for_cpu",
        "aten._scaled_dot_product_efficient_attention",
        "aten._scaled_dot_product_flash_attention",
        "aten._scaled_dot_product_cudnn_attention",
    }
)
#: The matrix products with a weight operand in these chains (linear layers, convolutions);
#: ``bmm``/attention products of two activations are left out.
WEIGHT_MATMUL_OPS: frozenset[str] = frozenset({"aten.mm", "aten.addmm", "aten.convolution"})
#: The kind of the operator-level frontier plans planned in the full FLOP count.
FULL_COUNT_KIND: str = "operator frontier, full count"
#: Fixed operator policies: every block checkpointed, these ops' outputs kept.
POLICIES: dict[str, frozenset[str]] = {"save all matmuls": MATMUL_OPS, "save weight matmuls": WEIGHT_MATMUL_OPS}


def policy_plan(profile: OpChainProfile, ops: frozenset[str], label: str) -> OpPlan:
    """Every block checkpointed on its own, keeping the outputs of the cacheable ops whose
    name (without overload) is in ``ops`` (those before the recomputation's stop)."""
    if not ops:
        raise ValueError("ops: expected at least one aten op name, e.g. 'aten.mm'")
    segs = []
    for b in range(len(profile)):
        keep = frozenset(
            (b, j) for j, op in recomputed_ops(profile, b, b) if op.cacheable and op.name.rsplit(".", 1)[0] in ops
        )
        segs.append((b, b, True, keep))
    return OpPlan(tuple(segs), label)


def frontier_subset(points: Sequence[tuple[int, float, Any]], limit_flops: float, n_spread: int) -> list[int]:
    """Indices (sorted) of the frontier points to measure: the least peak with recompute
    FLOPs <= ``limit_flops``, the next point above the limit, and ``n_spread`` points spread
    evenly over the frontier (its two ends included when ``n_spread`` >= 2)."""
    if not isinstance(n_spread, int) or n_spread < 0:
        raise ValueError(f"n_spread: expected an integer >= 0, got {n_spread!r}")
    n = len(points)
    if n == 0:
        return []
    chosen: set[int] = set()
    ok = [i for i, p in enumerate(points) if p[1] <= limit_flops * (1 + 1e-12)]
    if ok:
        best = min(ok, key=lambda i: (points[i][0], points[i][1]))
        chosen.add(best)
        above = [i for i, p in enumerate(points) if p[1] > limit_flops * (1 + 1e-12)]
        if above:
            chosen.add(min(above, key=lambda i: (points[i][1], points[i][0])))
    if n_spread == 1:
        chosen.add(n - 1)
    elif n_spread >= 2:
        chosen |= {round(k * (n - 1) / (n_spread - 1)) for k in range(n_spread)}
    return sorted(chosen)


@dataclass
class StudyPoint:
    """One measured plan: ``kind`` (``none``, ``every block``, ``every k``, ``sqrt(n)``,
    ``block frontier``, ``operator frontier``, :data:`FULL_COUNT_KIND` or a policy of
    :data:`POLICIES`), whether it was ``timed``, and the measurement (of a
    :data:`FULL_COUNT_KIND` plan, ``predicted_extra_flops`` is in the full count)."""

    kind: str
    m: PlanMeasurement
    timed: bool = False

    @property
    def level(self) -> str:
        """``operator`` (ops kept inside checkpointed segments) or ``block``."""
        return "operator" if self.kind in ("operator frontier", FULL_COUNT_KIND) or self.kind in POLICIES else "block"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self.m)
        d.update(
            kind=self.kind,
            level=self.level,
            timed=self.timed,
            overhead=self.m.overhead,
            full_overhead=self.m.full_overhead,
            time_overhead=self.m.time_overhead if self.timed else None,
        )
        return d


@dataclass
class DropoutOff:
    """PyTorch's anchor on the chain's copy with dropout off (:func:`.chains.without_dropout`):
    its ``points`` (:class:`.compile_anchor.AnchorPoint`), that copy's ``ref_peak_bytes``
    and ``step_flops`` (matrix products) without checkpointing, and its operator-level
    ``frontier`` (predicted ``(peak bytes, recompute FLOPs)``, matrix products)."""

    points: list[Any]
    ref_peak_bytes: int
    step_flops: float
    frontier: list[tuple[int, float]]


@dataclass
class ChainStudy:
    """A chain studied at both granularities (see the module doc). Bytes, FLOPs, seconds;
    ``frontiers``: ``block``, ``operator`` (recompute in matrix-product FLOPs) and
    ``operator, full count`` (in the full count, :mod:`.flops`) -> predicted ``(peak bytes,
    recompute FLOPs)`` of every frontier plan; ``step_full_flops``: the step without
    checkpointing in the full count; ``anchor``: PyTorch's sweep
    (:class:`.compile_anchor.AnchorPoint`), empty if not run, with ``anchor_note`` saying why
    or how it went, and ``dropout_off`` the sweep on the chain's copy with dropout off (None
    if not run or the chain has no dropout)."""

    chain: str
    description: str
    n_blocks: int
    ref_peak_bytes: int
    step_flops: float
    frontiers: dict[str, list[tuple[int, float]]]
    points: list[StudyPoint]
    planning_s: dict[str, float]
    anchor: list[Any] = field(default_factory=list)
    anchor_note: str = "not run"
    step_full_flops: float = 0.0
    dropout_off: DropoutOff | None = None

    def best(self, level: str, max_overhead: float, by: str = "flops") -> tuple[float, StudyPoint]:
        """The largest measured reduction (no checkpointing / plan, peak activation bytes)
        among plans of ``level`` (``block``, ``operator`` or ``any``) whose overhead is <=
        ``max_overhead``: in matrix-product FLOPs (``by="flops"``), in the full FLOP count
        (``by="full"``) or in wall time (``by="time"``, timed plans only); the reference
        counts as a plan of every level."""
        if by not in ("flops", "full", "time"):
            raise ValueError(f"by: expected 'flops', 'full' or 'time', got {by!r}")

        def overhead(p: StudyPoint) -> float:
            if by == "time":
                return p.m.time_overhead if p.timed else math.inf
            return p.m.overhead if by == "flops" else p.m.full_overhead

        ok = [
            p
            for p in self.points
            if p.kind == "none" or (level in ("any", p.level) and overhead(p) <= max_overhead + 1e-12)
        ]
        best = min(ok, key=lambda p: (p.m.peak_bytes, p.m.overhead))
        return self.ref_peak_bytes / best.m.peak_bytes, best

    def to_dict(self) -> dict[str, Any]:
        off = self.dropout_off
        return {
            "chain": self.chain,
            "description": self.description,
            "n_blocks": self.n_blocks,
            "reference_peak_bytes": self.ref_peak_bytes,
            "step_flops": self.step_flops,
            "step_full_flops": self.step_full_flops,
            "planning_s": self.planning_s,
            "frontiers": {k: [list(p) for p in v] for k, v in self.frontiers.items()},
            "measurements": [p.to_dict() for p in self.points],
            "compile_anchor": {
                "note": self.anchor_note,
                "points": [_anchor_dict(a) for a in self.anchor],
                "dropout_off": None
                if off is None
                else {
                    "reference_peak_bytes": off.ref_peak_bytes,
                    "step_flops": off.step_flops,
                    "operator_frontier": [list(p) for p in off.frontier],
                    "points": [_anchor_dict(a) for a in off.points],
                },
            },
        }


def _anchor_dict(a: Any) -> dict[str, Any]:
    """An anchor point's fields and its ``cause``."""
    return {**asdict(a), "cause": a.cause}


def study_chain(
    chain: Chain,
    *,
    max_overhead: float = 0.20,
    every_k: Sequence[int] = (),
    n_spread: int = 2,
    measure_all: bool = False,
    timing_repeats: int = 2,
    resolution: int = 1000,
    compile_budgets: Sequence[float] = (),
    seed: int = 0,
    threads: int | None = 1,
) -> ChainStudy:
    """Study ``chain`` (see the module doc) with torch on ``threads`` CPU threads. Frontiers
    in units of the no-checkpointing peak / ``resolution``; ``measure_all``: every frontier
    plan measured, else :func:`frontier_subset`; ``compile_budgets``: PyTorch's anchor at
    these ``activation_memory_budget`` values (empty: not run). Raises AssertionError if a
    plan's gradients differ from no checkpointing."""
    if not 0 <= max_overhead:
        raise ValueError(f"max_overhead: expected a fraction >= 0, got {max_overhead!r}")
    with using_threads(threads):
        return _study(
            chain, max_overhead, every_k, n_spread, measure_all, timing_repeats, resolution, compile_budgets, seed
        )


#: The frontiers of a study: name -> (profile count, operator level).
_FRONTIERS: dict[str, tuple[str, bool]] = {
    "block": ("matmul", False),
    "operator": ("matmul", True),
    "operator, full count": ("full", True),
}
#: The kind of measured plan of each frontier.
_FRONTIER_KIND: dict[str, str] = {
    "block": "block frontier",
    "operator": "operator frontier",
    "operator, full count": FULL_COUNT_KIND,
}


def _study(
    chain: Chain,
    max_overhead: float,
    every_k: Sequence[int],
    n_spread: int,
    measure_all: bool,
    timing_repeats: int,
    resolution: int,
    compile_budgets: Sequence[float],
    seed: int,
) -> ChainStudy:
    prof = profile_chain_ops(chain)
    profs = {"matmul": prof, "full": full_count(prof)}  # the full profile runs every plan (its keeps are a superset)
    ref = reference_run(chain, prof, seed)
    n = len(prof)
    fronts, planning = {}, {}
    for name, (count, op_level) in _FRONTIERS.items():
        t0 = time.perf_counter()
        fronts[name] = frontier(profs[count], resolution=resolution, operator_level=op_level)
        planning[name] = time.perf_counter() - t0
    todo: list[tuple[str, OpPlan]] = [
        ("none", plan_none(prof)),
        ("every block", OpPlan.from_schedule(schedule_every_k(n, 1))),
    ]
    todo += [("every k", OpPlan.from_schedule(schedule_every_k(n, k))) for k in every_k if 1 < k < n]
    todo.append(("sqrt(n)", OpPlan.from_schedule(schedule_sqrt_n(n))))
    seen = {predict_plan(prof, plan) for _, plan in todo}
    for name, (count, _) in _FRONTIERS.items():
        pts = fronts[name]
        limit = max_overhead * (ref[1] if count == "matmul" else ref[3])
        idx = range(len(pts)) if measure_all else frontier_subset(pts, limit, n_spread)
        for i in idx:  # a plan predicted like one already queued (none, every block), or queued, is not rerun
            if count == "full":
                if not _queued(todo, pts[i][2]):
                    todo.append((FULL_COUNT_KIND, pts[i][2]))
            elif (pts[i][0], pts[i][1]) not in seen:
                seen.add((pts[i][0], pts[i][1]))
                todo.append((_FRONTIER_KIND[name], pts[i][2]))
    todo += [(name, policy_plan(prof, ops, name)) for name, ops in POLICIES.items()]
    none = PlanMeasurement(
        "none", ref[0], predict_plan(prof, todo[0][1])[0], 0.0, 0.0, ref[1], step_full_flops=ref[3]
    )  # the reference
    points = [StudyPoint("none", none)]
    points += [
        StudyPoint(
            kind, measure_plan(chain, plan, profs["full" if kind == FULL_COUNT_KIND else "matmul"], ref, seed=seed)
        )
        for kind, plan in todo[1:]
    ]
    bad = [f"{p.kind}: {p.m.label}" for p in points if not p.m.grads_equal]
    if bad:
        raise AssertionError(f"{chain.name}: gradients differ from no checkpointing under {bad}")
    study = ChainStudy(
        chain.name,
        chain.description,
        n,
        ref[0],
        ref[1],
        {k: [(int(p), float(f)) for p, f, _ in v] for k, v in fronts.items()},
        points,
        planning,
        step_full_flops=ref[3],
    )
    if timing_repeats > 0:
        _time(study, chain, [plan for _, plan in todo], profs["full"], max_overhead, timing_repeats, seed)
    if compile_budgets:
        study.anchor, study.anchor_note, study.dropout_off = _anchor(chain, compile_budgets, ref, resolution, seed)
    return study


def _queued(todo: Sequence[tuple[str, OpPlan]], plan: OpPlan) -> bool:
    """Whether a plan with the same segments is already queued."""
    return any(q.segments == plan.segments for _, q in todo)


def _time(
    study: ChainStudy,
    chain: Chain,
    plans: Sequence[OpPlan],
    profile: OpChainProfile,
    max_overhead: float,
    repeats: int,
    seed: int,
) -> None:
    """Time (see the module doc) the operator-level plans of ``study`` within ``max_overhead``
    in either FLOP count and its best block-level plan; ``plans[i]`` is point i's plan."""
    _, best_block = study.best("block", max_overhead)
    lim = max_overhead + 1e-12
    timed = [
        i
        for i, p in enumerate(study.points)
        if p.kind != "none"
        and (p is best_block or (p.level == "operator" and min(p.m.overhead, p.m.full_overhead) <= lim))
    ]
    time_plans(chain, [study.points[i].m for i in timed], [plans[i] for i in timed], profile, repeats, seed)
    for i in timed:
        study.points[i].timed = True


def _anchor(
    chain: Chain, budgets: Sequence[float], ref: tuple, resolution: int, seed: int
) -> tuple[list[Any], str, DropoutOff | None]:
    """PyTorch's sweep on the chain and on its copy with dropout off (None without dropout),
    or a note saying why it could not run."""
    try:
        from .compile_anchor import compile_anchor

        t0 = time.perf_counter()
        pts = compile_anchor(chain, list(budgets), ref, seed=seed)
        off_chain = without_dropout(chain)
        off = None
        if off_chain is not None:
            off_prof = profile_chain_ops(off_chain)
            off_ref = reference_run(off_chain, off_prof, seed)
            off_front = [(int(b), float(f)) for b, f, _ in frontier(off_prof, resolution=resolution)]
            off = DropoutOff(
                compile_anchor(off_chain, list(budgets), off_ref, seed=seed), off_ref[0], off_ref[1], off_front
            )
    except Exception as err:  # noqa: BLE001 - torch.compile unavailable here: say so, skip the anchor
        return [], f"torch.compile could not run here: {type(err).__name__}: {str(err).splitlines()[0][:200]}", None
    return pts, _anchor_note(chain, pts, off, time.perf_counter() - t0), off


def _anchor_note(chain: Chain, pts: Sequence[Any], off: DropoutOff | None, seconds: float) -> str:
    """How the sweep went: blocks compiled, and each budget's gradient check by cause."""
    note = (
        f"ran {len(pts)} budgets in {seconds:.0f} s{' (and again with dropout off)' if off else ''}, compiling the "
        f"{pts[0].n_compiled if pts else 0} distinct blocks of {len(chain)} once per budget "
        "(bytes and FLOPs times the number of identical blocks; gradients checked per distinct block, "
        "with the masks of recomputed random ops replayed)"
    )
    for label, group in (("", pts), ("dropout off: ", off.points if off else [])):
        for cause, say in (
            ("fresh mask", "the plain check differs only through the mask our harness re-draws in backward "
             "(equal with the masks replayed)"),
            ("mismatch", "gradients DIFFER from eager even with the masks replayed"),
            ("failed", "the compiled step FAILED"),
        ):  # fmt: skip
            at = [p.budget for p in group if p.cause == cause]
            if at:
                note += f"; {label}{say} at budgets {at}"
    return note
