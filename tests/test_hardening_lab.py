"""``make lab`` starts, as root too (issue 11): the Makefile's own command line (``make -n``) is
started on a free loopback port with a token, its ``/api/kernelspecs`` must list the project's
kernel, then it is stopped."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from memwall_lib.core.paths import REPO_ROOT
from memwall_lib.core.runner import KERNEL_NAME

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


def test_make_lab_starts_and_offers_the_project_kernel(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    if subprocess.run([str(JUPYTER), "lab", "--version"], capture_output=True).returncode != 0:
        pytest.skip("jupyter lab is not installed for this Python")
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL_NAME not in KernelSpecManager().find_kernel_specs():
        pytest.skip(f"the {KERNEL_NAME!r} kernel is not installed (make venv installs it)")
    port, token = _free_port(), secrets.token_hex(16)
    cmd = _lab_command() + [
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        specs = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/kernelspecs", headers={"Authorization": f"token {token}"}
            )
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    specs = json.load(resp)
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert specs is not None, (
            f"jupyter lab did not answer (exit {proc.poll()}):\n" + (tmp_path / "lab.log").read_text()[-3000:]
        )
        assert KERNEL_NAME in specs["kernelspecs"], sorted(specs["kernelspecs"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
