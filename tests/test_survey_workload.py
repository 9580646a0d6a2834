"""The survey's workload of any model, traced (engines.counts.survey_workload): on the survey's
presets it meets the analytic engine; a decoder's generation summed from a few decode steps
equals the sum over every step, sliding windows included; elements and bytes; bad lengths."""

from __future__ import annotations

import pytest
from transformers import Gemma2Config, GPTNeoXConfig, MistralConfig, RobertaConfig

from memwall_lib.engines.counts import survey_workload as sw
from memwall_lib.engines.counts import trace
from memwall_lib.engines.counts import transformer as tfm
from memwall_lib.engines.counts.ops import ProfileError
from memwall_lib.engines.models.configs import build_on_meta, resolve_model

SMALL = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=100,
    max_position_embeddings=16,
)
TINY = {
    "mistral, window 6": MistralConfig(**SMALL, sliding_window=6),
    "gemma2, local/global": Gemma2Config(**SMALL, head_dim=8, sliding_window=5),
    "gpt_neox": GPTNeoXConfig(**{k: v for k, v in SMALL.items() if k != "num_key_value_heads"}),
}


@pytest.mark.parametrize(("name", "lengths"), [("bert-base", [128, 1024]), ("gpt2", [128, 1024])])
def test_the_survey_presets_traced_meet_the_analytic_engine(name: str, lengths: list[int]) -> None:
    """FLOPs equal exactly: matmul FLOPs alone; all FLOPs against the engine with the embedding
    lookups (which the traced workload keeps) plus, for GPT-2, HF's additive causal mask, one add
    per attention score (the formulas fold it into softmax): over the passes at contexts 1 .. l,
    ``layers x heads x l (l + 1) / 2``. Elements within 2% of the survey's 8-bit bytes: the
    traced convention is the survey's."""
    counts = sw.trace_survey_workload(resolve_model(name).config, lengths, label=name)
    spec = tfm.get_spec(name)
    for c, n in zip(counts, lengths):
        a = tfm.profile(name, n, precision=tfm.SURVEY_8BIT)
        embedded = tfm.profile(name, n, precision=tfm.SURVEY_8BIT, include_embeddings=True)
        mask = spec.n_layers * spec.n_heads * n * (n + 1) // 2 if spec.kind == "decoder" else 0
        assert c.seq_len == n and c.forward_calls == a.forward_calls
        assert c.matmul_flops == a.matmul_flops
        assert c.flops == embedded.flops + mask
        assert c.elements == pytest.approx(a.bytes, rel=2e-2)
        assert c.elements == c.bytes / 4 and c.element_bytes == 4 and c.dtype == "float32"


def _every_step(config: object, seq_len: int) -> dict[str, float]:
    """The generation of ``seq_len`` tokens traced step by step (the 1-token prefill, then
    decode steps at contexts 1 .. seq_len - 1), without the LM head."""
    import torch

    model = build_on_meta(sw.with_positions(config, seq_len), attn_implementation="eager", dtype="float32")
    model.set_output_embeddings(torch.nn.Identity())
    parts = [trace.trace_prefill(model, 1, 1, fused=True)]
    parts += [trace.trace_decode(model, 1, c, fused=True) for c in range(1, seq_len)]
    keys = ("flops", "matmul_flops", "weight_bytes", "kv_bytes", "act_bytes")
    return {k: sum(p.totals()[k] for p in parts) for k in keys}


@pytest.mark.parametrize("name", list(TINY))
def test_a_generation_from_a_few_steps_equals_every_step(name: str) -> None:
    """Exact past the sliding windows too (lengths beyond the config's 16 positions)."""
    lengths = [1, 2, 6, 7, 20]
    counts = sw.trace_survey_workload(TINY[name], lengths, label=name)
    for c, n in zip(counts, lengths):
        brute = _every_step(TINY[name], n)
        for k, v in brute.items():
            assert getattr(c, k) == pytest.approx(v, rel=1e-12, abs=1e-9), (n, k)
        assert c.kind == "decoder" and c.forward_calls == n


def test_an_encoder_is_one_pass_with_no_cache_and_bf16_halves_the_bytes() -> None:
    config = RobertaConfig(**{k: v for k, v in SMALL.items() if k != "num_key_value_heads"})
    fp32, bf16 = (sw.trace_survey_workload(config, [8, 40], dtype=d) for d in ("float32", "bfloat16"))
    for a, b in zip(fp32, bf16):
        assert a.kind == "encoder" and a.forward_calls == 1 and a.kv_bytes == 0
        assert b.element_bytes == 2 and b.flops == a.flops
        # float weights halve; integer buffers (position and token-type ids) and masks keep their dtype
        assert b.weight_bytes == pytest.approx(a.weight_bytes / 2, rel=1e-2) and b.weight_bytes > a.weight_bytes / 2
        assert b.elements == pytest.approx(a.elements, rel=1e-2)
        assert a.arithmetic_intensity == a.flops / a.bytes


def test_positions_are_enlarged_on_a_copy() -> None:
    config = TINY["gpt_neox"]
    longer = sw.with_positions(config, 40)
    assert longer.max_position_embeddings == 40 + sw.POSITION_MARGIN and config.max_position_embeddings == 16
    assert sw.with_positions(config, 8).max_position_embeddings == 16


def test_an_op_with_no_formula_makes_the_count_partial() -> None:
    """xIELU's Python form runs expm1 and softplus, which no FLOP formula covers: named, not fatal."""
    config = GPTNeoXConfig(**{**TINY["gpt_neox"].to_dict(), "hidden_act": "xielu"})
    (count,) = sw.trace_survey_workload(config, [4])
    assert count.unknown_ops == ("aten.expm1", "aten.softplus")
    assert sw.trace_survey_workload(TINY["gpt_neox"], [4])[0].unknown_ops == ()


def test_bad_lengths_and_dtypes_are_named() -> None:
    with pytest.raises(ProfileError, match="seq_lens"):
        sw.trace_survey_workload(TINY["gpt_neox"], [])
    with pytest.raises(ValueError, match="seq_len"):
        sw.trace_survey_workload(TINY["gpt_neox"], [0])
    with pytest.raises(ProfileError, match="dtype"):
        sw.trace_survey_workload(TINY["gpt_neox"], [4], dtype="float64")
