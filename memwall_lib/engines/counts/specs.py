"""A model's shape for the analytic counters, from a preset name, a spec or a ``transformers``
config: the one :func:`spec_from_config` and the one :func:`get_spec`.

Survey models (BERT/RoBERTa encoders, GPT-2) become a
:class:`~.transformer_spec.TransformerSpec`; Llama, Mixtral and DeepSeek-V3 an
:class:`~.llm_spec.LLMSpec`. Any other architecture is counted by the tracer
(:mod:`.trace`), not here. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import llm_spec, transformer_spec
from .llm_spec import LLMSpec
from .ops import ProfileError
from .transformer_spec import TransformerSpec

Spec = TransformerSpec | LLMSpec

#: Every ``model_type`` an analytic counter can read.
ANALYTIC_MODEL_TYPES: tuple[str, ...] = (
    *transformer_spec.ENCODER_MODEL_TYPES,
    *transformer_spec.DECODER_MODEL_TYPES,
    *llm_spec.LLM_MODEL_TYPES,
)


def spec_from_config(config: Any, name: str | None = None) -> Spec:
    """The spec of a ``transformers`` config: BERT/RoBERTa/GPT-2 -> TransformerSpec; Llama,
    Mixtral, DeepSeek-V3 -> LLMSpec; anything else a :class:`ProfileError`."""
    mt = getattr(config, "model_type", None)
    if mt in llm_spec.LLM_MODEL_TYPES:
        return llm_spec.from_config(config, name)
    if mt in ANALYTIC_MODEL_TYPES:
        return transformer_spec.from_config(config, name)
    raise ProfileError(
        f"config: model_type {mt!r} has no analytic formula; expected one of {list(ANALYTIC_MODEL_TYPES)} "
        "(count any other architecture with memwall_lib.engines.counts.trace)"
    )


def survey_names() -> list[str]:
    """The survey models' names (:mod:`memwall_lib.engines.models.builders`): bert-base, gpt2 ..."""
    from ..models import builders

    return sorted(builders.BERT_SIZES) + sorted(builders.GPT2_SIZES)


def get_spec(model: str | Spec | Any) -> Spec:
    """A spec from a survey model name (``bert-base``, ``gpt2`` ...), an LLM preset name
    (:data:`.presets.PRESETS`), a spec, or a ``transformers`` config. A survey name wins
    where both know it (``gpt2``: the same 124M model)."""
    if isinstance(model, (TransformerSpec, LLMSpec)):
        return model
    if isinstance(model, str):
        from ..models import builders
        from .presets import PRESETS, preset_config

        if model in survey_names():
            return transformer_spec.from_config(builders.transformer_config(model), name=model)
        if model in PRESETS:
            return replace(spec_from_config(preset_config(model)), name=model)
        raise ProfileError(
            f"model: unknown model {model!r}; expected one of {sorted({*survey_names(), *PRESETS})}, "
            "a spec or a transformers config"
        )
    if hasattr(model, "model_type"):
        return spec_from_config(model)
    raise TypeError(f"model: expected a model name, a spec or a transformers config, got {model!r}")
