"""Measuring on the machine it runs on: latency of transformer inference, FLOP counts by
torch, and a calibrated roofline (attainable GEMM rate, STREAM bandwidth, per-call
framework overhead) that predicts latency from :mod:`memwall_lib.transformer`'s per-op
FLOPs and bytes.

Units: seconds; FLOPs (a multiply-accumulate = 2); FLOP/s; bytes and bytes/s (GB = 1e9).
torch and transformers are imported inside the functions. Nothing here plots.

Workloads (batch 1 unless asked): an encoder (BERT) runs one forward pass over ``l``
tokens; a decoder (GPT-2) generates greedily with the KV cache from one start token,
``l`` forward passes attending to 1, 2, ..., ``l`` tokens (:func:`greedy_generate`). The
same callables are timed, FLOP-counted and predicted, so the three always describe the
same work.
"""

from __future__ import annotations

import copy
import numbers
import inspect
import os
import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from . import transformer as tfm
from .params import ParameterError

DEVICES: tuple[str, ...] = ("cpu", "cuda")
DTYPES: tuple[str, ...] = ("float32", "bfloat16", "float16")


class MeasureError(ParameterError):
    """Bad input to a measurement (unknown device or dtype, bad length or repeats)."""


# --------------------------------------------------------------------------- helpers
def _torch_dtype(dtype: str) -> Any:
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


def synchronize(device: str) -> None:
    """Wait for queued GPU work (no-op on CPU), so a timer brackets the real work."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def runtime_info(device: str = "cpu", dtype: str = "float32") -> dict[str, Any]:
    """What a measured number depends on: device name, threads, dtype, torch version."""
    import torch

    info: dict[str, Any] = {"device": device, "dtype": dtype, "torch": torch.__version__,
                            "threads": torch.get_num_threads(),
                            "interop_threads": torch.get_num_interop_threads(),
                            "load_average_1min": os.getloadavg()[0], "logical_cpus": os.cpu_count()}
    if device == "cuda" and torch.cuda.is_available():
        info["device_name"] = torch.cuda.get_device_name()
    else:
        from .figures import machine_description

        info["device_name"] = machine_description()["cpu"]
    return info


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
        return {"median_s": self.median_s, "min_s": self.min_s, "max_s": self.max_s,
                "spread": self.spread, "runs_s": list(self.runs_s), "warmup": self.warmup}


def time_fn(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1, device: str = "cpu") -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then time ``repeats`` runs (synchronizing a GPU
    before and after each)."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise MeasureError(f"repeats: expected an integer >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise MeasureError(f"warmup: expected an integer >= 0, got {warmup!r}")
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        runs.append(time.perf_counter() - t0)
    return Timing(tuple(runs), warmup)


# --------------------------------------------------------------------------- workloads
def _cache_kw(model: Any) -> str:
    """The keyword a ``transformers`` model takes its KV cache by (``cache`` in
    transformers >= 5, ``past_key_values`` before)."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _cache_of(output: Any) -> Any:
    return output["cache"] if "cache" in output else output["past_key_values"]


def start_ids(seq_len: int, vocab_size: int, device: str = "cpu", batch: int = 1, seed: int = 0) -> Any:
    """Deterministic token ids, shape ``(batch, seq_len)``."""
    import torch

    if device == "meta":
        return torch.zeros(batch, seq_len, dtype=torch.long, device="meta")
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab_size, (batch, seq_len), generator=g).to(device)


def greedy_generate(model: Any, ids: Any, n_tokens: int, *, cache: Any = None,
                    on_step: Callable[[int], None] | None = None) -> Any:
    """Greedy generation with the KV cache: ``n_tokens`` forward passes, the first over
    ``ids`` (the prompt or one start token), each later one over the token just chosen.
    ``cache`` continues from an earlier pass; ``on_step(k)`` is called after pass k
    (1-based). Returns the chosen ids, shape ``(batch, n_tokens)``. No early stop."""
    import torch

    kw = _cache_kw(model)
    out_ids = []
    nxt = ids
    with torch.no_grad():
        for k in range(n_tokens):
            out = model(input_ids=nxt, use_cache=True, **({kw: cache} if cache is not None else {}))
            cache = _cache_of(out)
            nxt = out["logits"][:, -1:].argmax(-1)
            out_ids.append(nxt)
            if on_step is not None:
                on_step(k + 1)
    return torch.cat(out_ids, dim=1)


