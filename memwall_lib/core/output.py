"""Writing figures and their JSON sidecars, atomically and as one set.

Each figure ``name`` becomes ``<out>/<name>.png``, ``<out>/<name>.pdf`` and
``<out>/<name>.json``; the figures of one notebook land together, with a manifest of their
SHA-256 (:mod:`.figure_set`: staged in the output folder, renamed into place only once all are
written, under a lock on the folder), so an interrupted run never leaves a truncated figure
nor a new PNG beside an old JSON. Single files (:func:`atomic_write_bytes`) go through a
temporary file and a rename. PDF metadata carries no dates, so the same inputs give the same
bytes.

The sidecar is the contract that tests, CI and users read::

    {"figure": name, "parameters": {...},
     "claims": [{"id", "text", "paper", "reproduced", "ci95": [lo, hi] | null, "holds": bool,
                 "rule", "note"}],
     "data": {...numbers behind every plotted point and line...},
     "provenance": {"git_commit", "packages", "python", "machine"}}

``git_commit`` is the commit of the sources (outputs ignored) and there is no creation time,
so regenerating a data-driven figure from unchanged sources on the same machine is no diff.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from .figure_set import write_set
from .paths import FIGURES_DIR, resolve
from .provenance import provenance


class SidecarClaim(Protocol):
    """What a sidecar needs of a claim (:class:`memwall_lib.core.claims.Claim` is one): its
    JSON form. Output knows no more of claims, so claims can write with output."""

    def to_dict(self) -> dict[str, Any]: ...


ClaimT = TypeVar("ClaimT", bound=SidecarClaim)


# --------------------------------------------------------------------------- JSON
def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas/dates/dataclasses to plain JSON types; NaN and inf become None."""
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
def default_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


#: The longest file or folder name (one path component) common file systems take, in bytes.
NAME_MAX_BYTES = 255


def writable_folder(path: str | Path, name: str = "out_dir") -> Path:
    """``path`` (relative to the repository root) as an existing folder this process can write
    in: created if missing, then probed by writing and deleting a file. Raises ValueError
    naming ``name`` for an empty string, a name component over :data:`NAME_MAX_BYTES`, a file,
    or a folder that cannot be created or written (``/proc/self``, a read-only mount), before
    any work is done."""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"{name}: expected a folder (str or pathlib.Path), got {path!r}")
    if str(path).strip() == "":
        raise ValueError(f"{name}: expected a folder, got an empty string (use '.' for the repository root)")
    p = resolve(path)
    too_long = [part for part in p.parts if len(os.fsencode(part)) > NAME_MAX_BYTES]
    if too_long:
        raise ValueError(
            f"{name}: expected a folder whose every name component is at most {NAME_MAX_BYTES} bytes, "
            f"got one of {len(os.fsencode(too_long[0]))} bytes (over {NAME_MAX_BYTES} bytes): {too_long[0][:40]!r}..."
        )
    try:
        is_file = p.exists() and not p.is_dir()
    except OSError as exc:
        raise ValueError(f"{name}: cannot use {str(p)!r} as a folder ({exc.strerror or exc})") from None
    if is_file:
        raise ValueError(f"{name}: {str(p)!r} is a file, not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".memwall-probe-", suffix=".tmp", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(
            f"{name}: cannot write in folder {str(p)!r} (creating a test file there failed: {exc.strerror or exc})"
        ) from None
    return p


def parent_is_alive() -> bool:
    """False in a Jupyter kernel whose parent (the runner or server that started it, named by
    ``JPY_PARENT_PID``, which jupyter_client sets) has gone: an orphaned kernel must not write."""
    pid = os.environ.get("JPY_PARENT_PID", "")
    if os.name != "posix" or not pid.isdigit() or int(pid) <= 1:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temporaries(path: Path, min_age_s: float = 60.0) -> list[Path]:
    """Delete ``.<name>.<pid>-*.tmp`` files left next to ``path`` by a killed earlier run:
    those of a process that no longer exists, or (another naming) older than ``min_age_s``."""
    removed = []
    for tmp in path.parent.glob(f"{_tmp_prefix(path)}*.tmp"):
        owner = tmp.name[len(_tmp_prefix(path)) :].split("-", 1)[0]
        try:
            if owner.isdigit():
                if int(owner) == os.getpid():
                    continue
                try:
                    os.kill(int(owner), 0)
                    continue  # a live writer
                except ProcessLookupError:
                    pass
                except PermissionError:
                    continue
            elif time.time() - tmp.stat().st_mtime < min_age_s:
                continue
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


