"""A roofline calibrated on the machine it runs on: attainable GEMM rate, STREAM bandwidth
and per-call framework overhead measured on structural twins of the models, which predicts
latency from the analytic per-op FLOPs and bytes of :mod:`memwall_lib.engines.counts.transformer`.

Units: seconds; FLOP/s; bytes and bytes/s (GB = 1e9).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..counts import transformer as tfm
from .clock import check_device, last_level_cache_bytes, measuring_latency, runtime_info, time_fn, torch_dtype
from .workloads import config_for, workload


# --------------------------------------------------------------------------- roofline
def measure_gemm_rate(*, n: int = 2048, dtype: str = "float32", device: str = "cpu", repeats: int = 5) -> float:
    """Attainable FLOP/s of an ``n x n`` by ``n x n`` matmul (best of ``repeats``; 2 n^3 FLOPs)."""
    import torch

    check_device(device)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=g).to(device=device, dtype=torch_dtype(dtype))
    b = torch.rand(n, n, generator=g).to(device=device, dtype=torch_dtype(dtype))
    t = time_fn(lambda: torch.mm(a, b), repeats=repeats, warmup=1, device=device)
    return 2 * n**3 / t.min_s


def measure_stream_bandwidth(
    *, array_bytes: int | None = None, dtype: str = "float32", device: str = "cpu", repeats: int = 5
) -> dict[str, float]:
    """STREAM-style bandwidths in bytes/s (best of ``repeats``), counted as in STREAM
    (no write-allocate traffic): copy ``a = b`` (2 arrays), triad ``a = b + s*c`` (3).

    ``array_bytes`` defaults to twice the last-level cache (at least 256 MiB) per array, so
    the arrays stream from DRAM."""
    import torch

    check_device(device)
    if array_bytes is None:
        llc = last_level_cache_bytes() if device == "cpu" else None
        array_bytes = max(2 * (llc or 0), 256 * 2**20)
    tdt = torch_dtype(dtype)
    n = int(array_bytes) // torch.tensor([], dtype=tdt).element_size()
    a = torch.empty(n, dtype=tdt, device=device)
    b = torch.ones(n, dtype=tdt, device=device)
    c = torch.full((n,), 2.0, dtype=tdt, device=device)
    esize = a.element_size()
    t_copy = time_fn(lambda: a.copy_(b), repeats=repeats, warmup=1, device=device)
    t_triad = time_fn(lambda: torch.add(b, c, alpha=3.0, out=a), repeats=repeats, warmup=1, device=device)
    return {
        "copy": 2 * n * esize / t_copy.min_s,
        "triad": 3 * n * esize / t_triad.min_s,
        "array_bytes": float(n * esize),
    }


def overhead_twin_config(model: str | Any, head_dim: int = 8) -> Any:
    """A structural twin of ``model``: same layers, heads, operations and code path, but
    ``head_dim``-wide heads, FFN 4x hidden and a 256-token vocabulary, so its run time is
    almost all per-operation framework overhead (Python, dispatch, kernel launches)."""
    cfg = config_for(model, 64)
    cfg = copy.deepcopy(cfg)
    spec = tfm.get_spec(cfg)
    hidden = spec.n_heads * head_dim
    cfg.hidden_size = hidden
    if hasattr(cfg, "n_inner"):
        cfg.n_inner = 4 * hidden
    else:
        cfg.intermediate_size = 4 * hidden
    cfg.vocab_size = 256
    return cfg


def measure_call_overhead(
    model: str | Any, *, device: str = "cpu", dtype: str = "float32", repeats: int = 20, warmup: int = 3
) -> float:
    """Seconds of framework overhead per forward call of ``model`` (the fastest run), measured on its
    structural twin (:func:`overhead_twin_config`) over 1 token (an encoder) or as one
    decoding step at a short context (a decoder): not fitted to any latency of ``model``."""
    from ..models import builders

    check_device(device)
    cfg = overhead_twin_config(model)
    spec = tfm.get_spec(cfg)
    net = builders.build_from_config(cfg, device=device, dtype=torch_dtype(dtype))
    if spec.kind == "encoder":
        fn = workload(net, spec, 1, device)
        return time_fn(fn, repeats=repeats, warmup=warmup, device=device).min_s
    # a decoder: time 8 steps (the first builds the cache), per step
    fn = workload(net, spec, 8, device)
    return time_fn(fn, repeats=repeats, warmup=warmup, device=device).min_s / 8


@dataclass(frozen=True)
class Roofline:
    """A calibrated roofline: attainable ``peak_flops`` (FLOP/s, large GEMM) and memory
    ``bandwidth`` (bytes/s, STREAM triad), plus per-forward-call framework overheads
    (seconds, per model name) measured on structural twins."""

    peak_flops: float
    bandwidth: float
    call_overhead_s: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ridge_point(self) -> float:
        """Arithmetic intensity (FLOPs/byte) where the roofline turns flat."""
        return self.peak_flops / self.bandwidth

    def attainable(self, intensity: float) -> float:
        """Attainable FLOP/s at an arithmetic intensity (FLOPs/byte)."""
        return min(self.peak_flops, self.bandwidth * intensity)

    def predict(self, profile: tfm.Profile, model: str | None = None) -> dict[str, float]:
        """Predicted seconds of ``profile``: each op takes max(FLOPs / peak, bytes /
        bandwidth) (no overlap between ops), plus the model's per-call overhead times the
        number of forward calls. Returns the total and its parts."""
        compute = memory = roof = 0.0
        for op in profile.ops:
            tc, tm = op.flops / self.peak_flops, op.bytes / self.bandwidth
            roof += max(tc, tm)
            compute += tc if tc >= tm else 0.0
            memory += tm if tm > tc else 0.0
        overhead = self.call_overhead_s.get(model or profile.spec.name, 0.0) * profile.forward_calls
        return {
            "predicted_s": roof + overhead,
            "roofline_s": roof,
            "compute_bound_s": compute,
            "memory_bound_s": memory,
            "overhead_s": overhead,
        }

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ridge_point"] = self.ridge_point
        return d


def calibrate_roofline(
    models: Sequence[str | Any] = (),
    *,
    device: str = "cpu",
    dtype: str = "float32",
    gemm_n: int = 2048,
    stream_bytes: int | None = None,
    repeats: int = 5,
    threads: int | None = None,
) -> Roofline:
    """Measure this machine's roofline with ``threads`` CPU threads: GEMM rate, STREAM
    triad bandwidth and, for each of ``models`` (names), the per-forward-call overhead of
    its structural twin."""
    check_device(device)
    with measuring_latency(threads):
        peak = measure_gemm_rate(n=gemm_n, dtype=dtype, device=device, repeats=repeats)
        stream = measure_stream_bandwidth(array_bytes=stream_bytes, dtype=dtype, device=device, repeats=repeats)
        # keyed like Roofline.predict looks them up: by the profiled spec's name
        overheads = {
            tfm.get_spec(config_for(m, 64)).name if not isinstance(m, str) else m: measure_call_overhead(
                m, device=device, dtype=dtype
            )
            for m in models
        }
        info = runtime_info(device, dtype)
    return Roofline(
        peak,
        stream["triad"],
        overheads,
        {
            "gemm_n": gemm_n,
            "stream_copy": stream["copy"],
            "stream_triad": stream["triad"],
            "stream_array_bytes": stream["array_bytes"],
            "repeats": repeats,
            "llc_bytes": last_level_cache_bytes(),
            **info,
        },
    )
