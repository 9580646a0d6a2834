"""Count any ``torch.nn.Module`` by tracing its aten ops on the meta device: FLOPs and bytes
read and written per op, with no weights, no data and no download.

The tracer runs the real model (e.g. a Hugging Face model built with ``from_config`` on
``torch.device("meta")``) under a ``TorchDispatchMode`` and records every aten op it sees:

- **FLOPs** (a multiply-accumulate = 2 FLOPs). Matrix products, convolutions and fused
  attention use torch's own formulas (``torch.utils.flop_counter.flop_registry``, what
  ``FlopCounterMode`` counts), plus the ones that registry misses on CPU and meta
  (:data:`EXTRA_MATMUL_OPS`, e.g. ``_scaled_dot_product_flash_attention_for_cpu``); a bias
  fused into ``addmm``/``baddbmm`` adds one FLOP per output element. Element-wise and
  reduction ops cost :data:`ELEMENTWISE_FLOPS` per output element (reductions: per input
  element), chosen to match the analytic engines' conventions (:mod:`.transformer`: GELU
  8, layer norm 8; :mod:`.llm`: SiLU-and-multiply 5 = SiLU 4 + multiply 1; softmax 5 = the
  scale 1 + softmax 4). Arithmetic on integer or boolean tensors (position ids, cache
  slots, expert indices) is bookkeeping, not floating-point work: 0 FLOPs, as the analytic
  engines count it. Selection and data movement (views, copies, ``cat``, masks,
  ``where``) cost no FLOPs (:data:`ZERO_FLOP_OPS`). Any other op is listed in
  :attr:`Trace.unknown_ops` and the FLOP count is then partial.
- **Bytes**, the survey's no-fusion convention (:mod:`.ops`): an op reads each input once
  and writes each output once; views are free; a broadcast (stride-0) input is read once
  per distinct element; a gather (``embedding``, ``index``) reads only the rows it gathers.
- **The split of bytes** into weights (parameters and buffers), KV cache (the cache's
  tensors before and after the pass, and copies made of them) and activations (the rest).
- **Two conventions** (``fused``): by default every aten op as the model's own (eager) code
  runs it, HF's ``DynamicCache`` appending by ``torch.cat`` (a copy of the whole cache per
  step) and eager GQA materialising K and V per query head; with ``fused=True``, as an
  optimising runtime moves bytes: element-wise chains fused (an intermediate written by an
  element-wise op and read once, by another, never reaches memory: what inductor does), the
  cache appended in place and read where it lies.

Phases (:func:`trace_prefill`, :func:`trace_decode`) follow Hugging Face generation: a
prefill of ``T`` tokens at batch ``B``; a decode step of one token per sequence with a
``DynamicCache`` that a untraced prefill of ``C`` tokens filled, as ``generate`` does.

Against the analytic engines (tests/test_trace.py, on every preset, prefill and decode):
matmul FLOPs are equal; all FLOPs are equal once the element-wise work that HF's code spells
out and the formulas leave out is added, each item by a formula of the config (the additive
causal mask, RMSNorm's per-row ``+ eps`` and ``rsqrt``, the rotary tables, ``rotate_half``'s
negation, the MoE router as HF runs it, DeepSeek's shared-expert add); BERT's FLOPs are equal
with nothing added. Bytes differ where the real model's implementation moves other bytes
(the cache's ``torch.cat``, casts, the mask): :meth:`Trace.by_op` names every aten op and
its share.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...core.checks import check_int
from .ops import OpCount, ProfileError, merge, totals

#: The torch dtypes a model can be built and traced in (names as in :data:`.ops.DTYPE_PRECISIONS`).
DTYPES: tuple[str, ...] = ("float32", "bfloat16", "float16")
#: FLOPs per output element of the element-wise ops (reductions: per input element).
ELEMENTWISE_FLOPS: dict[str, float] = {
    **dict.fromkeys(
        (
            "add",
            "sub",
            "rsub",
            "mul",
            "div",
            "neg",
            "pow",
            "rsqrt",
            "sqrt",
            "exp",
            "log",
            "tanh",
            "sigmoid",
            "reciprocal",
            "maximum",
            "minimum",
            "clamp",
            "clamp_min",
            "clamp_max",
            "abs",
            "sin",
            "cos",
            "erf",
            "square",
            "relu",
            "threshold",
            "add_",
            "mul_",
            "div_",
            "sub_",
            "tanh_",
            "relu_",
            "exp_",
            "floor_divide",
            "remainder",
        ),
        1.0,
    ),
    "silu": 4.0,  # x / (1 + exp(-x)): negate, exp, add, divide
    "silu_": 4.0,
    "gelu": 8.0,  # the survey's count (its tanh approximation), for erf and tanh forms alike
    "_softmax": 4.0,  # subtract the max, exp, sum, divide (the scale is its own op)
    "_safe_softmax": 4.0,
    "_log_softmax": 4.0,
    "native_layer_norm": 8.0,  # the survey's layer-norm count, gain and bias included
}
#: Reductions: FLOPs per *input* element.
REDUCTION_OPS: frozenset[str] = frozenset({"mean", "sum", "amax", "amin", "max", "min", "var", "std", "prod"})
#: Ops with no arithmetic: views, copies, casts, concatenation, masks, selection, creation.
ZERO_FLOP_OPS: frozenset[str] = frozenset(
    {
        "view", "_unsafe_view", "reshape", "t", "transpose", "permute", "expand", "unsqueeze", "squeeze",
        "slice", "select", "alias", "as_strided", "split", "split_with_sizes", "unbind", "chunk", "narrow",
        "detach", "clone", "contiguous", "_to_copy", "copy_", "cat", "stack", "embedding", "index",
        "index_select", "gather", "where", "masked_fill", "masked_fill_", "tril", "triu", "arange", "ones",
        "zeros", "full", "empty", "new_empty", "new_zeros", "new_ones", "new_full", "scalar_tensor", "fill_",
        "zero_", "lift_fresh", "_local_scalar_dense", "eq", "ne", "lt", "le", "gt", "ge", "logical_not",
        "logical_and", "logical_or", "bitwise_and", "bitwise_or", "bitwise_not", "repeat", "repeat_interleave",
        "empty_like", "zeros_like", "ones_like", "full_like", "native_dropout", "dropout", "_assert_async",
        "sym_size", "sym_stride", "sym_numel", "is_nonzero", "isinf", "isnan", "all", "any", "flip", "roll",
        "constant_pad_nd", "pad", "diff", "one_hot", "topk", "sort", "argmax", "argmin", "cumsum", "_unsafe_index",
        "index_put_", "index_copy_", "index_copy", "scatter", "scatter_", "new_tensor", "bucketize", "histc",
        "bincount", "argsort", "nonzero",
        "unfold", "movedim", "view_as_real", "view_as_complex", "resolve_conj", "resolve_neg", "split_copy",
    }
)  # fmt: skip
#: Ops that move data only; a copy of the KV cache stays KV cache.
DATA_MOVEMENT_OPS: frozenset[str] = frozenset(
    {"clone", "contiguous", "_to_copy", "copy_", "cat", "stack", "repeat", "repeat_interleave", "_unsafe_view",
     "index_select", "index", "_unsafe_index", "expand", "view", "reshape", "transpose", "permute", "slice",
     "unsqueeze", "squeeze", "alias", "t", "select"}
)  # fmt: skip
#: Gathers: they read the rows they gather (their output), not the whole table.
GATHER_OPS: frozenset[str] = frozenset({"embedding", "index", "index_select", "gather", "_unsafe_index"})
#: Matmul-class ops torch's flop registry misses on CPU or meta: fused attention (its query,
#: key and value are the first three arguments) and MoE's grouped matmul.
EXTRA_MATMUL_OPS: frozenset[str] = frozenset(
    {"_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_fused_attention_overrideable", "_grouped_mm"}
)


@dataclass(frozen=True)
class Trace:
    """What one traced forward pass did: per aten op (``ops``, summed over calls, in
    first-call order, :class:`~.ops.OpCount` with the aten name and its class as group),
    the ops no FLOP formula covers (``unknown_ops``: then ``flops`` is a lower bound).
    Units: FLOPs, bytes."""

    label: str
    phase: str
    batch: int
    n_new: int
    n_ctx: int
    ops: tuple[OpCount, ...] = field(repr=False)
    unknown_ops: tuple[str, ...] = ()
    cache_bytes: float = 0.0
    weight_bytes_held: float = 0.0

    @property
    def resident_bytes(self) -> float:
        """Bytes held after the pass: every parameter and buffer, and the KV cache as the
        model's cache keeps it (e.g. only the window of a sliding-window layer)."""
        return self.weight_bytes_held + self.cache_bytes

    @property
    def complete(self) -> bool:
        """True when every op had a FLOP formula (the FLOP count is not partial)."""
        return not self.unknown_ops

    def totals(self) -> dict[str, float]:
        """FLOPs, matmul FLOPs, bytes (weights, KV cache, activations) and intensity."""
        return totals(self.ops)

    def by_op(self) -> dict[str, dict[str, float]]:
        """``{aten op: {flops, matmul_flops, bytes, weight_bytes, kv_bytes, act_bytes, calls}}``."""
        keys = ("flops", "matmul_flops", "bytes", "weight_bytes", "kv_bytes", "act_bytes", "calls")
        return {o.name: {k: float(getattr(o, k)) for k in keys} for o in self.ops}


