"""A set of files replaced as one: every figure (PNG, PDF, JSON) a notebook writes, or
``claims.md``, lands together or not at all, with a manifest a reader can check.

How (all in the output folder, so every rename stays on one file system):

1. an exclusive lock on the folder (``flock`` on the folder itself: no lock file), so two runs
   writing into one folder take turns instead of interleaving their files;
2. every file of the set, and its manifest, is written and fsynced into a staging folder
   ``.memwall-staging-<pid>-*``; a full disk or any error there removes it and replaces nothing
   (the error names the folder);
3. a ``COMMIT`` file in the staging folder lists the renames: from then on the set is complete,
   and each file is renamed over its target, the manifest last;
4. a run killed during step 2 leaves a staging folder without ``COMMIT`` (discarded by the next
   writer); one killed during step 3 leaves one with it, and the next writer into the folder
   (any notebook, or the claims summary) finishes the renames: the set is repaired.

The manifest ``<first name>.sha256`` (in ``sha256sum`` format: ``sha256sum -c`` it in the
folder) gives the SHA-256 of every file of the set; :func:`check_sets` compares every manifest
of a folder with the files beside it, so a mixed set (a PNG of one run beside the JSON of
another) is told from a complete one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

MANIFEST_SUFFIX = ".sha256"
STAGING_PREFIX = ".memwall-staging-"
COMMIT_FILE = "COMMIT"
#: How long a writer waits for another run's lock on the folder before giving up.
LOCK_TIMEOUT_S = 600.0


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def manifest_name(names: Sequence[str]) -> str:
    """The manifest of the set of figures (or files) ``names``: the first name in sorted order
    plus ``.sha256`` (the same whatever order the names come in)."""
    if not names:
        raise ValueError("names: expected at least one figure name")
    return sorted(names)[0] + MANIFEST_SUFFIX


def manifest_text(names: Sequence[str], files: Mapping[str, bytes]) -> str:
    """The manifest of set ``names``: a comment line, then ``<sha256>  <file>`` per file of
    ``files`` (file name -> bytes), sorted by file name, as ``sha256sum`` writes it."""
    head = (
        f"# memwall: one set, written together ({', '.join(sorted(names))}); "
        "check it with `sha256sum -c` in this folder\n"
    )
    return head + "".join(f"{sha256_hex(files[f])}  {f}\n" for f in sorted(files))


@contextlib.contextmanager
def folder_lock(folder: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (``flock`` on the folder's own descriptor; released
    when the block ends or the process dies). Waits for another holder, saying so once on
    stderr; raises RuntimeError naming the folder after ``timeout_s``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        t0, said = time.monotonic(), False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said:
                    print(f"waiting: another run is writing into {folder}", file=sys.stderr, flush=True)
                    said = True
                if time.monotonic() - t0 > timeout_s:
                    raise RuntimeError(
                        f"out_dir: another run has been writing into {str(folder)!r} for over {timeout_s:g} s; "
                        "wait for it to end, or choose another output_dir"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _stage(stage: Path, files: Mapping[str, bytes], mode: int) -> None:
    """Write and fsync every file of ``files`` into ``stage``."""
    for name, payload in files.items():
        path = stage / name
        with open(path, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(path, mode)
    _fsync_folder(stage)


def _commit(stage: Path, folder: Path) -> list[str]:
    """Rename the files ``stage``'s COMMIT file lists into ``folder``, in its order (those
    already renamed are skipped), then remove ``stage``; returns the names renamed."""
    order = (stage / COMMIT_FILE).read_text(encoding="utf-8").splitlines()
    done = []
    for name in order:
        src = stage / name
        if src.exists():
            os.replace(src, folder / name)
            done.append(name)
    _fsync_folder(folder)
    shutil.rmtree(stage, ignore_errors=True)
    return done


def repair(folder: Path) -> list[str]:
    """Finish or discard what a killed writer left in ``folder`` (call with
    :func:`folder_lock` held: every staging folder is then a dead writer's): a staging folder
    with its COMMIT file is renamed into place, one without it removed. Returns the names of
    the files the repair renamed."""
    renamed: list[str] = []
    for stage in sorted(folder.glob(f"{STAGING_PREFIX}*")):
        if (stage / COMMIT_FILE).is_file():
            renamed += _commit(stage, folder)
        else:
            shutil.rmtree(stage, ignore_errors=True)
    if renamed:
        print(f"repaired {folder}: finished an interrupted write of {', '.join(renamed)}", file=sys.stderr)
    return renamed


def write_set(
    folder: Path,
    names: Sequence[str],
    files: Mapping[str, bytes],
    mode: int,
    listed: Mapping[str, bytes] | None = None,
    must_write: bool = True,
) -> dict[str, Path]:
    """Replace ``files`` (file name -> bytes) in ``folder`` as one set, with the manifest of
    ``names`` (:func:`manifest_name`) listing them and ``listed`` (files of the folder the
    set was made from, not rewritten). ``mode``: the files' permissions; ``must_write`` False
    (an orphaned kernel, :func:`memwall_lib.core.output.parent_is_alive`) raises before any
    rename. Returns the paths written, manifest included."""
    manifest = manifest_name(names)
    payloads = {**files, manifest: manifest_text(names, {**(listed or {}), **files}).encode("utf-8")}
    with folder_lock(folder):
        repair(folder)
        stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=folder))
        try:
            _stage(stage, payloads, mode)
            if not must_write:
                raise RuntimeError(
                    f"not writing {', '.join(files)} into {folder}: the process that started this kernel "
                    f"(pid {os.environ.get('JPY_PARENT_PID')}) has exited"
                )
            (stage / COMMIT_FILE).write_text("\n".join([*files, manifest]) + "\n", encoding="utf-8")
            _fsync_folder(stage)
        except OSError as exc:
            shutil.rmtree(stage, ignore_errors=True)
            raise OSError(
                exc.errno,
                f"out_dir: writing {', '.join(files)} into {str(folder)!r} failed ({exc.strerror or exc}); "
                "nothing was replaced: the previous files are intact",
            ) from None
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        _commit(stage, folder)
    return {name: folder / name for name in payloads}


def check_sets(folder: Path) -> dict[str, list[str]]:
    """Every manifest of ``folder`` -> what differs from it: a file missing, or one whose
    SHA-256 is not the manifest's (a mixed set); an empty list for a complete set."""
    out: dict[str, list[str]] = {}
    for manifest in sorted(folder.glob(f"*{MANIFEST_SUFFIX}")):
        problems = []
        for line in manifest.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            digest, _, name = line.partition("  ")
            path = folder / name
            if not path.is_file():
                problems.append(f"{name} is missing")
            elif sha256_hex(path.read_bytes()) != digest:
                problems.append(f"{name} is not the file this set was written with")
        out[manifest.name] = problems
    return out
