"""Latency at every length, cheaply: measure what repeats, and add it up.

Two methods (``method``) for the workloads of :mod:`memwall_lib.engines.timing.workloads`:

- ``"whole"``: time the whole workload (an encoder's forward pass; a decoder's greedy
  generation of ``l`` tokens, one generation to the longest length timed at every length on
  the way, since the first ``l`` steps of a longer generation are exactly a generation of
  ``l``).
- ``"sampled"``: an **encoder** runs a one-layer twin of itself (same embeddings, pooler and
  layer shapes); a forward hook times its layer inside the run, so one run gives the layer
  and "the rest" (embeddings, mask, pooler), and the latency is ``rest + n_layers x layer``.
  A **decoder** times single decoding steps at sampled contexts ``t`` (the step that makes
  the sequence ``t`` tokens long: one token attending to a KV cache of ``t - 1`` tokens,
  filled with random keys and values, which cost what real ones cost), and the latency of
  ``l`` tokens is the sum over ``t = 1..l`` of the step time interpolated linearly between the
  samples (the trapezoid rule on the integers; a step's work is affine in ``t``).

:func:`agreement` compares the two where both ran.

Any other model ``transformers`` can build from a config (:func:`measure_config`: GPT-NeoX,
Llama, Mistral, RoBERTa ...) is timed by whole runs only, since the sampled method rests on
BERT's and GPT-2's module layout: built on the CPU with random weights and eager attention
(:func:`build_random`), an encoder's forward pass, or a decoder's greedy generation, one token
per pass, the first over a single start token, with the ``DynamicCache`` the model makes.
:func:`weight_bytes` sizes its weights beforehand, on the meta device, so that a caller can
refuse a model that would not fit in memory.

Units: seconds, bytes. Timings use :class:`memwall_lib.engines.timing.clock.Clock` (CUDA
events on a GPU).
"""

from __future__ import annotations

import copy
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...core.progress import progress
from ..counts import transformer as tfm
from ..counts.survey_workload import with_positions
from .clock import (
    Clock,
    MeasureError,
    check_device,
    check_runs,
    measuring_latency,
    synchronize,
    torch_dtype,
    warm_up,
)
from .workloads import WorkloadShape, check_lengths, config_for, greedy_generate, start_ids, workload

METHODS: tuple[str, ...] = ("sampled", "whole")


def _stats(runs: Sequence[float]) -> dict[str, Any]:
    med = float(statistics.median(runs))
    return {
        "median_s": med,
        "min_s": float(min(runs)),
        "max_s": float(max(runs)),
        "spread": (max(runs) - min(runs)) / med if med else 0.0,
        "runs_s": [float(r) for r in runs],
    }


def _build(cfg: Any, device: str, dtype: str, seed: int, n_layers: int | None = None) -> Any:
    import torch

    from ..models import builders

    if n_layers is not None:
        cfg = copy.deepcopy(cfg)
        cfg.num_hidden_layers = n_layers
    torch.manual_seed(seed)
    return builders.build_from_config(cfg, device=device, dtype=torch_dtype(dtype))