# --------------------------------------------------------------------------- recording
def _storage_key(t: Any) -> int:
    return t.untyped_storage()._cdata


#: (storage key, bytes) of the tensors an op reads or writes.
Moves = list[tuple[int, float]]


def _addressed_bytes(t: Any) -> float:
    """Bytes of the distinct elements a tensor view addresses (stride-0 dims counted once)."""
    n = math.prod(s for s, st in zip(t.shape, t.stride()) if st != 0) if t.dim() else 1
    return float(int(n) * t.element_size())


def _tensors(tree: Any) -> list[Any]:
    import torch
    from torch.utils._pytree import tree_leaves

    return [x for x in tree_leaves(tree) if isinstance(x, torch.Tensor)]


@dataclass
class _Event:
    name: str
    group: str
    flops: float
    matmul_flops: float
    reads: Moves
    writes: Moves


def op_flops(func: Any, name: str, args: tuple, kwargs: dict, out: Any) -> tuple[float, float, bool]:
    """(FLOPs, matmul FLOPs, known) of one aten call ``func`` whose tables entry is ``name``
    (its overload packet's name, or the op it is counted as): matrix products by torch's
    ``flop_registry`` plus :data:`EXTRA_MATMUL_OPS`, a fused bias 1 per output element,
    :data:`ELEMENTWISE_FLOPS` per output element, :data:`REDUCTION_OPS` 1 per input element,
    integer arithmetic and :data:`ZERO_FLOP_OPS` free; ``known`` False for any other op."""
    from torch.utils import flop_counter

    packet = func.overloadpacket
    outs = _tensors(out)
    out_elems = float(sum(t.numel() for t in outs))
    if packet in flop_counter.flop_registry:
        mm = float(flop_counter.flop_registry[packet](*args, **kwargs, out_val=out))
        bias = out_elems if name in ("addmm", "baddbmm") else 0.0
        return mm + bias, mm, True
    if name in EXTRA_MATMUL_OPS:
        if name == "_grouped_mm":  # (M x K) rows, each times its own group's (K x N) weight
            mm = 2.0 * out_elems * args[0].shape[-1]
        else:
            q, k, v = args[:3]
            mm = float(flop_counter.sdpa_flop_count(q.shape, k.shape, v.shape))
        return mm, mm, True
    if name in ELEMENTWISE_FLOPS or name in REDUCTION_OPS:
        if not outs or not outs[0].is_floating_point():
            return 0.0, 0.0, True  # index arithmetic (positions, cache slots): no floating-point op
    if name in ELEMENTWISE_FLOPS:
        return ELEMENTWISE_FLOPS[name] * outs[0].numel(), 0.0, True
    if name in REDUCTION_OPS:
        ins = _tensors(args)
        return float(ins[0].numel() if ins else 0), 0.0, True
    return 0.0, 0.0, name in ZERO_FLOP_OPS


