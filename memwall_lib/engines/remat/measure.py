"""Measuring checkpointing schedules on real forward+backward runs.

For each schedule: the peak bytes of live activations (tensors created by the forward pass
or by a recomputation, tracked storage by storage until freed), the extra FLOPs
(FlopCounterMode), the wall time, and that the gradients equal those without
checkpointing. On CUDA, ``torch.cuda.max_memory_allocated`` is reported too.
Units: bytes; FLOPs; seconds.
"""

from __future__ import annotations

import math
import statistics
import time
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..timing.clock import using_threads
from .chains import Chain, run_chain
from .planner import ChainProfile, optimal_sweep, predict, profile_chain
from .schedules import Schedule, schedule_every_k, schedule_none, schedule_sqrt_n


def tracker_class() -> Any:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class LiveTensorTracker(TorchDispatchMode):
        """Tracks the bytes of live storages created inside the mode, storage by storage,
        until they are freed (a ``weakref.finalize`` on each storage). A storage is
        *activation* memory when created by the forward pass (outside backward, grad mode
        on) or by a recomputation (inside backward with grad mode on, as checkpoint
        recomputes); tensors made by the backward pass itself (gradients, temporaries) are
        counted only in ``peak_all``. Views and in-place results allocate nothing."""

        def __init__(self) -> None:
            super().__init__()
            self.live_act = self.live_all = 0
            self.peak_act = self.peak_all = 0
            self._seen: set[int] = set()

        def _free(self, key: int, nbytes: int, act: bool) -> None:
            self._seen.discard(key)
            self.live_all -= nbytes
            if act:
                self.live_act -= nbytes

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            inputs = {
                int(t.untyped_storage()._cdata) for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)
            }
            act = torch.is_grad_enabled()  # forward or recomputation; backward runs without grad
            for t in tree_leaves(out):
                if not isinstance(t, torch.Tensor):
                    continue
                st = t.untyped_storage()
                key = int(st._cdata)
                if key in inputs or key in self._seen:
                    continue
                nbytes = int(st.nbytes())
                self._seen.add(key)
                self.live_all += nbytes
                self.peak_all = max(self.peak_all, self.live_all)
                if act:
                    self.live_act += nbytes
                    self.peak_act = max(self.peak_act, self.live_act)
                weakref.finalize(st, self._free, key, nbytes, act)
            return out

    return LiveTensorTracker


@dataclass
class Measurement:
    """One strategy measured on real forward+backward runs.

    Bytes: ``peak_activation_bytes`` (live tensors of the forward pass and recomputations),
    ``peak_all_bytes`` (all tensors created in the step, gradients included),
    ``predicted_peak_bytes`` (cost model), ``cuda_peak_bytes`` (``max_memory_allocated``
    above the memory held before the step; None off CUDA). FLOPs: ``flops`` (forward +
    backward + recomputation), ``extra_flops`` (above ``none``), ``predicted_extra_flops``.
    ``overhead``: extra FLOPs / FLOPs of the step without checkpointing;
    ``time_overhead``: wall time / wall time without checkpointing - 1 (medians).
    """

    chain: str
    schedule: Schedule
    peak_activation_bytes: int
    peak_all_bytes: int
    predicted_peak_bytes: int
    flops: float
    extra_flops: float = 0.0
    predicted_extra_flops: float = 0.0
    overhead: float = 0.0
    wall_s: float = 0.0
    time_overhead: float = 0.0
    grads_equal: bool = True
    max_grad_diff: float = 0.0
    cuda_peak_bytes: int | None = None

    @property
    def strategy(self) -> str:
        return self.schedule.strategy

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["schedule"] = self.schedule.to_dict()
        return d


def _step(chain: Chain, schedule: Schedule, seed: int) -> Any:
    import torch

    torch.manual_seed(seed)
    chain.module.zero_grad(set_to_none=True)
    loss = chain.loss(run_chain(chain, schedule, chain.make_input()))
    loss.backward()
    return loss


def _grads(chain: Chain) -> list[Any]:
    return [None if p.grad is None else p.grad.detach().clone() for p in chain.module.parameters()]


