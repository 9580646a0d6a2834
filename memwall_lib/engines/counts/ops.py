"""The one op record and the one set of op-counting primitives, shared by every counter.

An :class:`OpCount` is one operation's totals: FLOPs (a multiply-accumulate = 2 FLOPs), the
``matmul_flops`` part of them (what ``torch.utils.flop_counter.FlopCounterMode`` counts),
kernel ``calls``, and the bytes moved split into ``weight_bytes`` (parameters read),
``kv_bytes`` (KV cache written or read) and ``act_bytes`` (activations: the rest).

Bytes convention (Kim, Hooper et al., arXiv:2302.14017, Sec. 2.2, the survey behind the
paper's Figure 3): an op reads its inputs and weights once and writes its outputs once; no
fusion between ops, ideal reuse inside one. Bytes per element are set per operand class by
a :class:`Precision`.

The analytic engines (:mod:`.transformer`, :mod:`.llm`) build their ops with
:func:`linear` and :func:`elementwise`; the tracer (:mod:`.trace`) fills the same record
from the aten ops it sees. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any, Self


class ProfileError(ValueError):
    """A model, length or precision that a counter cannot take."""


# --------------------------------------------------------------------------- precision
@dataclass(frozen=True)
class Precision:
    """Bytes per element of weights, activations and the KV cache (e.g. 1 for int8)."""

    weight_bytes: float
    act_bytes: float
    kv_bytes: float
    name: str = ""

    def __post_init__(self) -> None:
        for f in ("weight_bytes", "act_bytes", "kv_bytes"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ProfileError(f"Precision.{f}: expected a positive number of bytes, got {v!r}")


#: The survey's convention: 8-bit weights, activations and KV cache.
SURVEY_8BIT = Precision(1, 1, 1, "int8")
FP32 = Precision(4, 4, 4, "fp32")
FP16 = Precision(2, 2, 2, "fp16")
BF16 = Precision(2, 2, 2, "bf16")

DTYPE_PRECISIONS: dict[str, Precision] = {
    "float32": FP32,
    "fp32": FP32,
    "float16": FP16,
    "fp16": FP16,
    "half": FP16,
    "bfloat16": BF16,
    "bf16": BF16,
    "int8": SURVEY_8BIT,
}


def precision_for_dtype(dtype: Any) -> Precision:
    """The :class:`Precision` of a dtype name (``"float32"``, ``"bf16"``, ...) or torch dtype."""
    key = str(dtype).removeprefix("torch.")
    if key not in DTYPE_PRECISIONS:
        raise ProfileError(f"dtype: expected one of {sorted(DTYPE_PRECISIONS)}, got {dtype!r}")
    return DTYPE_PRECISIONS[key]


def as_precision(precision: Any) -> Precision:
    """A :class:`Precision` as given, or the one of a dtype name."""
    if isinstance(precision, Precision):
        return precision
    if isinstance(precision, str):
        return precision_for_dtype(precision)
    raise TypeError(f"precision: expected a Precision or a dtype name, got {precision!r}")


# --------------------------------------------------------------------------- the record
@dataclass(frozen=True)
class OpCount:
    """One operation's totals (FLOPs; bytes split into weights, KV cache and activations)."""

    name: str
    group: str
    flops: float
    matmul_flops: float = 0.0
    weight_bytes: float = 0.0
    kv_bytes: float = 0.0
    act_bytes: float = 0.0
    calls: float = 1.0

    @property
    def bytes(self) -> float:
        """All bytes moved: weights + KV cache + activations."""
        return self.weight_bytes + self.kv_bytes + self.act_bytes

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte."""
        return self.flops / self.bytes if self.bytes else float("inf")

    def __add__(self, other: OpCount) -> Self:
        if (self.name, self.group) != (other.name, other.group):
            raise ValueError(f"cannot add op {other.name!r} to {self.name!r}")
        return replace(self, **{f: getattr(self, f) + getattr(other, f) for f in _NUMERIC})

    def scaled(self, k: float) -> Self:
        """Every total times ``k`` (e.g. the number of layers)."""
        return replace(self, **{f: getattr(self, f) * k for f in _NUMERIC})


_NUMERIC: tuple[str, ...] = tuple(f.name for f in fields(OpCount) if f.name not in ("name", "group"))


def merge(ops: Iterable[OpCount], into: dict[str, OpCount] | None = None) -> dict[str, OpCount]:
    """Ops summed by name, in first-seen order (``into`` is extended in place when given)."""
    out = {} if into is None else into
    for op in ops:
        out[op.name] = out[op.name] + op if op.name in out else op
    return out


# --------------------------------------------------------------------------- primitives
def linear(
    name: str,
    group: str,
    rows: float,
    d_in: int,
    d_out: int,
    p: Precision,
    *,
    bias: bool = False,
    in_kv: bool = False,
    out_kv: bool = False,
    weight_copies: float = 1.0,
) -> OpCount:
    """``rows x d_in`` times a ``d_in x d_out`` weight (+ bias: ``rows * d_out`` FLOPs);
    ``weight_copies`` weight matrices read (e.g. distinct experts touched); ``in_kv`` /
    ``out_kv``: that operand is the KV cache."""
    mm = 2 * rows * d_in * d_out
    ins, outs = rows * d_in, rows * d_out
    return OpCount(
        name,
        group,
        flops=mm + (outs if bias else 0),
        matmul_flops=mm,
        weight_bytes=weight_copies * (d_in * d_out + (d_out if bias else 0)) * p.weight_bytes,
        kv_bytes=((ins if in_kv else 0) + (outs if out_kv else 0)) * p.kv_bytes,
        act_bytes=((0 if in_kv else ins) + (0 if out_kv else outs)) * p.act_bytes,
    )


def elementwise(
    name: str,
    group: str,
    elements: float,
    flops_per_element: float,
    p: Precision,
    *,
    inputs: int = 1,
    params: int = 0,
    calls: int = 1,
) -> OpCount:
    """An element-wise op, ``calls`` times: ``elements`` outputs from ``inputs`` activation
    tensors of that size and ``params`` weights (e.g. a norm's scale and bias)."""
    return OpCount(
        name,
        group,
        flops=elements * flops_per_element * calls,
        weight_bytes=params * p.weight_bytes * calls,
        act_bytes=elements * (inputs + 1) * p.act_bytes * calls,
        calls=calls,
    )


def totals(ops: Iterable[OpCount]) -> dict[str, float]:
    """Sums over ``ops``: ``flops``, ``matmul_flops``, ``bytes``, ``weight_bytes``,
    ``kv_bytes``, ``act_bytes`` and ``arithmetic_intensity`` (FLOPs per byte)."""
    ops = list(ops)
    out = {f: float(sum(getattr(o, f) for o in ops)) for f in ("flops", "matmul_flops", "bytes")}
    out |= {f: float(sum(getattr(o, f) for o in ops)) for f in ("weight_bytes", "kv_bytes", "act_bytes")}
    out["arithmetic_intensity"] = out["flops"] / out["bytes"] if out["bytes"] else float("inf")
    return out
