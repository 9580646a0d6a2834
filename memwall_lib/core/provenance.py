"""Provenance recorded with every figure: the commit, package versions, Python and machine."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from .paths import REPO_ROOT

#: Packages whose versions every sidecar records.
PROVENANCE_PACKAGES = ("numpy", "scipy", "pandas", "matplotlib", "seaborn", "papermill",
                       "torch", "torchvision", "transformers")


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """The checked-out commit, with ``-dirty`` if tracked files differ; None outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10).stdout.strip()
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
    return {"platform": platform.platform(), "machine": platform.machine(), "cpu": cpu,
            "logical_cpus": os.cpu_count()}


def provenance() -> dict[str, Any]:
    return {
        "git_commit": git_commit(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "machine": machine_description(),
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
    }


