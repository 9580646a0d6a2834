"""Operator-level rematerialization: which segments to checkpoint and, inside each
checkpointed segment, which operator outputs to keep (the rest recomputed).

Profile (:func:`profile_blocks`): each block of a chain runs once under a
``TorchDispatchMode``; every aten op (those selective checkpointing sees, in call order)
is recorded with the bytes of the storages it creates, its FLOPs (the formulas of
``torch.utils.flop_counter``, matrix products only; a multiply-accumulate is 2 FLOPs), its
FLOPs in the full count (:mod:`.flops`: element-wise ops too), whether it is random
(``Tag.nondeterministic_seeded``: dropout, bernoulli, rand...; never cached) and whether an
in-place op later writes its output (not cacheable: selective checkpointing forbids
mutating a cached tensor). Saved-tensor hooks give the storages autograd saves and the
op count when the last one is packed (a recomputation stops there). On ``meta``, a block
identical to one already profiled (same class, repr, parameter shapes, input shape) reuses
its profile.

Cost model (bytes, FLOPs), a plan being segments ``(start, end, checkpointed, keep)``:

- stored segment: holds the union of the storages its blocks save, from its forward until
  its backward (``held = full``);
- checkpointed segment with kept ops ``K``: holds its input and the outputs of ``K``
  (``held``); during its backward it holds its input and every storage its blocks save
  (``full``, recomputed or cached). Recompute FLOPs: every op up to the segment's last
  saved tensor, except those in ``K``.
- predicted peak = ``max(sum(held) + tail, max_k(sum_{j<k} held_j + max(held_k, full_k)))``,
  ``tail``: bytes the loss saves.

Planner (:func:`.plan.plan_for_budget`, with the frontier and a
brute force): dynamic programming over (block, bytes held by earlier segments) in units of
``unit_bytes`` (each term rounded up, so a plan always fits its budget in exact bytes);
inside a checkpointed segment the keep decisions are a knapsack folded into the same table,
so the optimum over segmentations and keep sets is exact in units (with ``unit_bytes=1``,
exact). Selective checkpointing reruns every op it does not cache up to the stop, so this
knapsack is exact for how plans run. Running and measuring plans:
:mod:`.run`; the ``torch.compile`` anchor:
:mod:`.compile_anchor`.

Approximations: live temporaries of the op running at the peak are not modelled (measured
peaks on the project's chains are within a few per cent); a storage the loss saves that a
block also saves counts twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ...core.checks import check_int
from .flops import op_flops
from .schedules import Schedule


# --------------------------------------------------------------------------- profile
@dataclass(frozen=True)
class OpRecord:
    """One aten op of a block's forward: ``name``; ``flops`` (the count the planner
    minimises: matrix products, or in a :func:`full_count` profile element-wise ops too);
    ``out_bytes`` of the storages it creates (views and in-place results create none) and
    their local ids ``out_keys``; ``random`` (never cached); ``cacheable`` (creates a storage,
    has FLOPs, not random, its output is not later written in place: not ``written``);
    ``full_flops``: its FLOPs in the full count (:mod:`.flops`)."""

    name: str
    flops: float
    out_bytes: int
    out_keys: tuple[int, ...]
    random: bool
    cacheable: bool
    full_flops: float = 0.0
    written: bool = False


@dataclass(frozen=True)
class BlockOps:
    """The operator profile of one block. Storages have local ids: 0 is the block's input,
    1, 2, ... the storages its ops create. ``saved``: local id -> bytes of every storage
    autograd saves (parameters and other outside tensors excluded); ``stop``: ops run
    when the last saved tensor is packed (a recomputation runs ops ``[0, stop)``), None
    if nothing is saved; ``output_key``: local id of the output's storage."""

    ops: tuple[OpRecord, ...]
    saved: dict[int, int]
    input_bytes: int
    output_key: int
    output_bytes: int
    stop: int | None

    @property
    def flops(self) -> float:
        """Forward FLOPs of the block."""
        return float(sum(o.flops for o in self.ops))


