"""The survey's workload (Figure 3) of any model transformers can build, traced on the meta
device: an encoder's forward pass over ``l`` tokens, or a decoder generating ``l`` tokens one by
one with its KV cache (a 1-token prefill, then decode steps at contexts 1 .. ``l - 1``), batch 1.

This is what :mod:`.transformer` counts analytically for BERT and GPT-2 (Kim, Hooper et al.,
arXiv:2302.14017, Sec. 2.2), for any other architecture (GPT-NeoX, Llama, Mistral's sliding
window, Gemma 2 ...), counted by :mod:`.trace`:

- **what is counted**: the model as transformers runs it (eager attention), without its LM head
  (a decoder) or pooler (an encoder), which the survey leaves out; the embedding lookup stays
  (it reads only the rows it gathers: a few elements per token);
- **bytes**: ``fused=True`` of :mod:`.trace` (element-wise chains fused, the KV cache appended
  in place and read where it lies). On the survey's presets that convention gives the analytic
  engine's matmul FLOPs exactly, all FLOPs exactly once the embedding lookups the workload keeps
  and GPT-2's additive causal mask (one add per attention score) are added, and bytes within 2%
  at 128 to 4,096 tokens (tests/test_survey_workload.py), where every aten op as HF's eager code runs it
  (``fused=False``) moves up to 1.6x the bytes (the cache's ``torch.cat`` copy at every step,
  the masked fill and scaling of the score matrices);
- **decode steps**: a step's counts are affine in its context between the points where a
  sliding window fills (:func:`memwall_lib.engines.models.configs.kv_cache_layout`: a layer of
  window ``w`` attends to ``min(c, w - 1) + 1`` tokens), so the sum over contexts ``a .. b`` of
  one such stretch is ``(b - a + 1) (f(a) + f(b)) / 2``, exact from two traces;
- **elements**: :attr:`WorkloadCount.elements` divides every tensor's bytes by the traced
  dtype's element size: for a float32 trace, the element count the survey's 8-bit convention
  takes as bytes (token ids and masks, a few per token, count at their bytes / 4).

Units: FLOPs (a multiply-accumulate = 2 FLOPs), bytes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ...core.checks import check_int
from . import trace
from .ops import ProfileError

#: Positions added past the longest length when a config's position table is enlarged:
#: RoBERTa's learned positions start past its padding index.
POSITION_MARGIN = 2
_KEYS = ("flops", "matmul_flops", "weight_bytes", "kv_bytes", "act_bytes")


@dataclass(frozen=True)
class WorkloadCount:
    """The totals of one workload of ``seq_len`` tokens (``forward_calls`` passes), traced with
    weights, activations and cache in ``dtype`` (``element_bytes`` each); ``unknown_ops``: the
    aten ops no FLOP formula covers (then ``flops`` is a lower bound)."""

    label: str
    kind: str
    seq_len: int
    dtype: str
    element_bytes: int
    forward_calls: int
    flops: float
    matmul_flops: float
    weight_bytes: float
    kv_bytes: float
    act_bytes: float
    unknown_ops: tuple[str, ...] = ()

    @property
    def bytes(self) -> float:
        """Bytes moved (weights, KV cache and activations)."""
        return self.weight_bytes + self.kv_bytes + self.act_bytes

    @property
    def elements(self) -> float:
        """Elements moved: bytes / element size (the survey's 8-bit bytes, from a float32 trace)."""
        return self.bytes / self.element_bytes

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte at the traced dtype."""
        return self.flops / self.bytes


def with_positions(config: Any, seq_len: int) -> Any:
    """A copy of ``config`` whose position table holds ``seq_len`` tokens (``max_position_embeddings``
    enlarged to ``seq_len`` + :data:`POSITION_MARGIN` where smaller; weights are random or absent,
    so a longer table changes no count per token), with eager attention (op by op, as the
    survey's presets run)."""
    cfg = copy.deepcopy(config)
    text = cfg.get_text_config(decoder=True)
    if getattr(text, "max_position_embeddings", None) is not None and text.max_position_embeddings < seq_len:
        text.max_position_embeddings = seq_len + POSITION_MARGIN
    cfg._attn_implementation = "eager"
    return cfg


def _survey_module(config: Any, kind: str, dtype: str, label: str) -> Any:
    """The model on meta without the LM head (decoder: the head becomes an identity, so the
    "logits" are the last hidden states) or the pooler (encoder)."""
    import torch

    from ..models.configs import build_on_meta

    model = build_on_meta(config, attn_implementation="eager", dtype=dtype)
    if kind == "decoder":
        model.set_output_embeddings(torch.nn.Identity())
        if not isinstance(model.get_output_embeddings(), torch.nn.Identity):
            raise ProfileError(f"{label}: cannot take the LM head off {type(model).__name__} (the survey counts none)")
    elif isinstance(getattr(model, "pooler", None), torch.nn.Module):
        model.pooler = None
    return model


def _stretches(last: int, windows: Sequence[int | None]) -> list[tuple[int, int]]:
    """Contexts 1 .. ``last`` cut where a sliding window fills (a step is affine on each)."""
    cuts = sorted({w - 1 for w in windows if w is not None and 1 <= w - 1 < last})
    starts = [1, *(c + 1 for c in cuts)]
    ends = [*cuts, last]
    return list(zip(starts, ends))


def _decode_sum(
    step: Callable[[int], trace.Trace], seq_len: int, windows: Sequence[int | None]
) -> tuple[dict[str, float], set[str]]:
    """Totals of the decode steps at contexts 1 .. ``seq_len - 1`` (zero for one token), from
    ``step(context)`` (a decode step's trace), and the ops they ran with no FLOP formula."""
    out, unknown = dict.fromkeys(_KEYS, 0.0), set()
    for a, b in _stretches(seq_len - 1, windows) if seq_len > 1 else []:
        ta, tb = step(a), step(b)
        fa, fb = ta.totals(), tb.totals()
        unknown |= {*ta.unknown_ops, *tb.unknown_ops}
        for k in _KEYS:
            out[k] += (b - a + 1) * (fa[k] + fb[k]) / 2
    return out, unknown


def trace_survey_workload(
    config: Any, seq_lens: Sequence[int], *, label: str = "", dtype: str = "float32"
) -> list[WorkloadCount]:
    """The survey's workload of ``config`` (a ``transformers`` config; see the module docstring)
    at each of ``seq_lens``, traced in ``dtype`` ("float32", "bfloat16" or "float16"). Ops with
    no FLOP formula are named in :attr:`WorkloadCount.unknown_ops` (the FLOPs are then partial).
    Raises :class:`~.ops.ProfileError` naming an op that cannot run on meta, ``ModelConfigError``
    for a config that cannot be built."""
    import torch

    from ..models.configs import ModelConfigError, kv_cache_layout, model_kind

    lens = [check_int("seq_len", n, 1) for n in seq_lens]
    if not lens:
        raise ProfileError("seq_lens: expected at least one length")
    if dtype not in trace.DTYPES:
        raise ProfileError(f"dtype: expected one of {list(trace.DTYPES)}, got {dtype!r}")
    kind = model_kind(config)
    cfg = with_positions(config, max(lens))
    model = _survey_module(cfg, kind, dtype, label)
    try:
        windows = kv_cache_layout(cfg).windows if kind == "decoder" else ()
    except ModelConfigError:  # MLA: no sliding window to cut at
        windows = ()
    step = cache(lambda c: trace.trace_decode(model, 1, c, label=label, fused=True))
    first = trace.trace_prefill(model, 1, 1 if kind == "decoder" else lens[0], label=label, fused=True)
    out = []
    for n in lens:
        if kind == "encoder":
            t = first if n == lens[0] else trace.trace_prefill(model, 1, n, label=label, fused=True)
            parts, unknown = t.totals(), set(t.unknown_ops)
        else:
            (steps, unknown), p = _decode_sum(step, n, windows), first.totals()
            parts, unknown = {k: p[k] + steps[k] for k in _KEYS}, unknown | set(first.unknown_ops)
        size = torch.empty((), dtype=getattr(torch, dtype)).element_size()
        calls = n if kind == "decoder" else 1
        f, mm, w, kv, act = (float(parts[k]) for k in _KEYS)
        out.append(WorkloadCount(label, kind, n, dtype, size, calls, f, mm, w, kv, act, tuple(sorted(unknown))))
    return out
