"""Where the repository's folders are, independent of the current working directory.

Notebooks run from JupyterLab (cwd = ``notebooks/``), from papermill (cwd = wherever it was
called) and from the test suite; every relative path a user passes is resolved against the
repository root so that all three behave the same.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parents[2]
DATA_DIR: Path = REPO_ROOT / "data"
FIGURES_DIR: Path = REPO_ROOT / "figures"
NOTEBOOKS_DIR: Path = REPO_ROOT / "notebooks"
BUILD_DIR: Path = REPO_ROOT / "build"


def resolve(path: str | Path) -> Path:
    """Return ``path`` as an absolute path; relative paths are taken from the repository root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (REPO_ROOT / p)
