"""Analytic FLOPs and bytes moved (MOPs) of transformer inference, per operation.

The model follows Kim, Hooper et al., "Full Stack Optimization of Transformer Inference: a
Survey" (arXiv 2302.14017, Sec. 2.2), the source of the paper's Figure 3:

- an **encoder** (BERT) processes the whole sequence of ``l`` tokens in one forward pass
  (matrix-matrix products);
- a **decoder** (GPT-2) generates autoregressively with a KV cache: an optional prompt of
  ``p`` tokens is processed in one pass (prefill), then one token per step until the
  sequence holds ``l`` tokens (matrix-vector products). With no prompt (``p = 0``, the
  survey's convention) that is ``l`` steps whose attention spans 1, 2, ..., ``l`` tokens.

Operation groups, as in the survey: the four attention ``projections`` (Q, K, V, output),
the two activation-to-activation matmuls ``act_act`` (Q.K^T and scores.V, per head), the
two ``ffn`` matmuls, and ``other`` (softmax, layer norms, GELU, residual adds). With
``include_embeddings`` the token/position(/type) lookups form an ``embeddings`` group; with
``include_head`` BERT's pooler or GPT-2's LM head forms a ``head`` group.

Conventions (units: FLOPs with a multiply-accumulate = 2 FLOPs; bytes; GB = 1e9 bytes):

- **bytes of an operation** = its inputs and weights read once plus its outputs written
  once: no fusion between operations, ideal reuse inside one (every element of every
  operand crosses the memory interface exactly once). Weights are re-read at every
  decoding step; token ids (a few bytes per token) are ignored.
- bytes per element are set separately for weights, activations and the KV cache
  (:class:`Precision`); the survey uses 8-bit (1 byte) everywhere.
- a linear layer costs ``2*rows*d_in*d_out`` matmul FLOPs plus ``rows*d_out`` for its bias;
  ``matmul_flops`` holds the first term alone, which is what
  ``torch.utils.flop_counter.FlopCounterMode`` counts.
- element-wise FLOPs per element: softmax 5 (scale, subtract max, exp, sum, divide; the
  causal mask is folded in), layer norm 8, GELU 8 (tanh approximation), residual add 1,
  pooler tanh 1, embedding sum 1 per added table.
- K and V projections of a decoder write the KV cache; the attention matmuls of a decoder
  read it (``kv_bytes``). An encoder keeps K and V as activations (``act_bytes``).
- the LM head is applied to every new token of a forward pass (what a plain Hugging Face
  forward does), so it costs ``p`` rows in a prefill and 1 row per decoding step.

Nothing here imports torch; :func:`get_spec` reads a ``transformers`` config
object but does not need transformers installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...core.checks import check_int
from . import specs
from .ops import (  # part of this engine's API too (tfm.Precision, tfm.FP32, tfm.OpCount ...)
    BF16,
    FP16,
    FP32,
    SURVEY_8BIT,
    OpCount,
    Precision,
    ProfileError,
    elementwise,
    linear,
    merge,
    precision_for_dtype,
)
from .transformer_spec import DECODER_MODEL_TYPES, ENCODER_MODEL_TYPES, Kind, TransformerSpec

__all__ = [
    "BF16",
    "DECODER_MODEL_TYPES",
    "ENCODER_MODEL_TYPES",
    "FP16",
    "FP32",
    "OP_GROUPS",
    "SURVEY_8BIT",
    "SURVEY_GROUPS",
    "SURVEY_MODELS",
    "SURVEY_SEQ_LENS",
    "Kind",
    "OpCount",
    "Precision",
    "Profile",
    "ProfileError",
    "TransformerSpec",
    "get_spec",
    "layer_ops",
    "pass_ops",
    "precision_for_dtype",
    "profile",
    "profile_models",
    "sweep",
]

#: Operation groups; the first four are the survey's (its default totals use only these).
OP_GROUPS: tuple[str, ...] = ("projections", "act_act", "ffn", "other", "embeddings", "head")
SURVEY_GROUPS: tuple[str, ...] = OP_GROUPS[:4]

#: FLOPs per element of the element-wise operations (see the module docstring).
SOFTMAX_FLOPS_PER_ELEMENT = 5
LAYERNORM_FLOPS_PER_ELEMENT = 8
GELU_FLOPS_PER_ELEMENT = 8
RESIDUAL_FLOPS_PER_ELEMENT = 1

#: The survey's sequence lengths for Figure 3 (the models' position limits are ignored).
SURVEY_SEQ_LENS: tuple[int, ...] = (128, 256, 512, 1024, 2048, 4096)
#: The survey's three models (GPT-2 is the 124M model).
SURVEY_MODELS: tuple[str, ...] = ("bert-base", "bert-large", "gpt2")


def _layernorm(name: str, group: str, rows: int, d: int, p: Precision, calls: int = 1) -> OpCount:
    """A layer norm over ``rows`` x ``d`` activations with its gain and bias (``d`` each)."""
    return elementwise(name, group, rows * d, LAYERNORM_FLOPS_PER_ELEMENT, p, params=2 * d, calls=calls)


def get_spec(model: str | TransformerSpec | Any) -> TransformerSpec:
    """The :class:`TransformerSpec` of a survey model name, a spec or a BERT/RoBERTa/GPT-2
    config (any other model is a :class:`ProfileError`)."""
    spec = specs.get_spec(model)
    if not isinstance(spec, TransformerSpec):
        raise ProfileError(
            f"model: {spec.name!r} is not a BERT-like encoder or GPT-2-like decoder; "
            "the survey's model counts only those (use engines.counts.llm or the tracer)"
        )
    return spec


def layer_ops(
    spec: TransformerSpec, n_new: int, n_ctx: int, precision: Precision = SURVEY_8BIT, batch: int = 1
) -> list[OpCount]:
    """The operations of one transformer layer: ``n_new`` query tokens attending to ``n_ctx``
    keys (an encoder: ``n_new = n_ctx = l``; a decoding step: ``n_new = 1``)."""
    d, h, f, p = spec.d_model, spec.n_heads, spec.d_ff, precision
    cached = spec.kind == "decoder"  # a decoder's K and V are the KV cache, an encoder's activations
    r = batch * n_new  # rows of every token-wise op
    scores = batch * h * n_new * n_ctx  # elements of the attention score matrices
    kv_read = batch * n_ctx * d  # elements of all heads' K (or V) for the context
    act_act_mm = 2 * scores * spec.head_dim

    def act_act(name: str, act_elements: int) -> OpCount:
        """Q.K^T or scores.V per head: the queries (or scores) and outputs, and K (or V)."""
        return OpCount(
            name,
            "act_act",
            flops=act_act_mm,
            matmul_flops=act_act_mm,
            kv_bytes=kv_read * p.kv_bytes if cached else 0,
            act_bytes=act_elements * p.act_bytes + (0 if cached else kv_read * p.act_bytes),
        )

    return [
        linear("q_proj", "projections", r, d, d, p, bias=True),
        linear("k_proj", "projections", r, d, d, p, bias=True, out_kv=cached),
        linear("v_proj", "projections", r, d, d, p, bias=True, out_kv=cached),
        act_act("qk_matmul", r * d + scores),  # (n_new x dh) by (dh x n_ctx), h heads
        elementwise("softmax", "other", scores, SOFTMAX_FLOPS_PER_ELEMENT, p),
        act_act("sv_matmul", scores + r * d),  # (n_new x n_ctx) by (n_ctx x dh), h heads
        linear("out_proj", "projections", r, d, d, p, bias=True),
        elementwise("residual_add", "other", r * d, RESIDUAL_FLOPS_PER_ELEMENT, p, inputs=2, calls=2),
        _layernorm("layernorm", "other", r, d, p, calls=2),
        linear("ffn1", "ffn", r, d, f, p, bias=True),
        elementwise("gelu", "other", r * f, GELU_FLOPS_PER_ELEMENT, p),
        linear("ffn2", "ffn", r, f, d, p, bias=True),
    ]


def pass_ops(
    spec: TransformerSpec,
    n_new: int,
    n_ctx: int,
    precision: Precision,
    batch: int,
    include_embeddings: bool,
    include_head: bool,
) -> list[OpCount]:
    """All operations of one forward pass (layers summed, then the non-layer parts)."""
    d, p, r = spec.d_model, precision, batch * n_new
    ops = [op.scaled(spec.n_layers) for op in layer_ops(spec, n_new, n_ctx, precision, batch)]
    if spec.final_layernorm:
        ops.append(_layernorm("final_layernorm", "other", r, d, p))
    if include_embeddings:
        tables = 2 + (1 if spec.type_vocab_size > 0 else 0)  # token, position (, type)
        lookup = OpCount(
            "embedding_lookup",
            "embeddings",
            flops=r * d * (tables - 1),  # the sum of the looked-up rows
            weight_bytes=r * d * tables * p.weight_bytes,
            act_bytes=r * d * p.act_bytes,
            calls=tables,
        )
        ops.append(lookup)
        if spec.embedding_layernorm:
            ops.append(_layernorm("embedding_layernorm", "embeddings", r, d, p))
    if include_head:
        if spec.kind == "encoder" and spec.pooler:  # dense + tanh on the first token
            ops.append(
                linear("pooler", "head", batch, d, d, p, bias=True) + elementwise("pooler", "head", batch * d, 1, p)
            )
        elif spec.kind == "decoder":
            ops.append(linear("lm_head", "head", r, d, spec.vocab_size, p))
    return ops


# --------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class Profile:
    """Totals of one inference workload, per operation (summed over layers and steps).

    ``forward_calls`` is the number of forward passes (1 for an encoder, the prefill plus
    the decoding steps for a decoder). Units: FLOPs, bytes; ``gflops`` = 1e9 FLOPs,
    ``mops_gb`` = 1e9 bytes.
    """

    spec: TransformerSpec
    seq_len: int
    prompt_len: int
    batch: int
    precision: Precision
    include_embeddings: bool
    include_head: bool
    forward_calls: int
    ops: tuple[OpCount, ...] = field(repr=False)

    @property
    def flops(self) -> float:
        return float(sum(op.flops for op in self.ops))

    @property
    def bytes(self) -> float:
        return float(sum(op.bytes for op in self.ops))

    @property
    def matmul_flops(self) -> float:
        """FLOPs of the matrix multiplications alone (what FlopCounterMode counts)."""
        return float(sum(op.matmul_flops for op in self.ops))

    @property
    def gflops(self) -> float:
        return self.flops / 1e9

    @property
    def mops_gb(self) -> float:
        return self.bytes / 1e9

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte moved."""
        return self.flops / self.bytes

    def by_group(self) -> dict[str, dict[str, float]]:
        """FLOPs, bytes and their shares of the total, per op group present."""
        out: dict[str, dict[str, float]] = {}
        for g in OP_GROUPS:
            fl = sum(op.flops for op in self.ops if op.group == g)
            by = sum(op.bytes for op in self.ops if op.group == g)
            if any(op.group == g for op in self.ops):
                out[g] = {
                    "flops": float(fl),
                    "bytes": float(by),
                    "flops_share": float(fl / self.flops),
                    "bytes_share": float(by / self.bytes),
                }
        return out


