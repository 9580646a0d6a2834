"""Progress of slow steps (issue 11): a bar where someone can see it, nothing where nobody can."""

from __future__ import annotations

import pytest

from memwall_lib.core.progress import PROGRESS_ENV, progress


def test_off_draws_nothing(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "off")
    assert list(progress(["a", "b"], "models")) == ["a", "b"]
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_in_jupyterlab_the_bar_goes_to_the_cell(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    assert list(progress(iter([1, 2, 3]), "chains", total=3)) == [1, 2, 3]
    err = capsys.readouterr().err
    assert "chains" in err and "3/3" in err


def test_under_the_runner_the_bar_goes_to_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "terminal")
    assert list(progress([1, 2], "latency (models)")) == [1, 2]
    assert "latency (models)" in capfd.readouterr().err
