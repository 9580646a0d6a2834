"""Provenance recorded with every figure: the commit, package versions, Python and machine."""

from __future__ import annotations

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
    try:
        sha = subprocess.run(["git", "log", "-1", "--format=%H", "--", ".", *exclude], cwd=repo,
                             capture_output=True, text=True, check=True, timeout=10).stdout.strip()
        if not sha:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *exclude],
                               cwd=repo, capture_output=True, text=True, check=True, timeout=10).stdout.strip()
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
    """What produced a sidecar: the sources' commit, package versions, Python, the machine.
    No creation time: the same sources on the same machine give the same sidecar (the file's
    modification time says when it was written)."""
    return {
        "git_commit": git_commit(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "machine": machine_description(),
    }