def _group(name: str, matmul_flops: float) -> str:
    if matmul_flops or name in EXTRA_MATMUL_OPS:
        return "matmul"
    if name in DATA_MOVEMENT_OPS or name in ZERO_FLOP_OPS:
        return "data_movement"
    return "elementwise"


class _Recorder:
    """The dispatch mode's state: events in call order, storages kept alive (so that no
    storage key is reused during the trace), ops with no FLOP formula."""

    def __init__(self) -> None:
        self.events: list[_Event] = []
        self.alive: list[Any] = []
        self.unknown: dict[str, int] = {}

    def record(self, func: Any, args: tuple, kwargs: dict, out: Any) -> None:
        name = func.overloadpacket.__name__
        flops, mm, known = op_flops(func, name, args, kwargs, out)
        if not known:
            self.unknown[f"aten.{name}"] = self.unknown.get(f"aten.{name}", 0) + 1
        ins, outs = _tensors((args, kwargs)), _tensors(out)
        in_keys = {_storage_key(t) for t in ins}
        self.alive += [t.untyped_storage() for t in outs]
        writes: Moves = [(_storage_key(t), _addressed_bytes(t)) for t in outs if _storage_key(t) not in in_keys]
        if name.endswith("_") and ins:  # in place: the first argument is written
            writes = [(_storage_key(ins[0]), _addressed_bytes(ins[0]))]
        if not writes and not flops:
            reads: Moves = []  # a view: free
        elif name in GATHER_OPS:
            reads = [(_storage_key(t), _addressed_bytes(t)) for t in ins[1:]] + [
                (_storage_key(ins[0]), sum(b for _, b in writes))
            ]
        else:
            seen: set[int] = set()
            reads = []
            for t in ins:
                if id(t) not in seen:
                    seen.add(id(t))
                    reads.append((_storage_key(t), _addressed_bytes(t)))
        self.events.append(_Event(f"aten.{name}", _group(name, mm), flops, mm, reads, writes))