def profile(
    model: str | TransformerSpec | Any,
    seq_len: int,
    *,
    batch: int = 1,
    precision: Precision = SURVEY_8BIT,
    prompt_len: int = 0,
    include_embeddings: bool = False,
    include_head: bool = False,
) -> Profile:
    """Per-operation FLOPs and bytes of inference of ``model`` at ``seq_len`` tokens.

    ``model`` is a name (``bert-base``, ``bert-large``, ``gpt2`` ...), a
    :class:`TransformerSpec` or a ``transformers`` config. Encoders: one forward pass over
    ``seq_len`` tokens. Decoders: a prefill of ``prompt_len`` tokens (0 or 1: none, the
    survey's convention), then one step per token until the sequence holds ``seq_len``
    tokens, each attending to all tokens so far through the KV cache.

    The defaults are the survey's convention (8-bit, no embeddings, no pooler/LM head).
    """
    spec = get_spec(model)
    seq_len = check_int("seq_len", seq_len, 1)
    batch = check_int("batch", batch, 1)
    prompt_len = check_int("prompt_len", prompt_len, 0)
    if not isinstance(precision, Precision):
        raise ProfileError(f"precision: expected a Precision, got {precision!r}")
    if prompt_len > seq_len:
        raise ProfileError(f"prompt_len ({prompt_len}) must not exceed seq_len ({seq_len})")
    if spec.kind == "encoder" and prompt_len not in (0, seq_len):
        raise ProfileError(f"prompt_len: an encoder processes the whole sequence at once; expected 0, got {prompt_len}")
    args = (precision, batch, include_embeddings, include_head)
    ops: dict[str, OpCount] = {}
    if spec.kind == "encoder":
        merge(pass_ops(spec, seq_len, seq_len, *args), ops)
        calls = 1
    else:
        first = max(prompt_len, 1)  # the prefill (or the first token alone)
        merge(pass_ops(spec, first, first, *args), ops)
        n_steps = seq_len - first
        if n_steps:
            # Each step is affine in its context length t, so the sum over t = a..b equals
            # n_steps * (f(a) + f(b)) / 2 exactly.
            lo = pass_ops(spec, 1, first + 1, *args)
            hi = pass_ops(spec, 1, seq_len, *args)
            merge([(a + b).scaled(n_steps / 2) for a, b in zip(lo, hi)], ops)
        calls = 1 + n_steps
    return Profile(
        spec, seq_len, prompt_len, batch, precision, include_embeddings, include_head, calls, tuple(ops.values())
    )


