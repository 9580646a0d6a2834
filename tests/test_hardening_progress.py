"""Progress of slow steps (issue 11): a bar where someone can see it, nothing where nobody can."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from memwall_lib.core.progress import HEARTBEAT_ENV, LABEL_ENV, PROGRESS_ENV, progress, report


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
    monkeypatch.setenv(PROGRESS_ENV, "bars")
    assert list(progress([1, 2], "latency (models)")) == [1, 2]
    assert "latency (models)" in capfd.readouterr().err


def test_lines_mode_prints_a_prefixed_line_per_item_and_beats(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    beat = tmp_path / "beat"
    beat.write_text("")
    os.utime(beat, (0, 0))
    monkeypatch.setenv(PROGRESS_ENV, "lines")
    monkeypatch.setenv(LABEL_ENV, "03_transformer_profiling")
    monkeypatch.setenv(HEARTBEAT_ENV, str(beat))
    assert list(progress(["bert-base", "gpt2"], "latency (models)")) == ["bert-base", "gpt2"]
    lines = capfd.readouterr().err.splitlines()
    assert [line.rsplit(" (", 1)[0] for line in lines[:2]] == [
        "[03_transformer_profiling] latency (models): 1/2 bert-base",
        "[03_transformer_profiling] latency (models): 2/2 gpt2",
    ]
    assert lines[2] == "[03_transformer_profiling] latency (models): done in 0.0 s"
    assert beat.stat().st_mtime > 0  # the runner's heartbeat file was touched


def test_an_inner_loop_prints_lines_but_draws_no_bar(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "bars")
    assert list(progress([128, 256], "bert-base (tokens)", inner=True)) == [128, 256]
    assert capfd.readouterr().err == ""
    monkeypatch.setenv(PROGRESS_ENV, "lines")
    list(progress([128, 256], "bert-base (tokens)", inner=True))
    assert capfd.readouterr().err.count("bert-base (tokens)") == 3


def test_report_goes_to_the_console_under_the_runner_and_nowhere_when_off(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "lines")
    monkeypatch.setenv(LABEL_ENV, "05_rematerialization")
    report("warning: the machine was busy")
    assert capfd.readouterr().err == "[05_rematerialization] warning: the machine was busy\n"
    monkeypatch.setenv(PROGRESS_ENV, "off")
    report("nothing")
    assert capfd.readouterr().err == ""
