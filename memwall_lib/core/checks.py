"""Argument checks at the engines' entry points: a bad argument gets a TypeError or ValueError
naming it, never a foreign traceback from torch or transformers (a "negative dimension", an
AttributeError on None) or a silent default."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def check_int(name: str, value: Any, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an int in [minimum, maximum]; TypeError for a non-integer (bools and
    floats included), ValueError out of range, each naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np

            if isinstance(value, np.integer):
                value = int(value)
        except ImportError:  # pragma: no cover - numpy is a dependency
            pass
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: expected an integer <= {maximum}, got {value}")
    return value


def check_module(name: str, model: Any) -> Any:
    """``model`` must be a ``torch.nn.Module``."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{name}: expected a torch.nn.Module, got {type(model).__name__} {model!r:.60}")
    return model


def check_callable(name: str, value: Any) -> Callable[..., Any]:
    if not callable(value):
        raise TypeError(f"{name}: expected a callable, got {value!r:.60}")
    return value


def check_gpt2_config(name: str, config: Any) -> Any:
    """``config`` must be a ``transformers.GPT2Config`` (the architecture the GPT engines build)."""
    from transformers import GPT2Config

    if not isinstance(config, GPT2Config):
        raise TypeError(
            f"{name}: expected a transformers.GPT2Config (GPT-2 architecture), got "
            f"{type(config).__name__}"
            + (f" (model_type {config.model_type!r})" if hasattr(config, "model_type") else "")
        )
    return config


def check_frame(name: str, frame: Any, columns: Iterable[str], what: str = "") -> Any:
    """``frame`` must be a pandas DataFrame holding ``columns``: TypeError for anything else,
    ValueError naming the missing columns (``what``: the table expected, e.g. "the
    peak_flops table of load_hardware")."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{name}: expected a pandas DataFrame{' (' + what + ')' if what else ''}, got {type(frame).__name__}"
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name}: missing column(s) {missing}{' (expected ' + what + ')' if what else ''}; "
            f"it has {list(frame.columns)[:12]}"
        )
    return frame


def check_str_list(name: str, value: Any) -> list[str]:
    """``value`` as a list of strings: a lone string (which would be iterated letter by letter)
    or a non-string item is a TypeError naming ``name``."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name}: expected a list of strings, got the string {value!r} (write [{value!r}])")
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{name}: expected a list of strings, got {value!r}") from None
    bad = [v for v in items if not isinstance(v, str)]
    if bad:
        raise TypeError(f"{name}: expected a list of strings, got the item {bad[0]!r}")
    return items