#: Data-movement ops a compiler fuses like element-wise ones (a cast, a copy).
FUSABLE_COPIES: frozenset[str] = frozenset({"aten._to_copy", "aten.clone", "aten.contiguous"})


def _fused_pairs(events: list[_Event], keep: set[int]) -> set[tuple[int, int]]:
    """(event, storage) pairs that vertical fusion of element-wise chains never moves: a
    tensor written by an element-wise op (or a cast/copy) and read once after, by another
    such op, stays in registers (what a fusing compiler such as inductor does). ``keep``:
    storages that always cross memory (weights, KV cache)."""
    fusable = [e.group == "elementwise" or e.name in FUSABLE_COPIES for e in events]
    readers: dict[int, list[int]] = {}
    for i, e in enumerate(events):
        for k, _ in e.reads:
            readers.setdefault(k, []).append(i)
    pairs: set[tuple[int, int]] = set()
    for i, e in enumerate(events):
        if not fusable[i]:
            continue
        for k, _ in e.writes:
            later = [j for j in readers.get(k, []) if j > i]
            if k not in keep and len(later) == 1 and fusable[later[0]]:
                pairs |= {(i, k), (later[0], k)}
    return pairs


def _kv_roles(events: list[_Event], kv: set[int]) -> set[int]:
    """The KV cache's storages: those given, and every data-movement copy made of them."""
    kv = set(kv)
    for e in events:
        if e.group == "data_movement" and any(k in kv for k, _ in e.reads):
            kv.update(k for k, _ in e.writes)
    return kv


