"""Rematerialization (activation checkpointing) on a chain of blocks, strategy by strategy.

A *chain* is a model written as blocks ``h = block_n(...block_1(x))`` plus a loss. A
*schedule* cuts the chain into segments; a checkpointed segment keeps only its input in the
forward pass and runs again in the backward pass (``torch.utils.checkpoint``,
``use_reentrant=False``), a stored segment keeps everything autograd saves. Strategies:

- ``none``: one stored segment;
- ``every_block``: every block checkpointed;
- ``every_k``: segments of k blocks, all checkpointed;
- ``sqrt_n``: ``torch.utils.checkpoint.checkpoint_sequential`` with round(sqrt(n)) segments
  (Chen et al. 2016; the last segment is stored);
- ``optimal``: the schedule with the least recomputation whose predicted peak fits a memory
  budget, by dynamic programming over the chain (:func:`optimal_schedule`; single-level
  checkpointing as in Chen et al. and Rotor's one-level case, Beaumont et al. 2019).

The cost model (:class:`ChainProfile`) is measured on one real forward pass: the storages
each block saves for backward (bytes, identified so that a storage is counted once within a
segment), the bytes of each block's input, and its forward FLOPs (FlopCounterMode; a
multiply-accumulate is 2 FLOPs). Predicted peak of a schedule with segments 1..m:
``max_k (sum_{j<k} held_j + full_k)`` where ``held_j`` is what segment j keeps until its
backward (all its saved storages if stored, its input if checkpointed) and ``full_k`` is
what it holds while its backward runs (all its saved storages, plus its input).

Every strategy is then *measured* on real forward+backward runs (:func:`measure_schedule`):
the peak bytes of live activations (tensors created by the forward pass or by a
recomputation, tracked storage by storage until freed), the extra FLOPs, the wall time, and
that the gradients equal those of ``none``. On CUDA, ``torch.cuda.max_memory_allocated`` is
reported too. Units: bytes; FLOPs; seconds.
"""

from __future__ import annotations

import math
import statistics
import time
import weakref
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .measure import check_device, using_threads  # noqa: F401  (check_device: used by notebook 05)
from .params import Param, ParameterError

STRATEGIES: tuple[str, ...] = ("none", "every_block", "every_k", "sqrt_n", "optimal")
CHAINS: tuple[str, ...] = ("gpt2", "resnet152")


# --------------------------------------------------------------------------- chains
@dataclass
class Chain:
    """A model as a list of blocks (each maps one tensor to one tensor) and a loss.

    ``module`` owns the parameters (a ``torch.nn.ModuleList`` of the blocks);
    ``make_input()`` returns the same input batch each call; ``loss(output)`` is a scalar.
    """

    name: str
    module: Any
    make_input: Callable[[], Any]
    loss: Callable[[Any], Any]
    description: str = ""

    @property
    def blocks(self) -> list[Any]:
        return list(self.module)

    def __len__(self) -> int:
        return len(self.module)


def gpt2_chain(*, layers: int = 12, hidden: int = 256, heads: int = 4, tokens: int = 128,
               batch_size: int = 2, vocab_size: int = 50257, dropout: float = 0.1,
               device: str = "cpu", seed: int = 0) -> Chain:
    """A GPT-2 stack as a chain: [embedding (tokens + positions, dropout), ``layers`` GPT-2
    blocks (causal eager attention), final layer norm]; loss: mean square of the output
    (the language-model head is left out so that the blocks dominate)."""
    import torch
    from transformers import GPT2Config

    from .models import build_from_config

    torch.manual_seed(seed)
    config = GPT2Config(n_embd=hidden, n_layer=layers, n_head=heads, n_positions=max(1024, tokens),
                        vocab_size=vocab_size, resid_pdrop=dropout, embd_pdrop=dropout,
                        attn_pdrop=dropout, attn_implementation="eager")
    gpt = build_from_config(config, device=device, lm_head=False).train()
    mask = torch.full((tokens, tokens), float("-inf"), device=device).triu(1)[None, None]

    class Embed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte, self.wpe, self.drop = gpt.wte, gpt.wpe, gpt.drop

        def forward(self, ids: Any) -> Any:
            pos = torch.arange(ids.shape[1], device=ids.device)
            return self.drop(self.wte(ids) + self.wpe(pos))

    class Block(torch.nn.Module):
        def __init__(self, block: Any) -> None:
            super().__init__()
            self.block = block

        def forward(self, h: Any) -> Any:
            out = self.block(h, attention_mask=mask)
            return out[0] if isinstance(out, tuple) else out

    blocks = torch.nn.ModuleList([Embed(), *[Block(b) for b in gpt.h], gpt.ln_f])
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab_size, (batch_size, tokens), generator=gen).to(device)
    return Chain("gpt2", blocks, lambda: ids, lambda out: out.float().pow(2).mean(),
                 f"GPT-2 stack: {layers} blocks, hidden {hidden}, {heads} heads, "
                 f"batch {batch_size} x {tokens} tokens")