def atomic_write_bytes(path: str | Path, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` via a temporary file in the same folder and a rename.

    The file gets the usual permissions (mkstemp's private 0600 is widened to 0666 - umask).
    The temporary file is removed on every exit path (exceptions, KeyboardInterrupt); ones a
    killed earlier run left are removed first. An orphaned kernel (:func:`parent_is_alive`)
    writes nothing. TypeError for a ``path`` that is not a str or Path or a ``payload`` that
    is not bytes, ValueError for a folder; an OSError (a full disk) names the file.
    """
    if not isinstance(path, (str, Path)) or str(path).strip() == "":
        raise TypeError(f"path: expected a file path (str or pathlib.Path), got {path!r}")
    if not isinstance(payload, (bytes, bytearray)):
        raise TypeError(f"payload: expected bytes, got {type(payload).__name__}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path: expected a file, got the folder {str(path)!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(prefix=f"{_tmp_prefix(path)}{os.getpid()}-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, default_file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if not parent_is_alive():
            raise RuntimeError(
                f"not writing {path}: the process that started this kernel "
                f"(pid {os.environ.get('JPY_PARENT_PID')}) has exited"
            )
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise OSError(exc.errno, f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8 (TypeError for anything but a str)."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- figures
def _render(fig: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "pdf":
        meta = {"CreationDate": None, "ModDate": None, "Producer": "memwall", "Creator": "memwall"}
        fig.savefig(buf, format="pdf", metadata=meta, bbox_inches="tight")
    else:
        fig.savefig(buf, format="png", dpi=150, metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def render_figure(
    fig: Any,
    name: str,
    *,
    parameters: Mapping[str, Any],
    claims: Sequence[ClaimT],
    data: Mapping[str, Any],
) -> dict[str, bytes]:
    """``name``.png, .pdf and .json of one figure, rendered in memory (file name -> bytes)."""
    sidecar = {
        "figure": name,
        "parameters": dict(parameters),
        "claims": [c.to_dict() for c in claims],
        "data": dict(data),
        "provenance": provenance(),
    }
    text = dumps(sidecar)  # fails early on anything not serializable
    return {
        f"{name}.png": _render(fig, "png"),
        f"{name}.pdf": _render(fig, "pdf"),
        f"{name}.json": text.encode("utf-8"),
    }


def write_figures(
    figures: Mapping[str, Any],
    *,
    claims: Mapping[str, Sequence[ClaimT]],
    data: Mapping[str, Mapping[str, Any]],
    parameters: Mapping[str, Any],
    out_dir: str | Path = FIGURES_DIR,
) -> list[ClaimT]:
    """Write every figure of a figure module's result (``figures``, ``claims`` and ``data``
    are keyed by output name, as :mod:`memwall_lib.figures` returns them) into ``out_dir``
    (relative paths from the repository root; created if missing) as one set
    (:mod:`.figure_set`): all PNGs, PDFs and JSON sidecars land together with their manifest
    ``<first name>.sha256``, under a lock on the folder, or none does. Everything is rendered
    in memory first, so a failure while rendering writes nothing. Returns every claim, in order.
    """
    missing = sorted(set(figures) ^ set(claims) | set(figures) ^ set(data))
    if missing:
        raise ValueError(f"figures, claims and data must name the same outputs; differ in {missing}")
    out = writable_folder(out_dir, "out_dir")
    if not figures:
        raise ValueError("figures: expected at least one figure to write")
    files: dict[str, bytes] = {}
    written: list[ClaimT] = []
    for name, fig in figures.items():
        files.update(render_figure(fig, name, parameters=parameters, claims=claims[name], data=data[name]))
        written.extend(claims[name])
    write_set(out, list(figures), files, default_file_mode(), must_write=parent_is_alive())
    return written