def sweep(model: str | TransformerSpec | Any, seq_lens: Sequence[int], **options: Any) -> dict[str, list[float]]:
    """Totals at each length: ``{"seq_len", "gflops", "mops_gb", "arithmetic_intensity"}``
    (GFLOPs = 1e9 FLOPs, GB = 1e9 bytes, FLOPs/byte). ``options`` go to :func:`profile`."""
    if isinstance(seq_lens, (str, bytes)) or not isinstance(seq_lens, Iterable):
        raise ProfileError(f"seq_lens: expected a list of lengths, got {seq_lens!r}")
    profiles = [profile(model, n, **options) for n in seq_lens]
    return {
        "seq_len": [p.seq_len for p in profiles],
        "gflops": [p.gflops for p in profiles],
        "mops_gb": [p.mops_gb for p in profiles],
        "arithmetic_intensity": [p.arithmetic_intensity for p in profiles],
    }


def profile_models(
    models: Mapping[str, Any] | Sequence[str], seq_lens: Sequence[int], **options: Any
) -> dict[str, dict[str, list[float]]]:
    """:func:`sweep` for several models: ``{name: sweep}``. ``models`` is a list of names or
    a mapping name -> name/spec/config (to profile your own ``transformers`` config)."""
    items = models.items() if isinstance(models, Mapping) else [(m, m) for m in models]
    return {name: sweep(m, seq_lens, **options) for name, m in items}
