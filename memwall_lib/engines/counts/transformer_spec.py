"""The shape of a BERT-like encoder or GPT-2-like decoder (:class:`TransformerSpec`), what the
survey's analytic model (:mod:`.transformer`) needs to know of a model, read from a
``transformers`` config. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .ops import ProfileError

Kind = Literal["encoder", "decoder"]

#: ``transformers`` model types understood by :func:`from_config`.
ENCODER_MODEL_TYPES: tuple[str, ...] = ("bert", "roberta")
DECODER_MODEL_TYPES: tuple[str, ...] = ("gpt2",)


# --------------------------------------------------------------------------- model specs
@dataclass(frozen=True)
class TransformerSpec:
    """The shape of a BERT-like encoder or GPT-2-like decoder.

    ``d_ff`` is the FFN (intermediate) size; ``type_vocab_size`` > 0 adds a token-type
    embedding table (BERT); ``pooler`` is BERT's dense+tanh on the first token;
    ``embedding_layernorm`` a layer norm after the embedding sum (BERT);
    ``final_layernorm`` one after the last layer (GPT-2's ``ln_f``).
    """

    name: str
    kind: Kind
    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int = 0
    pooler: bool = False
    embedding_layernorm: bool = False
    final_layernorm: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("encoder", "decoder"):
            raise ProfileError(f"kind: expected 'encoder' or 'decoder', got {self.kind!r}")
        for f in ("n_layers", "d_model", "n_heads", "d_ff", "vocab_size", "max_positions"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ProfileError(f"{f}: expected a positive integer, got {v!r}")
        if self.d_model % self.n_heads:
            raise ProfileError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def n_layer_params(self) -> int:
        """Parameters of the transformer layers (weights, biases, layer norms)."""
        d, f = self.d_model, self.d_ff
        return self.n_layers * (4 * (d * d + d) + (d * f + f) + (f * d + d) + 4 * d)


def from_config(config: Any, name: str | None = None) -> TransformerSpec:
    """A :class:`TransformerSpec` from a ``transformers`` config (BertConfig, RobertaConfig,
    GPT2Config, or any object with the same attribute names).

    The sizes are read through the config's standard names (``hidden_size``,
    ``num_hidden_layers``, ``num_attention_heads``, ``intermediate_size`` or GPT-2's
    ``n_inner``, ``vocab_size``, ``max_position_embeddings``).
    """
    model_type = getattr(config, "model_type", None)
    if model_type in ENCODER_MODEL_TYPES:
        kind: Kind = "encoder"
    elif model_type in DECODER_MODEL_TYPES:
        kind = "decoder"
    else:
        raise ProfileError(
            f"config: model_type {model_type!r} is not supported; expected one of "
            f"{list(ENCODER_MODEL_TYPES + DECODER_MODEL_TYPES)} (BERT-like encoders, GPT-2-like decoders)"
        )
    d = int(config.hidden_size)
    if kind == "encoder":
        d_ff = int(config.intermediate_size)
    else:
        d_ff = int(getattr(config, "n_inner", None) or 4 * d)
    return TransformerSpec(
        name=name or getattr(config, "name_or_path", "") or model_type,
        kind=kind,
        n_layers=int(config.num_hidden_layers),
        d_model=d,
        n_heads=int(config.num_attention_heads),
        d_ff=d_ff,
        vocab_size=int(config.vocab_size),
        max_positions=int(config.max_position_embeddings),
        type_vocab_size=int(getattr(config, "type_vocab_size", 0) or 0) if kind == "encoder" else 0,
        pooler=kind == "encoder",
        embedding_layernorm=kind == "encoder",
        final_layernorm=kind == "decoder",
    )
