"""Argument checks at the engines' entry points: a bad argument gets a TypeError or ValueError
naming it, never a foreign traceback from torch or transformers (a "negative dimension", an
AttributeError on None) or a silent default."""

from __future__ import annotations

import math
import numbers
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


def check_number(
    name: str, value: Any, minimum: float | None = None, maximum: float | None = None, strict_min: bool = False
) -> float:
    """``value`` as a finite float in [minimum, maximum] (``strict_min``: above ``minimum``);
    TypeError for a non-number (bools included), ValueError for NaN, infinity or out of range,
    each naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r:.60}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name}: expected a finite number, got {number!r}")
    low_fails = minimum is not None and (number <= minimum if strict_min else number < minimum)
    if low_fails or (maximum is not None and number > maximum):
        low = "" if minimum is None else f"{'>' if strict_min else '>='} {minimum:g}"
        high = "" if maximum is None else f"<= {maximum:g}"
        raise ValueError(f"{name}: expected a number {' and '.join(b for b in (low, high) if b)}, got {number:g}")
    return number


def check_shapes(name: str, shapes: Any) -> list[tuple[int, ...]]:
    """``shapes`` as a list of tensor shapes (sequences of non-negative ints); a lone string,
    a non-sequence or a negative or non-integer dimension is a TypeError or ValueError naming
    ``name`` and the item."""
    if isinstance(shapes, (str, bytes)) or not isinstance(shapes, Iterable):
        raise TypeError(f"{name}: expected a list of shapes (sequences of ints), got {shapes!r:.60}")
    checked = []
    for i, shape in enumerate(shapes):
        if isinstance(shape, (str, bytes)) or not isinstance(shape, Iterable):
            raise TypeError(f"{name}[{i}]: expected a shape (a sequence of ints), got {shape!r:.60}")
        checked.append(tuple(check_int(f"{name}[{i}]", d, minimum=0) for d in shape))
    return checked


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
