"""What a user sees while ``make`` runs a notebook (issue 21): lines as they happen, prefixed with
the notebook, never more than about 10 s of silence, also when the output is a pipe (a log, CI)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from memwall_lib.core.paths import REPO_ROOT

pytestmark = pytest.mark.notebook
#: The longest silence allowed between two lines (the runner's heartbeat says something every 10 s).
MAX_SILENCE_S = 13.0


def test_make_one_prints_live_prefixed_lines_through_a_pipe(tmp_path: Path) -> None:
    if shutil.which("make") is None or not (REPO_ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("needs make and the project's .venv (make venv)")
    nb = "04_training_memory"
    args = f"-p output_dir {tmp_path} -y 'cross_check_models: [alexnet]' --no-summary"
    proc = subprocess.Popen(
        ["make", "-o", ".venv/.memwall-installed", "one", f"NB=notebooks/{nb}.ipynb", f"ARGS={args}"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    stamps: list[tuple[float, str]] = [(time.monotonic(), "(start)")]
    for line in proc.stdout:
        stamps.append((time.monotonic(), line.rstrip()))
    assert proc.wait() == 0, "\n".join(line for _, line in stamps)
    stamps.append((time.monotonic(), "(end)"))
    gaps = [(b - a, line) for (a, _), (b, line) in zip(stamps, stamps[1:])]
    worst = max(gaps)
    assert worst[0] <= MAX_SILENCE_S, f"{worst[0]:.1f} s of silence before {worst[1]!r}"
    runner_lines = [line for _, line in stamps if line.startswith("[")]
    assert runner_lines[0] == f"[{nb}] started" and runner_lines[-1].startswith(f"[{nb}] done in")
    assert any("cross-check (real CPU runs): 1/1 alexnet" in line for line in runner_lines), runner_lines
    assert (tmp_path / "notebooks" / f"{nb}.ipynb").is_file()  # the executed copy beside its own figures
