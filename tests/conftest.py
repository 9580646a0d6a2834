"""Shared fixtures: running a notebook with papermill into a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from memwall_lib.notebooks import run_notebook
from memwall_lib.paths import FIGURES_DIR, NOTEBOOKS_DIR

#: Notebooks executed once per test session, keyed by (notebook, parameters).
_CACHE: dict[tuple[str, str], Path] = {}


@pytest.fixture(scope="session")
def notebook_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``notebook_run("01_hardware_scaling", year_max=2025)`` executes the notebook once per
    session with those parameters (``output_dir`` set to a fresh temporary folder) and
    returns that folder, which holds the figures and sidecars it wrote."""

    def run(name: str, **parameters: Any) -> Path:
        key = (name, json.dumps(parameters, sort_keys=True))
        if key not in _CACHE:
            out = tmp_path_factory.mktemp(name)
            run_notebook(NOTEBOOKS_DIR / f"{name}.ipynb", {**parameters, "output_dir": str(out)},
                         output=out / f"{name}.executed.ipynb")
            _CACHE[key] = out
        return _CACHE[key]

    return run


def committed_sidecar(figure: str) -> dict[str, Any]:
    """The sidecar committed in ``figures/`` for ``figure``."""
    return json.loads((FIGURES_DIR / f"{figure}.json").read_text())


def assert_numbers_close(new: Any, old: Any, rtol: float = 1e-9, path: str = "data") -> None:
    """Recursively compare two JSON trees: same keys, same strings, numbers within ``rtol``."""
    if isinstance(old, dict):
        assert isinstance(new, dict), f"{path}: expected an object"
        assert set(new) == set(old), f"{path}: keys differ: {sorted(set(new) ^ set(old))}"
        for k in old:
            assert_numbers_close(new[k], old[k], rtol, f"{path}.{k}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), f"{path}: list length differs"
        for i, (a, b) in enumerate(zip(new, old)):
            assert_numbers_close(a, b, rtol, f"{path}[{i}]")
    elif isinstance(old, bool) or old is None or isinstance(old, str):
        assert new == old, f"{path}: {new!r} != committed {old!r}"
    elif isinstance(old, (int, float)):
        assert isinstance(new, (int, float)), f"{path}: expected a number, got {new!r}"
        assert abs(new - old) <= rtol * max(abs(old), abs(new), 1e-300), \
            f"{path}: {new!r} differs from committed {old!r} (rtol {rtol}); regenerate the figure"
    else:
        assert new == old, f"{path}: {new!r} != committed {old!r}"


def sidecar(folder: Path, figure: str) -> dict[str, Any]:
    """The sidecar a notebook run wrote into ``folder`` for ``figure``."""
    return json.loads((folder / f"{figure}.json").read_text())


def assert_figure_files(folder: Path, figure: str) -> None:
    """``figure`` was written as a non-trivial PNG, PDF and JSON sidecar."""
    for ext in ("png", "pdf", "json"):
        assert (folder / f"{figure}.{ext}").stat().st_size > 1000, f"{figure}.{ext}"
