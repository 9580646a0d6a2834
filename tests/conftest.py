"""Shared fixtures: running a notebook with papermill into a temporary folder.

Helpers (sidecar reading and comparison) are in ``helpers.py``; import them from there."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memwall_lib.core.paths import NOTEBOOKS_DIR
from memwall_lib.run.runner import run_notebook

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
            run_notebook(
                NOTEBOOKS_DIR / f"{name}.ipynb",
                {**parameters, "output_dir": str(out)},
                output=out / f"{name}.executed.ipynb",
            )
            _CACHE[key] = out
        return _CACHE[key]

    return run
