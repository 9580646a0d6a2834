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
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.params import ParameterError
from ..core.paths import BUILD_DIR, FIGURES_DIR, NOTEBOOKS_DIR, REPO_ROOT, resolve
from ..core.progress import HEARTBEAT_ENV, LABEL_ENV, MODES, PROGRESS_ENV, console_line

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


def executed_path(notebook: Path, parameters: Mapping[str, Any]) -> Path:
    """Where the executed copy of ``notebook`` goes: ``build/notebooks/`` for a run into
    ``figures/``, ``<output_dir>/notebooks/`` for a run with its own ``output_dir`` (so a run
    of your own never overwrites the executed copy of ``make figures``)."""
    out_dir = parameters.get("output_dir")
    if isinstance(out_dir, str | Path) and str(out_dir).strip() and resolve(out_dir) != FIGURES_DIR:
        return resolve(out_dir) / "notebooks" / notebook.name
    return BUILD_DIR / "notebooks" / notebook.name


def default_progress() -> str:
    """``bars`` on a terminal when one notebook runs at a time; ``lines`` piped to a file or
    log, or under a parallel ``make`` (two notebooks' bars would overwrite each other)."""
    parallel = "jobserver" in os.environ.get("MAKEFLAGS", "")
    return "bars" if sys.stderr.isatty() and not parallel else "lines"


def parse_parameters(pairs: Sequence[Sequence[str]], yaml_texts: Sequence[str]) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs (Python literals, else strings) and ``-y YAML`` mappings, in
    that order, as papermill takes them; a name given twice warns (the last value wins); a
    set (``"{'pcie'}"``) is refused, naming the parameter: a list is meant."""
    import yaml

    items: list[tuple[str, Any]] = [(k, _literal(v)) for k, v in pairs]
    for (k, v), (_, text) in zip(items, pairs):
        if isinstance(v, (set, frozenset)):  # a set is no list (and its order is not the one typed)
            raise ParameterError(
                f"parameter {k!r}: expected a list, got the set {text}; write it with brackets, e.g. -p {k} "
                f'"{sorted(v, key=repr)!r}"'
            )
    for text in yaml_texts:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ParameterError(f"-y: not valid YAML ({text!r}): {exc}") from None
        if not isinstance(loaded, dict):
            raise ParameterError(f"-y: expected a YAML mapping such as 'models: [gpt2]', got {text!r}")
        items.extend((str(k), v) for k, v in loaded.items())
    params: dict[str, Any] = {}
    for k, v in items:
        if k in params and params[k] != v:
            print(f"warning: parameter {k!r} given twice ({params[k]!r}, then {v!r}): using {v!r}", file=sys.stderr)
        params[k] = v
    return params


class Heartbeat:
    """While a notebook runs, print ``[name] still running (N s)`` after every ``quiet_s`` of
    silence: neither this runner nor the kernel (which touches :attr:`path` on each of its
    progress lines, :data:`memwall_lib.core.progress.HEARTBEAT_ENV`) said anything."""

    def __init__(self, name: str, quiet_s: float = 10.0) -> None:
        self.name, self.quiet_s = name, quiet_s
        fd, path = tempfile.mkstemp(prefix="memwall-heartbeat-")
        os.close(fd)
        self.path = Path(path)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        t0 = time.time()
        while not self._stop.wait(1.0):
            last = max(self.path.stat().st_mtime, t0)
            if time.time() - last >= self.quiet_s:
                print(console_line(f"still running ({time.time() - t0:.0f} s)", self.name), flush=True)
                os.utime(self.path)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.path.unlink(missing_ok=True)


#: A check of every notebook's parameters before any runs: (notebooks, overrides) -> None,
#: raising ValueError (ParameterError) naming the notebook and parameter.
Preflight = Callable[[Sequence[Path], Mapping[str, Any]], None]


def _parser() -> argparse.ArgumentParser:
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
    parser.add_argument(
        "-y", action="append", default=[], metavar="YAML", help="parameters as YAML, as papermill's -y ('chains: [a]')"
    )
    parser.add_argument("--no-summary", action="store_true", help="do not rewrite claims.md afterwards")
    parser.add_argument(
        "--summary-only", action="store_true", help="only rewrite claims.md from the sidecars in the output folder"
    )
    parser.add_argument(
        "--progress",
        choices=MODES,
        default=None,
        help="bars (tqdm, a terminal), lines (a line per step, prefixed with the notebook: logs, CI, parallel make) "
        "or off (default: bars on a terminal, else lines)",
    )
    return parser


def _run_one(p: Path, params: Mapping[str, Any], progress: str) -> int:
    """Run notebook ``p``, printing its lines; 0, or the exit status of its failure."""
    name = p.stem
    t0 = time.perf_counter()
    out = executed_path(p, params)
    print(console_line("started", name), flush=True)
    os.environ[LABEL_ENV] = name
    try:
        with Heartbeat(name) as beat:
            os.environ[HEARTBEAT_ENV] = str(beat.path)
            run_notebook(p, params, output=out, progress_bar=progress == "bars")
    except Exception as exc:  # papermill's PapermillExecutionError: one line, not the traceback
        if not hasattr(exc, "ename"):
            raise
        ename, evalue = exc.ename, getattr(exc, "evalue", "")
        print(f"error: {_short(p)}: {ename}: {evalue}", file=sys.stderr)
        if ename != "ParameterError":
            print(f"  the traceback is in {_short(out)}", file=sys.stderr)
        return 2 if ename == "ParameterError" else 1
    finally:
        os.environ.pop(HEARTBEAT_ENV, None)
    print(console_line(f"done in {time.perf_counter() - t0:.1f} s -> {_short(out)}", name), flush=True)
    return 0


def main(argv: list[str] | None = None, preflight: Preflight | None = None) -> int:
    """The command line. ``preflight`` (``memwall_lib.run.preflight.check_run`` from
    ``python -m memwall_lib``) checks every notebook's parameters before the first one runs.
    A parameter error, before or inside a notebook, prints one line and returns 2."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        params = parse_parameters(args.p, args.y)
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from ..core.claims import write_claims_summary

    if args.summary_only:
        try:
            summary = write_claims_summary(resolve(params.get("output_dir", FIGURES_DIR)))
        except (ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {_short(summary)}")
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
    progress = args.progress or default_progress()
    os.environ[PROGRESS_ENV] = progress  # the kernels inherit it (memwall_lib.core.progress)
    total = time.perf_counter()
    for p in paths:
        status = _run_one(p, params, progress)
        if status:
            return status
    warn_if_dirty(params)
    if args.no_summary:
        return 0
    # the summary goes where the figures went: figures/ unless -p output_dir said otherwise
    try:
        summary = write_claims_summary(resolve(params.get("output_dir", FIGURES_DIR)))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {_short(summary)}; total {time.perf_counter() - total:.1f} s")
    return 0


def warn_if_dirty(params: Mapping[str, Any]) -> None:
    """Say so when the committed figures were just regenerated from uncommitted sources: their
    sidecars record ``<commit>-dirty``, which the tests and the pre-commit hook refuse."""
    from ..core.provenance import git_commit

    if resolve(params.get("output_dir", FIGURES_DIR)) == FIGURES_DIR and (git_commit() or "").endswith("-dirty"):
        print(
            "warning: figures/ was regenerated from uncommitted sources (its sidecars record a -dirty commit): "
            "commit the sources, then run make figures again before committing the figures",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
