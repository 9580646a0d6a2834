"""A roofline per operation class, calibrated by microbenchmarks at each model's own shapes,
that predicts latency from the analytic ops of :mod:`memwall_lib.engines.transformer`.

One roof (large-GEMM rate, STREAM bandwidth) mispredicts what a framework attains at a
model's shapes: a matrix-vector product at GPT-2's shapes streams its weights well below
STREAM bandwidth, a per-head attention below the GEMM rate. So every analytic op is
attributed to a class (:func:`op_class`) and timed at the rate its class attains at the
model's shapes:

- ``gemm``: linear layers over many rows (encoders), FLOP rate of ``F.linear`` at the layer's
  weight shape, at a few row counts (interpolated in log rows, clamped at the ends), under
  the STREAM roof for the op's bytes (few rows stream the weights);
- ``gemv``: linear layers over one row (decoding), bandwidth of the model's whole weight
  stream issued in the model's order (distinct weights per layer, so they come from DRAM as
  in the model; GPT-2's fused Q/K/V ``Conv1D`` and its LM head included);
- ``attention``: Q.K^T, softmax and scores.V over the whole sequence, the model's own eager
  attention function at its head size, at each length (on a CPU, enough heads that the score
  matrices exceed twice the last-level cache, or all; rate per head), as analytic FLOPs per second;
- ``kv_attention``: the same for one new token over a KV cache (the cache append included,
  as ``DynamicCache`` does it), every layer's cache, marginal bandwidth between two contexts;
- ``elementwise``: layer norms, residual adds, the model's activation function, embeddings,
  bandwidth at the model's rows x width, at a few lengths;

plus the per-forward-call framework overhead of :func:`memwall_lib.engines.roofline.measure_call_overhead`
(a structural twin). An op with no calibration at its size falls back to the machine roofline
(GEMM peak, STREAM triad). The calibration never runs the models themselves end to end.

On a CPU the overhead and the ops add up; on a GPU the host enqueues kernels while earlier
ones run, so a forward call takes the larger of the two.

Units: seconds; FLOPs (MAC = 2); bytes (GB = 1e9).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from . import transformer as tfm
from .timing import Clock, check_device, last_level_cache_bytes, synchronize, torch_dtype, using_threads
from .workloads import workload_profile

CLASSES: tuple[str, ...] = ("gemm", "gemv", "attention", "kv_attention", "elementwise")
LINEAR_OPS = ("q_proj", "k_proj", "v_proj", "out_proj", "ffn1", "ffn2", "pooler", "lm_head")
ATTENTION_OPS = ("qk_matmul", "softmax", "sv_matmul")
#: The class whose cost is FLOPs (the others' is bytes).
COMPUTE_CLASSES = ("gemm", "attention")


def op_class(name: str, rows: int) -> str:
    """The class of analytic op ``name`` in a forward pass over ``rows`` new tokens."""
    if name in LINEAR_OPS:
        return "gemm" if rows > 1 and name != "pooler" else "gemv"
    if name in ATTENTION_OPS:
        return "attention" if rows > 1 else "kv_attention"
    return "elementwise"


@dataclass
class ClassRoofline:
    """Seconds per unit (per FLOP for compute classes, per byte otherwise) of every op of
    every model, as points ``(size, seconds_per_unit)`` (size: tokens of the pass, or the
    context for decoding), plus the machine roofline and per-call overheads."""

    peak_flops: float
    bandwidth: float
    device: str
    call_overhead_s: dict[str, float]
    points: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def seconds_per_unit(self, model: str, op: str, size: float, cls: str) -> float:
        pts = sorted(self.points.get(model, {}).get(f"{cls}:{op}", []))
        if not pts:
            return 1.0 / (self.peak_flops if cls in COMPUTE_CLASSES else self.bandwidth)
        xs, ys = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
        return float(np.exp(np.interp(math.log(size), xs, ys)))

    def op_times(self, model: str, profile: tfm.Profile) -> dict[str, float]:
        """Predicted seconds per class (ops only) of ``profile``."""
        rows = profile.seq_len if profile.spec.kind == "encoder" else 1
        out = {c: 0.0 for c in CLASSES}
        for op in profile.ops:
            cls = op_class(op.name, rows)
            if cls in COMPUTE_CLASSES:  # its calibrated FLOP rate, under the STREAM roof for its bytes
                t = max(op.flops * self.seconds_per_unit(model, op.name, profile.seq_len, cls),
                        op.bytes / self.bandwidth)
            else:
                t = op.bytes * self.seconds_per_unit(model, op.name, profile.seq_len, cls)
            out[cls] += t
        return out

    def predict(self, model: str, spec: tfm.TransformerSpec, seq_len: int, precision: tfm.Precision) -> dict[str, Any]:
        """Predicted latency of the workload of ``model`` at ``seq_len``: ``{"predicted_s",
        "ops_s", "overhead_s", "by_class_s", "bound_by"}`` (``bound_by``: the class, or
        ``overhead``, with the largest share)."""
        prof = workload_profile(spec, seq_len, precision)
        by = self.op_times(model, prof)
        ops = sum(by.values())
        o = self.call_overhead_s.get(model, 0.0)
        overhead = o * prof.forward_calls
        if self.device != "cuda":
            total = ops + overhead
        elif spec.kind == "encoder" or seq_len == 1:
            total = max(ops, overhead)
        else:  # per step: max(overhead, ops of the step), the step's ops affine in its context
            first = sum(self.op_times(model, workload_profile(spec, 1, precision)).values())
            last = ops - sum(self.op_times(model, workload_profile(spec, seq_len - 1, precision)).values())
            steps = np.linspace(first, last, seq_len)
            total = float(np.maximum(steps, o).sum())
        shares = {**by, "overhead": overhead}
        return {"predicted_s": total, "ops_s": ops, "overhead_s": overhead, "by_class_s": by,
                "bound_by": max(shares, key=shares.get)}

    def to_dict(self) -> dict[str, Any]:
        return {"peak_flops": self.peak_flops, "bandwidth": self.bandwidth, "device": self.device,
                "call_overhead_s": self.call_overhead_s,
                "points": {m: {k: [list(p) for p in v] for k, v in d.items()} for m, d in self.points.items()},
                "details": self.details}


# --------------------------------------------------------------------------- microbenchmarks
#: A timed microbenchmark run lasts at least this long (short ops are repeated within it), so
#: it sees what a model's sustained sequence of ops sees (on a shared machine, its share).
MIN_RUN_S = 0.01


def _time(fn: Any, device: str, repeats: int, warmup: int) -> float:
    """Seconds per call of ``fn``: median of ``repeats`` timed runs after ``warmup``, each run
    calling it back to back enough times to last :data:`MIN_RUN_S`."""
    from .timing import time_fn

    once = time_fn(fn, repeats=1, warmup=warmup, device=device).min_s
    k = max(1, math.ceil(MIN_RUN_S / max(once, 1e-9)))

    def run() -> None:
        for _ in range(k):
            fn()
    return time_fn(run, repeats=repeats, warmup=0, device=device).median_s / k


def _ref_ops(spec: tfm.TransformerSpec, n: int, precision: tfm.Precision) -> dict[str, tfm.OpCount]:
    """The analytic ops of one pass over ``n`` new tokens (``n`` context), all layers."""
    return {op.name: op for op in tfm.profile(spec, n, precision=precision, include_embeddings=True,
                                              include_head=True).ops} if spec.kind == "encoder" else \
        {op.name: op.scaled(spec.n_layers) for op in tfm.layer_ops(spec, 1, n, precision)}


def _eager_attention(model_type: str) -> Any:
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


class _Eval:
    training = False


def _gemm_points(spec: tfm.TransformerSpec, rows: Sequence[int], prec: tfm.Precision, dev: str, tdt: Any,
                 repeats: int) -> dict[str, list[tuple[float, float]]]:
    import torch
    import torch.nn.functional as F

    shapes = {"q_proj": (spec.d_model, spec.d_model), "k_proj": (spec.d_model, spec.d_model),
              "v_proj": (spec.d_model, spec.d_model), "out_proj": (spec.d_model, spec.d_model),
              "ffn1": (spec.d_model, spec.d_ff), "ffn2": (spec.d_ff, spec.d_model)}
    rate: dict[tuple[int, int, int], float] = {}
    out: dict[str, list[tuple[float, float]]] = {}
    for name, (din, dout) in shapes.items():
        for r in rows:
            if (din, dout, r) not in rate:
                x = torch.rand(r, din, device=dev, dtype=tdt)
                w, b = torch.rand(dout, din, device=dev, dtype=tdt), torch.rand(dout, device=dev, dtype=tdt)
                t = _time(lambda: F.linear(x, w, b), dev, repeats, 1)
                rate[(din, dout, r)] = t / (2 * r * din * dout + r * dout)
            out.setdefault(f"gemm:{name}", []).append((r, rate[(din, dout, r)]))
    return out


def _attention_points(spec: tfm.TransformerSpec, lengths: Sequence[int], prec: tfm.Precision, dev: str,
                      tdt: Any, repeats: int, scores_bytes: float, model_type: str,
                      cache: dict) -> dict[str, list[tuple[float, float]]]:
    """Seconds per analytic FLOP of the model's eager attention at each length, run on
    enough heads that their score matrices fill ``scores_bytes`` (all heads if fewer): past
    the last-level cache, as the model's are, so the rate per head is the model's."""
    import torch

    attn, dh = _eager_attention(model_type), spec.head_dim
    esize = torch.tensor([], dtype=tdt).element_size()
    out: dict[str, list[tuple[float, float]]] = {}
    for n in lengths:
        heads = max(1, min(spec.n_heads, math.ceil(scores_bytes / (n * n * esize))))
        key = (dh, n, heads, model_type)
        if key not in cache:
            q, k, v = (torch.rand(1, n, heads, dh, device=dev, dtype=tdt).transpose(1, 2) for _ in range(3))

            def run() -> Any:
                o, _ = attn(_Eval(), q, k, v, None, scaling=dh ** -0.5, dropout=0.0)
                return o.reshape(1, n, -1).contiguous()
            t = _time(run, dev, repeats, 1)
            cache[key] = t / heads
        ops = _ref_ops(spec, n, prec)
        flops = sum(ops[o].flops for o in ATTENTION_OPS) / spec.n_layers / spec.n_heads  # one head, one layer
        for o in ATTENTION_OPS:
            out.setdefault(f"attention:{o}", []).append((n, cache[key] / flops))
    return out


def _elementwise_points(spec: tfm.TransformerSpec, cfg: Any, lengths: Sequence[int], prec: tfm.Precision,
                        dev: str, tdt: Any, repeats: int) -> dict[str, list[tuple[float, float]]]:
    import torch
    import torch.nn.functional as F
    from transformers.activations import ACT2FN

    act = ACT2FN[getattr(cfg, "hidden_act", None) or getattr(cfg, "activation_function", "gelu_new")]
    d, f = spec.d_model, spec.d_ff
    out: dict[str, list[tuple[float, float]]] = {}
    for n in lengths:
        ops = _ref_ops(spec, n, prec)
        x, y = torch.rand(n, d, device=dev, dtype=tdt), torch.rand(n, d, device=dev, dtype=tdt)
        h = torch.rand(n, f, device=dev, dtype=tdt)
        w, b = torch.ones(d, device=dev, dtype=tdt), torch.zeros(d, device=dev, dtype=tdt)
        per_op = {"layernorm": (lambda: F.layer_norm(x, (d,), w, b, 1e-5), ops["layernorm"].bytes / ops["layernorm"].calls),
                  "residual_add": (lambda: x + y, ops["residual_add"].bytes / ops["residual_add"].calls),
                  "gelu": (lambda: act(h), ops["gelu"].bytes / ops["gelu"].calls)}
        for name, (fn, nbytes) in per_op.items():
            out.setdefault(f"elementwise:{name}", []).append((n, _time(fn, dev, repeats, 1) / nbytes))
        for alias, like in (("final_layernorm", "layernorm"), ("embedding_layernorm", "layernorm"),
                            ("embedding_lookup", "residual_add")):
            out[f"elementwise:{alias}"] = out[f"elementwise:{like}"]
    return out


def _gemv_points(spec: tfm.TransformerSpec, prec: tfm.Precision, dev: str, tdt: Any,
                 repeats: int) -> dict[str, list[tuple[float, float]]]:
    """A decoder's weight stream, in the model's order: per layer the fused Q/K/V, output,
    FFN in and FFN out products (``addmm`` with (in, out) weights, as GPT-2's ``Conv1D``),
    then the LM head (``F.linear`` with the (vocab, d) embedding)."""
    import torch
    import torch.nn.functional as F

    d, f, L, V = spec.d_model, spec.d_ff, spec.n_layers, spec.vocab_size
    shapes = {"qkv": (d, 3 * d), "out_proj": (d, d), "ffn1": (d, f), "ffn2": (f, d)}
    ws = {k: [(torch.full((a, b), 0.01, device=dev, dtype=tdt), torch.zeros(b, device=dev, dtype=tdt))
              for _ in range(L)] for k, (a, b) in shapes.items()}
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
    best = {k: float(np.median([p[k] for p in passes])) for k in passes[0]}
    ops = _ref_ops(spec, 1, prec)
    lm = d * prec.act_bytes + d * V * prec.weight_bytes + V * prec.act_bytes
    qkv = sum(ops[o].bytes for o in ("q_proj", "k_proj", "v_proj"))
    spb = {"q_proj": best["qkv"] / qkv, "k_proj": best["qkv"] / qkv, "v_proj": best["qkv"] / qkv,
           "out_proj": best["out_proj"] / ops["out_proj"].bytes, "ffn1": best["ffn1"] / ops["ffn1"].bytes,
           "ffn2": best["ffn2"] / ops["ffn2"].bytes, "lm_head": best["lm_head"] / lm}
    return {f"gemv:{k}": [(1, v)] for k, v in spb.items()}


def _kv_points(spec: tfm.TransformerSpec, contexts: tuple[int, int], prec: tfm.Precision, dev: str, tdt: Any,
               repeats: int, model_type: str, fallback: float) -> dict[str, list[tuple[float, float]]]:
    """Marginal seconds per analytic byte of decode attention (the append to a
    ``DynamicCache``, Q.K^T with the causal mask, softmax, scores.V) over every layer's cache,
    between two contexts (the per-call part is the twin's overhead)."""
    import torch

    from .latency import random_cache

    attn, h, dh, L = _eager_attention(model_type), spec.n_heads, spec.head_dim, spec.n_layers
    times, nbytes = [], []
    for t in contexts:
        cache = random_cache(spec, t - 1, device=dev, dtype=str(tdt).removeprefix("torch."))
        q, kn, vn = (torch.rand(1, 1, h, dh, device=dev, dtype=tdt).transpose(1, 2) for _ in range(3))

        def run() -> None:  # as the model's step: the cache grows by one token per run
            mask = torch.zeros(1, 1, 1, cache.get_seq_length() + 1, device=dev, dtype=tdt)
            for i in range(L):
                k, v = cache.update(kn, vn, i)
                o, _ = attn(_Eval(), q, k, v, mask, scaling=dh ** -0.5, dropout=0.0)
                o.reshape(1, 1, -1).contiguous()
        times.append(_time(run, dev, repeats, 1))
        ops = _ref_ops(spec, t, prec)
        nbytes.append(sum(ops[o].bytes for o in ATTENTION_OPS))
        del cache
    spb = (times[1] - times[0]) / (nbytes[1] - nbytes[0]) if nbytes[1] > nbytes[0] else 0.0
    spb = spb if spb > 0 else fallback
    return {f"kv_attention:{o}": [(1, spb)] for o in ATTENTION_OPS}


def calibrate(models: Sequence[str], lengths: Sequence[int], *, device: str = "cpu", dtype: str = "float32",
              threads: int | None = None, repeats: int = 3, gemm_rows: Sequence[int] = (128, 512),
              machine: Any = None, scores_bytes: float | None = None) -> ClassRoofline:
    """Calibrate every class for ``models`` (names) at ``lengths`` (tokens): see the module
    docstring. ``machine``: a :class:`memwall_lib.engines.roofline.Roofline` (GEMM peak, STREAM
    bandwidth, call overheads) measured beforehand, or None to measure one here.
    ``scores_bytes``: bytes of score matrices per attention microbenchmark (default: twice the
    last-level cache on a CPU, all heads on a GPU)."""
    from . import builders
    from .roofline import calibrate_roofline
    from .timing import runtime_info

    check_device(device)
    tdt, prec = torch_dtype(dtype), tfm.precision_for_dtype(dtype)
    lengths = sorted(set(int(n) for n in lengths))
    with using_threads(threads):
        if machine is None:
            machine = calibrate_roofline(models, device=device, dtype=dtype, threads=threads)
        # attention microbenchmarks: score matrices past twice the last-level cache (a GPU: all heads)
        if scores_bytes is None:
            scores_bytes = 2.0 * (last_level_cache_bytes() or 32 * 2**20) if device == "cpu" else math.inf
        roof = ClassRoofline(machine.peak_flops, machine.bandwidth, device, dict(machine.call_overhead_s))
        attn_cache: dict = {}
        for m in models:
            spec, cfg = tfm.get_spec(m), builders.transformer_config(m, max(lengths))
            pts: dict[str, list[tuple[float, float]]] = {}
            if spec.kind == "encoder":
                pts.update(_gemm_points(spec, [r for r in gemm_rows], prec, device, tdt, repeats))
                pts.update(_attention_points(spec, lengths, prec, device, tdt, repeats, scores_bytes,
                                             cfg.model_type, attn_cache))
                pts.update(_elementwise_points(spec, cfg, lengths, prec, device, tdt, repeats))
            else:
                pts.update(_gemv_points(spec, prec, device, tdt, repeats))
                top = max(lengths)
                pts.update(_kv_points(spec, (max(2, top // 4), max(3, top)), prec, device, tdt, repeats,
                                      cfg.model_type, 1.0 / machine.bandwidth))
            roof.points[m] = pts
            synchronize(device)
        roof.details = {"gemm_rows": list(gemm_rows), "lengths": lengths, "repeats": repeats,
                        **runtime_info(device, dtype)}
    return roof


def class_rates(roof: ClassRoofline) -> dict[str, dict[str, Any]]:
    """Attained rate per model and class at each calibrated size: FLOP/s (compute classes)
    or bytes/s, averaged over the class's ops (for tables and plots)."""
    out: dict[str, dict[str, Any]] = {}
    for m, pts in roof.points.items():
        per: dict[str, dict[float, list[float]]] = {}
        for key, vals in pts.items():
            cls = key.split(":")[0]
            for size, spu in vals:
                per.setdefault(cls, {}).setdefault(size, []).append(1.0 / spu)
        out[m] = {c: {"size": sorted(v), "rate": [float(np.mean(v[s])) for s in sorted(v)],
                      "unit": "FLOP/s" if c in COMPUTE_CLASSES else "bytes/s"} for c, v in per.items()}
    return out