# --------------------------------------------------------------------------- sampled: encoders
def encoder_layer_times(
    net: Any,
    spec: tfm.TransformerSpec,
    seq_len: int,
    *,
    device: str = "cpu",
    repeats: int = 3,
    warmup: int = 1,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Time a one-layer encoder ``net`` over ``seq_len`` tokens after its warm-up
    (:func:`~.clock.warm_up`: ``warmup`` passes, at least :data:`~.clock.MIN_WARMUP_S`): per
    run, the whole forward (``total_s``) and its layer alone (``layer_s``, between hooks on the
    layer)."""
    clock = Clock(device)
    layer = net.encoder.layer[0]
    marks: dict[str, Any] = {}
    hooks = [
        layer.register_forward_pre_hook(lambda m, a: marks.__setitem__("start", clock.mark())),
        layer.register_forward_hook(lambda m, a, o: marks.__setitem__("end", clock.mark())),
    ]
    fn = workload(net, spec, seq_len, device, seed=seed)
    out: dict[str, list[float]] = {"total_s": [], "layer_s": []}
    try:
        warm_up(fn, warmup, device)
        for _ in range(repeats):
            synchronize(device)
            t0 = clock.mark()
            fn()
            t1 = clock.mark()
            out["total_s"].append(clock.seconds(t0, t1))
            out["layer_s"].append(clock.seconds(marks["start"], marks["end"]))
    finally:
        for h in hooks:
            h.remove()
    return out


def _sampled_encoder(
    cfg: Any,
    spec: tfm.TransformerSpec,
    seq_lens: list[int],
    *,
    device: str,
    dtype: str,
    repeats: int,
    warmup: int,
    seed: int,
) -> list[dict[str, Any]]:
    net = _build(cfg, device, dtype, seed, n_layers=1)
    rows = []
    lengths = progress(seq_lens, f"{spec.name} sampled (tokens)", inner=True)
    # warmup at every length: on a 2-core Intel Xeon VM the first pass of the one-layer twin at a
    # new long length ran 2-3x slower than the next, idle or not (BERT-Large at 4,096 tokens:
    # 185 s then 66 s and 69 s as the estimate), so two slow runs of three set the median; the
    # extra passes cost one twin run per length (about 3 s for BERT-Large at 4,096 tokens)
    for n in lengths:
        t = encoder_layer_times(net, spec, n, device=device, repeats=repeats, warmup=warmup, seed=seed)
        runs = [tot + (spec.n_layers - 1) * lay for tot, lay in zip(t["total_s"], t["layer_s"])]
        rows.append(
            {
                "seq_len": n,
                **_stats(runs),
                "layer_s": statistics.median(t["layer_s"]),
                "rest_s": statistics.median(a - b for a, b in zip(t["total_s"], t["layer_s"])),
                "layers": spec.n_layers,
            }
        )
    del net
    return rows


# --------------------------------------------------------------------------- sampled: decoders
def random_kv(
    spec: tfm.TransformerSpec,
    context: int,
    *,
    device: str = "cpu",
    dtype: str = "float32",
    batch: int = 1,
    seed: int = 0,
) -> list[tuple[Any, Any]]:
    """Random keys and values of ``context`` tokens for every layer (batch x heads x context
    x head_dim each)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    shape = (batch, spec.n_heads, context, spec.head_dim)
    return [
        tuple(torch.randn(shape, generator=g).to(device=device, dtype=torch_dtype(dtype)) for _ in "kv")
        for _ in range(spec.n_layers)
    ]


def cache_from(kv: Sequence[tuple[Any, Any]]) -> Any:
    """A ``transformers.DynamicCache`` holding copies of ``kv`` (one (keys, values) per layer),
    as a prefill of that many tokens would leave it; ``kv`` itself is not modified by later
    steps."""
    from transformers import DynamicCache

    cache = DynamicCache()
    for i, (k, v) in enumerate(kv):
        cache.update(k, v, i)
    return cache


def random_cache(
    spec: tfm.TransformerSpec,
    context: int,
    *,
    device: str = "cpu",
    dtype: str = "float32",
    batch: int = 1,
    seed: int = 0,
) -> Any:
    """A ``DynamicCache`` of ``context`` random tokens in every layer (:func:`random_kv`)."""
    return cache_from(random_kv(spec, context, device=device, dtype=dtype, batch=batch, seed=seed))


def decode_step_times(
    net: Any,
    spec: tfm.TransformerSpec,
    contexts: Sequence[int],
    *,
    device: str = "cpu",
    dtype: str = "float32",
    repeats: int = 5,
    warmup: int = 1,
    seed: int = 0,
) -> dict[int, list[float]]:
    """Seconds of the decoding step that makes the sequence ``t`` tokens long (one token over
    a KV cache of ``t - 1``; ``t = 1``: the first token, no cache), ``repeats`` runs per ``t``
    after ``warmup``, each on a freshly filled cache (a step appends to it)."""
    check_runs(repeats, warmup)
    clock = Clock(device)
    ids = start_ids(1, spec.vocab_size, device, seed=seed)
    out: dict[int, list[float]] = {}
    contexts = check_lengths(list(contexts))
    # one draw of random keys and values for the longest context; each context takes a
    # contiguous copy of its first t - 1 tokens (as a prefill would leave them)
    longest = random_kv(spec, max(contexts) - 1, device=device, dtype=dtype, seed=seed) if max(contexts) > 1 else []
    for t in progress(contexts, f"{spec.name} decode steps (context)", inner=True):
        runs = []
        kv = [(k[:, :, : t - 1].contiguous(), v[:, :, : t - 1].contiguous()) for k, v in longest] if t > 1 else None
        for r in range(warmup + repeats):
            cache = cache_from(kv) if kv is not None else None
            synchronize(device)
            t0 = clock.mark()
            greedy_generate(net, ids, 1, cache=cache)
            t1 = clock.mark()
            if r >= warmup:
                runs.append(clock.seconds(t0, t1))
            del cache
        del kv
        out[t] = runs
    return out


def integrate_steps(contexts: Sequence[int], step_s: Sequence[float], seq_len: int) -> float:
    """Seconds to generate ``seq_len`` tokens: the sum over ``t = 1..seq_len`` of the step
    time, linear between the sampled ``contexts`` (which must cover 1 and ``seq_len``)."""
    ts, ys = np.asarray(contexts, dtype=float), np.asarray(step_s, dtype=float)
    if len(ts) != len(ys) or len(ts) == 0 or np.any(np.diff(ts) <= 0):
        raise MeasureError("contexts: expected increasing contexts, one step time each")
    if ts[0] > 1 or ts[-1] < seq_len:
        raise MeasureError(f"contexts: expected samples covering 1..{seq_len}, got {ts[0]:g}..{ts[-1]:g}")
    return float(np.interp(np.arange(1, seq_len + 1), ts, ys).sum())


def decode_contexts(seq_lens: Sequence[int]) -> list[int]:
    """The contexts a sampled decoder latency times: 1, every length, and the midpoint of
    each gap between consecutive lengths."""
    lens = sorted(set(check_lengths(seq_lens)))
    pts = {1, *lens}
    for a, b in zip([1] + lens[:-1], lens):
        if b - a > 2:
            pts.add((a + b) // 2)
    return sorted(pts)


def _sampled_decoder(
    net: Any,
    spec: tfm.TransformerSpec,
    seq_lens: list[int],
    *,
    device: str,
    dtype: str,
    repeats: int,
    warmup: int,
    seed: int,
) -> tuple[list[dict[str, Any]], dict[str, list]]:
    ctx = decode_contexts(seq_lens)
    steps = decode_step_times(net, spec, ctx, device=device, dtype=dtype, repeats=repeats, warmup=warmup, seed=seed)
    rows = []
    for n in seq_lens:
        runs = [integrate_steps(ctx, [steps[t][i] for t in ctx], n) for i in range(repeats)]
        row = {"seq_len": n, **_stats(runs)}
        for key, f in (("median_s", statistics.median), ("min_s", min), ("max_s", max)):
            row[key] = integrate_steps(ctx, [f(steps[t]) for t in ctx], n)  # the sum of per-step stats
        row["spread"] = (row["max_s"] - row["min_s"]) / row["median_s"]
        rows.append(row)
    return rows, {
        "context": ctx,
        "median_s": [statistics.median(steps[t]) for t in ctx],
        "min_s": [min(steps[t]) for t in ctx],
    }


# --------------------------------------------------------------------------- whole runs
def whole_times(
    net: Any,
    spec: WorkloadShape,
    seq_lens: list[int],
    *,
    device: str = "cpu",
    repeats: int = 3,
    warmup: int = 1,
    seed: int = 0,
) -> dict[int, list[float]]:
    """Seconds of the whole workload at each length, ``repeats`` runs each. A decoder runs
    one generation to the longest length per repeat, read at every length (``warmup``
    generations of up to 32 tokens first); an encoder runs ``warmup`` passes at its first
    length, then each length. A new length needs no warmup of its own: once a model has run,
    the first pass at a new length takes what the next one does (BERT-Large on a 2-core AMD
    EPYC VM, 128 to 2,048 tokens: within 1%), so warming up every length would only add a pass.
    Past that, runs touching gigabytes vary on a VM whatever the warmup (BERT-Large's one-layer
    twin at 4,096 tokens: 157 s then 89 s; warmed up at that length, 115 s then 89 s): report
    the median of three or more runs, or the fastest."""
    from .clock import time_fn

    check_runs(repeats, warmup)
    if spec.kind == "encoder":
        return {
            n: list(
                time_fn(
                    workload(net, spec, n, device, seed=seed),
                    repeats=repeats,
                    warmup=warmup if i == 0 else 0,
                    device=device,
                ).runs_s
            )
            for i, n in enumerate(progress(seq_lens, f"{spec.name} whole runs (tokens)", inner=True))
        }
    clock, ids, top = Clock(device), start_ids(1, spec.vocab_size, device, seed=seed), max(seq_lens)
    wanted = set(seq_lens)
    for _ in range(warmup):
        greedy_generate(net, ids, min(top, 32))
    out: dict[int, list[float]] = {n: [] for n in seq_lens}
    for _ in progress(range(repeats), f"{spec.name} whole generations to {top} tokens", inner=True):
        marks: dict[int, Any] = {}
        synchronize(device)
        t0 = clock.mark()
        greedy_generate(net, ids, top, on_step=lambda k: marks.__setitem__(k, clock.mark()) if k in wanted else None)
        for n in seq_lens:
            out[n].append(clock.seconds(t0, marks[n]))
    return out


# --------------------------------------------------------------------------- the entry point
def measure(
    model: str | Any,
    seq_lens: Sequence[int],
    *,
    method: str = "sampled",
    device: str = "cpu",
    dtype: str = "float32",
    repeats: int = 3,
    warmup: int = 1,
    seed: int = 0,
    threads: int | None = None,
    validate_lengths: Sequence[int] = (),
    validate_repeats: int = 1,
) -> dict[str, Any]:
    """Latency (batch 1) of ``model`` at each length by ``method`` (:data:`METHODS`), and,
    at ``validate_lengths``, by whole runs (``validate_repeats`` each) for comparison.

    Returns ``{"rows": [...], "validation": [...], "decode_steps": {...}}``: rows ``{"seq_len", "median_s", "min_s",
    "max_s", "spread", "runs_s", "method", "forward_calls", "load_average_1min"}`` (plus the
    parts of a sampled encoder estimate: ``layer_s``, ``rest_s``, ``layers``); validation rows
    from :func:`agreement`; a sampled decoder's step times ``{"context", "median_s", "min_s"}``."""
    if method not in METHODS:
        raise MeasureError(f"method: expected one of {list(METHODS)}, got {method!r}")
    device = check_device(device)
    torch_dtype(dtype)
    seq_lens = check_lengths(seq_lens)
    check = check_lengths(validate_lengths) if len(validate_lengths) else []
    check_runs(repeats, warmup)
    check_runs(validate_repeats, 0)
    cfg = config_for(model, max(seq_lens + check))
    spec = tfm.get_spec(model if isinstance(model, str) else cfg)
    kw: dict[str, Any] = dict(device=device, repeats=repeats, warmup=warmup, seed=seed)
    with measuring_latency(threads):
        full: Any = None
        steps: dict[str, Any] = {}
        if method == "whole" or spec.kind == "decoder" or check:
            full = _build(cfg, device, dtype, seed)
        if method == "whole":
            times = whole_times(full, spec, seq_lens, **kw)
            rows = [{"seq_len": n, **_stats(times[n])} for n in seq_lens]
        elif spec.kind == "encoder":
            rows = _sampled_encoder(cfg, spec, seq_lens, dtype=dtype, **kw)
        else:
            rows, steps = _sampled_decoder(full, spec, seq_lens, dtype=dtype, **kw)
        validation: list[dict[str, Any]] = []
        if check:
            whole = whole_times(full, spec, check, device=device, repeats=validate_repeats, warmup=1, seed=seed)
            est = (
                rows
                if method == "sampled" and set(check) <= set(seq_lens)
                else (
                    measure(
                        model,
                        check,
                        method="sampled",
                        device=device,
                        dtype=dtype,
                        repeats=repeats,
                        warmup=warmup,
                        seed=seed,
                    )["rows"]
                )
            )
            validation = agreement(est, {n: statistics.median(v) for n, v in whole.items()})
        del full
    load = os.getloadavg()[0]
    for r in rows:
        r.update(method=method, forward_calls=1 if spec.kind == "encoder" else r["seq_len"], load_average_1min=load)
    return {"rows": rows, "validation": validation, "decode_steps": steps}


def agreement(sampled_rows: Sequence[dict[str, Any]], whole_s: dict[int, float]) -> list[dict[str, Any]]:
    """Sampled estimates against whole-run medians where both exist: ``{"seq_len",
    "sampled_s", "whole_s", "ratio"}`` (sampled / whole)."""
    by_len = {r["seq_len"]: r["median_s"] for r in sampled_rows}
    return [
        {"seq_len": n, "sampled_s": by_len[n], "whole_s": w, "ratio": by_len[n] / w}
        for n, w in sorted(whole_s.items())
        if n in by_len
    ]


# --------------------------------------------------------------------------- any other model
@dataclass(frozen=True)
class ConfigShape:
    """The :class:`~.workloads.WorkloadShape` of a model built from a config."""

    name: str
    kind: str
    vocab_size: int


def weight_bytes(config: Any, dtype: str = "float32") -> int:
    """Bytes of every parameter and buffer of ``config``'s model in ``dtype``, sized on the
    meta device (nothing allocated): what building it on a device takes at least."""
    from ..models.configs import build_on_meta

    net = build_on_meta(config, attn_implementation="eager", dtype=torch_dtype(dtype))
    return int(sum(t.numel() * t.element_size() for t in (*net.parameters(), *net.buffers())))


def build_random(config: Any, kind: str, device: str = "cpu", dtype: str = "float32", seed: int = 0) -> Any:
    """``config``'s model on ``device`` with random weights (transformers' own initialisation,
    seeded), eager attention, in eval mode: a causal LM for a ``kind="decoder"`` (generation
    needs its head), the bare model for an encoder (BERT's with its pooler, as the presets run)."""
    import torch
    from transformers import AutoModel, AutoModelForCausalLM

    cls = AutoModelForCausalLM if kind == "decoder" else AutoModel
    torch.manual_seed(seed)
    with torch.device(device):
        net = cls.from_config(copy.deepcopy(config), attn_implementation="eager", dtype=torch_dtype(dtype))
    return net.eval()


def measure_config(
    config: Any,
    seq_lens: Sequence[int],
    *,
    name: str,
    device: str = "cpu",
    dtype: str = "float32",
    repeats: int = 3,
    warmup: int = 1,
    seed: int = 0,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """Whole-run latency (batch 1) of the model of ``config`` (a ``transformers`` config; see
    the module docstring) at each length, ``repeats`` runs after ``warmup``
    (:func:`whole_times`); position tables enlarged where a length exceeds them. Rows as
    :func:`measure`'s (``method="whole"``). Check the model's size first (:func:`weight_bytes`):
    this builds it."""
    from ..models.configs import model_kind

    device = check_device(device)
    torch_dtype(dtype)
    lens = check_lengths(seq_lens)
    check_runs(repeats, warmup)
    cfg = with_positions(config, max(lens))
    shape = ConfigShape(name, model_kind(cfg), int(cfg.get_text_config(decoder=True).vocab_size))
    with measuring_latency(threads):
        net = build_random(cfg, shape.kind, device, dtype, seed)
        times = whole_times(net, shape, lens, device=device, repeats=repeats, warmup=warmup, seed=seed)
        del net
    load = os.getloadavg()[0]
    calls = {n: 1 if shape.kind == "encoder" else n for n in lens}
    return [
        {"seq_len": n, **_stats(times[n]), "method": "whole", "forward_calls": calls[n], "load_average_1min": load}
        for n in lens
    ]