def resnet_chain(name: str = "resnet152", *, image_size: int = 96, batch_size: int = 2,
                 device: str = "cpu", seed: int = 0) -> Chain:
    """A torchvision ResNet as a chain: [stem (conv, BN, ReLU, max-pool), every bottleneck
    block, head (average pool, fully connected)]; loss: cross-entropy over 1000 classes."""
    import torch

    from .models import build_torchvision

    torch.manual_seed(seed)
    net = build_torchvision(name, device).train()
    stem = torch.nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
    head = torch.nn.Sequential(net.avgpool, torch.nn.Flatten(1), net.fc)
    body = [b for layer in (net.layer1, net.layer2, net.layer3, net.layer4) for b in layer]
    blocks = torch.nn.ModuleList([stem, *body, head])
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, 3, image_size, image_size, generator=gen).to(device)
    labels = torch.randint(0, 1000, (batch_size,), generator=gen).to(device)
    return Chain(name, blocks, lambda: x,
                 lambda out: torch.nn.functional.cross_entropy(out.float(), labels),
                 f"{name}: {len(body)} bottleneck blocks, batch {batch_size} x {image_size}x{image_size}")


# --------------------------------------------------------------------------- schedules
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

    @property
    def checkpointed_blocks(self) -> int:
        return sum(e - s + 1 for s, e, c in self.segments if c)

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "label": self.label,
                "segments": [[s, e, bool(c)] for s, e, c in self.segments]}


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


def run_chain(chain: Chain, schedule: Schedule, x: Any) -> Any:
    """The forward pass of ``chain`` under ``schedule`` (non-reentrant checkpointing)."""
    from torch.utils.checkpoint import checkpoint, checkpoint_sequential

    blocks = chain.blocks
    if schedule.n_blocks != len(blocks):
        raise ValueError(f"schedule {schedule.label!r} covers {schedule.n_blocks} blocks, chain has {len(blocks)}")
    if schedule.sqrt_segments:
        return checkpoint_sequential(blocks, schedule.sqrt_segments, x, use_reentrant=False)

    def segment(s: int, e: int) -> Callable[[Any], Any]:
        def fn(h: Any) -> Any:
            for b in blocks[s:e + 1]:
                h = b(h)
            return h
        return fn

    for s, e, ckpt in schedule.segments:
        x = checkpoint(segment(s, e), x, use_reentrant=False) if ckpt else segment(s, e)(x)
    return x


# --------------------------------------------------------------------------- cost model
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
            return float(sum(self.flops[s:e + 1]))
        for j in range(e, s - 1, -1):
            if last[j] is not None:
                return float(sum(self.flops[s:j]) + last[j])
        return 0.0

    def held(self, s: int, e: int, ckpt: bool) -> int:
        """Bytes segment s..e keeps from its forward until its backward."""
        return self.input_bytes[s] if ckpt else self.segment_bytes(s, e)

    def full(self, s: int, e: int, ckpt: bool) -> int:
        """Bytes segment s..e holds while its backward runs (recomputed if checkpointed)."""
        return self.segment_bytes(s, e, with_input=ckpt)

    def to_dict(self) -> dict[str, Any]:
        return {"saved_bytes": [sum(d.values()) for d in self.saved], "input_bytes": list(self.input_bytes),
                "forward_flops": list(self.flops), "flops_to_last_save": self.flops_to_last_save}


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


