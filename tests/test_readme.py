"""Everything README.md shows runs: its Python blocks execute, every notebook command in it passes
the parameter check the notebook itself will run, and every make target it names exists."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from memwall_lib.core.paths import REPO_ROOT
from memwall_lib.run.preflight import check_run

README = (REPO_ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def notebook_commands() -> list[str]:
    """The README's command lines that run a notebook (papermill, python -m memwall_lib)."""
    lines = [line.split("#")[0].strip() for block in blocks("bash") for line in block.splitlines()]
    return [line for line in lines if "papermill " in line or "-m memwall_lib " in line]


def command_parameters(words: list[str]) -> tuple[list[Path], dict[str, Any]]:
    """The notebooks and parameters of one command line, as papermill reads -p and -y."""
    notebooks = [REPO_ROOT / w for w in words if w.startswith("notebooks/") and w.endswith(".ipynb")]
    params: dict[str, Any] = {}
    i = 0
    while i < len(words):
        if words[i] == "-p":
            params[words[i + 1]] = yaml.safe_load(words[i + 2])  # papermill infers numbers the same way
            i += 3
        elif words[i] == "-y":
            params.update(yaml.safe_load(words[i + 1]))
            i += 2
        else:
            i += 1
    return notebooks, params


def test_the_readme_shows_code_and_commands() -> None:
    assert blocks("python") and len(notebook_commands()) >= 3


@pytest.mark.parametrize("code", blocks("python"))
def test_python_block_runs(code: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().strip(), "the example prints what it computes"


@pytest.mark.parametrize("command", notebook_commands())
def test_notebook_command_passes_the_parameter_check(command: str) -> None:
    notebooks, params = command_parameters(shlex.split(command))
    assert notebooks, command
    assert all(nb.is_file() for nb in notebooks), command
    check_run(notebooks, params)  # raises ParameterError naming the parameter


def test_every_make_target_named_exists() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.M))
    named = {m for m in re.findall(r"`make (?:-j\d+ )?([\w-]+)", README)} | {
        m for block in blocks("bash") for m in re.findall(r"^make ([\w-]+)", block, flags=re.M)
    }
    assert named and named <= targets, sorted(named - targets)
