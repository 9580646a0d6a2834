"""``make lab`` starts, as root too, and says where it is: ``make lab`` itself is started on a free
loopback port, the URL with its token is read from its output while it runs, that URL's
``/api/kernelspecs`` must list the project's kernel, then it is stopped."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

import pytest

from memwall_lib.core.paths import REPO_ROOT
from memwall_lib.run.runner import KERNEL_NAME

JUPYTER = Path(sys.executable).parent / "jupyter"


def _lab_command() -> list[str]:
    """What ``make lab`` runs (the venv's stamp taken as up to date), with this Python's jupyter."""
    out = (
        subprocess.run(
            ["make", "-s", "-n", "-o", ".venv/.memwall-installed", "lab"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()
    )
    cmd = shlex.split(out[-1])
    assert cmd[0].endswith("jupyter") and cmd[1] == "lab", out
    return [str(JUPYTER), *cmd[1:]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_passes_allow_root_only_as_root() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    assert ("--allow-root" in _lab_command()) == (os.geteuid() == 0)


def _read_lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def test_make_lab_prints_its_url_while_it_runs_and_offers_the_project_kernel(tmp_path: Path) -> None:
    """Through make itself (as CI's root): the URL with its token must appear while the server
    runs (make must not hold the recipe's output back), and that URL's token must open the API."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    if not (REPO_ROOT / ".venv" / "bin" / "jupyter").exists():
        pytest.skip("make lab runs .venv's jupyter, and there is no .venv here (make venv)")
    port = _free_port()
    args = f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --ServerApp.port_retries=0"
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    proc = subprocess.Popen(
        ["make", "-o", ".venv/.memwall-installed", "lab", f"LAB_ARGS={args}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make and the server in one group, stopped together
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    url = re.compile(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)")
    try:
        t0, token = time.monotonic(), None
        while token is None and time.monotonic() - t0 < 90 and proc.poll() is None:
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
            match = url.search(seen[-1])
            token = match.group(1) if match else None
        assert token, f"make lab printed no URL with a token while running (exit {proc.poll()}):\n" + "".join(seen)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/kernelspecs", headers={"Authorization": f"token {token}"}
        )
        specs, deadline = None, time.monotonic() + 60  # the URL is printed just before the loop serves
        while specs is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    specs = json.load(resp)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert specs is not None, f"the printed URL did not answer (exit {proc.poll()})"
        assert KERNEL_NAME in specs["kernelspecs"], sorted(specs["kernelspecs"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