def _in_place_cache(events: list[_Event], kv: set[int]) -> list[tuple[Moves, Moves]]:
    """Reads and writes per event with the KV cache kept as an optimising runtime keeps it:
    appended in place (a ``cat`` onto the cache writes only the new tokens) and read where
    it lies (a copy of the cache, such as eager GQA's ``repeat_kv``, is free, and a read of
    the copy costs the cache's own bytes, not the expanded copy's)."""
    shrink: dict[int, float] = {}  # storage of a cache copy -> its bytes over the cache's
    out = []
    for e in events:
        kv_in = [(k, b) for k, b in e.reads if k in kv]
        if e.group == "data_movement" and kv_in:
            if e.name == "aten.cat":
                new = [(k, b) for k, b in e.reads if k not in kv]
                out.append((new, [(e.writes[0][0], sum(b for _, b in new))] if e.writes else []))
            else:
                source = max(kv_in, key=lambda kb: kb[1])
                for k, b in e.writes:
                    shrink[k] = shrink.get(source[0], 1.0) * b / source[1] if source[1] else 1.0
                out.append(([], []))
            continue
        out.append(([(k, b / shrink.get(k, 1.0)) for k, b in e.reads], e.writes))
    return out


def _classify(rec: _Recorder, weights: set[int], kv: set[int], fused: bool) -> list[OpCount]:
    """Per-event op records with bytes split by the storages' roles (weights, KV cache and
    its copies, activations). ``fused``: bytes as an optimising runtime moves them
    (element-wise chains fused, :func:`_fused_pairs`; the cache in place,
    :func:`_in_place_cache`), else every op's inputs and outputs as HF's eager code runs."""
    kv = _kv_roles(rec.events, kv)
    moves = _in_place_cache(rec.events, kv) if fused else [(e.reads, e.writes) for e in rec.events]
    skip = _fused_pairs(rec.events, weights | kv) if fused else set()
    ops = []
    for i, (e, (reads, writes)) in enumerate(zip(rec.events, moves)):
        moved = [(k, b) for k, b in reads + writes if (i, k) not in skip]
        w = sum(b for k, b in reads if k in weights and (i, k) not in skip)
        c = sum(b for k, b in moved if k in kv and k not in weights)
        a = sum(b for _, b in moved) - w - c
        ops.append(OpCount(e.name, e.group, e.flops, e.matmul_flops, float(w), float(c), float(a)))
    return ops