@dataclass
class OpChainProfile:
    """Operator profiles of a chain's blocks and ``tail_bytes`` saved by the loss."""

    blocks: list[BlockOps]
    tail_bytes: int = 0
    _gkeys: list[Any] = field(default_factory=list, repr=False)
    _union: dict[tuple[int, bool], list[int]] = field(default_factory=dict, repr=False)
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.blocks)

    def gkey(self, b: int, k: int) -> Any:
        """Global id of block ``b``'s local storage ``k`` (0: its input, the output of b-1)."""
        if not self._gkeys:
            out: list[Any] = []
            prev: Any = ("x",)
            for i, blk in enumerate(self.blocks):
                out.append(prev)
                prev = prev if blk.output_key == 0 else (i, blk.output_key)
            self._gkeys = out
        return self._gkeys[b] if k == 0 else (b, k)

    def saved_union(self, s: int, e: int, with_input: bool) -> int:
        """Bytes of the distinct storages saved by blocks s..e (and block s's input)."""
        if (s, with_input) not in self._union:
            u: dict[Any, int] = {self.gkey(s, 0): self.blocks[s].input_bytes} if with_input else {}
            total, row = sum(u.values()), []
            for b in range(s, len(self.blocks)):
                for k, v in self.blocks[b].saved.items():
                    g = self.gkey(b, k)
                    if g not in u:
                        u[g] = v
                        total += v
                row.append(total)
            self._union[(s, with_input)] = row
        return self._union[(s, with_input)][e - s]

    def stop_of(self, s: int, e: int) -> tuple[int, int]:
        """(block, op count) where the recomputation of segment s..e stops; (s-1, 0) if
        the segment saves nothing (nothing is recomputed)."""
        for b in range(e, s - 1, -1):
            stop = self.blocks[b].stop
            if stop is not None:
                return b, int(stop)
        return s - 1, 0


def _dispatch_mode(record: Callable[..., Any]) -> Any:
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            record(func, args, kwargs or {}, out)
            return out

    return _Recorder()


def sac_ignored(func: Any) -> bool:
    """Ops selective checkpointing neither caches nor asks the policy about."""
    from torch.utils.checkpoint import SAC_IGNORED_OPS

    return func in SAC_IGNORED_OPS


def profile_block(block: Any, x: Any, excluded: set[int]) -> tuple[BlockOps, Any]:
    """Profile one forward of ``block`` on ``x`` (grad enabled); return it and the output.
    ``excluded``: storage keys of parameters and buffers."""
    import torch
    from torch.utils._pytree import tree_leaves

    from ..memory.saved import storage_key, storage_nbytes

    local: dict[int, int] = {storage_key(x): 0}
    keep: list[Any] = [x]  # alive until the end: no storage address is reused meanwhile
    ops: list[dict[str, Any]] = []
    mutated: set[int] = set()
    saved: dict[int, int] = {}
    last: list[int | None] = [None]

    def record(func: Any, args: Any, kwargs: Any, out: Any) -> None:
        if sac_ignored(func):
            return
        ins = {storage_key(t) for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        if func._schema.is_mutable:
            for a, v in zip(func._schema.arguments, args):
                if a.alias_info is not None and a.alias_info.is_write and isinstance(v, torch.Tensor):
                    mutated.add(local.get(storage_key(v), -1))
        keys, nbytes = [], 0
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                k = storage_key(t)
                if k in ins or k in local or k in excluded:
                    continue
                local[k] = len(local)
                keep.append(t)
                keys.append(local[k])
                nbytes += storage_nbytes(t)
        fl, full, _ = op_flops(func, args, kwargs, out)
        ops.append(
            {
                "name": str(func),
                "flops": fl,
                "full_flops": full,
                "out_bytes": nbytes,
                "out_keys": tuple(keys),
                "random": torch.Tag.nondeterministic_seeded in func.tags,
            }
        )

    def pack(t: Any) -> Any:
        k = storage_key(t)
        if k in local:
            saved.setdefault(local[k], storage_nbytes(t))
            last[0] = len(ops)
            keep.append(t)
        return t

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), _dispatch_mode(record):
        y = block(x)
    recs = tuple(
        OpRecord(
            o["name"],
            o["flops"],
            o["out_bytes"],
            o["out_keys"],
            o["random"],
            bool(o["out_keys"]) and o["flops"] > 0 and not o["random"] and not (set(o["out_keys"]) & mutated),
            o["full_flops"],
            bool(set(o["out_keys"]) & mutated),
        )
        for o in ops
    )
    out_key = local.get(storage_key(y), -1)
    if out_key < 0:
        raise ValueError("block output is not a tensor created by the block or its input")
    blk = BlockOps(recs, saved, storage_nbytes(x), out_key, storage_nbytes(y), last[0])
    keep.clear()
    return blk, y


def _signature(block: Any, x: Any) -> tuple:
    params = tuple((n, tuple(p.shape), str(p.dtype)) for n, p in block.named_parameters())
    bufs = tuple((n, tuple(p.shape), str(p.dtype)) for n, p in block.named_buffers())
    return (type(block).__qualname__, repr(block), params, bufs, tuple(x.shape), str(x.dtype))


