"""engines/counts/counter: one ModelCounter, analytic where formulas exist, traced otherwise."""

from __future__ import annotations

import pytest
from transformers import AutoConfig

from memwall_lib.engines.counts import llm, trace
from memwall_lib.engines.counts.counter import TRACED_DTYPES, ModelCounter
from memwall_lib.engines.counts.ops import precision_for_dtype

SMALL = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, vocab_size=128)


def test_a_preset_is_counted_by_its_formulas() -> None:
    counter = ModelCounter("llama2-7b", "llama2-7b", "bf16")
    assert counter.method == "analytic"
    assert counter.decode_step(4, 128).totals() == llm.decode_step("llama2-7b", 4, 128, "bf16").totals()
    assert counter.critical_batch(128, 50.0, 1 << 12) == llm.critical_batch("llama2-7b", 128, 50.0, "bf16", 1 << 12)


def test_an_architecture_with_no_formula_is_traced_and_affine_in_batch() -> None:
    """Two traces give every batch: a third, traced directly, agrees exactly."""
    config = AutoConfig.for_model("qwen2", num_key_value_heads=2, **SMALL)
    counter = ModelCounter("tiny-qwen2", config, "fp32")
    assert counter.method == "traced"
    direct = trace.trace_decode(counter.model(), 5, 24, fused=True).totals()
    via = counter.decode_step(5, 24).totals()
    assert {k: via[k] for k in direct if k in via} == pytest.approx({k: direct[k] for k in via}, rel=1e-12)
    step = counter.decode_step(1, 24)
    assert step.method == "traced" and 0 < step.arithmetic_intensity < 2
    held = sum(p.numel() for p in counter.model().parameters()) * 4
    assert counter.resident_bytes(3, 24) == pytest.approx(
        held + counter.model().model.rotary_emb.inv_freq.numel() * 4 * 2 + 3 * 2 * 2 * 25 * 2 * 16 * 4, rel=1e-12
    )  # weights, rotary buffers (inv_freq, original_inv_freq), K and V of 25 tokens, 2 layers
    assert counter.critical_batch(24, 1e9, 64) is None
    assert counter.prefill(1, 16, logits="last").flops < counter.prefill(1, 16).flops


def test_the_tracer_counts_in_a_dtype() -> None:
    with pytest.raises(ValueError, match="precision: the tracer builds 'tiny' in a torch dtype"):
        ModelCounter("tiny", AutoConfig.for_model("qwen2", **SMALL), "int8")
    with pytest.raises(ValueError, match="method: expected one of"):
        ModelCounter("tiny", "gpt2", "fp32", method="guess")


def test_a_traced_prefill_is_affine_in_batch() -> None:
    counter = ModelCounter("tiny-qwen2", AutoConfig.for_model("qwen2", num_key_value_heads=2, **SMALL), "fp32")
    direct = trace.trace_prefill(counter.model(), 3, 16, last_logits_only=True, fused=True).totals()
    via = counter.prefill(3, 16, logits="last").totals()
    assert via == pytest.approx(direct, rel=1e-12)


def test_the_traced_precisions_are_the_tracers_dtypes() -> None:
    """One source: each traced precision name is the Precision of a dtype the tracer builds in."""
    assert sorted(TRACED_DTYPES.values()) == sorted(trace.DTYPES)
    assert all(precision_for_dtype(d).name == name for name, d in TRACED_DTYPES.items())
    assert set(TRACED_DTYPES) == {"fp32", "fp16", "bf16"}
