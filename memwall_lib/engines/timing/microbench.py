"""Microbenchmarks of the operation classes of :mod:`.class_roofline`, at a model's own shapes:
GEMM (``F.linear``), GEMV (the decoder's weight stream), eager attention, element-wise ops and
KV-cache attention. Each returns seconds per FLOP or per byte at the shapes it ran.
Units: seconds; FLOPs; bytes.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..counts import transformer as tfm
from .clock import Clock

CLASSES: tuple[str, ...] = ("gemm", "gemv", "attention", "kv_attention", "elementwise")
LINEAR_OPS = ("q_proj", "k_proj", "v_proj", "out_proj", "ffn1", "ffn2", "pooler", "lm_head")
ATTENTION_OPS = ("qk_matmul", "softmax", "sv_matmul")
#: The class whose cost is FLOPs (the others' is bytes).
COMPUTE_CLASSES = ("gemm", "attention")

#: A timed microbenchmark run lasts at least this long (short ops are repeated within it), so
#: it sees what a model's sustained sequence of ops sees (on a shared machine, its share).
MIN_RUN_S = 0.01


def time_per_call(fn: Any, device: str, repeats: int, warmup: int) -> float:
    """Seconds per call of ``fn``: the fastest of ``repeats`` timed runs after ``warmup``,
    each run calling it back to back enough times to last :data:`MIN_RUN_S` (the fastest: a
    roofline models the machine, not what else shares it). The first run, one call that sizes
    the others, counts as one of them when one call lasts :data:`MIN_RUN_S` (a long op, e.g.
    BERT-Large's attention at 4,096 tokens, 2 s a call, is not run once more than it is timed)."""
    from .clock import time_fn

    once = time_fn(fn, repeats=1, warmup=warmup, device=device).min_s
    k = max(1, math.ceil(MIN_RUN_S / max(once, 1e-9)))
    runs = [once] if k == 1 else []
    if repeats > len(runs):

        def run() -> None:
            for _ in range(k):
                fn()

        runs.append(time_fn(run, repeats=repeats - len(runs), warmup=0, device=device).min_s / k)
    return min(runs)


def reference_ops(spec: tfm.TransformerSpec, n: int, precision: tfm.Precision) -> dict[str, tfm.OpCount]:
    """The analytic ops of one pass over ``n`` new tokens (``n`` context), all layers."""
    return (
        {
            op.name: op
            for op in tfm.profile(spec, n, precision=precision, include_embeddings=True, include_head=True).ops
        }
        if spec.kind == "encoder"
        else {op.name: op.scaled(spec.n_layers) for op in tfm.layer_ops(spec, 1, n, precision)}
    )


def eager_attention(model_type: str) -> Any:
    """The model's own eager attention function (``transformers``), or a replica of it."""
    try:
        mod = importlib.import_module(f"transformers.models.{model_type}.modeling_{model_type}")
        return mod.eager_attention_forward
    except (ImportError, AttributeError):  # pragma: no cover - older transformers
        import torch

        def eager(module: Any, q: Any, k: Any, v: Any, mask: Any, scaling: float, **kw: Any) -> Any:
            w = torch.matmul(q, k.transpose(-1, -2)) * scaling
            if mask is not None:
                w = w + mask
            return torch.matmul(torch.softmax(w, dim=-1), v).transpose(1, 2), None

        return eager


class EvalModule:
    training = False


def gemm_points(
    spec: tfm.TransformerSpec, rows: Sequence[int], prec: tfm.Precision, dev: str, tdt: Any, repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """Seconds per FLOP of an encoder's linear layers at each of ``rows`` rows: the model's
    weight stream in the model's order (per layer Q, K, V, output, FFN in, FFN out, each
    ``F.linear`` with a weight and bias of its own), timed op by op, the fastest of
    ``repeats`` passes after a warm-up pass.

    Why a stream of distinct weights, as the model runs them, rather than one weight in a hot
    loop: a hot loop keeps its weight in the caches, the model reads every layer's weights
    afresh. On a 2-core Intel Xeon VM (1 thread, BERT-Base's shapes) the hot loop ran at 163-173
    GFLOP/s at 128 rows, the stream at 147 (at 512 rows: 185-198 and 176), and predictions from
    the hot loop fell 16-23% short of BERT-Base at 128 tokens (issue 20). Cost: one pass reads
    the model's weights (BERT-Large's 1.2 GB in float32: about 0.5 s a pass at 128 rows)."""
    import torch
    import torch.nn.functional as F

    d, f = spec.d_model, spec.d_ff
    shapes = {"q_proj": (d, d), "k_proj": (d, d), "v_proj": (d, d), "out_proj": (d, d), "ffn1": (d, f), "ffn2": (f, d)}
    weights = [
        {
            k: (torch.full((o, i), 0.01, device=dev, dtype=tdt), torch.zeros(o, device=dev, dtype=tdt))
            for k, (i, o) in shapes.items()
        }
        for _ in range(spec.n_layers)
    ]
    clock = Clock(dev)
    out: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        xs = {i: torch.rand(r, i, device=dev, dtype=tdt) for i in (d, f)}
        passes = []
        for _ in range(repeats + 1):  # the first pass is a warm-up
            spent = dict.fromkeys(shapes, 0.0)
            for layer in weights:
                for k, (w, b) in layer.items():
                    t0 = clock.mark()
                    F.linear(xs[shapes[k][0]], w, b)
                    spent[k] += clock.seconds(t0, clock.mark())
            passes.append(spent)
        for k, (i, o) in shapes.items():
            flops = spec.n_layers * (2 * r * i * o + r * o)
            out.setdefault(f"gemm:{k}", []).append((r, min(p[k] for p in passes[1:]) / flops))
    return out


def attention_points(
    spec: tfm.TransformerSpec,
    lengths: Sequence[int],
    prec: tfm.Precision,
    dev: str,
    tdt: Any,
    repeats: int,
    model_type: str,
    cache: dict,
) -> dict[str, list[tuple[float, float]]]:
    """Seconds per analytic FLOP of the model's eager attention at each length, run on all of
    the model's heads, so every tensor it makes has the model's size (``n_heads x n^2``
    scores: 1 GiB for BERT-Large at 4,096 tokens in float32).

    Why all heads, rather than a subset past the last-level cache or an allocation class of its
    own: a tensor's cost beyond its arithmetic (first touch of a fresh mapping, which is what
    every tensor over the pinned 128 KiB mmap threshold is, cache and TLB misses) depends on its
    size, and only the model's own sizes pay the model's. A subset sized by the cache depends on
    the machine: on a 2-core AMD EPYC VM it gave one head at 4,096 tokens (64 MiB scores) and
    under-predicted BERT-Large there by 30% (issue 20); on a 2-core Intel Xeon VM (480 MiB
    cache reported) one head ran at 121 ms per head, all 16 at 130 ms. An allocation class
    would not close such a gap: first touch of fresh mappings ran there at a flat 3.5-4.5 GB/s
    from 1 MiB to 1 GiB, which a benchmark of the same bytes already pays, and charging it
    again would count it twice. Cost: BERT-Large's 16 heads at 4,096 tokens take about 2 s a
    call on one core."""
    import torch

    attn, dh, heads = eager_attention(model_type), spec.head_dim, spec.n_heads
    out: dict[str, list[tuple[float, float]]] = {}
    for n in lengths:
        key = (dh, n, heads, model_type)
        if key not in cache:
            q, k, v = (torch.rand(1, n, heads, dh, device=dev, dtype=tdt).transpose(1, 2) for _ in range(3))

            def run() -> Any:
                o, _ = attn(EvalModule(), q, k, v, None, scaling=dh**-0.5, dropout=0.0)
                return o.reshape(1, n, -1).contiguous()

            cache[key] = time_per_call(run, dev, repeats, 1)
            del q, k, v
        ops = reference_ops(spec, n, prec)
        flops = sum(ops[o].flops for o in ATTENTION_OPS) / spec.n_layers  # all heads, one layer
        for o in ATTENTION_OPS:
            out.setdefault(f"attention:{o}", []).append((n, cache[key] / flops))
    return out


def elementwise_points(
    spec: tfm.TransformerSpec, cfg: Any, lengths: Sequence[int], prec: tfm.Precision, dev: str, tdt: Any, repeats: int
) -> dict[str, list[tuple[float, float]]]:
    import torch
    import torch.nn.functional as F
    from transformers.activations import ACT2FN

    act = ACT2FN[getattr(cfg, "hidden_act", None) or getattr(cfg, "activation_function", "gelu_new")]
    d, f = spec.d_model, spec.d_ff
    out: dict[str, list[tuple[float, float]]] = {}
    for n in lengths:
        ops = reference_ops(spec, n, prec)
        x, y = torch.rand(n, d, device=dev, dtype=tdt), torch.rand(n, d, device=dev, dtype=tdt)
        h = torch.rand(n, f, device=dev, dtype=tdt)
        w, b = torch.ones(d, device=dev, dtype=tdt), torch.zeros(d, device=dev, dtype=tdt)
        per_op = {
            "layernorm": (lambda: F.layer_norm(x, (d,), w, b, 1e-5), ops["layernorm"].bytes / ops["layernorm"].calls),
            "residual_add": (lambda: x + y, ops["residual_add"].bytes / ops["residual_add"].calls),
            "gelu": (lambda: act(h), ops["gelu"].bytes / ops["gelu"].calls),
        }
        for name, (fn, nbytes) in per_op.items():
            out.setdefault(f"elementwise:{name}", []).append((n, time_per_call(fn, dev, repeats, 1) / nbytes))
        for alias, like in (
            ("final_layernorm", "layernorm"),
            ("embedding_layernorm", "layernorm"),
            ("embedding_lookup", "residual_add"),
        ):
            out[f"elementwise:{alias}"] = out[f"elementwise:{like}"]
    return out


def gemv_points(
    spec: tfm.TransformerSpec, prec: tfm.Precision, dev: str, tdt: Any, repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """A decoder's weight stream, in the model's order: per layer the fused Q/K/V, output,
    FFN in and FFN out products (``addmm`` with (in, out) weights, as GPT-2's ``Conv1D``),
    then the LM head (``F.linear`` with the (vocab, d) embedding)."""
    import torch
    import torch.nn.functional as F

    d, f, L, V = spec.d_model, spec.d_ff, spec.n_layers, spec.vocab_size
    shapes = {"qkv": (d, 3 * d), "out_proj": (d, d), "ffn1": (d, f), "ffn2": (f, d)}
    ws = {
        k: [(torch.full((a, b), 0.01, device=dev, dtype=tdt), torch.zeros(b, device=dev, dtype=tdt)) for _ in range(L)]
        for k, (a, b) in shapes.items()
    }
    head = torch.full((V, d), 0.01, device=dev, dtype=tdt)
    xs = {a: torch.rand(1, a, device=dev, dtype=tdt) for a in (d, f)}
    clock = Clock(dev)
    passes: list[dict[str, float]] = []
    for r in range(repeats + 1):
        spent = {k: 0.0 for k in (*shapes, "lm_head")}
        for i in range(L):
            for k, (a, _) in shapes.items():
                w, b = ws[k][i]
                t0 = clock.mark()
                torch.addmm(b, xs[a], w)
                spent[k] += clock.seconds(t0, clock.mark())
        t0 = clock.mark()
        F.linear(xs[d], head)
        spent["lm_head"] = clock.seconds(t0, clock.mark())
        if r:  # the first pass is a warmup
            passes.append(spent)
    best = {k: float(np.min([p[k] for p in passes])) for k in passes[0]}
    ops = reference_ops(spec, 1, prec)
    lm = d * prec.act_bytes + d * V * prec.weight_bytes + V * prec.act_bytes
    qkv = sum(ops[o].bytes for o in ("q_proj", "k_proj", "v_proj"))
    spb = {
        "q_proj": best["qkv"] / qkv,
        "k_proj": best["qkv"] / qkv,
        "v_proj": best["qkv"] / qkv,
        "out_proj": best["out_proj"] / ops["out_proj"].bytes,
        "ffn1": best["ffn1"] / ops["ffn1"].bytes,
        "ffn2": best["ffn2"] / ops["ffn2"].bytes,
        "lm_head": best["lm_head"] / lm,
    }
    return {f"gemv:{k}": [(1, v)] for k, v in spb.items()}


def kv_points(
    spec: tfm.TransformerSpec,
    contexts: tuple[int, int],
    prec: tfm.Precision,
    dev: str,
    tdt: Any,
    repeats: int,
    model_type: str,
    fallback: float,
) -> dict[str, list[tuple[float, float]]]:
    """Marginal seconds per analytic byte of decode attention (the append to a
    ``DynamicCache``, Q.K^T with the causal mask, softmax, scores.V) over every layer's cache,
    between two contexts (the per-call part is the twin's overhead)."""
    import torch

    from .latency import random_cache

    attn, h, dh, L = eager_attention(model_type), spec.n_heads, spec.head_dim, spec.n_layers
    times, nbytes = [], []
    for t in contexts:
        cache = random_cache(spec, t - 1, device=dev, dtype=str(tdt).removeprefix("torch."))
        q, kn, vn = (torch.rand(1, 1, h, dh, device=dev, dtype=tdt).transpose(1, 2) for _ in range(3))

        def run() -> None:  # as the model's step: the cache grows by one token per run
            mask = torch.zeros(1, 1, 1, cache.get_seq_length() + 1, device=dev, dtype=tdt)
            for i in range(L):
                k, v = cache.update(kn, vn, i)
                o, _ = attn(EvalModule(), q, k, v, mask, scaling=dh**-0.5, dropout=0.0)
                o.reshape(1, 1, -1).contiguous()

        times.append(time_per_call(run, dev, repeats, 1))
        ops = reference_ops(spec, t, prec)
        nbytes.append(sum(ops[o].bytes for o in ATTENTION_OPS))
    spb = (times[1] - times[0]) / (nbytes[1] - nbytes[0]) if nbytes[1] > nbytes[0] else 0.0
    spb = spb if spb > 0 else fallback
    return {f"kv_attention:{o}": [(1, spb)] for o in ATTENTION_OPS}
