"""Model parameters of the notebooks: each item a preset name or a path to a Hugging Face
``config.json`` (:func:`memwall_lib.engines.models.configs.resolve_model`), checked before
any work (``Param(validate=...)``), with one line naming the parameter and the item; or, in a
parameter that also takes a figure's own names (Figure 4's models, Figure 4b's chains), either
(:func:`own_or_model_sources`)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.paths import REPO_ROOT
from ..engines.counts.presets import SOURCES
from ..engines.models.configs import (
    PRESET_NAMES,
    ModelConfigError,
    ModelSource,
    model_kind,
    resolve_model,
    resolve_models,
)


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


def looks_like_name(item: str, root: Path = REPO_ROOT) -> bool:
    """Whether ``item`` is a bare name (no folder, no ``.json``, nothing of that name in
    ``root``): it must then be one of the figure's own names or a preset."""
    path = Path(item)
    return path.suffix != ".json" and len(path.parts) == 1 and not (root / path).exists()


def own_or_model_sources(
    items: Sequence[str], own: Sequence[str], kind: str, listed: str, what: str
) -> dict[str, ModelSource]:
    """``item -> ModelSource`` of every item of ``items`` not among the figure's ``own`` names
    (``kind`` says what one is, e.g. "model of Figure 4"; ``listed`` heads their list, e.g.
    "Figure 4's models"), resolved; ``what[i]`` names the item in errors. ValueError with one line for an unknown name (the closest name, the own
    names and the presets listed), a bad file, or a label another item (or an own name)
    already has."""
    out: dict[str, ModelSource] = {}
    taken = {k.casefold(): f"the {kind} {k!r}" for k in own}
    for i, item in enumerate(items):
        if item in own:
            continue
        if item not in PRESET_NAMES and looks_like_name(item):
            close = difflib.get_close_matches(item, [*own, *PRESET_NAMES], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"{what}[{i}]: {item!r} is not a {kind}{hint}, a model preset or a path to a config.json; "
                f"{listed}: {', '.join(own)}; presets: {', '.join(PRESET_NAMES)}"
            )
        source = resolve_model(item, what=f"{what}[{i}]")
        if source.label.casefold() in taken:
            raise ValueError(
                f"{what}[{i}]: label {source.label!r} is already taken by {taken[source.label.casefold()]}; "
                "rename the file (the label is its _name_or_path or file name)"
            )
        taken[source.label.casefold()] = f"{what}[{i}]"
        out[item] = source
    return out
