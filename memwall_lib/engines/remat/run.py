"""Running and measuring operator-level rematerialization plans.

:func:`run_plan` runs a plan on any chain of blocks (``nn.Sequential``/``ModuleList`` of
modules mapping one tensor to one tensor): a checkpointed segment runs under
``torch.utils.checkpoint.checkpoint(..., use_reentrant=False, context_fn=...)`` with a
selective-checkpointing policy that returns ``MUST_SAVE`` for the kept ops (matched by
call index within the segment, and checked against the profiled op name) and
``PREFER_RECOMPUTE`` for every other op. Random ops are never kept (the profile marks them
not cacheable); non-reentrant checkpointing restores the RNG state, so dropout replays its
mask.

:func:`measure_plan` measures peak live activation bytes with the project's
dispatch-mode tracker (:class:`~memwall_lib.engines.memory.live.LiveTracker`: every storage
created under the mode, counted until it is freed). It is a ``TorchDispatchMode``, not a
saved-tensors hook: the outputs selective checkpointing caches are allocated through the
dispatcher below its caching mode, so the tracker sees them and counts them until the
cache drops them (saved-tensors-hook trackers miss them). FLOPs: counted in the same step by
the same mode, two ways (:mod:`.flops`): with ``torch.utils.flop_counter``'s formulas (what
``FlopCounterMode`` counts, matrix products only, without its module tracking, which keeps
recomputed tensors alive) and in full (element-wise ops too, at the per-element FLOPs of
:mod:`memwall_lib.engines.counts`); recompute FLOPs are the step's minus the reference
step's (cached ops are not re-dispatched, so not counted). Wall
time: median of repeats interleaved with the reference (:func:`time_plans`: several plans
round-robin with one reference).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..memory.live import LiveTracker
from .chains import segment
from .flops import op_flops
from .profile import OpChainProfile, OpPlan, predict_plan, sac_ignored, segment_cost


def _policy(names: Sequence[str], keep: set[int]) -> Callable[..., Any]:
    from torch.utils.checkpoint import CheckpointPolicy

    count = [0]

    def policy(ctx: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
        if ctx.is_recompute or sac_ignored(func):
            return CheckpointPolicy.PREFER_RECOMPUTE
        i = count[0]
        count[0] += 1
        if i in keep:
            if i >= len(names) or str(func) != names[i]:
                raise RuntimeError(
                    f"op {i} of the segment is {func}, the profile says "
                    f"{names[i] if i < len(names) else 'nothing'}: re-profile the chain"
                )
            return CheckpointPolicy.MUST_SAVE
        return CheckpointPolicy.PREFER_RECOMPUTE

    return policy


def _context_fn(names: Sequence[str], keep: set[int]) -> Any:
    from torch.utils.checkpoint import create_selective_checkpoint_contexts

    return create_selective_checkpoint_contexts(_policy(names, keep))


def run_plan(blocks: Sequence[Any], plan: OpPlan, profile: OpChainProfile, x: Any) -> Any:
    """The forward pass of ``blocks`` under ``plan`` (see the module doc)."""
    from torch.utils.checkpoint import checkpoint

    blocks = list(blocks)
    if plan.n_blocks != len(blocks) or len(profile) != len(blocks):
        raise ValueError(f"plan covers {plan.n_blocks} blocks, profile {len(profile)}, chain has {len(blocks)}")

    for s, e, ckpt, keep in plan.segments:
        if not ckpt:
            x = segment(blocks, s, e)(x)
            continue
        segment_cost(profile, s, e, True, keep)  # raises if a kept op is random, mutated or past the stop
        names: list[str] = []
        flat: set[int] = set()
        for b in range(s, e + 1):
            for j, op in enumerate(profile.blocks[b].ops):
                if (b, j) in keep:
                    flat.add(len(names))
                names.append(op.name)
        if flat:
            x = checkpoint(segment(blocks, s, e), x, use_reentrant=False, context_fn=partial(_context_fn, names, flat))
        else:
            x = checkpoint(segment(blocks, s, e), x, use_reentrant=False)
    return x


@dataclass
class PlanMeasurement:
    """One plan measured on real steps. Bytes: ``peak_bytes`` (live activations, the
    tracker), ``predicted_peak_bytes``; FLOPs: ``extra_flops`` (step minus reference step),
    ``predicted_extra_flops``, ``step_flops`` (reference step: forward + backward);
    ``overhead`` = extra / reference step FLOPs (matrix products only, FlopCounterMode's count);
    the same in the full count (:mod:`.flops`: element-wise ops too): ``extra_full_flops``,
    ``step_full_flops``, ``full_overhead``; seconds: ``wall_s`` and ``ref_wall_s``
    (medians of interleaved repeats), ``time_overhead`` = wall_s / ref_wall_s - 1;
    ``grads_equal``: close to the reference gradients for every parameter, as ``torch.allclose``
    (:func:`grad_match`)."""

    label: str
    peak_bytes: int
    predicted_peak_bytes: int
    extra_flops: float
    predicted_extra_flops: float
    step_flops: float
    wall_s: float = 0.0
    ref_wall_s: float = 0.0
    grads_equal: bool = True
    max_grad_diff: float = 0.0
    n_kept: int = 0
    extra_full_flops: float = 0.0
    step_full_flops: float = 0.0

    @property
    def overhead(self) -> float:
        return self.extra_flops / self.step_flops

    @property
    def full_overhead(self) -> float:
        return self.extra_full_flops / self.step_full_flops if self.step_full_flops else 0.0

    @property
    def time_overhead(self) -> float:
        return self.wall_s / self.ref_wall_s - 1.0 if self.ref_wall_s else 0.0


def _step(chain: Any, plan: OpPlan, profile: OpChainProfile, seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    chain.module.zero_grad(set_to_none=True)
    chain.loss(run_plan(chain.blocks, plan, profile, chain.make_input())).backward()


def _grads(chain: Any) -> list[Any]:
    """The parameters' gradients after a step. No copy: every step starts from
    ``zero_grad(set_to_none=True)``, so the next backward writes new tensors, not these."""
    return [None if p.grad is None else p.grad.detach() for p in chain.module.parameters()]


def grad_match(g: Any, g0: Any, rtol: float, atol: float) -> tuple[bool, float]:
    """``(torch.allclose(g, g0, rtol, atol), max |g - g0|)`` in one pass over the difference:
    for GPT-2's 50,257 x 256 embedding gradient 0.09 s instead of 0.28 s (one thread), which
    every measured plan pays."""
    import torch

    diff = (g - g0).abs_()
    bound = g0.abs().mul_(rtol).add_(atol)
    return bool(torch.le(diff, bound).all()), float(diff.max())


class CountingTracker(LiveTracker):
    """A :class:`~memwall_lib.engines.memory.live.LiveTracker` that also sums FLOPs, both
    counts of :func:`.flops.op_flops` (``flops``: matrix products, ``full_flops``: element-wise
    ops too; a multiply-accumulate is 2 FLOPs), and names the ops the full count does not know
    (``unknown_ops``, counted 0)."""

    def __init__(self, exclude: Iterable[Any] = ()) -> None:
        super().__init__(exclude)
        self.flops = 0.0
        self.full_flops = 0.0
        self.unknown_ops: set[str] = set()

    def observe(self, func: Any, args: Any, kwargs: Any, out: Any) -> None:
        super().observe(func, args, kwargs, out)
        mm, full, known = op_flops(func, args, kwargs, out)
        self.flops += mm
        self.full_flops += full
        if not known:
            self.unknown_ops.add(str(func.overloadpacket))


def reference_run(chain: Any, profile: OpChainProfile, seed: int = 0) -> tuple[int, float, list[Any], float]:
    """(peak activation bytes, step FLOPs, gradients, step FLOPs in the full count) without
    checkpointing (FLOPs: :class:`CountingTracker`)."""
    from .plan import plan_none

    tracker = CountingTracker([*chain.module.parameters(), *chain.module.buffers()])
    with tracker:
        _step(chain, plan_none(profile), profile, seed)
    return tracker.peak_activation_bytes, tracker.flops, _grads(chain), tracker.full_flops


def measure_plan(
    chain: Any,
    plan: OpPlan,
    profile: OpChainProfile,
    reference: tuple[int, float, list[Any], float],
    *,
    timing_repeats: int = 0,
    seed: int = 0,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> PlanMeasurement:
    """Measure ``plan`` on ``chain`` against ``reference`` (:func:`reference_run`): see
    :class:`PlanMeasurement`. ``timing_repeats`` > 0: that many reference and plan steps,
    interleaved, timed."""

    _, ref_flops, ref_grads, ref_full = reference
    tracker = CountingTracker([*chain.module.parameters(), *chain.module.buffers()])
    with tracker:
        _step(chain, plan, profile, seed)
    equal, diff = True, 0.0
    for g, g0 in zip(_grads(chain), ref_grads):
        if g is None or g0 is None:
            equal &= g is None and g0 is None
            continue
        close, d = grad_match(g, g0, rtol, atol)
        equal &= close
        diff = max(diff, d)
    pred_peak, pred_extra = predict_plan(profile, plan)
    m = PlanMeasurement(
        plan.label,
        tracker.peak_activation_bytes,
        pred_peak,
        tracker.flops - ref_flops,
        pred_extra,
        ref_flops,
        grads_equal=bool(equal),
        max_grad_diff=diff,
        n_kept=plan.n_kept,
        extra_full_flops=tracker.full_flops - ref_full,
        step_full_flops=ref_full,
    )
    if timing_repeats > 0:
        time_plans(chain, [m], [plan], profile, timing_repeats, seed)
    return m


def time_plans(
    chain: Any,
    measurements: Sequence[PlanMeasurement],
    plans: Sequence[OpPlan],
    profile: OpChainProfile,
    repeats: int,
    seed: int = 0,
) -> float:
    """Time ``plans`` and the reference (no checkpointing) round-robin, ``repeats`` rounds;
    set ``wall_s`` and ``ref_wall_s`` (medians, seconds) of each measurement; return the
    reference's median."""
    from .plan import plan_none

    if len(measurements) != len(plans):
        raise ValueError(f"measurements: expected one per plan ({len(plans)}), got {len(measurements)}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats: expected an integer >= 1, got {repeats!r}")
    order = [plan_none(profile), *plans]
    times: list[list[float]] = [[] for _ in order]
    for _ in range(repeats):
        for p, ts in zip(order, times):
            t0 = time.perf_counter()
            _step(chain, p, profile, seed)
            ts.append(time.perf_counter() - t0)
    ref = statistics.median(times[0])
    for m, ts in zip(measurements, times[1:]):
        m.ref_wall_s, m.wall_s = ref, statistics.median(ts)
    return ref


def profile_chain_ops(chain: Any) -> OpChainProfile:
    """Operator profile of a :class:`.chains.Chain` (its input and its loss)."""
    from .profile import profile_blocks

    return profile_blocks(chain.blocks, chain.make_input(), chain.loss)
