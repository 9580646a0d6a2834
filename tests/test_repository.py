"""Repository hygiene: notebooks without outputs, environment.yml consistent with pyproject,
the lock file pins every dependency, .ci/run calls make test."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from memwall_lib.core.params import PARAMETERS_CELL_MARKER
from memwall_lib.core.paths import NOTEBOOKS_DIR, REPO_ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
# conda names that differ from PyPI names
CONDA_TO_PYPI = {"pytorch": "torch"}


def _pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def _pyproject_requirements() -> dict[str, Requirement]:
    proj = _pyproject()["project"]
    reqs = [Requirement(r) for r in proj["dependencies"] + proj["optional-dependencies"]["dev"]]
    return {r.name.lower(): r for r in reqs}


def _conda_requirements() -> dict[str, SpecifierSet]:
    out = {}
    in_deps = False
    for line in (REPO_ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - ([A-Za-z0-9_.-]+)\s*([<>=!].*)?$", line) if in_deps else None
        if m and m.group(1) not in ("python", "pip"):
            out[CONDA_TO_PYPI.get(m.group(1), m.group(1)).lower()] = SpecifierSet(m.group(2) or "")
    return out


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (REPO_ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#") and "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = Version(version.split("+")[0].strip())
    return pins


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(nb: Path) -> None:
    cells = json.loads(nb.read_text())["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{nb.name} cell {i} has outputs: strip them"
            assert cell.get("execution_count") is None, f"{nb.name} cell {i} has an execution count"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_cells_have_ids(nb: Path) -> None:
    # nbformat >= 4.5 requires a unique id per cell (JupyterLab adds them; hand edits drop them)
    book = json.loads(nb.read_text())
    if (book["nbformat"], book["nbformat_minor"]) >= (4, 5):
        ids = [c.get("id") for c in book["cells"]]
        assert None not in ids, f"{nb.name}: {ids.count(None)} cell(s) without an id"
        assert len(set(ids)) == len(ids), f"{nb.name}: repeated cell ids"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_a_parameters_cell_then_a_check(nb: Path) -> None:
    book = json.loads(nb.read_text())
    code = [c for c in book["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), (
        f"{nb.name}: first code cell must be tagged 'parameters'"
    )
    # the check reads the parameters cells' names from the kernel's history by this first line
    assert "".join(code[0]["source"]).startswith(PARAMETERS_CELL_MARKER), (
        f"{nb.name}: the parameters cell must start with {PARAMETERS_CELL_MARKER!r}"
    )
    assert "check_parameters(globals()" in "".join(code[1]["source"]), (
        f"{nb.name}: second code cell must check the parameters"
    )
    assert book["metadata"]["kernelspec"]["name"] == "memwall"


def test_there_are_notebooks() -> None:
    assert any(p.name.startswith("01_") for p in NOTEBOOKS)


def test_environment_yml_matches_pyproject() -> None:
    py, conda = _pyproject_requirements(), _conda_requirements()
    assert set(py) == set(conda), f"packages differ: {sorted(set(py) ^ set(conda))}"
    for name, req in py.items():
        assert str(req.specifier) == str(conda[name]), (
            f"{name}: pyproject {req.specifier} vs environment.yml {conda[name]}"
        )


def test_lock_file_pins_every_dependency_within_its_bounds() -> None:
    pins = _pins()
    for name, req in _pyproject_requirements().items():
        assert name in pins, f"constraints.txt does not pin {name}"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} violates {req.specifier}"


def test_ci_calls_make_test() -> None:
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
