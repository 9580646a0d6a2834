"""Provenance recorded with every figure: the commit, package versions, Python and machine."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from . import progress
from .paths import REPO_ROOT

#: Packages whose versions every sidecar records.
PROVENANCE_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "seaborn",
    "papermill",
    "torch",
    "torchvision",
    "transformers",
)


#: Folders a run writes into: never "sources", so the run's own outputs neither dirty the
#: commit it records nor change it when regenerated figures are committed.
OUTPUT_FOLDERS = ("figures", "build")


def git_commit(repo: Path = REPO_ROOT, outputs: Sequence[str] = OUTPUT_FOLDERS) -> str | None:
    """The commit of the sources: the last commit that changed anything outside ``outputs``,
    with ``-dirty`` if tracked files outside ``outputs`` differ from it; None outside git.

    A figure regenerated from unchanged sources records the same value whether or not earlier
    figures of the run (or their commit) have changed the tree since, so a clean regeneration
    is no diff."""
    exclude = [f":(exclude){o}" for o in outputs]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args, "--", ".", *exclude], cwd=repo, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        sha = git("log", "-1", "--format=%H")
        if not sha:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions(names: Sequence[str] = PROVENANCE_PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def machine_summary() -> dict[str, Any]:
    """The OS and architecture: all a data-driven figure can depend on (its numbers come from
    ``data/`` and code, not from this CPU), and the same on every Linux x86_64 machine, so
    regenerating one elsewhere changes no byte unless its numbers change."""
    return {"system": platform.system(), "machine": platform.machine()}


def machine_description() -> dict[str, Any]:
    """CPU model, core count and OS: enough to interpret measured numbers."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "machine": platform.machine(), "cpu": cpu, "logical_cpus": os.cpu_count()}


#: The conditions of every measurement this process made (:func:`measuring`), by label; the
#: sidecars written afterwards record them (data-driven figures never measure: none there).
_MEASUREMENTS: dict[str, dict[str, Any]] = {}


def load_average() -> float | None:
    """The 1-minute load average (runnable processes), None where the OS does not give it."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


#: Other processes' average CPU use (in cores) during a measurement above which it is flagged busy.
OTHER_CPU_LOAD_LIMIT: float = 0.5


def busy_cpu_seconds() -> float | None:
    """CPU seconds every process has used since boot, summed over the CPUs (``/proc/stat``:
    all but idle and iowait); None where ``/proc/stat`` cannot be read."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:8]]
        return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def measurement_conditions(
    threads: int, load_before: float | None, load_after: float | None, other_cpu_load: float | None = None
) -> dict[str, Any]:
    """CPU model, logical CPUs, threads in use and the load around a measurement, with a
    ``warning`` (else None) when other work competed for the cores. ``other_cpu_load`` is what
    other processes used during the measurement, in cores (busy above
    :data:`OTHER_CPU_LOAD_LIMIT`); without it, the 1-min load average decides, which lags by a
    minute: busy if the load before plus our threads, or the load after (ours included),
    exceeds the logical CPUs. More threads than logical CPUs also get a ``warning``."""
    cpus = os.cpu_count() or 1
    threads = threads or cpus
    if other_cpu_load is not None:
        busy = other_cpu_load > OTHER_CPU_LOAD_LIMIT
        what = f"other processes used {other_cpu_load:.2f} cores on average during the measurement"
    else:
        loads = [x for x in (None if load_before is None else load_before + threads, load_after) if x is not None]
        busy = bool(loads) and max(loads) > cpus
        what = f"1-min load {load_before} before and {load_after} after"
    warning = (
        f"the machine was busy: {what}, on {cpus} logical CPUs with {threads} thread(s) in use; "
        "times are inflated and ratios may be distorted: rerun on an idle machine"
        if busy
        else None
    )
    if threads > cpus:
        over = (
            f"{threads} threads on {cpus} logical CPUs: the threads take turns on the cores, so times are "
            f"inflated and a verdict may flip; use threads <= {cpus}"
        )
        warning = over if warning is None else f"{over}; {warning}"
    return {
        "cpu": machine_description()["cpu"],
        "logical_cpus": cpus,
        "threads": threads,
        "load_1min_before": load_before,
        "load_1min_after": load_after,
        "other_cpu_load": other_cpu_load,
        "busy": busy,
        "warning": warning,
    }


@contextmanager
def measuring(label: str, threads: int) -> Iterator[dict[str, Any]]:
    """Record the conditions of the measurement in the block under ``label`` (yielded dict,
    filled on exit); warns (``UserWarning``, shown in the notebook, and a line on the runner's
    console) when the machine was busy.
    Every sidecar this process writes afterwards carries them in ``provenance["measurements"]``."""
    conditions: dict[str, Any] = {}
    before = load_average()
    busy0, own0, wall0 = busy_cpu_seconds(), time.process_time(), time.perf_counter()
    yield conditions
    busy1, own1, wall1 = busy_cpu_seconds(), time.process_time(), time.perf_counter()
    other = None
    if busy0 is not None and busy1 is not None and wall1 > wall0:
        other = max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
    conditions.update(measurement_conditions(threads, before, load_average(), other))
    _MEASUREMENTS[label] = dict(conditions)
    if conditions["warning"]:
        text = f"{label}: {conditions['warning']}"
        warnings.warn(text, stacklevel=3)
        if progress.mode() in ("lines", "bars"):  # under the runner: the console too, not only the executed copy
            progress.report(f"warning: {text}")


def provenance() -> dict[str, Any]:
    """What produced a sidecar: the sources' commit, package versions, Python, the machine:
    the whole :func:`machine_description` once this process has measured anything
    (:func:`measuring`), else :func:`machine_summary`. No creation time: the same sources give
    the same data-driven sidecar on any machine of the same OS and architecture (the file's
    modification time says when it was written)."""
    return {
        "git_commit": git_commit(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "machine": machine_description() if _MEASUREMENTS else machine_summary(),
        **({"measurements": {k: dict(v) for k, v in _MEASUREMENTS.items()}} if _MEASUREMENTS else {}),
    }


def dirty_sidecars(paths: Sequence[Path]) -> list[str]:
    """The sidecars among ``paths`` (JSON files with ``provenance.git_commit``) that record a
    ``-dirty`` commit: figures regenerated from uncommitted sources, which nobody can reproduce."""
    import json

    bad = []
    for p in paths:
        try:
            commit = (json.loads(Path(p).read_text()).get("provenance") or {}).get("git_commit") or ""
        except (OSError, ValueError, AttributeError):
            continue
        if str(commit).endswith("-dirty"):
            bad.append(f"{p}: {commit}")
    return bad


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m memwall_lib.core.provenance FILE...`` (the pre-commit hook on figures/*.json):
    exit 1, naming each, if a sidecar records a dirty commit."""
    bad = dirty_sidecars([Path(a) for a in (sys.argv[1:] if argv is None else argv)])
    for line in bad:
        print(f"refusing {line}", file=sys.stderr)
    if bad:
        print(
            "these figures were regenerated from uncommitted sources: commit the sources, run make figures, "
            "then commit the figures",
            file=sys.stderr,
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
