"""Progress of the slow steps (per model, per length, per chain), where a run would otherwise be silent.

:func:`progress` wraps an iterable; :func:`report` says one thing. Where they go depends on who
runs the notebook, told by ``MEMWALL_PROGRESS``, which ``python -m memwall_lib`` (``make
figures``, ``make one``) sets for the kernel it starts:

- ``lines``: one plain line per step on the runner's console (the kernel's own stderr, which
  the kernel inherits from the runner), prefixed with the notebook's name
  (``MEMWALL_PROGRESS_LABEL``), so the lines of two notebooks run side by side stay readable
  and a log file or CI shows them as they happen;
- ``bars``: ``tqdm`` bars on that console (a terminal, one notebook at a time);
- ``off``: nothing;
- unset (JupyterLab, a user's papermill): bars in the cell's output; :func:`report` prints there.

Every line also touches the file named by ``MEMWALL_HEARTBEAT`` (if set), so the runner knows
the kernel spoke and prints a "still running" line only after a silence.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: The environment variable the runner sets for its kernels: "lines", "bars" or "off".
PROGRESS_ENV = "MEMWALL_PROGRESS"
#: The prefix of every console line (the notebook's name), set by the runner.
LABEL_ENV = "MEMWALL_PROGRESS_LABEL"
#: A file whose modification time the kernel updates on every console line, set by the runner.
HEARTBEAT_ENV = "MEMWALL_HEARTBEAT"
#: The modes :data:`PROGRESS_ENV` takes.
MODES = ("lines", "bars", "off")


def mode() -> str:
    """The progress mode of this process: one of :data:`MODES`, or "" (in a cell)."""
    return os.environ.get(PROGRESS_ENV, "")


def console_line(message: str, label: str | None = None) -> str:
    """``message`` as a console line: ``[label] message`` (label from :data:`LABEL_ENV`)."""
    label = os.environ.get(LABEL_ENV, "") if label is None else label
    return f"[{label}] {message}" if label else message


def beat() -> None:
    """Tell the runner this kernel spoke (touch :data:`HEARTBEAT_ENV`'s file, if any)."""
    path = os.environ.get(HEARTBEAT_ENV, "")
    if path:
        try:
            os.utime(path)
        except OSError:
            pass


def report(message: str) -> None:
    """Say ``message`` where the person running this sees it: a line on the runner's console
    (modes ``lines`` and ``bars``), the cell's output (unset), nowhere (``off``)."""
    current = mode()
    if current == "off":
        return
    if current in ("lines", "bars"):
        stream = sys.__stderr__ or sys.stderr
        print(console_line(message), file=stream, flush=True)
        beat()
    else:
        print(message, file=sys.stderr, flush=True)


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"


def progress(items: Iterable[T], desc: str, total: int | None = None, inner: bool = False) -> Iterator[T]:
    """``items``, with a bar or a line per item labelled ``desc`` (see the module docstring).
    An ``inner`` loop (the lengths of one model, inside the bar over models) prints its lines
    in mode ``lines`` and draws no bar of its own."""
    current = mode()
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if current == "off" or (inner and current != "lines"):
        yield from items
        return
    if current == "lines":
        t0 = time.perf_counter()
        of = f"/{total}" if total is not None else ""
        for i, item in enumerate(items, 1):
            report(f"{desc}: {i}{of} {item} ({_seconds(time.perf_counter() - t0)} so far)")
            yield item
        report(f"{desc}: done in {_seconds(time.perf_counter() - t0)}")
        return
    from tqdm import tqdm

    stream = (sys.__stderr__ or sys.stderr) if current == "bars" else sys.stderr
    bar = tqdm(items, desc=desc, total=total, file=stream, leave=current != "bars", dynamic_ncols=True, mininterval=0.5)
    for item in bar:
        beat()
        yield item
