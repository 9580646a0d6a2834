"""Named LLM presets as ``transformers`` configs, and checking :mod:`memwall_lib.engines.counts.llm`
against torch's FLOP counter on the real Hugging Face models built from those configs.

Every preset is typed in from the model's paper and its published ``config.json`` (cited
at each function); nothing is downloaded. Models are built with random weights, normally
on the ``meta`` device (shapes only, no memory). transformers and torch are imported
inside the functions.

Units: FLOPs with a multiply-accumulate = 2 FLOPs; parameters are element counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .ops import ProfileError

#: Preset names accepted by :func:`preset_config` (and by every function of :mod:`memwall_lib.engines.counts.llm`).
PRESETS: tuple[str, ...] = ("gpt2", "llama2-7b", "llama3-70b", "mixtral-8x7b", "deepseek-v3")

#: Where each preset's numbers come from.
SOURCES: dict[str, str] = {
    "gpt2": "Radford et al. 2019; https://huggingface.co/openai-community/gpt2/blob/main/config.json",
    "llama2-7b": "Touvron et al. 2023, arXiv:2307.09288, Table 1; "
    "https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json",
    "llama3-70b": "Llama Team 2024, arXiv:2407.21783, Table 3; "
    "https://huggingface.co/meta-llama/Meta-Llama-3-70B/blob/main/config.json",
    "mixtral-8x7b": "Jiang et al. 2024, arXiv:2401.04088, Table 1; "
    "https://huggingface.co/mistralai/Mixtral-8x7B-v0.1/blob/main/config.json",
    "deepseek-v3": "DeepSeek-AI 2024, arXiv:2412.19437, Sec. 4.2; "
    "https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json",
}


def llama2_7b_config() -> Any:
    """Llama 2 7B: 32 layers, d 4096, 32 heads (no GQA at 7B), SwiGLU 11008, vocab 32000,
    4096 context, untied head; 6.74B parameters (arXiv:2307.09288, Table 1)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=4096,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        attn_implementation="eager",
    )


def llama3_70b_config() -> Any:
    """Llama 3 70B: 80 layers, d 8192, 64 query / 8 KV heads (GQA), SwiGLU 28672, vocab
    128256, 8192 context, RoPE theta 500000, untied head; 70.6B parameters
    (arXiv:2407.21783, Table 3)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=128256,
        hidden_size=8192,
        intermediate_size=28672,
        num_hidden_layers=80,
        num_attention_heads=64,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
        attn_implementation="eager",
    )


def mixtral_8x7b_config() -> Any:
    """Mixtral 8x7B: 32 layers, d 4096, 32 query / 8 KV heads, 8 SwiGLU experts of 14336,
    top-2, vocab 32000, 32768 context; 46.7B parameters, 12.9B active (arXiv:2401.04088)."""
    from transformers import MixtralConfig

    return MixtralConfig(
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        num_local_experts=8,
        num_experts_per_tok=2,
        max_position_embeddings=32768,
        rms_norm_eps=1e-5,
        sliding_window=None,
        tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6},
        attn_implementation="eager",
    )


def deepseek_v3_config() -> Any:
    """DeepSeek-V3: 61 layers (first 3 dense, SwiGLU 18432), d 7168, MLA with 128 heads
    (q rank 1536, KV rank 512, nope/rope/v head dims 128/64/128), MoE layers of 1 shared +
    256 routed experts of 2048, top-8 (8 groups, top-4 groups), vocab 129280; 671B
    parameters, 37B active (arXiv:2412.19437). The multi-token-prediction module (14B) is
    not part of the HF model and not counted; YaRN context extension does not change counts."""
    from transformers import DeepseekV3Config

    return DeepseekV3Config(
        vocab_size=129280,
        hidden_size=7168,
        intermediate_size=18432,
        moe_intermediate_size=2048,
        num_hidden_layers=61,
        num_attention_heads=128,
        num_key_value_heads=128,
        n_shared_experts=1,
        n_routed_experts=256,
        num_experts_per_tok=8,
        n_group=8,
        topk_group=4,
        first_k_dense_replace=3,
        routed_scaling_factor=2.5,
        kv_lora_rank=512,
        q_lora_rank=1536,
        qk_rope_head_dim=64,
        qk_nope_head_dim=128,
        v_head_dim=128,
        max_position_embeddings=163840,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        attn_implementation="eager",
    )


def preset_config(name: str) -> Any:
    """The ``transformers`` config of a preset (:data:`PRESETS`); sources in :data:`SOURCES`."""
    from ..models import builders as torch_builders

    builders: dict[str, Callable[[], Any]] = {
        "gpt2": lambda: torch_builders.gpt2_config("gpt2"),
        "llama2-7b": llama2_7b_config,
        "llama3-70b": llama3_70b_config,
        "mixtral-8x7b": mixtral_8x7b_config,
        "deepseek-v3": deepseek_v3_config,
    }
    if not isinstance(name, str):
        raise TypeError(f"model: expected a preset name, got {name!r}")
    if name not in builders:
        raise ProfileError(f"model: unknown preset {name!r}; expected one of {list(PRESETS)}")
    return builders[name]()
