"""Provenance tells the truth (issue 11): the sidecar records the commit of the sources, the
run's own outputs (figures/, build/) neither make it "-dirty" nor change it once committed, and
there is no creation time, so regenerating a figure from the same sources is no diff."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from memwall_lib.core import claims, output, provenance  # noqa: E402
from memwall_lib.core.paths import REPO_ROOT  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org",
            "HOME": str(repo),
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    (tmp_path / "src.py").write_text("x = 1\n")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "fig.json").write_text("{}\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "sources")
    return tmp_path


def test_outputs_do_not_make_the_commit_dirty_or_change_it(repo: Path) -> None:
    sources = _git(repo, "rev-parse", "HEAD")
    assert provenance.git_commit(repo) == sources
    (repo / "figures" / "fig.json").write_text('{"a": 1}\n')  # an earlier figure of the same run
    (repo / "build").mkdir()
    assert provenance.git_commit(repo) == sources
    _git(repo, "commit", "-qam", "regenerated figures")
    assert _git(repo, "rev-parse", "HEAD") != sources
    assert provenance.git_commit(repo) == sources  # still the sources' commit


def test_a_changed_source_is_dirty_and_a_new_commit(repo: Path) -> None:
    (repo / "src.py").write_text("x = 2\n")
    assert provenance.git_commit(repo).endswith("-dirty")
    _git(repo, "commit", "-qam", "change")
    assert provenance.git_commit(repo) == _git(repo, "rev-parse", "HEAD")


def test_outside_git_there_is_no_commit(tmp_path: Path) -> None:
    assert provenance.git_commit(tmp_path) is None


def test_no_creation_time_and_same_inputs_same_sidecar(tmp_path: Path) -> None:
    assert "created" not in provenance.provenance()
    texts = []
    for run in ("a", "b"):
        fig, ax = plt.subplots()
        ax.plot([1, 2], [3, 4])
        output.write_figures(
            {"figx": fig},
            parameters={"p": 1},
            claims={"figx": [claims.Claim("c", "t", 1.0, 1.0, None, True, rule="manual")]},
            data={"figx": {"x": [1]}},
            out_dir=tmp_path / run,
        )
        plt.close(fig)
        texts.append([(tmp_path / run / f"figx.{k}").read_bytes() for k in ("json", "png", "pdf", "sha256")])
    assert texts[0] == texts[1]
    assert "created" not in json.loads(texts[0][0])["provenance"]


def test_no_committed_sidecar_records_a_dirty_commit() -> None:
    sidecars = sorted((REPO_ROOT / "figures").glob("*.json"))
    assert sidecars
    assert provenance.dirty_sidecars(sidecars) == []


def test_the_pre_commit_check_refuses_a_dirty_sidecar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean, dirty = tmp_path / "clean.json", tmp_path / "dirty.json"
    clean.write_text(json.dumps({"provenance": {"git_commit": "abc123"}}))
    dirty.write_text(json.dumps({"provenance": {"git_commit": "abc123-dirty"}}))
    assert provenance.main([str(clean)]) == 0
    assert provenance.main([str(clean), str(dirty)]) == 1
    err = capsys.readouterr().err
    assert "dirty.json: abc123-dirty" in err and "clean.json" not in err


def test_data_driven_sidecars_record_no_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance, "_MEASUREMENTS", {})
    assert set(provenance.provenance()["machine"]) == {"system", "machine"}
    monkeypatch.setattr(provenance, "_MEASUREMENTS", {"latency": {"threads": 1}})
    assert {"cpu", "logical_cpus"} <= set(provenance.provenance()["machine"])