def optimal_schedule(profile: ChainProfile, budget_bytes: float, unit_bytes: float | None = None,
                     resolution: int = 2000) -> Schedule | None:
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
                cand[:top + 1] = cost + f[e + 1, held_u:held_u + top + 1]
                cand_r = np.full(cap + 1, inf)
                cand_r[:top + 1] = np.maximum(full_b, held_b + r[e + 1, held_u:held_u + top + 1])
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
        a = int(choice[i][m])
        e, c = divmod(a, 2)
        segs.append((i, e, bool(c)))
        m += units(profile.held(i, e, bool(c)))
        i = e + 1
    return Schedule("optimal", f"optimal, budget {budget_bytes / 1e6:.3g} MB", tuple(segs))


def all_schedules(n: int) -> list[Schedule]:
    """Every schedule of an n-block chain (2^(n-1) partitions x 2 types per segment): for
    checking :func:`optimal_schedule` by brute force on small chains."""
    _check_n(n)
    out = []
    for cuts in range(2 ** (n - 1)):
        bounds, s = [], 0
        for i in range(n - 1):
            if cuts >> i & 1:
                bounds.append((s, i))
                s = i + 1
        bounds.append((s, n - 1))
        for types in range(2 ** len(bounds)):
            segs = tuple((a, b, bool(types >> j & 1)) for j, (a, b) in enumerate(bounds))
            out.append(Schedule("optimal", "brute force", segs))
    return out


def brute_force_optimum(profile: ChainProfile, budget_bytes: float) -> tuple[float, int] | None:
    """(least extra FLOPs, least peak among those) over every schedule fitting the budget."""
    best: tuple[float, int] | None = None
    for sch in all_schedules(len(profile)):
        peak, extra = predict(profile, sch)
        if peak <= budget_bytes and (best is None or (extra, peak) < best):
            best = (extra, peak)
    return best


# --------------------------------------------------------------------------- measuring
def _tracker_class() -> Any:
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
            inputs = {int(t.untyped_storage()._cdata) for t in tree_leaves((args, kwargs))
                      if isinstance(t, torch.Tensor)}
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


def profile_chain(chain: Chain) -> ChainProfile:
    """Measure the cost model of ``chain``: one real forward pass, block by block, under
    saved-tensor hooks (saved storages) and FlopCounterMode (forward FLOPs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .memory import storage_key, storage_nbytes

    excluded = {storage_key(t) for t in [*chain.module.parameters(), *chain.module.buffers()]}
    saved: list[dict[int, int]] = []
    keep: list[Any] = []
    keys, in_bytes, flops, to_last = [], [], [], []
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


def _step(chain: Chain, schedule: Schedule, seed: int) -> Any:
    import torch

    torch.manual_seed(seed)
    chain.module.zero_grad(set_to_none=True)
    loss = chain.loss(run_chain(chain, schedule, chain.make_input()))
    loss.backward()
    return loss


def _grads(chain: Chain) -> list[Any]:
    return [None if p.grad is None else p.grad.detach().clone() for p in chain.module.parameters()]


def measure_schedule(chain: Chain, schedule: Schedule, profile: ChainProfile, *,
                     reference: Measurement | None = None, reference_grads: list[Any] | None = None,
                     timing_repeats: int = 3, seed: int = 0, device: str = "cpu",
                     rtol: float = 1e-5, atol: float = 1e-6) -> tuple[Measurement, list[Any]]:
    """Measure ``schedule`` on ``chain`` (see :class:`Measurement`); return it and the
    gradients. With ``reference`` (the ``none`` measurement) and its gradients, fill in the
    overheads and check ``allclose(grad, reference_grad, rtol, atol)`` for every parameter."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    cuda = device.startswith("cuda")
    tracker = _tracker_class()()
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
    m = Measurement(chain.name, schedule, tracker.peak_act, tracker.peak_all, pred_peak,
                    float(fc.get_total_flops()), predicted_extra_flops=pred_extra,
                    wall_s=statistics.median(times), cuda_peak_bytes=cuda_peak)
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
        return {"chain": self.chain, "description": self.description, "n_blocks": self.n_blocks,
                "profile": self.profile.to_dict(),
                "measurements": [m.to_dict() for m in self.measurements],
                "frontier": [m.schedule.label for m in self.frontier()]}


