"""A list parameter whose items are a figure's own models or the user's: a name the figure knows
(Figure 4's ``alexnet``, Figure 4b's ``gpt2`` chain), a model preset, or a path to a Hugging Face
``config.json`` (:func:`~memwall_lib.engines.models.configs.resolve_model`). Resolving reads
JSON only, so a parameter's ``validate`` can call :func:`model_sources` before any work.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

from ..core.paths import REPO_ROOT
from ..engines.models.configs import PRESET_NAMES, ModelSource, resolve_model


def looks_like_name(item: str, root: Path = REPO_ROOT) -> bool:
    """Whether ``item`` is a bare name (no folder, no ``.json``, nothing of that name in
    ``root``): it must then be one of the figure's own names or a preset."""
    path = Path(item)
    return path.suffix != ".json" and len(path.parts) == 1 and not (root / path).exists()


def model_sources(
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
