"""Executing the notebooks with papermill (``make figures``, ``make one`` and the tests).

Executed copies go to ``build/notebooks/`` (ignored by git), never over the sources.

Command line::

    python -m memwall_lib --all                     # every notebook, then claims.md
    python -m memwall_lib notebooks/01_hardware_scaling.ipynb -p year_max 2020 -p output_dir build/mine
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .paths import BUILD_DIR, FIGURES_DIR, NOTEBOOKS_DIR, REPO_ROOT, resolve
from .progress import PROGRESS_ENV

#: The Jupyter kernel the Makefile installs into .venv; python3 is the fallback.
KERNEL_NAME = "memwall"
#: Kernel options: its log says only what is critical (not the "running over TCP without
#: encryption" warning of a loopback kernel, nor "KeyboardInterrupt caught" at shutdown);
#: cell errors still come back through the notebook.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]


def kernel_name() -> str:
    """``memwall`` if that kernel is installed for this Python, else ``python3``."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME if KERNEL_NAME in KernelSpecManager().find_kernel_specs() else "python3"


def notebook_paths() -> list[Path]:
    """Every notebook in ``notebooks/``, in figure order."""
    return sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def run_notebook(
    notebook: str | Path,
    parameters: Mapping[str, Any] | None = None,
    output: str | Path | None = None,
    log_output: bool = False,
    progress_bar: bool = False,
) -> Path:
    """Execute ``notebook`` with papermill and ``parameters``; return the executed copy's path.

    The kernel's working directory is the notebook's folder (as in JupyterLab);
    ``progress_bar`` shows papermill's per-cell progress. Raises papermill's
    PapermillExecutionError (with the failing cell's traceback) on failure.
    """
    import papermill as pm

    nb = resolve(notebook)
    out = Path(output) if output is not None else BUILD_DIR / "notebooks" / nb.name
    out.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(nb),
        str(out),
        parameters=dict(parameters or {}),
        kernel_name=kernel_name(),
        cwd=str(nb.parent),
        progress_bar=progress_bar,
        log_output=log_output,
        extra_arguments=list(KERNEL_ARGUMENTS),
    )
    return out


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _short(p: Path) -> Path:
    return p.relative_to(REPO_ROOT) if p.is_relative_to(REPO_ROOT) else p


#: A check of every notebook's parameters before any runs: (notebooks, overrides) -> None,
#: raising ValueError (ParameterError) naming the notebook and parameter.
Preflight = Callable[[Sequence[Path], Mapping[str, Any]], None]


def main(argv: list[str] | None = None, preflight: Preflight | None = None) -> int:
    """The command line. ``preflight`` (``memwall_lib.figures.preflight.check_run`` from
    ``python -m memwall_lib``) checks every notebook's parameters before the first one runs.
    A parameter error, before or inside a notebook, prints one line and returns 2."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default with --all: every one)")
    parser.add_argument("--all", action="store_true", help="run every notebook in notebooks/")
    parser.add_argument(
        "-p",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="parameter (a Python literal), as papermill's -p",
    )
    parser.add_argument("--no-summary", action="store_true", help="do not rewrite claims.md afterwards")
    parser.add_argument(
        "--summary-only", action="store_true", help="only rewrite claims.md from the sidecars in the output folder"
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="papermill's per-cell progress bar (default: when stderr is a terminal)",
    )
    args = parser.parse_args(argv)
    params = {k: _literal(v) for k, v in args.p}
    from .claims import write_claims_summary

    if args.summary_only:
        summary = write_claims_summary(resolve(params.get("output_dir", FIGURES_DIR)))
        print(f"wrote {summary.relative_to(REPO_ROOT) if summary.is_relative_to(REPO_ROOT) else summary}")
        return 0
    paths = notebook_paths() if args.all else [resolve(p) for p in args.notebooks]
    if not paths:
        parser.error("name a notebook or pass --all")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    if preflight is not None:
        try:
            preflight(paths, params)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    # the kernels inherit this: per-model bars on this terminal, or none (memwall_lib.core.progress)
    os.environ[PROGRESS_ENV] = "terminal" if progress else "off"
    total = time.perf_counter()
    for p in paths:
        t0 = time.perf_counter()
        print(f"running {_short(p)} ...", flush=True)
        try:
            out = run_notebook(p, params, progress_bar=progress)
        except Exception as exc:  # papermill's PapermillExecutionError: one line, not the traceback
            if not hasattr(exc, "ename"):
                raise
            executed = _short(BUILD_DIR / "notebooks" / p.name)
            ename, evalue = exc.ename, getattr(exc, "evalue", "")
            print(f"error: {_short(p)}: {ename}: {evalue}", file=sys.stderr)
            if ename != "ParameterError":
                print(f"  the traceback is in {executed}", file=sys.stderr)
            return 2 if ename == "ParameterError" else 1
        print(f"  done in {time.perf_counter() - t0:.1f} s -> {_short(out)}", flush=True)
    if args.no_summary:
        return 0
    # the summary goes where the figures went: figures/ unless -p output_dir said otherwise
    summary = write_claims_summary(resolve(params.get("output_dir", FIGURES_DIR)))
    print(
        f"wrote {summary.relative_to(REPO_ROOT) if summary.is_relative_to(REPO_ROOT) else summary}; total {time.perf_counter() - total:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