def profile_blocks(
    blocks: Sequence[Any], x: Any, loss: Callable[[Any], Any] | None = None, reuse: bool | None = None
) -> OpChainProfile:
    """Profile every block of a chain on input ``x`` (one forward, block by block) and the
    bytes ``loss`` saves. ``reuse`` (default: on the meta device): a block identical to one
    already profiled reuses its profile and its output (no run)."""
    import torch

    from ..memory.saved import storage_key

    if len(blocks) == 0:
        raise ValueError("blocks: a chain needs at least one block")
    params = [t for b in blocks for t in [*b.parameters(), *b.buffers()]]
    excluded = {storage_key(t) for t in params}
    reuse = (x.device.type == "meta") if reuse is None else reuse
    seen: dict[tuple, tuple[BlockOps, Any]] = {}
    out: list[BlockOps] = []
    h, alive = x, [x]
    for b in blocks:
        sig = _signature(b, h) if reuse else None
        if sig is not None and sig in seen:
            blk, h = seen[sig]
        else:
            blk, h = profile_block(b, h, excluded)
            if sig is not None:
                seen[sig] = (blk, h)
        out.append(blk)
        alive.append(h)
    tail = 0
    if loss is not None:
        tail_keys: dict[int, int] = {}

        def pack(t: Any) -> Any:
            if storage_key(t) not in excluded:
                tail_keys[storage_key(t)] = int(t.untyped_storage().nbytes())
            return t

        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss(h)
        tail = sum(tail_keys.values())
    return OpChainProfile(out, tail)


def full_count(profile: OpChainProfile) -> OpChainProfile:
    """``profile`` with every op's ``flops`` set to its full count (element-wise ops too,
    :mod:`.flops`), so that the planner minimises recompute in that count; an op is cacheable
    as before, with its full FLOPs in place of its matrix-product FLOPs (keeping an
    element-wise output now saves FLOPs)."""
    blocks = [
        replace(
            b,
            ops=tuple(
                replace(
                    o,
                    flops=o.full_flops,
                    cacheable=bool(o.out_keys) and o.full_flops > 0 and not o.random and not o.written,
                )
                for o in b.ops
            ),
        )
        for b in profile.blocks
    ]
    return OpChainProfile(blocks, profile.tail_bytes)


# --------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class OpPlan:
    """Segments ``(start, end, checkpointed, keep)``, ``keep``: (block, op index) pairs
    whose outputs a checkpointed segment caches (empty for stored segments)."""

    segments: tuple[tuple[int, int, bool, frozenset], ...]
    label: str = "plan"

    def __post_init__(self) -> None:
        pos = 0
        for s, e, c, keep in self.segments:
            if s != pos or e < s:
                raise ValueError(f"plan {self.label!r}: segments must tile the chain, got {self.segments}")
            if keep and (not c or any(not s <= b <= e for b, _ in keep)):
                raise ValueError(f"plan {self.label!r}: keep must name ops of checkpointed segment {s}..{e}")
            pos = e + 1

    @property
    def n_blocks(self) -> int:
        return self.segments[-1][1] + 1 if self.segments else 0

    @property
    def n_kept(self) -> int:
        return sum(len(k) for *_, k in self.segments)

    @staticmethod
    def from_schedule(schedule: Schedule) -> OpPlan:
        """A block-level :class:`.schedules.Schedule` as a plan (nothing kept)."""
        return OpPlan(tuple((s, e, bool(c), frozenset()) for s, e, c in schedule.segments), schedule.label)


def segment_cost(
    profile: OpChainProfile, s: int, e: int, ckpt: bool, keep: frozenset = frozenset()
) -> tuple[int, int, float]:
    """(held bytes, full bytes, recompute FLOPs) of segment s..e (see the module doc): blocks
    s to e inclusive, 0 <= s <= e < the profile's block count."""
    if not 0 <= check_int("s", s, minimum=0) <= check_int("e", e, minimum=0) < len(profile):
        raise ValueError(f"s, e: expected 0 <= s <= e < {len(profile)} (the profile's blocks), got s={s}, e={e}")
    if not ckpt:
        b = profile.saved_union(s, e, False)
        return b, b, 0.0
    sb, sn = profile.stop_of(s, e)
    flops = 0.0
    held = profile.blocks[s].input_bytes
    for b in range(s, sb + 1):
        ops = profile.blocks[b].ops
        n = sn if b == sb else len(ops)
        for j, op in enumerate(ops[:n]):
            if (b, j) in keep:
                if not op.cacheable:
                    raise ValueError(f"op {j} of block {b} ({op.name}) cannot be kept")
                held += op.out_bytes
            else:
                flops += op.flops
    if any(b > sb or (b == sb and j >= sn) for b, j in keep):
        raise ValueError(f"segment {s}..{e}: kept ops after the recomputation's stop")
    return held, profile.saved_union(s, e, True), flops


def predict_plan(profile: OpChainProfile, plan: OpPlan) -> tuple[int, float]:
    """(predicted peak activation bytes, recompute FLOPs) of ``plan``."""
    if plan.n_blocks != len(profile):
        raise ValueError(f"plan covers {plan.n_blocks} blocks, profile has {len(profile)}")
    peak, held, extra = 0, 0, 0.0
    for s, e, c, keep in plan.segments:
        h, f, fl = segment_cost(profile, s, e, c, keep)
        peak = max(peak, held + max(h, f))
        held += h
        extra += fl
    return max(peak, held + profile.tail_bytes), extra
