"""Training memory of a model the user gives (a preset name or a Hugging Face ``config.json``,
resolved by :func:`memwall_lib.engines.models.configs.resolve_model`), counted on the meta
device by :func:`.training.account`: nothing is allocated, a 7B model at 2048 tokens takes
about a second.

The model is built from its config with ``from_config`` on meta
(:func:`~memwall_lib.engines.models.configs.build_on_meta`) with the language-model head it
trains with: a causal-LM head on a decoder (next-token loss), a masked-LM head on an encoder
(the loss over every position, as the BERT-Large of Figure 4 is counted). Attention is
PyTorch's scaled-dot-product attention (``sdpa``), or ``eager`` for an architecture that has
no SDPA path (Gemma 2). On the meta device SDPA runs its math path, which saves the attention
probabilities (batch x heads x tokens^2 per layer) as eager attention does; a fused kernel
(FlashAttention on a GPU) keeps its inputs, output and log-sum-exp instead, so for a
fused-kernel training run the saved activations are an upper bound.

Units: bytes; tokens are positions per sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core.checks import check_int
from ..models.configs import Head, ModelConfigError, build_on_meta, model_kind
from .training import PRECISIONS, TrainingMemory, account, check_choice


@dataclass(frozen=True)
class ConfigTraining:
    """A config's model ready for one training step on meta: the ``model`` (train mode), its
    ``forward(model) -> loss``, the ``head`` it trains with (``causal_lm`` or ``masked_lm``)
    and the attention path it was built with (``sdpa`` or ``eager``)."""

    model: Any
    forward: Callable[[Any], Any]
    head: str
    attn_implementation: str


def max_positions(config: Any) -> int | None:
    """The positions a config's model was built for (``max_position_embeddings``, GPT-2's
    ``n_positions``), None if it states none."""
    text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    value = getattr(text, "max_position_embeddings", None)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def check_tokens(config: Any, tokens: int, what: str = "tokens") -> int:
    """``tokens`` if it is a positive integer no larger than :func:`max_positions` of
    ``config``; else ValueError with one line naming ``what`` and the limit."""
    check_int(what, tokens)
    limit = max_positions(config)
    if limit is not None and tokens > limit:
        raise ValueError(
            f"{what}: {tokens} tokens exceed the {limit} positions model_type {config.model_type!r} "
            "is built for (max_position_embeddings)"
        )
    return tokens


def config_training(config: Any, *, batch_size: int = 1, tokens: int = 2048, precision: str = "fp32") -> ConfigTraining:
    """The :class:`ConfigTraining` of ``config`` at ``batch_size`` sequences of ``tokens``
    token ids (zeros: the ids do not change what is saved), parameters in float32 (``fp32``)
    or bfloat16 (``mixed``), on the meta device."""
    import torch

    check_int("batch_size", batch_size)
    check_tokens(config, tokens)
    check_choice("precision", precision, PRECISIONS)
    head: Head = "causal_lm" if model_kind(config) == "decoder" else "masked_lm"
    dtype = torch.bfloat16 if precision == "mixed" else torch.float32
    try:
        model, attn = build_on_meta(config, head=head, attn_implementation="sdpa", dtype=dtype), "sdpa"
    except ModelConfigError as exc:
        if "attn_implementation='eager'" not in str(exc):
            raise
        model, attn = build_on_meta(config, head=head, attn_implementation="eager", dtype=dtype), "eager"
    ids = torch.zeros(batch_size, tokens, dtype=torch.long, device="meta")
    return ConfigTraining(model.train(), lambda m: m(input_ids=ids, labels=ids).loss, head, attn)


def config_model_memory(
    config: Any,
    *,
    batch_size: int = 1,
    tokens: int = 2048,
    optimizer: str = "adam",
    precision: str = "fp32",
    mask_target: str = "cuda",
    name: str = "",
) -> tuple[TrainingMemory, ConfigTraining]:
    """:func:`.training.account` of one training step of ``config``'s model
    (:func:`config_training`) with ``optimizer``, dropout masks as ``mask_target`` stores them;
    returned with the :class:`ConfigTraining` it ran (head, attention path)."""
    run = config_training(config, batch_size=batch_size, tokens=tokens, precision=precision)
    memory = account(
        run.model,
        run.forward,
        optimizer=optimizer,
        precision=precision,
        name=name or config.model_type,
        batch_size=batch_size,
        mask_target=mask_target,
    )
    return memory, run
