"""Building the paper's models from their configurations, with random weights.

Nothing is downloaded: FLOPs, bytes, memory and latency do not depend on weight values.
torch, torchvision and transformers are imported lazily, inside the functions, so that
importing :mod:`memwall_lib` stays fast.

Sizes (hidden, layers, heads, FFN) follow the original papers / Hugging Face configs:
BERT (Devlin et al. 2019), GPT-2 (Radford et al. 2019).
"""

from __future__ import annotations

from typing import Any

#: BERT sizes: hidden size, layers, attention heads, FFN (intermediate) size.
BERT_SIZES: dict[str, dict[str, int]] = {
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "bert-large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}

#: GPT-2 sizes (FFN is 4x hidden): 124M, 355M, 774M and 1.5B parameters.
GPT2_SIZES: dict[str, dict[str, int]] = {
    "gpt2": dict(n_embd=768, n_layer=12, n_head=12),
    "gpt2-medium": dict(n_embd=1024, n_layer=24, n_head=16),
    "gpt2-large": dict(n_embd=1280, n_layer=36, n_head=20),
    "gpt2-xl": dict(n_embd=1600, n_layer=48, n_head=25),
}

#: torchvision constructors of the CNNs of the paper's Figure 4.
TORCHVISION_MODELS: tuple[str, ...] = ("alexnet", "vgg19", "resnet152", "densenet201", "resnext101_64x4d")


def _check_name(name: str, known: dict[str, Any] | tuple[str, ...], what: str) -> None:
    if name not in known:
        raise ValueError(f"unknown {what} {name!r}; expected one of {sorted(known)}")


def bert_config(name: str = "bert-base", max_positions: int = 512,
                attn_implementation: str = "eager") -> Any:
    """A ``transformers.BertConfig`` for ``name``; ``max_positions`` may exceed BERT's 512
    (the position table is simply enlarged: weights are random anyway)."""
    from transformers import BertConfig

    _check_name(name, BERT_SIZES, "BERT size")
    return BertConfig(**BERT_SIZES[name], max_position_embeddings=max(512, int(max_positions)),
                      attn_implementation=attn_implementation)


def gpt2_config(name: str = "gpt2", max_positions: int = 1024,
                attn_implementation: str = "eager") -> Any:
    """A ``transformers.GPT2Config`` for ``name``; ``max_positions`` may exceed 1024."""
    from transformers import GPT2Config

    _check_name(name, GPT2_SIZES, "GPT-2 size")
    return GPT2Config(**GPT2_SIZES[name], n_positions=max(1024, int(max_positions)),
                      attn_implementation=attn_implementation)


def transformer_config(name: str, max_positions: int = 512, attn_implementation: str = "eager") -> Any:
    """The config of a named BERT or GPT-2 size (``bert-base``, ``gpt2-xl``, ...)."""
    if name in BERT_SIZES:
        return bert_config(name, max_positions, attn_implementation)
    if name in GPT2_SIZES:
        return gpt2_config(name, max_positions, attn_implementation)
    raise ValueError(f"unknown model {name!r}; expected one of {sorted(BERT_SIZES) + sorted(GPT2_SIZES)}")


def build_from_config(config: Any, device: str = "cpu", dtype: Any = None, lm_head: bool = True) -> Any:
    """Instantiate a ``transformers`` model from ``config`` in eval mode, random weights.

    BERT configs give ``BertModel`` (encoder, no task head); GPT-2 configs give
    ``GPT2LMHeadModel`` when ``lm_head`` (needed for generation) else ``GPT2Model``.
    ``device="meta"`` allocates nothing (for counting).
    """
    import torch
    from transformers import BertModel, GPT2LMHeadModel, GPT2Model

    kind = getattr(config, "model_type", None)
    cls = {"bert": BertModel, "gpt2": GPT2LMHeadModel if lm_head else GPT2Model}.get(kind)
    if cls is None:
        raise ValueError(f"build_from_config supports BERT and GPT-2 configs, got model_type {kind!r}")
    with torch.device(device):
        model = cls(config)
    if dtype is not None:
        model = model.to(dtype)
    return model.eval()


def build_transformer(name: str, max_positions: int = 512, device: str = "cpu",
                      dtype: Any = None, lm_head: bool = True) -> Any:
    """Build a named BERT or GPT-2 size with random weights (see :func:`transformer_config`)."""
    return build_from_config(transformer_config(name, max_positions), device=device, dtype=dtype,
                             lm_head=lm_head)


def build_torchvision(name: str, device: str = "cpu") -> Any:
    """A torchvision CNN (``alexnet``, ``vgg19``, ``resnet152``, ``densenet201``,
    ``resnext101_64x4d``) with random weights (``weights=None``: nothing downloaded)."""
    import torch
    import torchvision

    _check_name(name, TORCHVISION_MODELS, "torchvision model")
    with torch.device(device):
        return getattr(torchvision.models, name)(weights=None)