def measure_schedule(
    chain: Chain,
    schedule: Schedule,
    profile: ChainProfile,
    *,
    reference: Measurement | None = None,
    reference_grads: list[Any] | None = None,
    timing_repeats: int = 3,
    seed: int = 0,
    device: str = "cpu",
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> tuple[Measurement, list[Any]]:
    """Measure ``schedule`` on ``chain`` (see :class:`Measurement`); return it and the
    gradients. With ``reference`` (the ``none`` measurement) and its gradients, fill in the
    overheads and check ``allclose(grad, reference_grad, rtol, atol)`` for every parameter."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    cuda = device.startswith("cuda")
    tracker = tracker_class()()
    with tracker:  # memory alone: FlopCounterMode's module tracking keeps recomputed tensors alive
        _step(chain, schedule, seed)
    with FlopCounterMode(display=False) as fc:
        _step(chain, schedule, seed)
    cuda_peak = None
    if cuda:
        chain.module.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        _step(chain, schedule, seed)
        torch.cuda.synchronize()
        cuda_peak = int(torch.cuda.max_memory_allocated() - base)
    times = []
    for _ in range(max(1, timing_repeats)):
        t0 = time.perf_counter()
        _step(chain, schedule, seed)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    grads = _grads(chain)
    pred_peak, pred_extra = predict(profile, schedule)
    m = Measurement(
        chain.name,
        schedule,
        tracker.peak_act,
        tracker.peak_all,
        pred_peak,
        float(fc.get_total_flops()),
        predicted_extra_flops=pred_extra,
        wall_s=statistics.median(times),
        cuda_peak_bytes=cuda_peak,
    )
    if reference is not None:
        m.extra_flops = m.flops - reference.flops
        m.overhead = m.extra_flops / reference.flops
        m.time_overhead = m.wall_s / reference.wall_s - 1.0
    if reference_grads is not None:
        diffs = []
        equal = True
        for g, g0 in zip(grads, reference_grads):
            if g is None or g0 is None:
                equal &= g is None and g0 is None
                continue
            equal &= bool(torch.allclose(g, g0, rtol=rtol, atol=atol))
            diffs.append(float((g - g0).abs().max()))
        m.grads_equal, m.max_grad_diff = bool(equal), max(diffs, default=0.0)
    return m, grads


def baseline_schedules(n: int, every_k: Sequence[int] = (2, 4)) -> list[Schedule]:
    """none, every block, every k blocks (each k in ``every_k`` below n), sqrt(n)."""
    out = [schedule_none(n), schedule_every_k(n, 1)]
    out += [schedule_every_k(n, k) for k in every_k if 1 < k < n]
    out.append(schedule_sqrt_n(n))
    return out


@dataclass
class ChainResult:
    """Every strategy measured on one chain, and the frontier."""

    chain: str
    description: str
    n_blocks: int
    profile: ChainProfile
    measurements: list[Measurement]

    @property
    def reference(self) -> Measurement:
        return next(m for m in self.measurements if m.strategy == "none")

    def frontier(self) -> list[Measurement]:
        """The measured Pareto frontier: no other strategy has both less peak activation
        memory and less extra FLOPs. Sorted by overhead."""
        ms = sorted(self.measurements, key=lambda m: (m.overhead, m.peak_activation_bytes))
        out, best = [], math.inf
        for m in ms:
            if m.peak_activation_bytes < best:
                out.append(m)
                best = m.peak_activation_bytes
        return out

    def reduction_at(self, max_overhead: float = 0.20) -> tuple[float, Measurement]:
        """The largest measured reduction of peak activation memory (none / strategy) among
        strategies with FLOP overhead <= ``max_overhead``, and that strategy."""
        ref = self.reference
        ok = [m for m in self.measurements if m.overhead <= max_overhead + 1e-12]
        best = min(ok, key=lambda m: (m.peak_activation_bytes, m.overhead))
        return ref.peak_activation_bytes / best.peak_activation_bytes, best

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "description": self.description,
            "n_blocks": self.n_blocks,
            "profile": self.profile.to_dict(),
            "measurements": [m.to_dict() for m in self.measurements],
            "frontier": [m.schedule.label for m in self.frontier()],
        }


def run_strategies(
    chain: Chain,
    *,
    every_k: Sequence[int] = (2, 4),
    n_budgets: int = 8,
    timing_repeats: int = 3,
    seed: int = 0,
    device: str = "cpu",
    threads: int | None = 1,
) -> ChainResult:
    """Profile ``chain``, then measure every baseline strategy and the optimal schedules of a
    budget sweep, with torch on ``threads`` CPU threads (None: torch's default). Raises
    AssertionError if any strategy's gradients differ from ``none``'s."""
    with using_threads(threads):
        return _run_strategies(chain, every_k, n_budgets, timing_repeats, seed, device)


def _run_strategies(
    chain: Chain, every_k: Sequence[int], n_budgets: int, timing_repeats: int, seed: int, device: str
) -> ChainResult:
    profile = profile_chain(chain)
    n = len(chain)
    schedules = baseline_schedules(n, every_k) + optimal_sweep(profile, n_budgets)
    ref, ref_grads = measure_schedule(
        chain, schedules[0], profile, timing_repeats=timing_repeats, seed=seed, device=device
    )
    ref, _ = measure_schedule(
        chain,
        schedules[0],
        profile,
        reference=ref,
        reference_grads=ref_grads,
        timing_repeats=timing_repeats,
        seed=seed,
        device=device,
    )
    out = [ref]
    for sch in schedules[1:]:
        m, _ = measure_schedule(
            chain,
            sch,
            profile,
            reference=ref,
            reference_grads=ref_grads,
            timing_repeats=timing_repeats,
            seed=seed,
            device=device,
        )
        out.append(m)
    bad = [m.schedule.label for m in out if not m.grads_equal]
    if bad:
        raise AssertionError(f"{chain.name}: gradients differ from no checkpointing under {bad}")
    return ChainResult(chain.name, chain.description, n, profile, out)
