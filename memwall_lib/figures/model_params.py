"""Model parameters of the notebooks: each item a preset name or a path to a Hugging Face
``config.json`` (:func:`memwall_lib.engines.models.configs.resolve_model`), checked before
any work (``Param(validate=...)``), with one line naming the parameter and the item."""

from __future__ import annotations

from typing import Any

from ..core.paths import REPO_ROOT
from ..engines.counts.presets import SOURCES
from ..engines.models.configs import ModelConfigError, ModelSource, model_kind, resolve_model, resolve_models


def model_sources(value: Any, name: str = "models") -> list[ModelSource]:
    """The sources of a list parameter of models (labels distinct)."""
    return resolve_models(list(value), what=name)


def decoder_sources(value: Any, name: str = "models") -> list[ModelSource]:
    """:func:`model_sources` of decoders only (prefill and decode need one)."""
    sources = model_sources(value, name)
    for i, s in enumerate(sources):
        _need_decoder(s, f"{name}[{i}]")
    return sources


def decoder_source(value: Any, name: str = "model") -> ModelSource:
    """The source of one decoder given as a preset name or a config path."""
    return _need_decoder(resolve_model(value, what=name), name)


def _need_decoder(source: ModelSource, what: str) -> ModelSource:
    if model_kind(source.config) != "decoder":
        raise ModelConfigError(f"{what}: {source.label!r} is an encoder; expected a decoder (prefill and decode)")
    return source


def source_text(source: ModelSource, method: str) -> str:
    """Where a model's shape comes from, for a sidecar: a preset's citation, or the file (its
    path relative to the repository where it lies inside) and the counting method."""
    if source.preset is not None:
        return SOURCES.get(source.preset, f"preset {source.preset!r} (memwall_lib.engines.models.builders)")
    path = source.path
    shown = path.relative_to(REPO_ROOT) if path is not None and path.is_relative_to(REPO_ROOT) else path
    how = "analytic formulas" if method == "analytic" else "traced on the meta device"
    return f"{shown} ({how})"