def run_strategies(chain: Chain, *, every_k: Sequence[int] = (2, 4), n_budgets: int = 8,
                   timing_repeats: int = 3, seed: int = 0, device: str = "cpu",
                   threads: int | None = 1) -> ChainResult:
    """Profile ``chain``, then measure every baseline strategy and the optimal schedules of a
    budget sweep, with torch on ``threads`` CPU threads (None: torch's default). Raises
    AssertionError if any strategy's gradients differ from ``none``'s."""
    with using_threads(threads):
        return _run_strategies(chain, every_k, n_budgets, timing_repeats, seed, device)


def _run_strategies(chain: Chain, every_k: Sequence[int], n_budgets: int, timing_repeats: int,
                    seed: int, device: str) -> ChainResult:
    profile = profile_chain(chain)
    n = len(chain)
    schedules = baseline_schedules(n, every_k) + optimal_sweep(profile, n_budgets)
    ref, ref_grads = measure_schedule(chain, schedules[0], profile, timing_repeats=timing_repeats,
                                      seed=seed, device=device)
    ref, _ = measure_schedule(chain, schedules[0], profile, reference=ref, reference_grads=ref_grads,
                              timing_repeats=timing_repeats, seed=seed, device=device)
    out = [ref]
    for sch in schedules[1:]:
        m, _ = measure_schedule(chain, sch, profile, reference=ref, reference_grads=ref_grads,
                                timing_repeats=timing_repeats, seed=seed, device=device)
        out.append(m)
    bad = [m.schedule.label for m in out if not m.grads_equal]
    if bad:
        raise AssertionError(f"{chain.name}: gradients differ from no checkpointing under {bad}")
    return ChainResult(chain.name, chain.description, n, profile, out)


def build_chain(name: str, P: dict[str, Any]) -> Chain:
    """The chain ``name`` of :data:`CHAINS` with the sizes in the notebook parameters ``P``."""
    if name == "gpt2":
        return gpt2_chain(layers=P["gpt2_layers"], hidden=P["gpt2_hidden"], heads=P["gpt2_heads"],
                          tokens=P["gpt2_tokens"], batch_size=P["gpt2_batch_size"], device=P["device"],
                          seed=P["seed"])
    if name == "resnet152":
        return resnet_chain("resnet152", image_size=P["resnet_image_size"],
                            batch_size=P["resnet_batch_size"], device=P["device"], seed=P["seed"])
    raise ParameterError(f"parameter 'chains': expected items from {list(CHAINS)}, got {name!r}")


