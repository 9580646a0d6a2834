"""A roofline per operation class, calibrated by microbenchmarks at each model's own shapes,
that predicts latency from the analytic ops of :mod:`memwall_lib.engines.counts.transformer`.

One roof (large-GEMM rate, STREAM bandwidth) mispredicts what a framework attains at a
model's shapes: a matrix-vector product at GPT-2's shapes streams its weights well below
STREAM bandwidth, a per-head attention below the GEMM rate. So every analytic op is
attributed to a class (:func:`op_class`) and timed at the rate its class attains at the
model's shapes:

- ``gemm``: linear layers over many rows (encoders), FLOP rate of ``F.linear`` at the layer's
  weight shape over the model's weight stream (every layer's own weights, in the model's
  order, so they come from memory as in the model: :func:`.microbench.gemm_points`), at a few
  row counts (interpolated in log rows, clamped at the ends), under the STREAM roof for the
  op's bytes (few rows stream the weights);
- ``gemv``: linear layers over one row (decoding), bandwidth of the model's whole weight
  stream issued in the model's order (distinct weights per layer, so they come from DRAM as
  in the model; GPT-2's fused Q/K/V ``Conv1D`` and its LM head included);
- ``attention``: Q.K^T, softmax and scores.V over the whole sequence, the model's own eager
  attention function on all its heads, at each length, as analytic FLOPs per second (every
  tensor at the model's size, so its first touch and cache misses are the model's: see
  :func:`.microbench.attention_points`);
- ``kv_attention``: the same for one new token over a KV cache (the cache append included,
  as ``DynamicCache`` does it), every layer's cache, marginal bandwidth between two contexts;
- ``elementwise``: layer norms, residual adds, the model's activation function, embeddings,
  bandwidth at the model's rows x width, at a few lengths;

plus the per-forward-call framework overhead of :func:`memwall_lib.engines.timing.single_roof.measure_call_overhead`
(a structural twin). An op with no calibration at its size falls back to the machine roofline
(GEMM peak, STREAM triad). The calibration never runs the models themselves end to end.

On a CPU the overhead and the ops add up; on a GPU the host enqueues kernels while earlier
ones run, so a forward call takes the larger of the two.

Each microbenchmark reports its fastest run (a roofline models the machine, not what else
shares it), and every timing runs with the allocator pinned
(:func:`memwall_lib.engines.timing.clock.pin_allocator`), so a microbenchmark's tensors cost the
page faults the model's do, whatever the process allocated before.

Units: seconds; FLOPs (MAC = 2); bytes (GB = 1e9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..counts import transformer as tfm
from .clock import check_device, measuring_latency, synchronize, torch_dtype
from .microbench import (
    ATTENTION_OPS,
    CLASSES,
    COMPUTE_CLASSES,
    LINEAR_OPS,
    attention_points,
    elementwise_points,
    gemm_points,
    gemv_points,
    kv_points,
)
from .workloads import workload_profile


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
                t = max(
                    op.flops * self.seconds_per_unit(model, op.name, profile.seq_len, cls), op.bytes / self.bandwidth
                )
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
        return {
            "predicted_s": total,
            "ops_s": ops,
            "overhead_s": overhead,
            "by_class_s": by,
            "bound_by": max(shares, key=lambda c: shares[c]),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "peak_flops": self.peak_flops,
            "bandwidth": self.bandwidth,
            "device": self.device,
            "call_overhead_s": self.call_overhead_s,
            "points": {m: {k: [list(p) for p in v] for k, v in d.items()} for m, d in self.points.items()},
            "details": self.details,
        }


def calibrate(
    models: Sequence[str],
    lengths: Sequence[int],
    *,
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
    repeats: int = 3,
    gemm_rows: Sequence[int] = (128, 512),
    machine: Any = None,
) -> ClassRoofline:
    """Calibrate every class for ``models`` (names) at ``lengths`` (tokens): see the module
    docstring. ``machine``: a :class:`memwall_lib.engines.timing.single_roof.Roofline` (GEMM peak, STREAM
    bandwidth, call overheads) measured beforehand, or None to measure one here."""
    from ..models import builders
    from .clock import runtime_info
    from .single_roof import calibrate_roofline

    check_device(device)
    tdt, prec = torch_dtype(dtype), tfm.precision_for_dtype(dtype)
    lengths = sorted(set(int(n) for n in lengths))
    with measuring_latency(threads):
        if machine is None:
            machine = calibrate_roofline(models, device=device, dtype=dtype, threads=threads)
        roof = ClassRoofline(machine.peak_flops, machine.bandwidth, device, dict(machine.call_overhead_s))
        attn_cache: dict = {}
        for m in models:
            spec, cfg = tfm.get_spec(m), builders.transformer_config(m, max(lengths))
            pts: dict[str, list[tuple[float, float]]] = {}
            if spec.kind == "encoder":
                pts.update(gemm_points(spec, [r for r in gemm_rows], prec, device, tdt, repeats))
                pts.update(attention_points(spec, lengths, prec, device, tdt, repeats, cfg.model_type, attn_cache))
                pts.update(elementwise_points(spec, cfg, lengths, prec, device, tdt, repeats))
            else:
                pts.update(gemv_points(spec, prec, device, tdt, repeats))
                top = max(lengths)
                pts.update(
                    kv_points(
                        spec,
                        (max(2, top // 4), max(3, top)),
                        prec,
                        device,
                        tdt,
                        repeats,
                        cfg.model_type,
                        1.0 / machine.bandwidth,
                    )
                )
            roof.points[m] = pts
            synchronize(device)
        roof.details = {
            "gemm_rows": list(gemm_rows),
            "lengths": lengths,
            "repeats": repeats,
            **runtime_info(device, dtype),
        }
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
        out[m] = {
            c: {
                "size": sorted(v),
                "rate": [float(np.mean(v[s])) for s in sorted(v)],
                "unit": "FLOP/s" if c in COMPUTE_CLASSES else "bytes/s",
            }
            for c, v in per.items()
        }
    return out