def workload(model: Any, spec: tfm.TransformerSpec, seq_len: int, device: str = "cpu",
             batch: int = 1, seed: int = 0) -> Callable[[], Any]:
    """The callable whose time is the latency at ``seq_len``: an encoder forward over
    ``seq_len`` tokens, or ``seq_len`` greedy decoding steps from one start token."""
    import torch

    if spec.kind == "encoder":
        ids = start_ids(seq_len, spec.vocab_size, device, batch, seed)

        def run() -> Any:
            with torch.no_grad():
                return model(input_ids=ids)
        return run
    ids = start_ids(1, spec.vocab_size, device, batch, seed)
    return lambda: greedy_generate(model, ids, seq_len)


def workload_profile(spec: tfm.TransformerSpec, seq_len: int, precision: tfm.Precision,
                     batch: int = 1) -> tfm.Profile:
    """The analytic profile of exactly what :func:`workload` runs: embeddings and the
    pooler / LM head included (a decoder: no prompt, ``seq_len`` steps)."""
    return tfm.profile(spec, seq_len, batch=batch, precision=precision, prompt_len=0,
                       include_embeddings=True, include_head=True)


def _config_for(model: str | Any, max_positions: int) -> Any:
    """A ``transformers`` config with eager attention and at least ``max_positions``
    positions (enlarged beyond the model's limit where needed: weights are random)."""
    from . import models

    if isinstance(model, str):
        tfm.get_spec(model)  # a clear error for an unknown name
        return models.transformer_config(model, max_positions=max_positions)
    cfg = copy.deepcopy(model)
    tfm.spec_from_config(cfg)  # a clear error for an unsupported config
    if getattr(cfg, "max_position_embeddings", 0) < max_positions:
        cfg.max_position_embeddings = max_positions
    cfg._attn_implementation = "eager"
    return cfg


def _check_lengths(seq_lens: Sequence[int]) -> list[int]:
    if isinstance(seq_lens, (str, bytes)) or not hasattr(seq_lens, "__len__") or len(seq_lens) == 0:
        raise MeasureError(f"seq_lens: expected a non-empty list of lengths, got {seq_lens!r}")
    for n in seq_lens:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise MeasureError(f"seq_lens: expected positive integers, got {n!r}")
    return [int(n) for n in seq_lens]


