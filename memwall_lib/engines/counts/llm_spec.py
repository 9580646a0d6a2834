"""The shape of an LLM (:class:`LLMSpec`: Llama-style GQA, Mixtral/DeepSeek MoE, MLA) read from a
``transformers`` config, and the element-wise FLOP rates of :mod:`.llm`. Conventions and
units: see :mod:`memwall_lib.engines.counts.llm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...core.checks import check_int
from .ops import ProfileError

#: FLOPs per element of the element-wise ops (see :mod:`memwall_lib.engines.counts.llm`).
RMSNORM_FLOPS_PER_ELEMENT = 4  # square, sum, multiply by rsqrt, multiply by the scale
SILU_MUL_FLOPS_PER_ELEMENT = 5  # silu(g) = g / (1 + exp(-g)): 4, times up: 1
ROPE_FLOPS_PER_ELEMENT = 3  # x * cos + rotate_half(x) * sin
ROUTER_FLOPS_PER_ELEMENT = 5
COMBINE_FLOPS_PER_ELEMENT = 2  # scale by the routing weight, add

#: ``transformers`` model types understood by :func:`from_config`.
LLM_MODEL_TYPES: tuple[str, ...] = ("llama", "mixtral", "deepseek_v3")
MLA_MODES: tuple[str, ...] = ("auto", "expanded", "absorbed")
LOGITS_MODES: tuple[str, ...] = ("all", "last")


class LLMError(ProfileError):
    """A model, size or option the LLM model cannot take (a ValueError)."""


# --------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class LLMSpec:
    """Shape of a Llama-style decoder, optionally with MoE MLPs and/or MLA attention.

    Dense when ``n_experts == 0``; GQA attention when ``kv_lora_rank == 0`` (else MLA with
    ``q_lora_rank`` 0 meaning a plain query projection). MoE layers are layers
    ``first_dense_layers .. n_layers-1``; each has ``n_experts`` routed experts of size
    ``moe_d_ff``, top-``top_k``, plus a shared SwiGLU of size ``n_shared_experts * moe_d_ff``.
    """

    name: str
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff: int
    vocab_size: int
    tie_embeddings: bool = False
    attention_bias: bool = False
    n_experts: int = 0
    top_k: int = 0
    moe_d_ff: int = 0
    n_shared_experts: int = 0
    first_dense_layers: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0

    def __post_init__(self) -> None:
        for f in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ff", "vocab_size"):
            check_int(f, getattr(self, f), 1)
        if self.n_heads % self.n_kv_heads:
            raise LLMError(f"n_kv_heads ({self.n_kv_heads}) must divide n_heads ({self.n_heads})")
        if self.n_experts and not 1 <= self.top_k <= self.n_experts:
            raise LLMError(f"top_k: expected 1..n_experts ({self.n_experts}), got {self.top_k}")

    @property
    def kind(self) -> str:
        """Always ``"decoder"`` (as :attr:`TransformerSpec.kind`)."""
        return "decoder"

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def n_moe_layers(self) -> int:
        return self.n_layers - self.first_dense_layers if self.is_moe else 0

    @property
    def kv_elements_per_token(self) -> int:
        """KV-cache elements per token and layer: ``2 * n_kv_heads * head_dim`` (GQA) or
        ``kv_lora_rank + qk_rope_head_dim`` (MLA latent cache)."""
        if self.is_mla:
            return self.kv_lora_rank + self.qk_rope_head_dim
        return 2 * self.n_kv_heads * self.head_dim

    def _attn_params(self) -> int:
        d, h, b = self.d_model, self.n_heads, int(self.attention_bias)
        if not self.is_mla:
            qo, kv = h * self.head_dim, self.n_kv_heads * self.head_dim
            return 2 * d * qo + 2 * d * kv + b * (qo + 2 * kv + d)  # q, o; k, v; biases
        qk = self.qk_nope_head_dim + self.qk_rope_head_dim
        ql, kl = self.q_lora_rank, self.kv_lora_rank
        q = (d * ql + b * ql + ql + ql * h * qk) if ql else d * h * qk
        kv = d * (kl + self.qk_rope_head_dim) + b * (kl + self.qk_rope_head_dim) + kl
        return q + kv + kl * h * (self.qk_nope_head_dim + self.v_head_dim) + h * self.v_head_dim * d + b * d

    def expert_params(self) -> int:
        """Parameters of one routed expert (SwiGLU: gate, up, down)."""
        return 3 * self.d_model * self.moe_d_ff

    @property
    def n_params(self) -> int:
        """All parameters (what ``sum(p.numel())`` of the HF model gives)."""
        d = self.d_model
        layer = self._attn_params() + 2 * d
        moe = self.n_experts * (d + self.expert_params()) + 3 * d * self.moe_d_ff * self.n_shared_experts
        dense = 3 * d * self.d_ff
        n_moe = self.n_moe_layers
        emb = self.vocab_size * d * (1 if self.tie_embeddings else 2)
        return self.n_layers * layer + n_moe * moe + (self.n_layers - n_moe) * dense + emb + d

    @property
    def n_active_params(self) -> int:
        """Parameters used per token: all but the ``n_experts - top_k`` unrouted experts."""
        return self.n_params - self.n_moe_layers * (self.n_experts - self.top_k) * self.expert_params()


def from_config(config: Any, name: str | None = None) -> LLMSpec:
    """An :class:`LLMSpec` from a ``transformers`` LlamaConfig, MixtralConfig or DeepseekV3Config."""
    mt = getattr(config, "model_type", None)
    if mt not in LLM_MODEL_TYPES:
        raise LLMError(f"config: model_type {mt!r} is not supported; expected one of {list(LLM_MODEL_TYPES)}")
    if getattr(config, "sliding_window", None):
        raise LLMError("config: sliding-window attention is not modelled; set sliding_window=None")
    d, h = int(config.hidden_size), int(config.num_attention_heads)
    kw: dict[str, Any] = dict(
        name=name or getattr(config, "name_or_path", "") or mt,
        n_layers=int(config.num_hidden_layers),
        d_model=d,
        n_heads=h,
        n_kv_heads=int(getattr(config, "num_key_value_heads", None) or h),
        head_dim=int(getattr(config, "head_dim", None) or d // h),
        d_ff=int(config.intermediate_size),
        vocab_size=int(config.vocab_size),
        tie_embeddings=bool(config.tie_word_embeddings),
        attention_bias=bool(getattr(config, "attention_bias", False)),
    )
    if getattr(config, "mlp_bias", False):
        raise LLMError("config: mlp_bias=True is not modelled")
    if mt == "mixtral":
        kw.update(
            n_experts=int(config.num_local_experts),
            top_k=int(config.num_experts_per_tok),
            moe_d_ff=int(config.intermediate_size),
        )
    elif mt == "deepseek_v3":
        kw.update(
            n_experts=int(config.n_routed_experts),
            top_k=int(config.num_experts_per_tok),
            moe_d_ff=int(config.moe_intermediate_size),
            n_shared_experts=int(config.n_shared_experts or 0),
            first_dense_layers=min(int(config.first_k_dense_replace or 0), int(config.num_hidden_layers)),
            q_lora_rank=int(config.q_lora_rank or 0),
            kv_lora_rank=int(config.kv_lora_rank),
            qk_nope_head_dim=int(config.qk_nope_head_dim),
            qk_rope_head_dim=int(config.qk_rope_head_dim),
            v_head_dim=int(config.v_head_dim),
            n_kv_heads=h,
            head_dim=int(config.qk_nope_head_dim) + int(config.qk_rope_head_dim),
        )
    return LLMSpec(**kw)
