"""One way to count any model's inference: the analytic formulas where the model has them
(:mod:`.llm`: Llama, Mixtral, DeepSeek-V3, GPT-2), the meta-device tracer (:mod:`.trace`)
for every other architecture transformers can build (Qwen2, Mistral's sliding window,
Gemma 2, Phi-3, GPT-NeoX, OPT, Falcon ...).

A :class:`ModelCounter` gives the totals of a prefill and of a decode step, the bytes held
in memory during decode, and the critical batch against a ridge point, with the same
meaning whichever method counts (units: FLOPs, bytes; conventions: :mod:`.ops`).

Traced passes count bytes as an optimising runtime moves them (``fused=True`` of
:mod:`.trace`: element-wise chains fused, the KV cache appended in place and read where it
lies), the convention closest to the analytic one: on the dense presets the KV cache agrees
exactly, weights exactly once the named differences are added (the rotary ``inv_freq`` buffer,
GPT-2's position rows gathered once for the batch), FLOPs exactly once the element-wise work
HF spells out is added (the causal mask, rotary tables ...), and intensities within 20%
(tests/test_trace.py), where HF's eager code as run moves two to nineteen times the KV bytes
(``torch.cat`` appends, ``repeat_kv``).

Traced passes are affine in the batch (weights are read once per pass; KV cache and
activations grow with each sequence), so two traces (batch 1 and 2) give every batch
exactly; tests/test_counter.py checks that on a third batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from ...core.checks import check_int
from . import llm, trace
from .ops import DTYPE_PRECISIONS, Precision, ProfileError, as_precision

Method = Literal["analytic", "traced"]
METHODS: tuple[str, ...] = ("auto", "analytic", "traced")
#: Precisions the tracer can build a model in, by name, and their torch dtype (bytes per
#: element follow from it): :data:`.trace.DTYPES` named as :data:`.ops.DTYPE_PRECISIONS` names them.
TRACED_DTYPES: dict[str, str] = {DTYPE_PRECISIONS[d].name: d for d in trace.DTYPES}


@dataclass(frozen=True)
class PhaseCount:
    """Totals of one forward pass (FLOPs; bytes split into weights, KV cache, activations)."""

    label: str
    phase: str
    batch: int
    n_new: int
    n_ctx: int
    method: Method
    flops: float
    matmul_flops: float
    weight_bytes: float
    kv_bytes: float
    act_bytes: float

    @property
    def bytes(self) -> float:
        return self.weight_bytes + self.kv_bytes + self.act_bytes

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte."""
        return self.flops / self.bytes

    def totals(self) -> dict[str, float]:
        """``flops``, ``matmul_flops``, ``bytes``, ``weight_bytes``, ``kv_bytes``,
        ``act_bytes`` and ``arithmetic_intensity``."""
        keys = ("flops", "matmul_flops", "bytes", "weight_bytes", "kv_bytes", "act_bytes", "arithmetic_intensity")
        return {k: float(getattr(self, k)) for k in keys}


_TOTALS = ("flops", "matmul_flops", "weight_bytes", "kv_bytes", "act_bytes")


def _from_totals(label: str, phase: str, b: int, n: int, c: int, method: Method, t: dict[str, float]) -> PhaseCount:
    return PhaseCount(label, phase, b, n, c, method, *(float(t[k]) for k in _TOTALS))