def trace_module(
    module: Any,
    call: Callable[[], Any],
    *,
    label: str = "",
    phase: str = "forward",
    batch: int = 1,
    n_new: int = 1,
    n_ctx: int = 1,
    kv_tensors: Callable[[Any], list[Any]] | None = None,
    before: list[Any] = (),  # type: ignore[assignment]
    fused: bool = False,
) -> Trace:
    """Trace ``call()`` (a forward of ``module``, on meta tensors). ``before``: tensors that
    are KV cache before the call; ``kv_tensors(result)``: those that are after it;
    ``fused``: bytes as an optimising runtime moves them (:func:`_classify`), else every
    op's inputs and outputs as the model's own code runs (the survey's no-fusion convention
    applied to every aten op)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    rec = _Recorder()
    current: list[str] = [""]

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
            kwargs = kwargs or {}
            current[0] = str(func.overloadpacket)
            out = func(*args, **kwargs)
            rec.record(func, args, kwargs, out)
            return out

    weights = {_storage_key(t) for t in (*module.parameters(), *module.buffers())}
    kv_before = {_storage_key(t) for t in before}
    try:
        with torch.no_grad(), Mode():
            result = call()
    except (NotImplementedError, RuntimeError) as e:
        what = label or type(module).__name__
        raise ProfileError(
            f"{what}: the {phase} cannot run on the meta device: {current[0]} failed ({str(e).splitlines()[0][:200]}). "
            "An op whose output shape depends on data (aten.nonzero, e.g. MoE routing with "
            "experts_implementation='eager') has no meta form; MoE models trace with grouped_mm in bfloat16"
        ) from e
    cache = kv_tensors(result) if kv_tensors else []
    kv_after = {_storage_key(t) for t in cache}
    ops = merge(_classify(rec, weights, kv_before | kv_after, fused))
    held = {_storage_key(t): t.untyped_storage().nbytes() for t in (*module.parameters(), *module.buffers())}
    return Trace(
        label,
        phase,
        batch,
        n_new,
        n_ctx,
        tuple(ops.values()),
        tuple(sorted(rec.unknown)),
        cache_bytes=float(sum(_addressed_bytes(t) for t in cache)),
        weight_bytes_held=float(sum(held.values())),
    )


# --------------------------------------------------------------------------- phases
def _cache_tensors(result: Any) -> list[Any]:
    """The tensors a KV cache holds (a transformers ``Cache``, or a model output holding
    one under ``cache``; none for an encoder's output)."""
    cache = result.get("cache") if isinstance(result, Mapping) else result
    if cache is None:
        return []
    return _tensors([getattr(layer, attr, None) for layer in getattr(cache, "layers", []) for attr in vars(layer)])


def _ids(batch: int, tokens: int) -> Any:
    """Token ids on the meta device (their values never matter)."""
    import torch

    return torch.zeros(batch, tokens, dtype=torch.long, device="meta")


def trace_prefill(
    module: Any,
    batch: int,
    tokens: int,
    *,
    label: str = "",
    last_logits_only: bool = False,
    fused: bool = False,
) -> Trace:
    """One forward of ``batch`` sequences of ``tokens`` tokens from an empty cache (decoders
    fill a ``DynamicCache``; encoders have none). ``module``: a model on the meta device
    that takes ``input_ids`` (a Hugging Face model). ``last_logits_only``: the LM head on
    the last token only (``logits_to_keep=1``, what generation needs); else on every token."""
    b, t = check_int("batch", batch, 1), check_int("tokens", tokens, 1)
    decoder = _is_decoder(module)
    kwargs: dict[str, Any] = {"input_ids": _ids(b, t)}
    if decoder:
        kwargs["use_cache"] = True
        if last_logits_only:
            kwargs["logits_to_keep"] = 1
    return trace_module(
        module,
        lambda: module(**kwargs),
        label=label,
        phase="prefill",
        batch=b,
        n_new=t,
        n_ctx=t,
        kv_tensors=_cache_tensors if decoder else None,
        fused=fused,
    )


def trace_decode(module: Any, batch: int, context_len: int, *, label: str = "", fused: bool = False) -> Trace:
    """One decoding step of ``batch`` sequences whose cache already holds ``context_len``
    tokens (attention spans ``context_len + 1``): the cache is filled by an untraced
    prefill, as ``generate`` fills it."""
    import torch

    b, c = check_int("batch", batch, 1), check_int("context_len", context_len, 1)
    if not _is_decoder(module):
        raise ProfileError(f"model: {label or type(module).__name__} is an encoder; a decode step needs a decoder")
    with torch.no_grad():
        cache = module(input_ids=_ids(b, c), use_cache=True)["cache"]
    before = _cache_tensors(cache)
    return trace_module(
        module,
        lambda: module(input_ids=_ids(b, 1), cache=cache, use_cache=True),
        label=label,
        phase="decode",
        batch=b,
        n_new=1,
        n_ctx=c + 1,
        kv_tensors=_cache_tensors,
        before=before,
        fused=fused,
    )


def _is_decoder(module: Any) -> bool:
    """A model that generates (has ``generate`` and a decoder config), as transformers sees it."""
    config = getattr(module, "config", None)
    can_generate = getattr(module, "can_generate", None)
    return bool(callable(can_generate) and can_generate()) and not getattr(config, "is_encoder_decoder", False)