#: Parameters of notebooks/05_rematerialization.ipynb.
PARAMETERS: dict[str, Param] = {
    "chains": Param(list, "models to checkpoint", item_type=str, choices=CHAINS, min_items=1),
    "gpt2_layers": Param(int, "GPT-2 blocks in the stack", minimum=1, maximum=48),
    "gpt2_hidden": Param(int, "GPT-2 hidden size", minimum=8),
    "gpt2_heads": Param(int, "GPT-2 attention heads (must divide the hidden size)", minimum=1),
    "gpt2_tokens": Param(int, "tokens per sequence", minimum=1, maximum=4096),
    "gpt2_batch_size": Param(int, "sequences per batch", minimum=1),
    "resnet_image_size": Param(int, "image side in pixels for the ResNet", minimum=32),
    "resnet_batch_size": Param(int, "images per batch for the ResNet", minimum=1),
    "every_k": Param(list, "segment lengths k of the 'every k blocks' strategy", item_type=int, minimum=2),
    "n_budgets": Param(int, "memory budgets of the optimal-schedule sweep", minimum=2, maximum=40),
    "timing_repeats": Param(int, "timed runs per strategy (median)", minimum=1),
    "threads": Param(int, "torch CPU threads for the runs (1: stable timings on a shared machine)",
                     minimum=1, maximum=256),
    "max_overhead": Param(float, "recompute overhead (fraction of a training step's FLOPs) of the "
                                 "paper's claim", minimum=0.0, maximum=2.0),
    "device": Param(str, "where the runs happen: 'cpu' or 'cuda' (adds max_memory_allocated)",
                    choices=("cpu", "cuda")),
    "seed": Param(int, "random seed of weights, inputs and dropout", minimum=0),
    "output_dir": Param(str, "where figures are written", path="out_dir"),
}

#: Checks across parameters of notebooks/05_rematerialization.ipynb.
RELATIONS = (
    (lambda p: p["gpt2_hidden"] % p["gpt2_heads"] == 0,
     "parameters 'gpt2_hidden' and 'gpt2_heads': expected gpt2_heads to divide gpt2_hidden"),
)


# --------------------------------------------------------------------------- Figure 4b
#: The paper's claim (Checkmate, Jain et al. 2020): about 5x less memory for about 20% more compute.
PAPER_REDUCTION: float = 5.0
PAPER_OVERHEAD: float = 0.20
#: "About 5x": the verdict holds at a reduction of at least this much.
REDUCTION_TOLERANCE: float = 0.8

_STYLE = {"none": (7, "o"), "every_block": (0, "s"), "every_k": (5, "^"), "sqrt_n": (3, "D"),
          "optimal": (2, "o")}


def figure_claims(results: Sequence[ChainResult], max_overhead: float = PAPER_OVERHEAD) -> list[Any]:
    """One claim per chain: the largest measured reduction of peak activation memory among
    strategies with at most ``max_overhead`` extra FLOPs, against the paper's 5x."""
    from .figures import Claim

    claims = []
    for r in results:
        red, best = r.reduction_at(max_overhead)
        claims.append(Claim(
            f"fig4b.reduction_at_{round(max_overhead * 100)}pct.{r.chain}",
            f"Rematerialization cuts the memory footprint about {PAPER_REDUCTION:g}x for about "
            f"{max_overhead:.0%} more compute ({r.description})",
            paper=PAPER_REDUCTION, reproduced=float(red), ci95=None,
            holds=bool(red >= REDUCTION_TOLERANCE * PAPER_REDUCTION),
            rule=f"reproduced = peak activation bytes without checkpointing / with the best measured "
                 f"strategy whose extra FLOPs are <= {max_overhead:.0%} of a training step's; holds if "
                 f">= {REDUCTION_TOLERANCE * PAPER_REDUCTION:g}x ('about {PAPER_REDUCTION:g}x')",
            note=f"best: {best.schedule.label}, {best.overhead:.1%} extra FLOPs, "
                 f"{best.time_overhead:+.0%} wall time; block-level checkpointing of {r.n_blocks} blocks"))
    return claims


def sidecar_data(results: Sequence[ChainResult], max_overhead: float = PAPER_OVERHEAD) -> dict[str, Any]:
    """Every measurement of every chain (bytes, FLOPs, seconds), the frontier, and the
    reduction at ``max_overhead``."""
    out: dict[str, Any] = {"paper": {"reduction": PAPER_REDUCTION, "overhead": PAPER_OVERHEAD}}
    for r in results:
        red, best = r.reduction_at(max_overhead)
        out[r.chain] = {**r.to_dict(), "reduction_at_max_overhead": red, "best_at_max_overhead": best.schedule.label}
    return out


