"""The roofline of a spec sheet: ridge point and lower-bound time of a workload.

A chip with peak compute ``P`` (FLOP/s) and DRAM bandwidth ``W`` (bytes/s) cannot run a
workload of ``F`` FLOPs that moves ``Q`` bytes to and from DRAM faster than
``max(F / P, Q / W)`` (Williams, Waterman and Patterson, "Roofline", CACM 52(4), 2009).
The two terms are equal when the workload's arithmetic intensity ``F / Q`` equals the
chip's ridge point ``P / W``: below it the memory side bounds the time, above it compute.

Units: FLOPs (a multiply-accumulate = 2 FLOPs), bytes, seconds; intensity and ridge point
in FLOPs per byte. Nothing here reads files or imports torch.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal


def _positive(name: str, value: Any, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name}: expected a {kind} finite number, got {value!r}")
    return v


def ridge_point(peak_flops_per_s: float, bandwidth_bytes_per_s: float) -> float:
    """The ridge point ``P / W`` in FLOPs per byte: the arithmetic intensity at which a
    workload needs as long for its FLOPs at peak as for its bytes at full bandwidth.

    E.g. 989.5 TFLOPS (bf16 dense) over 3.35 TB/s (H100 SXM5) = 295.4 FLOPs/byte."""
    return _positive("peak_flops_per_s", peak_flops_per_s) / _positive("bandwidth_bytes_per_s", bandwidth_bytes_per_s)


Bound = Literal["compute", "memory"]


@dataclass(frozen=True)
class RooflineTime:
    """Lower bound on the time of a workload on a chip, in seconds: ``time_s`` is the larger of
    ``compute_s`` (FLOPs at peak) and ``memory_s`` (bytes at full bandwidth); ``bound`` names
    it (``"memory"`` on a tie)."""

    compute_s: float
    memory_s: float

    @property
    def time_s(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> Bound:
        return "compute" if self.compute_s > self.memory_s else "memory"


def roofline_time(
    flops: float, bytes_moved: float, peak_flops_per_s: float, bandwidth_bytes_per_s: float
) -> RooflineTime:
    """The roofline lower bound on the time of ``flops`` FLOPs moving ``bytes_moved`` bytes on
    a chip with ``peak_flops_per_s`` and ``bandwidth_bytes_per_s`` (overlap of the two assumed,
    no other cost: any real run takes at least this long)."""
    f = _positive("flops", flops, allow_zero=True)
    q = _positive("bytes_moved", bytes_moved, allow_zero=True)
    return RooflineTime(
        f / _positive("peak_flops_per_s", peak_flops_per_s),
        q / _positive("bandwidth_bytes_per_s", bandwidth_bytes_per_s),
    )
