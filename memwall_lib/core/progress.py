"""Progress of the slow steps (per model, per chain), where a run would otherwise be silent.

:func:`progress` wraps an iterable in a ``tqdm`` bar. Where the bar goes depends on who runs
the notebook: ``python -m memwall_lib`` (``make figures``) sets ``MEMWALL_PROGRESS`` for the
kernel it starts: ``terminal`` draws on the kernel's own stderr, which is the runner's terminal
(the notebook's cell outputs are not shown there), ``off`` draws nothing (not a terminal). In
JupyterLab (variable unset) the bar goes to the cell's output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: The environment variable the runner sets for its kernels: "terminal" or "off".
PROGRESS_ENV = "MEMWALL_PROGRESS"


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """``items``, with a progress bar labelled ``desc`` (see the module docstring)."""
    mode = os.environ.get(PROGRESS_ENV, "")
    if mode == "off":
        yield from items
        return
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with papermill
        yield from items
        return
    stream = sys.__stderr__ if mode == "terminal" else sys.stderr
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    yield from tqdm(
        items, desc=desc, total=total, file=stream, leave=mode != "terminal", dynamic_ncols=True, mininterval=0.5
    )