def summary_table(results: Sequence[ChainResult]) -> Any:
    """One row per (chain, strategy): measured and predicted peak (MB = 1e6 bytes), FLOP and
    wall-time overheads, gradient check."""
    import pandas as pd

    rows = []
    for r in results:
        ref = r.reference.peak_activation_bytes
        for m in r.measurements:
            rows.append({"chain": r.chain, "strategy": m.schedule.label,
                         "peak activations MB": m.peak_activation_bytes / 1e6,
                         "predicted MB": m.predicted_peak_bytes / 1e6,
                         "reduction": ref / m.peak_activation_bytes,
                         "extra FLOPs %": 100 * m.overhead, "extra time %": 100 * m.time_overhead,
                         "cuda peak MB": None if m.cuda_peak_bytes is None else m.cuda_peak_bytes / 1e6,
                         "grads equal": m.grads_equal})
    return pd.DataFrame(rows)


def plot_frontier(results: Sequence[ChainResult], max_overhead: float = PAPER_OVERHEAD) -> Any:
    """Peak activation memory (MB, log) against recompute overhead (% extra FLOPs of a training
    step) for every strategy, one panel per chain, with the measured Pareto frontier and the
    paper's point (5x less memory for 20% more compute)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from .plotting import PALETTE, apply_style

    apply_style()
    fig, axes = plt.subplots(1, len(results), figsize=(6.4 * len(results), 4.9), squeeze=False)
    for ax, r in zip(axes[0], results):
        ref = r.reference.peak_activation_bytes / 1e6
        front = r.frontier()
        ax.step([100 * m.overhead for m in front], [m.peak_activation_bytes / 1e6 for m in front], where="post",
                color="0.6", linewidth=1.2, zorder=1, label="measured frontier")
        opt = sorted((m for m in r.measurements if m.strategy == "optimal"), key=lambda m: m.overhead)
        ax.plot([100 * m.overhead for m in opt], [m.peak_activation_bytes / 1e6 for m in opt], "-o",
                color=PALETTE[2], markersize=5, linewidth=1.2, label="optimal schedule (DP), per budget", zorder=3)
        labelled: set[str] = set()
        for m in r.measurements:
            if m.strategy == "optimal":
                continue
            color, marker = _STYLE[m.strategy]
            ax.scatter(100 * m.overhead, m.peak_activation_bytes / 1e6, color=PALETTE[color], marker=marker,
                       s=46, zorder=4, edgecolors="white", linewidths=0.6,
                       label=None if m.strategy in labelled and m.strategy == "every_k" else m.schedule.label)
            labelled.add(m.strategy)
            if m.strategy == "every_k":
                ax.annotate(m.schedule.label.replace("every ", "k="), (100 * m.overhead, m.peak_activation_bytes / 1e6),
                            xytext=(5, -3), textcoords="offset points", fontsize=7.5, color="0.3")
        ax.scatter(100 * PAPER_OVERHEAD, ref / PAPER_REDUCTION, marker="*", s=190, color=PALETTE[1], zorder=5,
                   label=f"paper: {PAPER_REDUCTION:g}x less for {PAPER_OVERHEAD:.0%} more")
        ax.axvline(100 * max_overhead, color=PALETTE[1], linestyle=":", linewidth=1)
        red, best = r.reduction_at(max_overhead)
        ax.annotate(f"measured at <= {max_overhead:.0%}: {red:.1f}x", (100 * best.overhead, best.peak_activation_bytes / 1e6),
                    xytext=(14, 28), textcoords="offset points", fontsize=8.5, color=PALETTE[1],
                    arrowprops={"arrowstyle": "->", "color": PALETTE[1], "lw": 0.8})
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _pos: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}" if str(f"{v:g}")[0] in "25" else ""))
        ax.set_xlabel("recompute overhead (% extra FLOPs of a forward+backward step)")
        ax.set_ylabel("peak activation memory (MB = 1e6 bytes)")
        ax.set_title(r.description, fontsize=10)
        ax.legend(loc="lower left", fontsize=8)
    fig.suptitle("Figure 4b: rematerialization, memory against recompute, measured strategy by strategy", fontsize=12)
    fig.tight_layout()
    return fig