class ModelCounter:
    """Counts of one model at one precision, by ``method`` (see the module docstring).
    ``config`` is a ``transformers`` config (or a preset/survey name for the analytic path)."""

    def __init__(self, label: str, config: Any, precision: Precision | str, method: str = "auto") -> None:
        if method not in METHODS:
            raise ProfileError(f"method: expected one of {list(METHODS)}, got {method!r}")
        self.label, self.config, self.precision = label, config, as_precision(precision)
        self.spec: Any = None
        if method in ("auto", "analytic"):
            try:
                self.spec = llm.get_spec(config)
            except ProfileError:
                if method == "analytic":
                    raise
        self.method: Method = "analytic" if self.spec is not None else "traced"
        if self.method == "traced" and self.precision.name not in TRACED_DTYPES:
            raise ProfileError(
                f"precision: the tracer builds {label!r} in a torch dtype; expected one of "
                f"{list(TRACED_DTYPES)}, got {self.precision.name or self.precision!r}"
            )
        self._traces: list[trace.Trace] = []
        self._trace = cache(self._trace_uncached)

    # ----------------------------------------------------------------- tracing
    def model(self) -> Any:
        """The model on the meta device (built once; eager attention: the no-fusion path)."""
        if not hasattr(self, "_model"):
            from ..models.configs import build_on_meta

            self._model = build_on_meta(
                self.config, attn_implementation="eager", dtype=TRACED_DTYPES[self.precision.name]
            )
        return self._model

    @property
    def unknown_ops(self) -> tuple[str, ...]:
        """Aten ops of the traces made so far with no FLOP formula (their FLOPs are partial)."""
        return tuple(sorted({op for t in self._traces for op in t.unknown_ops}))

    def _trace_uncached(self, phase: str, batch: int, n: int, last_logits_only: bool = False) -> trace.Trace:
        t = self._trace_pass(phase, batch, n, last_logits_only)
        self._traces.append(t)
        return t

    def _trace_pass(self, phase: str, batch: int, n: int, last_logits_only: bool) -> trace.Trace:
        if phase == "prefill":
            return trace.trace_prefill(
                self.model(), batch, n, label=self.label, last_logits_only=last_logits_only, fused=True
            )
        return trace.trace_decode(self.model(), batch, n, label=self.label, fused=True)

    def _affine(self, phase: str, batch: int, n: int, last: bool = False) -> tuple[dict[str, float], float]:
        """Totals and resident bytes of a pass at ``batch`` from traces at batch 1 and 2 (a
        pass is affine in the batch: weights once, every sequence's tokens and cache on top)."""
        one, two = self._trace(phase, 1, n, last), self._trace(phase, 2, n, last)
        t1, t2 = one.totals(), two.totals()
        totals = {k: t1[k] + (batch - 1) * (t2[k] - t1[k]) for k in _TOTALS}
        resident = one.resident_bytes + (batch - 1) * (two.resident_bytes - one.resident_bytes)
        return totals, resident

    # ----------------------------------------------------------------- phases
    def prefill(self, batch: int, tokens: int, logits: str = "all") -> PhaseCount:
        """A prefill of ``tokens`` tokens for ``batch`` sequences (``logits``: "all" tokens
        or the "last" one, as generation needs)."""
        b, t = check_int("batch", batch, 1), check_int("tokens", tokens, 1)
        if self.method == "analytic":
            totals = llm.prefill(self.spec, b, t, self.precision, logits=logits).totals()
        else:
            totals = self._affine("prefill", b, t, logits == "last")[0]
        return _from_totals(self.label, "prefill", b, t, t, self.method, totals)

    def decode_step(self, batch: int, context_len: int) -> PhaseCount:
        """One decode step for ``batch`` sequences with ``context_len`` cached tokens."""
        b, c = check_int("batch", batch, 1), check_int("context_len", context_len, 1)
        if self.method == "analytic":
            totals = llm.decode_step(self.spec, b, c, self.precision).totals()
        else:
            totals = self._affine("decode", b, c)[0]
        return _from_totals(self.label, "decode", b, 1, c + 1, self.method, totals)

    def resident_bytes(self, batch: int, context_len: int) -> float:
        """Bytes held in DRAM during decode: every weight and the KV cache of ``batch``
        sequences of ``context_len + 1`` tokens (traced: as the model's cache keeps them,
        e.g. only a sliding window; analytic: NaN for GPT-2, which has no parameter count)."""
        if self.method == "traced":
            return self._affine("decode", batch, context_len)[1]
        if not isinstance(self.spec, llm.LLMSpec):
            return float("nan")
        p = self.precision
        kv = self.spec.n_layers * self.spec.kv_elements_per_token * p.kv_bytes * batch * (context_len + 1)
        return float(self.spec.n_params * p.weight_bytes + kv)

    def critical_batch(self, context_len: int, ridge_flops_per_byte: float, max_batch: int) -> int | None:
        """Smallest decode batch whose intensity reaches the ridge (None if not by ``max_batch``)."""
        if self.method == "analytic":
            return llm.critical_batch(self.spec, context_len, ridge_flops_per_byte, self.precision, max_batch)
        return llm.smallest_batch(
            lambda b: self.decode_step(b, context_len).arithmetic_intensity, ridge_flops_per_byte, max_batch
        )
