"""Everything README.md shows runs: its Python blocks execute and every make target it names exists
(its notebook commands pass the parameter check: tests/test_user_input.py)."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from memwall_lib.core.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_the_readme_shows_code() -> None:
    assert blocks("python")


@pytest.mark.parametrize("code", blocks("python"))
def test_python_block_runs(code: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().strip(), "the example prints what it computes"


def test_every_make_target_named_exists() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.M))
    named = {m for m in re.findall(r"`make (?:-j\d+ )?([\w-]+)", README)} | {
        m for block in blocks("bash") for m in re.findall(r"^make ([\w-]+)", block, flags=re.M)
    }
    assert named and named <= targets, sorted(named - targets)
