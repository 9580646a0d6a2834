"""Timing on the machine it runs on: devices and dtypes, CPU threads, wall-clock runs.

Units: seconds. torch is imported inside the functions, so importing this is cheap.
Errors are :class:`MeasureError` (a ``ValueError``) naming the argument.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.provenance import machine_description

DEVICES: tuple[str, ...] = ("cpu", "cuda")
DTYPES: tuple[str, ...] = ("float32", "bfloat16", "float16")
#: What a CPU timing reads: ``wall`` time (latency), or the ``process``'s CPU time, which leaves
#: out the time other processes hold the core (for one thread on a shared machine).
CLOCKS: tuple[str, ...] = ("wall", "process")
_CPU_CLOCK = ["wall"]
#: glibc's ``mallopt`` parameter numbers of ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD``, and
#: the values we pin: glibc's documented initial values (128 KiB each,
#: ``DEFAULT_MMAP_THRESHOLD_MIN`` and ``DEFAULT_TRIM_THRESHOLD``).
_M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD = -3, -1
MMAP_THRESHOLD_BYTES = 128 * 1024
TRIM_THRESHOLD_BYTES = 128 * 1024
#: How the allocator is set up (empty until :func:`pin_allocator`).
_ALLOCATOR: list[str] = []


class MeasureError(ValueError):
    """Bad input to a measurement (unknown device or dtype, bad length or repeats)."""


# --------------------------------------------------------------------------- helpers
def torch_dtype(dtype: str) -> Any:
    import torch

    if dtype not in DTYPES:
        raise MeasureError(f"dtype: expected one of {list(DTYPES)}, got {dtype!r}")
    return getattr(torch, dtype)


def check_device(device: str) -> str:
    """``device`` if usable here; a clear error naming the parameter otherwise."""
    import torch

    if device not in DEVICES:
        raise MeasureError(f"device: expected one of {list(DEVICES)}, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise MeasureError("device: 'cuda' was asked for but no CUDA GPU is available; use 'cpu'")
    return device


def check_threads(value: int, name: str = "threads") -> int:
    """The validator of a ``threads`` parameter: at most the logical CPUs (0: torch's default). More
    threads than CPUs take turns on the cores, so every timing and the roofline verdict would
    measure the oversubscription, not the machine (512 threads on 2 cores flipped the verdict).
    Raises ValueError naming ``name``."""
    cpus = os.cpu_count() or 1
    if value > cpus:
        raise ValueError(
            f"{name}: {value} exceeds this machine's {cpus} logical CPUs: the threads would take turns on the "
            f"cores; use at most {cpus} (0: torch's default)"
        )
    return value


def device_available(device: str) -> bool:
    """True if ``device`` (one of :data:`DEVICES`) can be used on this machine."""
    if device not in DEVICES:
        return False
    if device == "cuda":
        import torch

        return bool(torch.cuda.is_available())
    return True


def synchronize(device: str) -> None:
    """Wait for queued GPU work (no-op on CPU), so a timer brackets the real work."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def runtime_info(device: str = "cpu", dtype: str = "float32") -> dict[str, Any]:
    """What a measured number depends on: device name, threads, dtype, torch version."""
    import torch

    info: dict[str, Any] = {
        "device": device,
        "dtype": dtype,
        "torch": torch.__version__,
        "clock": "cuda_events" if device == "cuda" else _CPU_CLOCK[0],
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "load_average_1min": os.getloadavg()[0],
        "logical_cpus": os.cpu_count(),
        "allocator": _ALLOCATOR[0] if _ALLOCATOR else "default (not pinned)",
    }
    if device == "cuda" and torch.cuda.is_available():
        info["device_name"] = torch.cuda.get_device_name()
    else:
        info["device_name"] = machine_description()["cpu"]
    return info


def pin_allocator() -> str:
    """Pin glibc malloc's mmap and trim thresholds at their initial 128 KiB for the rest of the
    process (once; later calls only return the description), and return how the allocator is
    set up.

    By default glibc raises both thresholds each time a mapped block is freed (the mmap
    threshold up to 32 MiB), and serves a later request from free heap memory when a big enough
    block is free there. Whether a 64 MiB tensor then costs fresh, zeroed pages (page faults: on
    a 2-core VM, eager attention at 4,096 tokens ran at half the FLOP rate with them) depends on
    everything the process allocated before: a microbenchmark run after the models got its
    score matrices from the models' freed weights and ran twice as fast per FLOP as the models
    had. Pinned (``mallopt``, which also turns the dynamic rule off), every block of 128 KiB or
    more is mapped fresh and freed back to the kernel whatever ran before, as in a fresh
    process: a microbenchmark and the model it calibrates pay the same page faults per byte
    they allocate. A process that has run for a while can be faster: unpinned, GPT-2's KV
    cache (copied one token larger at every step) comes from the heap after a few steps
    instead of being faulted in anew (24 caches of 6 MiB: 144 MiB faulted per step, then 12
    MiB by the sixth step; pinned, 144 MiB every step). Without glibc (macOS, musl) nothing is
    changed, and the description says so; a malloc preloaded over glibc's is not detected.

    Latency and its roofline pin it (:func:`measuring_latency`). Figure 4b's rematerialization
    timings do not: they compare plans within one process, and pinned, a training step of many
    small tensors spends much of its time in page faults (the figure ran 60% longer)."""
    if _ALLOCATOR:
        return _ALLOCATOR[0]
    try:  # the symbols of the running process
        proc: Any = ctypes.CDLL(None)
    except OSError:  # pragma: no cover - no dynamic loader
        proc = None
    version = getattr(proc, "gnu_get_libc_version", None)
    if version is None or getattr(proc, "mallopt", None) is None:
        _ALLOCATOR.append("default (not glibc malloc: thresholds not pinned)")
    elif not (
        proc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and proc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    ):
        _ALLOCATOR.append("default (glibc refused mallopt: thresholds not pinned)")
    else:
        version.restype = ctypes.c_char_p
        _ALLOCATOR.append(
            f"glibc {version().decode()} malloc, mmap threshold pinned at {MMAP_THRESHOLD_BYTES} bytes, trim "
            f"threshold at {TRIM_THRESHOLD_BYTES} bytes"
        )
    return _ALLOCATOR[0]


@contextmanager
def using_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` intra-op CPU threads (None or 0: leave as is);
    yields the count in use. One thread per process keeps timings stable when other
    processes share the cores (a busy core stalls every parallel region of a multi-threaded
    run)."""
    import torch

    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 0):
        raise MeasureError(f"threads: expected an integer >= 0, got {threads!r}")
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


@contextmanager
def measuring_latency(threads: int | None) -> Iterator[int]:
    """:func:`using_threads` with the allocator pinned (:func:`pin_allocator`): latencies and
    the roofline microbenchmarks that predict them pay the same page faults per byte they
    allocate, whatever the process ran before. Yields the thread count in use."""
    pin_allocator()
    with using_threads(threads) as n:
        yield n


def last_level_cache_bytes() -> int | None:
    """Size in bytes of the largest CPU cache Linux reports (None if unknown)."""
    sizes = []
    for p in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = p.read_text().strip().upper()
        mult = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
        try:
            sizes.append(int(text.rstrip("KMG")) * mult)
        except ValueError:
            continue
    return max(sizes) if sizes else None


# --------------------------------------------------------------------------- timing
@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of ``len(runs_s)`` runs after ``warmup`` untimed ones."""

    runs_s: tuple[float, ...]
    warmup: int

    @property
    def median_s(self) -> float:
        return float(statistics.median(self.runs_s))

    @property
    def min_s(self) -> float:
        return float(min(self.runs_s))

    @property
    def max_s(self) -> float:
        return float(max(self.runs_s))

    @property
    def spread(self) -> float:
        """(max - min) / median: relative spread of the runs."""
        return (self.max_s - self.min_s) / self.median_s if self.median_s else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_s": self.median_s,
            "min_s": self.min_s,
            "max_s": self.max_s,
            "spread": self.spread,
            "runs_s": list(self.runs_s),
            "warmup": self.warmup,
        }


@contextmanager
def using_clock(kind: str) -> Iterator[str]:
    """Time CPU work inside the block by ``kind`` (:data:`CLOCKS`); GPU work always by CUDA
    events. ``process`` time sums the process's threads: use it with one thread."""
    if kind not in CLOCKS:
        raise MeasureError(f"clock: expected one of {list(CLOCKS)}, got {kind!r}")
    before = _CPU_CLOCK[0]
    _CPU_CLOCK[0] = kind
    try:
        yield kind
    finally:
        _CPU_CLOCK[0] = before


class Clock:
    """Marks on a device's timeline: ``perf_counter`` on a CPU (or the process's CPU time
    inside :func:`using_clock` ``("process")``), CUDA events (recorded on the current stream,
    read after synchronizing) on a GPU, so a GPU interval is the device's own time between
    two points of the queued work."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def mark(self) -> Any:
        if self.device == "cuda":
            import torch

            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.process_time() if _CPU_CLOCK[0] == "process" else time.perf_counter()

    def seconds(self, start: Any, end: Any) -> float:
        """Seconds from mark ``start`` to mark ``end`` (synchronizes a GPU first)."""
        if self.device == "cuda":
            synchronize(self.device)
            return float(start.elapsed_time(end)) / 1e3
        return float(end - start)


def check_runs(repeats: int, warmup: int) -> None:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise MeasureError(f"repeats: expected an integer >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise MeasureError(f"warmup: expected an integer >= 0, got {warmup!r}")


#: A model's warm-up (:func:`warm_up`) lasts at least this long (seconds of wall time).
MIN_WARMUP_S = 0.25


def warm_up(fn: Callable[[], Any], passes: int, device: str = "cpu") -> None:
    """Run ``fn`` ``passes`` times untimed, then again until the warm-up has lasted
    :data:`MIN_WARMUP_S` (nothing if ``passes`` is 0).

    Why a floor in seconds, not only a count of passes: a short pass is not at its steady
    speed after one warm-up pass. BERT-Base's one-layer twin at 128 tokens (1 thread, 2-core
    Intel Xeon VM) took 20, 18.2, 18.0, 17.1, 17.4, 17.2 ms in its first passes and about 16.5
    ms from the eighth on, so three timed runs after one warm-up pass read 4-8% slow and moved
    the roofline's verdict from run to run (issue 20); a long pass (seconds) warms up in one."""
    check_runs(1, passes)
    start = time.perf_counter()
    for i in itertools.count():
        if i >= passes and (passes == 0 or time.perf_counter() - start >= MIN_WARMUP_S):
            break
        fn()
        synchronize(device)


def time_fn(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1, device: str = "cpu") -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then time ``repeats`` runs (a GPU: synchronized
    before each run, timed with CUDA events)."""
    check_runs(repeats, warmup)
    for _ in range(warmup):
        fn()
    clock, runs = Clock(device), []
    for _ in range(repeats):
        synchronize(device)
        t0 = clock.mark()
        fn()
        runs.append(clock.seconds(t0, clock.mark()))
    return Timing(tuple(runs), warmup)
