"""A figure set written as one (issue 22, part 4): a notebook's PNGs, PDFs and sidecars land
together with a manifest of their SHA-256, under a lock on the folder; a kill between files is
detected (the manifest) and repaired by the next writer; a full disk replaces nothing and names
the folder; two runs into one folder take turns."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from memwall_lib.core import claims, figure_set, output
from memwall_lib.core.paths import FIGURES_DIR, REPO_ROOT


def _write(out: Path, value: int) -> None:
    """Figures fa and fb into ``out``, their data and line set by ``value``."""
    figs = {}
    for name in ("fa", "fb"):
        fig, ax = plt.subplots()
        ax.plot([1, 2], [value, value + 1])
        figs[name] = fig
    output.write_figures(
        figs,
        claims={n: [claims.Claim(f"{n}.c", "t", 1.0, 1.0, None, True, rule="manual")] for n in figs},
        data={n: {"v": value} for n in figs},
        parameters={"value": value},
        out_dir=out,
    )
    for fig in figs.values():
        plt.close(fig)


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def test_a_set_lands_with_its_manifest(tmp_path: Path) -> None:
    _write(tmp_path, 1)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["fa.json", "fa.pdf", "fa.png", "fa.sha256", "fb.json", "fb.pdf", "fb.png"]
    assert figure_set.check_sets(tmp_path) == {"fa.sha256": []}
    manifest = (tmp_path / "fa.sha256").read_text()
    assert manifest.startswith("# memwall: one set, written together (fa, fb)")
    assert len(manifest.splitlines()) == 7  # the comment and six files
    if shutil.which("sha256sum"):
        done = subprocess.run(
            ["sha256sum", "--strict", "-c", "fa.sha256"], cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_kill_between_renames_is_detected_and_repaired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, 1)
    real, calls = os.replace, []

    def killed_after_two(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) > 2:
            raise KeyboardInterrupt  # the process dies here, the staging folder stays
        real(src, dst)

    monkeypatch.setattr(figure_set.os, "replace", killed_after_two)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, 2)
    monkeypatch.setattr(figure_set.os, "replace", real)
    mixed = figure_set.check_sets(tmp_path)["fa.sha256"]
    assert mixed and all("is not the file this set was written with" in p for p in mixed)  # new fa, old fb
    assert json.loads((tmp_path / "fb.json").read_text())["data"] == {"v": 1}
    # the next writer into the folder (here the claims summary) finishes the interrupted set first
    claims.write_claims_summary(tmp_path)
    assert figure_set.check_sets(tmp_path) == {"claims.sha256": [], "fa.sha256": []}
    assert json.loads((tmp_path / "fb.json").read_text())["data"] == {"v": 2}
    assert not list(tmp_path.glob(f"{figure_set.STAGING_PREFIX}*"))


def test_a_real_kill_mid_write_is_repaired_by_the_next_run(tmp_path: Path) -> None:
    _write(tmp_path, 1)
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from memwall_lib.core import figure_set
        real, n = os.replace, []
        def die(src, dst):
            n.append(dst)
            if len(n) == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            real(src, dst)
        figure_set.os.replace = die
        from test_figure_set import _write
        _write(__import__("pathlib").Path({str(tmp_path)!r}), 2)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    assert figure_set.check_sets(tmp_path)["fa.sha256"]  # a mixed set, told from a complete one
    _write(tmp_path, 3)  # the next run: repairs, then writes its own set
    assert figure_set.check_sets(tmp_path) == {"fa.sha256": []}
    assert json.loads((tmp_path / "fb.json").read_text())["data"] == {"v": 3}


def test_a_kill_while_staging_replaces_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, 1)
    before = _files(tmp_path)

    def killed(stage: Path, files: object, mode: int) -> None:
        (stage / "fa.png").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(figure_set, "_stage", killed)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, 2)
    assert _files(tmp_path) == before and not list(tmp_path.glob(f"{figure_set.STAGING_PREFIX}*"))


def test_a_full_disk_names_the_folder_and_replaces_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, 1)
    before = _files(tmp_path)

    def full(stage: Path, files: object, mode: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(figure_set, "_stage", full)
    with pytest.raises(OSError) as info:
        _write(tmp_path, 2)
    message = str(info.value)
    assert f"into {str(tmp_path)!r} failed (No space left on device)" in message
    assert "nothing was replaced" in message and info.value.errno == errno.ENOSPC
    assert _files(tmp_path) == before and not list(tmp_path.glob(f"{figure_set.STAGING_PREFIX}*"))


def test_two_runs_into_one_folder_take_turns(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, pathlib\n"
            "from memwall_lib.core.figure_set import folder_lock\n"
            f"with folder_lock(pathlib.Path({str(tmp_path)!r})):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(1.5)\n",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    t0 = time.monotonic()
    _write(tmp_path, 1)
    waited = time.monotonic() - t0
    holder.wait()
    assert waited > 0.5 and figure_set.check_sets(tmp_path) == {"fa.sha256": []}
    assert f"waiting: another run is writing into {tmp_path}" in capfd.readouterr().err


def test_a_lock_held_too_long_is_named(tmp_path: Path) -> None:
    with figure_set.folder_lock(tmp_path):
        with pytest.raises(RuntimeError, match=r"out_dir: another run has been writing into .* for over 0.1 s"):
            with figure_set.folder_lock(tmp_path, timeout_s=0.1):
                pass


def test_an_orphaned_kernel_writes_no_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    monkeypatch.setenv("JPY_PARENT_PID", str(proc.pid))
    with pytest.raises(RuntimeError, match="has exited"):
        _write(tmp_path, 1)
    assert list(tmp_path.iterdir()) == []


def test_the_claims_summary_lists_the_sidecars_it_was_made_from(tmp_path: Path) -> None:
    _write(tmp_path, 1)
    claims.write_claims_summary(tmp_path)
    listed = [line.split("  ")[1] for line in (tmp_path / "claims.sha256").read_text().splitlines()[1:]]
    assert listed == ["claims.md", "fa.json", "fb.json"]
    _write(tmp_path, 2)  # new sidecars: claims.md no longer summarises them, and the manifest says so
    assert figure_set.check_sets(tmp_path)["claims.sha256"] == [
        "fa.json is not the file this set was written with",
        "fb.json is not the file this set was written with",
    ]


def test_the_committed_figures_are_complete_sets() -> None:
    sets = figure_set.check_sets(FIGURES_DIR)
    assert sets and all(problems == [] for problems in sets.values()), sets
    listed = {
        line.split("  ")[1]
        for m in FIGURES_DIR.glob("*.sha256")
        for line in m.read_text().splitlines()
        if not line.startswith("#") and m.name != "claims.sha256"
    }
    figures = {p.name for p in FIGURES_DIR.iterdir() if p.suffix in (".png", ".pdf", ".json")}
    assert figures == listed, f"committed figure files outside a manifest: {sorted(figures ^ listed)}"


def test_the_claims_summary_names_a_mixed_set(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, 1)
    (tmp_path / "fb.png").write_bytes(b"another run's")
    claims.write_claims_summary(tmp_path)
    err = capfd.readouterr().err
    assert f"warning: {tmp_path / 'fa.sha256'}: a mixed set (fb.png is not the file this set was written with)" in err


def test_an_empty_folder_is_not_summarised(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"out_dir: no figure sidecar \(\*.json with claims\) in"):
        claims.write_claims_summary(tmp_path)
    assert list(tmp_path.iterdir()) == []
