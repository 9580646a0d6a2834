"""Analytic per-operation FLOPs and bytes of current LLM inference: prefill and decode.

Families (read from ``transformers`` configs by :func:`.specs.spec_from_config`, or by preset name
from :mod:`memwall_lib.engines.counts.presets`):

- **Llama-style** decoders (``llama``): RMSNorm, rotary embeddings, grouped-query
  attention (``n_kv_heads <= n_heads``; the KV cache holds ``n_kv_heads`` heads), SwiGLU
  MLP (gate, up, down), tied or untied LM head.
- **Mixtral-style MoE** (``mixtral``): every MLP is ``E`` SwiGLU experts, top-``k`` routing.
- **DeepSeek-V3** (``deepseek_v3``): multi-head latent attention (MLA, latent KV cache of
  ``kv_lora_rank + qk_rope_head_dim`` elements per token and layer), the first
  ``first_k_dense_replace`` layers dense, then MoE layers with shared experts plus
  ``E`` routed experts, top-``k``.
- **GPT-2** (``gpt2``) reuses :mod:`memwall_lib.engines.counts.transformer` (LM head and embeddings on).

Phases: :func:`prefill` (``T`` new tokens per sequence, batch ``B``, no earlier cache) and
:func:`decode_step` (one new token per sequence with a KV cache already holding ``C``
tokens: the step appends its own K/V, so attention spans ``C + 1`` keys).

Conventions, as in :mod:`memwall_lib.engines.counts.transformer` (units: FLOPs with a multiply-accumulate
= 2 FLOPs; bytes): an op's bytes are its inputs and weights read once plus its outputs
written once (no fusion between ops, ideal reuse inside one); each op's bytes are split
into ``weight_bytes`` (parameters read), ``kv_bytes`` (KV cache written by K/V
projections, read by attention) and activations (the rest). ``matmul_flops`` is what
``torch.utils.flop_counter.FlopCounterMode`` counts (checked exactly in tests/test_llm.py).
Element-wise FLOPs per element: RMSNorm 4, SiLU-and-multiply 5, rotary 3, softmax 5
(router softmax/sigmoid also 5), residual add 1, weighted combine of expert outputs 2.
The causal mask is folded into softmax (the full ``T x T`` scores are computed, as HF
eager attention does). The LM head runs on every new token (``logits="all"``, a plain HF
forward) or on the last token of each sequence only (``logits="last"``, what generation
needs).

MoE assumptions: FLOPs are those of the ``k`` experts each token is routed to (plus the
router and shared experts), independent of which experts are chosen. Weight bytes of the
routed experts are those of the experts actually touched by the ``N = B * n_new`` tokens
of the pass, in expectation under **uniform, independent routing** (each token picks
``k`` distinct experts uniformly at random): ``E * (1 - (1 - k/E)**N)`` distinct experts
per MoE layer. Real routers are not uniform, so this is an upper bound on distinct
experts for a given token count, reached by perfectly balanced routing.

MLA (``mla=``): ``"expanded"`` is Hugging Face's eager implementation: the latent cache is
expanded by ``kv_b_proj`` into per-head K and V over all ``n_ctx`` tokens at every pass.
``"absorbed"`` is the weight-absorbed form of DeepSeek's inference code (DeepSeek-V2,
arXiv:2405.04434, Sec. 2.1.3): ``W_UK`` is applied to the query and ``W_UV`` to the
attention output, so attention reads the latent cache directly (an MQA with head size
``kv_lora_rank + qk_rope_head_dim``). ``"auto"`` (default): expanded for a prefill,
absorbed for a decode step. Both read the same latent cache and the same weights.

Nothing here imports torch.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ...core.checks import check_int, check_number
from . import specs
from . import transformer as tfm
from .llm_spec import (
    COMBINE_FLOPS_PER_ELEMENT,
    LOGITS_MODES,
    MLA_MODES,
    RMSNORM_FLOPS_PER_ELEMENT,
    ROPE_FLOPS_PER_ELEMENT,
    ROUTER_FLOPS_PER_ELEMENT,
    SILU_MUL_FLOPS_PER_ELEMENT,
    LLMError,
    LLMSpec,
)
from .ops import BF16, OpCount, Precision, as_precision, elementwise, linear, merge, totals
from .transformer import RESIDUAL_FLOPS_PER_ELEMENT, SOFTMAX_FLOPS_PER_ELEMENT


def get_spec(model: Any) -> LLMSpec | tfm.TransformerSpec:
    """The spec of a decoder (a preset or survey name, a spec or a ``transformers`` config);
    an encoder is an :class:`LLMError` (prefill and decode need a decoder)."""
    spec = specs.get_spec(model)
    if spec.kind != "decoder":
        raise LLMError(f"model: {spec.name!r} is an encoder; prefill/decode need a decoder")
    return spec


# --------------------------------------------------------------------------- layers
def expected_experts_touched(n_experts: int, top_k: int, tokens: float) -> float:
    """Expected distinct experts hit by ``tokens`` tokens, each routed to ``top_k`` distinct
    experts uniformly and independently: ``E * (1 - (1 - k/E)**tokens)``; 1 <= top_k <= E,
    tokens >= 0 (an expected count may be fractional)."""
    check_int("n_experts", n_experts)
    check_int("top_k", top_k, maximum=n_experts)
    check_number("tokens", tokens, minimum=0.0)
    return n_experts * (1.0 - (1.0 - top_k / n_experts) ** tokens)


def _attention(s: LLMSpec, b: int, n: int, c: int, p: Precision, mla: str) -> list[OpCount]:
    d, h, r, ab, kvb = s.d_model, s.n_heads, b * n, p.act_bytes, p.kv_bytes
    bias, scores = s.attention_bias, b * h * n * c
    if not s.is_mla:
        hd, kvh = s.head_dim, s.n_kv_heads
        q_k, q_v = hd, hd
        ops = [
            linear("q_proj", "attention", r, d, h * hd, p, bias=bias),
            linear("k_proj", "attention", r, d, kvh * hd, p, bias=bias, out_kv=True),
            linear("v_proj", "attention", r, d, kvh * hd, p, bias=bias, out_kv=True),
            elementwise("rope", "attention", r * (h + kvh) * hd, ROPE_FLOPS_PER_ELEMENT, p),
        ]
        # (KV-cache bytes, activation bytes) of the keys and of the values read by attention
        k_read = v_read = (b * c * kvh * hd * kvb, 0.0)  # all context keys (values) of the kv heads
        o_in = h * hd
    else:
        nope, rope, vd = s.qk_nope_head_dim, s.qk_rope_head_dim, s.v_head_dim
        ql, kl = s.q_lora_rank, s.kv_lora_rank
        if ql:
            ops = [
                linear("q_a_proj", "attention", r, d, ql, p, bias=bias),
                elementwise("q_a_norm", "attention", r * ql, RMSNORM_FLOPS_PER_ELEMENT, p, params=ql),
                linear("q_b_proj", "attention", r, ql, h * (nope + rope), p),
            ]
        else:
            ops = [linear("q_proj", "attention", r, d, h * (nope + rope), p)]
        ops += [
            linear("kv_a_proj", "attention", r, d, kl + rope, p, bias=bias, out_kv=True),
            elementwise("kv_a_norm", "attention", r * kl, RMSNORM_FLOPS_PER_ELEMENT, p, params=kl),
            elementwise("rope", "attention", r * (h + 1) * rope, ROPE_FLOPS_PER_ELEMENT, p),
        ]
        if mla == "expanded":
            ops.append(linear("kv_b_proj", "attention", b * c, kl, h * (nope + vd), p, in_kv=True))
            q_k, q_v = nope + rope, vd
            # expanded per-head K (nope part) and V are activations; the shared rope key is cached
            k_read, v_read = (b * c * rope * kvb, b * c * h * nope * ab), (0.0, b * c * h * vd * ab)
        else:
            ops.append(linear("q_absorb", "attention", r * h, nope, kl, p, weight_copies=h))
            q_k, q_v = kl + rope, kl
            k_read, v_read = (b * c * (kl + rope) * kvb, 0.0), (b * c * kl * kvb, 0.0)
        o_in = h * vd
    ops += [
        OpCount(
            "qk_matmul",
            "attention",
            flops=2 * scores * q_k,
            matmul_flops=2 * scores * q_k,
            kv_bytes=k_read[0],
            act_bytes=(r * h * q_k + scores) * ab + k_read[1],
        ),
        elementwise("softmax", "attention", scores, SOFTMAX_FLOPS_PER_ELEMENT, p),
        OpCount(
            "sv_matmul",
            "attention",
            flops=2 * scores * q_v,
            matmul_flops=2 * scores * q_v,
            kv_bytes=v_read[0],
            act_bytes=(scores + r * h * q_v) * ab + v_read[1],
        ),
    ]
    if s.is_mla and mla == "absorbed":
        ops.append(linear("v_absorb", "attention", r * h, s.kv_lora_rank, s.v_head_dim, p, weight_copies=h))
    ops.append(linear("o_proj", "attention", r, o_in, d, p, bias=bias))
    return ops


def _swiglu(prefix: str, group: str, rows: float, d: int, f: int, p: Precision, copies: float = 1.0) -> list[OpCount]:
    """A SwiGLU MLP on ``rows`` tokens; ``copies`` weight sets read (distinct experts)."""
    return [
        linear(f"{prefix}gate_proj", group, rows, d, f, p, weight_copies=copies),
        linear(f"{prefix}up_proj", group, rows, d, f, p, weight_copies=copies),
        elementwise(f"{prefix}silu_mul", group, rows * f, SILU_MUL_FLOPS_PER_ELEMENT, p, inputs=2),
        linear(f"{prefix}down_proj", group, rows, f, d, p, weight_copies=copies),
    ]


def _layer(s: LLMSpec, b: int, n: int, c: int, p: Precision, mla: str, moe: bool) -> list[OpCount]:
    d, r = s.d_model, b * n
    ops = [
        elementwise("rmsnorm", "norm", r * d, RMSNORM_FLOPS_PER_ELEMENT, p, params=d, calls=2),
        *_attention(s, b, n, c, p, mla),
        elementwise("residual_add", "norm", r * d, RESIDUAL_FLOPS_PER_ELEMENT, p, inputs=2, calls=2),
    ]
    if not moe:
        return ops + _swiglu("", "mlp", r, d, s.d_ff, p)
    e, k = s.n_experts, s.top_k
    touched = expected_experts_touched(e, k, r)
    ops += [
        linear("router", "moe", r, d, e, p),
        elementwise("router_softmax", "moe", r * e, ROUTER_FLOPS_PER_ELEMENT, p),
        *_swiglu("expert_", "moe", r * k, d, s.moe_d_ff, p, copies=touched),
        OpCount(
            "expert_combine",
            "moe",
            flops=r * k * d * COMBINE_FLOPS_PER_ELEMENT,
            act_bytes=(r * k * d + r * d) * p.act_bytes,
        ),
    ]
    if s.n_shared_experts:
        ops += _swiglu("shared_", "moe", r, d, s.n_shared_experts * s.moe_d_ff, p)
    return ops


def pass_ops(
    model: Any,
    batch: int,
    n_new: int,
    n_ctx: int,
    precision: Precision = BF16,
    *,
    mla: str = "auto",
    logits: str = "all",
) -> list[OpCount]:
    """All ops of one forward pass: ``batch`` sequences of ``n_new`` new tokens attending to
    ``n_ctx`` keys each (prefill: ``n_new = n_ctx``), summed over layers, in order."""
    spec, precision = get_spec(model), as_precision(precision)
    batch, n_new = check_int("batch", batch, 1), check_int("n_new", n_new, 1)
    n_ctx = check_int("n_ctx", n_ctx, n_new)
    if mla not in MLA_MODES:
        raise LLMError(f"mla: expected one of {list(MLA_MODES)}, got {mla!r}")
    if logits not in LOGITS_MODES:
        raise LLMError(f"logits: expected one of {list(LOGITS_MODES)}, got {logits!r}")
    if isinstance(spec, tfm.TransformerSpec):
        ops = tfm.pass_ops(spec, n_new, n_ctx, precision, batch, True, True)
        if logits == "last":
            ops = [
                o if o.name != "lm_head" else linear("lm_head", "head", batch, spec.d_model, spec.vocab_size, precision)
                for o in ops
            ]
        return ops
    mode = mla if mla != "auto" else ("expanded" if n_new == n_ctx else "absorbed")
    d, r = spec.d_model, batch * n_new
    merged: dict[str, OpCount] = {}
    for moe, count in ((False, spec.n_layers - spec.n_moe_layers), (True, spec.n_moe_layers)):
        if count:
            merge([op.scaled(count) for op in _layer(spec, batch, n_new, n_ctx, precision, mode, moe)], merged)
    head_rows = r if logits == "all" else batch
    return [
        OpCount(
            "embedding", "head", 0, weight_bytes=r * d * precision.weight_bytes, act_bytes=r * d * precision.act_bytes
        ),
        *merged.values(),
        elementwise("final_norm", "norm", r * d, RMSNORM_FLOPS_PER_ELEMENT, precision, params=d),
        linear("lm_head", "head", head_rows, d, spec.vocab_size, precision),
    ]


# --------------------------------------------------------------------------- profiles
Phase = Literal["prefill", "decode"]


@dataclass(frozen=True)
class LLMProfile:
    """Totals of one forward pass. Units: FLOPs, bytes; intensity in FLOPs per byte."""

    model: str
    phase: Phase
    batch: int
    n_new: int
    n_ctx: int
    precision: Precision
    ops: tuple[OpCount, ...]

    def _sum(self, attr: str) -> float:
        return float(sum(getattr(o, attr) for o in self.ops))

    @property
    def flops(self) -> float:
        return self._sum("flops")

    @property
    def matmul_flops(self) -> float:
        """FLOPs of the matrix multiplications (what FlopCounterMode counts)."""
        return self._sum("matmul_flops")

    @property
    def bytes(self) -> float:
        return self._sum("bytes")

    @property
    def weight_bytes(self) -> float:
        return self._sum("weight_bytes")

    @property
    def kv_bytes(self) -> float:
        return self._sum("kv_bytes")

    @property
    def act_bytes(self) -> float:
        return self._sum("act_bytes")

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs / bytes."""
        return self.flops / self.bytes

    def totals(self) -> dict[str, float]:
        """``flops``, ``matmul_flops``, ``bytes``, ``weight_bytes``, ``kv_bytes``,
        ``act_bytes`` and ``arithmetic_intensity``."""
        return totals(self.ops)


