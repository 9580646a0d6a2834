"""Writing figures and their JSON sidecars, atomically, with provenance and claims.

Each figure ``name`` becomes ``<out>/<name>.png``, ``<out>/<name>.pdf`` and
``<out>/<name>.json``. Every file is written to a temporary file in the same folder and
then renamed over the target (``os.replace``), so an interrupted run never leaves a
truncated figure. PDF metadata carries no dates, so the same inputs give the same bytes.

The sidecar is the contract that tests, CI and users read::

    {"figure": name, "parameters": {...},
     "claims": [{"id", "text", "paper", "reproduced", "ci95": [lo, hi] | null, "holds": bool,
                 "rule", "note"}],
     "data": {...numbers behind every plotted point and line...},
     "provenance": {"git_commit", "packages", "python", "machine", "created"}}
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .paths import FIGURES_DIR, REPO_ROOT

#: Packages whose versions every sidecar records.
PROVENANCE_PACKAGES = ("numpy", "scipy", "pandas", "matplotlib", "seaborn", "papermill",
                       "torch", "torchvision", "transformers")


@dataclass
class Claim:
    """One claim of the paper beside its reproduction.

    ``paper`` and ``reproduced`` are numbers in the same unit (or strings/bools for
    qualitative claims); ``ci95`` is the reproduced value's 95% interval or None;
    ``holds`` is the verdict under ``rule`` (a sentence saying how it was decided).
    """

    id: str
    text: str
    paper: Any
    reproduced: Any
    ci95: list[float] | None
    holds: bool
    rule: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["holds"] = bool(self.holds)
        if self.ci95 is not None:
            d["ci95"] = [float(v) for v in self.ci95]
        return d


def growth_claim(claim_id: str, text: str, paper: float, reproduced: float,
                 ci95: Sequence[float], note: str = "") -> Claim:
    """A growth-rate claim; it holds when the paper's value lies inside the reproduced 95% CI."""
    lo, hi = float(ci95[0]), float(ci95[1])
    return Claim(claim_id, text, paper, float(reproduced), [lo, hi], bool(lo <= paper <= hi),
                 rule="holds if the paper's value lies inside the reproduced 95% CI", note=note)


# --------------------------------------------------------------------------- JSON
def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas/dates/dataclasses to plain JSON types; NaN and inf become None."""
    if isinstance(obj, Claim):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    return obj


def dumps(obj: Any) -> str:
    """Stable, readable JSON (sorted keys off: insertion order is meaningful)."""
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"


# --------------------------------------------------------------------------- atomic I/O
def _default_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: str | Path, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` via a temporary file in the same folder and a rename.

    The file gets the usual permissions (mkstemp's private 0600 is widened to 0666 - umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, _default_file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- provenance
def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """The checked-out commit, with ``-dirty`` if tracked files differ; None outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions(names: Sequence[str] = PROVENANCE_PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def machine_description() -> dict[str, Any]:
    """CPU model, core count and OS: enough to interpret measured numbers."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "machine": platform.machine(), "cpu": cpu,
            "logical_cpus": os.cpu_count()}


def provenance() -> dict[str, Any]:
    return {
        "git_commit": git_commit(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "machine": machine_description(),
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
    }


# --------------------------------------------------------------------------- figures
def _render(fig: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "pdf":
        meta = {"CreationDate": None, "ModDate": None, "Producer": "memwall", "Creator": "memwall"}
        fig.savefig(buf, format="pdf", metadata=meta, bbox_inches="tight")
    else:
        fig.savefig(buf, format="png", dpi=150, metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def write_figure(fig: Any, name: str, *, parameters: Mapping[str, Any],
                 claims: Sequence[Claim], data: Mapping[str, Any],
                 out_dir: str | Path = FIGURES_DIR) -> dict[str, Path]:
    """Write ``name``.png, .pdf and .json into ``out_dir`` atomically; return their paths.

    All three are rendered in memory first, so a failure while rendering writes nothing.
    """
    out = Path(out_dir)
    sidecar = {
        "figure": name,
        "parameters": dict(parameters),
        "claims": [c.to_dict() for c in claims],
        "data": dict(data),
        "provenance": provenance(),
    }
    text = dumps(sidecar)  # fails early on anything not serializable
    png, pdf = _render(fig, "png"), _render(fig, "pdf")
    return {
        "png": atomic_write_bytes(out / f"{name}.png", png),
        "pdf": atomic_write_bytes(out / f"{name}.pdf", pdf),
        "json": atomic_write_text(out / f"{name}.json", text),
    }


def read_sidecar(name_or_path: str | Path, out_dir: str | Path = FIGURES_DIR) -> dict[str, Any]:
    p = Path(name_or_path)
    if p.suffix != ".json":
        p = Path(out_dir) / f"{name_or_path}.json"
    return json.loads(p.read_text())


# --------------------------------------------------------------------------- claims summary
def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        v = float(value)
        if v == 0:
            return "0"
        if abs(v) >= 1e5 or abs(v) < 1e-2:
            return f"{v:.3g}"
        return f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"
    return str(value)


def claims_table(sidecars: Sequence[Mapping[str, Any]]) -> str:
    """Markdown table of every claim of every sidecar."""
    rows = ["| figure | claim | paper | reproduced | 95% CI | verdict |",
            "|---|---|---|---|---|---|"]
    for sc in sidecars:
        for c in sc.get("claims", []):
            ci = c.get("ci95")
            ci_txt = f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""
            verdict = "holds" if c.get("holds") else "does not hold"
            text = str(c.get("text", "")).replace("|", "\\|")
            if c.get("note"):
                text += f" <br><sub>{str(c['note']).replace('|', '/')}</sub>"
            rows.append(f"| {sc['figure']} | {text} | {_fmt(c.get('paper'))} | "
                        f"{_fmt(c.get('reproduced'))} | {ci_txt} | {verdict} |")
    return "\n".join(rows) + "\n"


def write_claims_summary(out_dir: str | Path = FIGURES_DIR) -> Path:
    """Write ``claims.md``: one table of the claims of every ``*.json`` sidecar in ``out_dir``."""
    out = Path(out_dir)
    sidecars = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    sidecars = [s for s in sidecars if isinstance(s, dict) and "claims" in s and "figure" in s]
    n = sum(len(s["claims"]) for s in sidecars)
    held = sum(bool(c.get("holds")) for s in sidecars for c in s["claims"])
    text = ("# Claims of \"AI and Memory Wall\", checked\n\n"
            "Generated by `make figures` from the JSON sidecars in this folder; do not edit.\n"
            "Each verdict follows the rule stated in its sidecar (`rule`). For a growth rate, "
            "\"holds\" means the paper's value lies inside the reproduced 95% CI: the data do not "
            "contradict it. Read the CI's width beside it: a fit on ten points can hold a claim "
            "without pinning it down (the notes give leave-one-out and bootstrap ranges). "
            "Verdicts of measured claims (Figure 3's latencies, Figure 4b) depend on the machine "
            "that ran them.\n\n"
            f"{held} of {n} claims hold.\n\n" + claims_table(sidecars))
    return atomic_write_text(out / "claims.md", text)