# --------------------------------------------------------------------------- FLOP counting
def count_flops(fn: Callable[[], Any]) -> dict[str, int]:
    """FLOPs counted by ``torch.utils.flop_counter.FlopCounterMode`` while ``fn`` runs,
    per aten op and ``"total"``.

    FlopCounterMode counts matrix multiplications only; it counts 0 for CPU
    scaled-dot-product attention and under ``torch.inference_mode`` (so build models with
    ``attn_implementation="eager"`` and run under ``no_grad``, as :func:`workload` does).
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    per_op = {str(k): int(v) for k, v in counter.get_flop_counts().get("Global", {}).items()}
    per_op["total"] = int(counter.get_total_flops())
    return per_op


def validate_flops(model: str | Any, seq_lens: Sequence[int], *, device: str = "meta",
                   max_generate: int = 128) -> list[dict[str, Any]]:
    """Compare the analytic matmul FLOPs with FlopCounterMode on a real ``transformers``
    model built from config (random weights, eager attention), at each length.

    The model runs exactly the latency workload (:func:`workload`), so the analytic side
    includes what the model holds besides the survey's groups: BERT's pooler, GPT-2's LM
    head (embeddings have no matmul). ``device="meta"`` counts shapes without computing.

    Encoders: one forward pass per length (``scope="total"``). Decoders: one greedy
    generation of ``min(max(seq_lens), max_generate)`` steps, read after every step, gives
    the exact total at each length up to ``max_generate`` (``scope="total"``); a longer
    length ``l`` is checked on its last step alone (``scope="last_step"``: one pass over
    1 token with a KV cache of ``l - 1`` tokens from a prefill, against the analytic
    ``total(l) - total(l - 1)``), which with exactness of every shorter step and the
    per-step formula being affine in the context covers the total (counting a 4096-step
    generation directly takes minutes: pass ``max_generate=4096``).
    Rows: ``{"seq_len", "scope", "analytic", "counted", "equal"}``.
    """
    import torch

    from torch.utils.flop_counter import FlopCounterMode

    from . import models

    seq_lens = _check_lengths(seq_lens)
    if isinstance(max_generate, bool) or not isinstance(max_generate, int) or max_generate < 1:
        raise MeasureError(f"max_generate: expected an integer >= 1, got {max_generate!r}")
    cfg = _config_for(model, max(seq_lens))
    spec = tfm.get_spec(model) if isinstance(model, str) else tfm.spec_from_config(cfg)
    net = models.build_from_config(cfg, device=device)

    def analytic(n: int) -> int:
        return int(workload_profile(spec, n, tfm.SURVEY_8BIT).matmul_flops) if n else 0

    def row(n: int, scope: str, a: int, c: int) -> dict[str, Any]:
        return {"model": spec.name, "seq_len": n, "scope": scope, "analytic": a, "counted": int(c),
                "equal": a == int(c)}

    rows: dict[int, dict[str, Any]] = {}
    if spec.kind == "encoder":
        for n in seq_lens:
            rows[n] = row(n, "total", analytic(n), count_flops(workload(net, spec, n, device))["total"])
        return [rows[n] for n in seq_lens]
    wanted = set(seq_lens)
    n_gen = min(max(seq_lens), max_generate)
    totals: dict[int, int] = {}
    with FlopCounterMode(display=False) as counter:
        greedy_generate(net, start_ids(1, spec.vocab_size, device), n_gen,
                        on_step=lambda k: totals.__setitem__(k, counter.get_total_flops()) if k in wanted else None)
    for n in seq_lens:
        if n <= n_gen:
            rows[n] = row(n, "total", analytic(n), totals[n])
            continue
        with torch.no_grad():  # prefill l - 1 tokens (not counted), then count one step
            out = net(input_ids=start_ids(n - 1, spec.vocab_size, device), use_cache=True)
        cache = _cache_of(out)
        step = count_flops(lambda: greedy_generate(net, start_ids(1, spec.vocab_size, device), 1,
                                                   cache=cache))["total"]
        rows[n] = row(n, "last_step", analytic(n) - analytic(n - 1), step)
    return [rows[n] for n in seq_lens]


# --------------------------------------------------------------------------- latency
def measure_latency(model: str | Any, seq_lens: Sequence[int], *, device: str = "cpu",
                    dtype: str = "float32", repeats: int = 3, warmup: int = 1,
                    seed: int = 0, threads: int | None = None) -> list[dict[str, Any]]:
    """Latency (batch 1) of ``model`` at each length: median of ``repeats`` runs after
    ``warmup``, with min/max. One model is built (random weights, eager attention) with a
    position table enlarged to the longest length. Rows: ``{"seq_len", "median_s",
    "min_s", "max_s", "spread", "runs_s", "warmup", "forward_calls"}``."""
    import torch

    from . import models

    device = check_device(device)
    torch_dtype = _torch_dtype(dtype)
    seq_lens = _check_lengths(seq_lens)
    cfg = _config_for(model, max(seq_lens))
    spec = tfm.get_spec(model) if isinstance(model, str) else tfm.spec_from_config(cfg)
    torch.manual_seed(seed)
    net = models.build_from_config(cfg, device=device, dtype=torch_dtype)
    rows = []
    with using_threads(threads):
        for n in seq_lens:
            timing = time_fn(workload(net, spec, n, device, seed=seed), repeats=repeats,
                             warmup=warmup, device=device)
            rows.append({"seq_len": n, **timing.to_dict(),
                         "forward_calls": 1 if spec.kind == "encoder" else n,
                         "load_average_1min": os.getloadavg()[0]})
    del net
    return rows


# --------------------------------------------------------------------------- roofline
def measure_gemm_rate(*, n: int = 2048, dtype: str = "float32", device: str = "cpu",
                      repeats: int = 5) -> float:
    """Attainable FLOP/s of an ``n x n`` by ``n x n`` matmul (best of ``repeats``; 2 n^3 FLOPs)."""
    import torch

    check_device(device)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=g).to(device=device, dtype=_torch_dtype(dtype))
    b = torch.rand(n, n, generator=g).to(device=device, dtype=_torch_dtype(dtype))
    t = time_fn(lambda: torch.mm(a, b), repeats=repeats, warmup=1, device=device)
    return 2 * n**3 / t.min_s


def measure_stream_bandwidth(*, array_bytes: int | None = None, dtype: str = "float32",
                             device: str = "cpu", repeats: int = 5) -> dict[str, float]:
    """STREAM-style bandwidths in bytes/s (best of ``repeats``), counted as in STREAM
    (no write-allocate traffic): copy ``a = b`` (2 arrays), triad ``a = b + s*c`` (3).

    ``array_bytes`` defaults to twice the last-level cache (at least 256 MiB) per array, so
    the arrays stream from DRAM."""
    import torch

    check_device(device)
    if array_bytes is None:
        llc = last_level_cache_bytes() if device == "cpu" else None
        array_bytes = max(2 * (llc or 0), 256 * 2**20)
    tdt = _torch_dtype(dtype)
    n = int(array_bytes) // torch.tensor([], dtype=tdt).element_size()
    a = torch.empty(n, dtype=tdt, device=device)
    b = torch.ones(n, dtype=tdt, device=device)
    c = torch.full((n,), 2.0, dtype=tdt, device=device)
    esize = a.element_size()
    t_copy = time_fn(lambda: a.copy_(b), repeats=repeats, warmup=1, device=device)
    t_triad = time_fn(lambda: torch.add(b, c, alpha=3.0, out=a), repeats=repeats, warmup=1, device=device)
    del a, b, c
    return {"copy": 2 * n * esize / t_copy.min_s, "triad": 3 * n * esize / t_triad.min_s,
            "array_bytes": float(n * esize)}


def overhead_twin_config(model: str | Any, head_dim: int = 8) -> Any:
    """A structural twin of ``model``: same layers, heads, operations and code path, but
    ``head_dim``-wide heads, FFN 4x hidden and a 256-token vocabulary, so its run time is
    almost all per-operation framework overhead (Python, dispatch, kernel launches)."""
    cfg = _config_for(model, 64)
    cfg = copy.deepcopy(cfg)
    spec = tfm.spec_from_config(cfg)
    hidden = spec.n_heads * head_dim
    cfg.hidden_size = hidden
    if hasattr(cfg, "n_inner"):
        cfg.n_inner = 4 * hidden
    else:
        cfg.intermediate_size = 4 * hidden
    cfg.vocab_size = 256
    return cfg


def measure_call_overhead(model: str | Any, *, device: str = "cpu", dtype: str = "float32",
                          repeats: int = 20, warmup: int = 3) -> float:
    """Seconds of framework overhead per forward call of ``model``, measured on its
    structural twin (:func:`overhead_twin_config`) over 1 token (an encoder) or as one
    decoding step at a short context (a decoder): not fitted to any latency of ``model``."""
    from . import models

    check_device(device)
    cfg = overhead_twin_config(model)
    spec = tfm.spec_from_config(cfg)
    net = models.build_from_config(cfg, device=device, dtype=_torch_dtype(dtype))
    if spec.kind == "encoder":
        fn = workload(net, spec, 1, device)
        return time_fn(fn, repeats=repeats, warmup=warmup, device=device).median_s
    # a decoder: time 8 steps (the first builds the cache), per step
    fn = workload(net, spec, 8, device)
    return time_fn(fn, repeats=repeats, warmup=warmup, device=device).median_s / 8


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
        return {"predicted_s": roof + overhead, "roofline_s": roof, "compute_bound_s": compute,
                "memory_bound_s": memory, "overhead_s": overhead}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ridge_point"] = self.ridge_point
        return d


def calibrate_roofline(models: Sequence[str | Any] = (), *, device: str = "cpu",
                       dtype: str = "float32", gemm_n: int = 2048, stream_bytes: int | None = None,
                       repeats: int = 5, threads: int | None = None) -> Roofline:
    """Measure this machine's roofline with ``threads`` CPU threads: GEMM rate, STREAM
    triad bandwidth and, for each of ``models`` (names), the per-forward-call overhead of
    its structural twin."""
    check_device(device)
    with using_threads(threads):
        peak = measure_gemm_rate(n=gemm_n, dtype=dtype, device=device, repeats=repeats)
        stream = measure_stream_bandwidth(array_bytes=stream_bytes, dtype=dtype, device=device,
                                          repeats=repeats)
        # keyed like Roofline.predict looks them up: by the profiled spec's name
        overheads = {tfm.spec_from_config(_config_for(m, 64)).name if not isinstance(m, str) else m:
                     measure_call_overhead(m, device=device, dtype=dtype) for m in models}
        info = runtime_info(device, dtype)
    return Roofline(peak, stream["triad"], overheads,
                    {"gemm_n": gemm_n, "stream_copy": stream["copy"], "stream_triad": stream["triad"],
                     "stream_array_bytes": stream["array_bytes"], "repeats": repeats,
                     "llc_bytes": last_level_cache_bytes(), **info})
