"""Output folders and the writer (issue 11): bad folders are refused before any work, temporary
files never outlive the writer, and an orphaned kernel writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from memwall_lib.core import output, params
from memwall_lib.core.params import Param, ParameterError

SPEC = {"output_dir": Param(str, "where figures go", path="out_dir")}


def _check(value: object) -> dict:
    return params.check_parameters({"output_dir": value}, SPEC)


def test_a_fresh_folder_is_created_and_accepted(tmp_path: Path) -> None:
    assert _check(str(tmp_path / "a" / "b"))["output_dir"] == str(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()
    assert list((tmp_path / "a" / "b").iterdir()) == []  # the probe file is gone


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_output_folder_is_refused(value: str) -> None:
    with pytest.raises(ParameterError, match=r"parameter 'output_dir': expected a path, got an empty string"):
        _check(value)


def test_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(ParameterError, match=r"parameter 'output_dir': .*file.txt' is a file, not a folder"):
        _check(str(f))


def test_a_folder_that_cannot_be_written_is_refused() -> None:
    # /proc/self exists and is a folder, but nobody (root included) can create files in it
    with pytest.raises(ParameterError, match=r"parameter 'output_dir': cannot write in folder '/proc/self'"):
        _check("/proc/self")


def test_write_figures_refuses_an_empty_folder_too() -> None:
    with pytest.raises(ValueError, match="out_dir: expected a folder, got an empty string"):
        output.write_figures({}, claims={}, data={}, parameters={}, out_dir="")


def test_temporary_file_is_removed_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        output.atomic_write_bytes(tmp_path / "fig.png", b"payload")
    assert list(tmp_path.iterdir()) == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / f".fig.png.{_dead_pid()}-abc.tmp"
    old_style = tmp_path / ".fig.png.xyz.tmp"
    live = tmp_path / f".fig.png.{os.getppid()}-def.tmp"  # a live process's: kept
    other = tmp_path / f".other.png.{_dead_pid()}-abc.tmp"  # another figure's: kept
    for f in (stale, old_style, live, other):
        f.write_bytes(b"partial")
    os.utime(old_style, (0, 0))
    output.atomic_write_bytes(tmp_path / "fig.png", b"payload")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["fig.png", live.name, other.name])


def test_an_orphaned_kernel_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_PARENT_PID", str(_dead_pid()))
    assert not output.parent_is_alive()
    with pytest.raises(RuntimeError, match="has exited"):
        output.atomic_write_bytes(tmp_path / "fig.png", b"payload")
    assert list(tmp_path.iterdir()) == []


def test_a_kernel_with_its_parent_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_PARENT_PID", str(os.getppid()))
    assert output.parent_is_alive()
    output.atomic_write_bytes(tmp_path / "fig.png", b"payload")
    assert (tmp_path / "fig.png").read_bytes() == b"payload"