def prefill(
    model: Any, batch: int, tokens: int, precision: Precision | str = BF16, *, mla: str = "auto", logits: str = "all"
) -> LLMProfile:
    """The prefill of ``tokens`` prompt tokens for ``batch`` sequences (one forward pass)."""
    b, t, p = check_int("batch", batch, 1), check_int("tokens", tokens, 1), as_precision(precision)
    spec = get_spec(model)
    ops = pass_ops(spec, b, t, t, p, mla=mla, logits=logits)
    return LLMProfile(spec.name, "prefill", b, t, t, p, tuple(ops))


def decode_step(
    model: Any, batch: int, context_len: int, precision: Precision | str = BF16, *, mla: str = "auto"
) -> LLMProfile:
    """One decoding step for ``batch`` sequences whose KV cache holds ``context_len`` tokens
    (attention spans ``context_len + 1`` keys)."""
    b, c, p = check_int("batch", batch, 1), check_int("context_len", context_len, 0), as_precision(precision)
    spec = get_spec(model)
    return LLMProfile(spec.name, "decode", b, 1, c + 1, p, tuple(pass_ops(spec, b, 1, c + 1, p, mla=mla)))


def decode_intensity(model: Any, batch: int, context_len: int, precision: Precision | str = BF16) -> float:
    """Arithmetic intensity (FLOPs/byte) of one decode step (:func:`decode_step`)."""
    return decode_step(model, batch, context_len, precision).arithmetic_intensity


def critical_batch(
    model: Any,
    context_len: int,
    ridge_flops_per_byte: float,
    precision: Precision | str = BF16,
    max_batch: int = 1 << 20,
) -> int | None:
    """Smallest decode batch whose step reaches ``ridge_flops_per_byte`` (a roofline's peak
    FLOP/s over bandwidth), by binary search (intensity rises with batch); ``None`` if not
    reached by ``max_batch`` (the KV cache, read per sequence, caps decode intensity)."""
    spec, p = get_spec(model), as_precision(precision)
    return smallest_batch(lambda b: decode_intensity(spec, b, context_len, p), ridge_flops_per_byte, max_batch)


def smallest_batch(intensity_at: Callable[[int], float], ridge_flops_per_byte: float, max_batch: int) -> int | None:
    """Smallest batch ``b`` in 1..``max_batch`` with ``intensity_at(b) >= ridge_flops_per_byte``
    (FLOPs/byte), by binary search (intensity rises with batch); None if ``max_batch`` falls short."""
    if isinstance(ridge_flops_per_byte, bool) or not isinstance(ridge_flops_per_byte, numbers.Real):
        raise TypeError(f"ridge_flops_per_byte: expected a number, got {ridge_flops_per_byte!r}")
    if not ridge_flops_per_byte > 0:
        raise LLMError(f"ridge_flops_per_byte: expected a positive number, got {ridge_flops_per_byte!r}")
    hi = check_int("max_batch", max_batch, 1)
    if intensity_at(hi) < ridge_flops_per_byte:
        return None
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if intensity_at(mid) >= ridge_flops_per_byte else (mid + 1, hi)
    return lo
