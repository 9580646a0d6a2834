"""The meta-device op tracer (engines/counts/trace) against the analytic engines, against
torch's FlopCounterMode and against bytes counted by hand."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoConfig

from memwall_lib.engines.counts import llm, trace
from memwall_lib.engines.counts import transformer as tfm
from memwall_lib.engines.counts.presets import preset_config
from memwall_lib.engines.models import builders
from memwall_lib.engines.models.configs import build_on_meta

SMALL = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, vocab_size=128)


def _build(config, *, encoder: bool = False, dtype=torch.float32, attn: str = "eager"):
    return build_on_meta(config, head="base" if encoder else "causal_lm", attn_implementation=attn, dtype=dtype)


#: Tiny configs of every architecture issue 19 lists (gemma2 has no SDPA path in transformers).
ARCHITECTURES = {
    "llama": lambda: AutoConfig.for_model("llama", num_key_value_heads=2, **SMALL),
    "mistral": lambda: AutoConfig.for_model("mistral", num_key_value_heads=2, sliding_window=8, **SMALL),
    "qwen2": lambda: AutoConfig.for_model("qwen2", num_key_value_heads=2, **SMALL),
    "gemma2": lambda: AutoConfig.for_model("gemma2", num_key_value_heads=2, head_dim=16, sliding_window=8, **SMALL),
    "phi3": lambda: AutoConfig.for_model("phi3", num_key_value_heads=2, pad_token_id=0, **SMALL),
    "mixtral": lambda: AutoConfig.for_model(
        "mixtral", num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2, **SMALL
    ),
    "gpt_neox": lambda: AutoConfig.for_model("gpt_neox", **SMALL),
    "opt": lambda: AutoConfig.for_model(
        "opt", hidden_size=64, ffn_dim=128, num_hidden_layers=2, num_attention_heads=4, vocab_size=128
    ),
    "falcon": lambda: AutoConfig.for_model(
        "falcon", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=128
    ),
    "bert": lambda: AutoConfig.for_model("bert", **SMALL),
    "roberta": lambda: AutoConfig.for_model("roberta", **SMALL),
}


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_matmul_flops_equal_flopcountermode_for_every_architecture(arch: str) -> None:
    encoder = arch in ("bert", "roberta")
    model = _build(ARCHITECTURES[arch](), encoder=encoder, dtype=torch.bfloat16 if arch == "mixtral" else None)
    traced = trace.trace_prefill(model, 2, 12, label=arch)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(input_ids=torch.zeros(2, 12, dtype=torch.long, device="meta"))
    assert traced.complete, traced.unknown_ops
    if arch == "mixtral":  # torch's registry has no grouped matmul: the tracer adds it
        grouped = traced.by_op()["aten._grouped_mm"]["matmul_flops"]
        assert grouped == 2 * 2 * 12 * 2 * 3 * 64 * 128 * 2  # 2 layers, 24 tokens x top-2, gate+up+down
        assert traced.totals()["matmul_flops"] - grouped == counter.get_total_flops()
    else:
        assert traced.totals()["matmul_flops"] == counter.get_total_flops()
    if not encoder:
        step = trace.trace_decode(model, 2, 20, label=arch)
        assert step.complete and step.totals()["kv_bytes"] > 0


LLM_PRESETS = ["gpt2", "llama2-7b", "llama3-70b", "mixtral-8x7b", "deepseek-v3"]


def unmodelled_flops(name: str, batch: int, n_new: int, n_ctx: int) -> dict[str, float]:
    """FLOPs that Hugging Face's eager code for preset ``name`` computes beyond engines.counts.llm's
    formulas, per named item, from the config alone (``batch`` sequences of ``n_new`` tokens over
    ``n_ctx`` keys). Each item names the aten ops that carry it:

    - the additive causal mask: one add per attention score (the formulas fold it into softmax);
    - RMSNorm's ``+ eps`` and ``rsqrt``: 2 per row and norm (the formulas: 4 per element only);
    - the rotary tables, once per pass at the positions of one sequence: ``positions x inv_freq``
      (1/2), cos, sin and their two ``attention_scaling`` multiplies: 4.5 per position and rotary dim;
    - ``rotate_half``'s negation of half of every query and key (Llama, Mixtral; DeepSeek's
      interleaved rotary subtracts instead, 3 per element as the formulas count);
    - the router as HF runs it, against the formulas' 5 per logit: Mixtral softmax 4 per logit and
      top-k renormalisation 2 per weight; DeepSeek sigmoid and bias 2 per logit, group scores 2 per
      group, routed scaling 1 per weight (renormalisation: 2 per weight and an eps per token);
    - DeepSeek's add of the shared experts' output to the routed experts': 1 per element."""
    config, spec = preset_config(name), llm.get_spec(name)
    r, layers, heads = batch * n_new, spec.n_layers, spec.n_heads
    out = {"causal mask add (aten.add)": float(layers * batch * heads * n_new * n_ctx)}
    if isinstance(spec, tfm.TransformerSpec):  # GPT-2: layer norm, GELU, softmax as the survey counts
        return out
    mla = spec.is_mla
    norms = 2 * layers + 1 + (layers * (1 + int(spec.q_lora_rank > 0)) if mla else 0)
    rotary = spec.qk_rope_head_dim if mla else spec.head_dim
    out["rmsnorm eps and rsqrt (aten.add, aten.rsqrt)"] = 2.0 * r * norms
    out["rotary tables (aten.mul, aten.cos, aten.sin)"] = 4.5 * n_new * rotary
    if not mla:
        out["rotate_half negation (aten.neg)"] = layers * r * (heads + spec.n_kv_heads) * spec.head_dim / 2
    if spec.is_moe:
        e, k = spec.n_experts, spec.top_k
        if config.model_type == "mixtral":
            router = 4 * e + 2 * k
        else:
            router = 2 * e + 2 * config.n_group + k + (2 * k + 1 if config.norm_topk_prob else 0)
        out["router, HF's ops minus 5 per logit"] = float(spec.n_moe_layers * r * (router - 5 * e))
    if spec.n_shared_experts:
        out["shared experts' output add (aten.add)"] = float(spec.n_moe_layers * r * spec.d_model)
    return out


@pytest.mark.parametrize("name", LLM_PRESETS)
def test_tracer_equals_the_llm_engine_on_every_preset(name: str) -> None:
    """FLOPs equal exactly, prefill and decode: matmul FLOPs alone, and all FLOPs once the
    element-wise work HF spells out and the formulas leave out is added, item by item
    (:func:`unmodelled_flops`); the ops that carry one item alone are checked on their own."""
    bf16 = name in ("mixtral-8x7b", "deepseek-v3")
    model = _build(preset_config(name), dtype=torch.bfloat16 if bf16 else torch.float32)
    precision = tfm.BF16 if bf16 else tfm.FP32
    pairs = [
        (trace.trace_prefill(model, 1, 8), llm.prefill(name, 1, 8, precision, mla="expanded")),
        (trace.trace_decode(model, 2, 16), llm.decode_step(name, 2, 16, precision, mla="expanded")),
    ]
    for traced, analytic in pairs:
        t, a, ops = traced.totals(), analytic.totals(), traced.by_op()
        extra = unmodelled_flops(name, traced.batch, traced.n_new, traced.n_ctx)
        assert t["matmul_flops"] == a["matmul_flops"], (name, traced.phase)
        assert t["flops"] == a["flops"] + sum(extra.values()), (name, traced.phase, t["flops"] - a["flops"], extra)
        neg = extra.get("rotate_half negation (aten.neg)", 0.0)
        assert ops.get("aten.neg", {"flops": 0.0})["flops"] == neg
        if name != "gpt2":
            rotary = extra["rotary tables (aten.mul, aten.cos, aten.sin)"]
            assert ops["aten.cos"]["flops"] == ops["aten.sin"]["flops"] == rotary / 4.5
            assert ops["aten.rsqrt"]["flops"] == extra["rmsnorm eps and rsqrt (aten.add, aten.rsqrt)"] / 2
        assert t["weight_bytes"] == a["weight_bytes"] + sum(weight_bytes_differences(name, traced, precision).values())
        by_class = {o.group for o in traced.ops}
        assert by_class <= {"matmul", "elementwise", "data_movement"}
        copies = sum(o.bytes for o in traced.ops if o.group == "data_movement")
        assert copies > 0  # casts, the cache's cat, masks: ops the formulas do not have


def weight_bytes_differences(name: str, traced: trace.Trace, precision: tfm.Precision) -> dict[str, float]:
    """Weight bytes HF's code reads beyond (or short of) engines.counts.llm's formulas, per named
    item, from the config: the rotary ``inv_freq`` buffer (float32, half the rotary dim) read
    for the tables; GPT-2's position rows gathered for one sequence, not for each of the batch;
    MoE's grouped matmul reading every routed expert, not the expected distinct experts the
    pass's tokens touch; DeepSeek's router weight and score-correction bias, which HF holds
    in float32."""
    spec, b, n = llm.get_spec(name), traced.batch, traced.n_new
    if isinstance(spec, tfm.TransformerSpec):
        return {"position rows gathered once for the batch": -(b - 1) * n * spec.d_model * precision.weight_bytes}
    rotary = spec.qk_rope_head_dim if spec.is_mla else spec.head_dim
    out = {"rotary inv_freq buffer": rotary / 2 * 4.0}
    if spec.is_moe:
        unread = spec.n_experts - llm.expected_experts_touched(spec.n_experts, spec.top_k, b * n)
        out["every routed expert read"] = spec.n_moe_layers * unread * spec.expert_params() * precision.weight_bytes
    if preset_config(name).model_type == "deepseek_v3":  # HF holds its router in float32
        router = spec.n_moe_layers * spec.n_experts
        out["router weight in float32"] = router * spec.d_model * (4.0 - precision.weight_bytes)
        out["router score-correction bias (float32)"] = router * 4.0
    return out


@pytest.mark.parametrize("name", LLM_PRESETS)
def test_matmul_flops_equal_flopcountermode_on_every_preset(name: str) -> None:
    """Where FlopCounterMode counts an op, the tracer counts the same; it has no grouped matmul
    (MoE experts), which the tracer adds: ``2 x rows x d x f`` for each of gate, up and down."""
    bf16 = name in ("mixtral-8x7b", "deepseek-v3")
    model = _build(preset_config(name), dtype=torch.bfloat16 if bf16 else torch.float32)
    traced = trace.trace_prefill(model, 1, 8)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(input_ids=torch.zeros(1, 8, dtype=torch.long, device="meta"))
    spec = llm.get_spec(name)
    grouped = traced.by_op().get("aten._grouped_mm", {"matmul_flops": 0.0})["matmul_flops"]
    if bf16:
        assert grouped == spec.n_moe_layers * 3 * 2 * 8 * spec.top_k * spec.d_model * spec.moe_d_ff
    assert traced.totals()["matmul_flops"] - grouped == counter.get_total_flops()


def test_integer_arithmetic_costs_no_flops() -> None:
    """Position ids and cache slots are index arithmetic: traced, but 0 FLOPs."""

    class Shift(torch.nn.Module):
        def forward(self, ids, x):  # noqa: ANN001, ANN201
            return (ids + 1) * 2, x + 1

    ids, x = torch.zeros(5, dtype=torch.long, device="meta"), torch.ones(3, device="meta")
    traced = trace.trace_module(Shift(), lambda: Shift()(ids, x))
    assert traced.complete and traced.totals()["flops"] == 3  # the float add only
    assert traced.totals()["act_bytes"] > 0  # the index arithmetic still moves bytes


@pytest.mark.parametrize("name", ["bert-base", "bert-large"])
def test_tracer_equals_the_survey_engine_on_bert(name: str) -> None:
    """FLOPs equal exactly: HF's BERT with no padding mask adds none, and its layer norm, GELU
    and softmax are counted at the survey's rates."""
    model = _build(builders.transformer_config(name), encoder=True)
    traced = trace.trace_prefill(model, 1, 128)
    analytic = tfm.profile(name, 128, precision=tfm.FP32, include_embeddings=True, include_head=True)
    assert traced.totals()["matmul_flops"] == analytic.matmul_flops
    assert traced.totals()["flops"] == analytic.flops
    assert traced.totals()["kv_bytes"] == 0  # an encoder has no cache


@pytest.mark.parametrize("kv_heads", [4, 2])
def test_decode_bytes_by_hand(kv_heads: int) -> None:
    """Weights read once (the embedding: its B gathered rows), and the KV cache as HF's
    DynamicCache and eager attention move it: ``torch.cat`` reads the C cached tokens and
    writes C + 1; ``repeat_kv`` (GQA only) reads C + 1 and writes g(C + 1); the two matmuls
    read g(C + 1) tokens of K and V (g = query heads per KV head)."""
    b, c, layers, heads, d = 2, 20, 2, 4, 64
    model = _build(AutoConfig.for_model("llama", num_key_value_heads=kv_heads, **SMALL))
    step = trace.trace_decode(model, b, c).totals()
    params = sum(p.numel() for p in model.parameters()) * 4
    table = 128 * d * 4
    buffers = model.model.rotary_emb.inv_freq.numel() * 4  # the one buffer a step reads
    assert step["weight_bytes"] == params - table + b * d * 4 + buffers
    g, hd = heads // kv_heads, d // heads
    tokens = c + (c + 1) + (c + 1 + g * (c + 1) if g > 1 else 0) + g * (c + 1)
    assert step["kv_bytes"] == layers * 2 * tokens * b * kv_heads * hd * 4


def test_sliding_window_cache_is_what_transformers_keeps() -> None:
    """Mistral's sliding window: past the window, a decode step moves less KV cache than
    the same model with full attention."""
    windowed = _build(AutoConfig.for_model("mistral", num_key_value_heads=2, sliding_window=8, **SMALL))
    full = _build(AutoConfig.for_model("mistral", num_key_value_heads=2, sliding_window=None, **SMALL))
    kv = lambda m: trace.trace_decode(m, 1, 64).totals()["kv_bytes"]  # noqa: E731
    assert kv(windowed) < kv(full) / 4


def test_an_op_with_no_formula_is_listed_and_the_count_partial() -> None:
    class Odd(torch.nn.Module):
        def forward(self, x):  # noqa: ANN001, ANN201
            return torch.special.bessel_j0(x) + x

    traced = trace.trace_module(Odd(), lambda: Odd()(torch.ones(3, device="meta")))
    assert traced.unknown_ops == ("aten.special_bessel_j0",) and not traced.complete
    assert traced.totals()["flops"] == 3  # the add only: a lower bound


def test_a_data_dependent_op_names_itself() -> None:
    class Route(torch.nn.Module):
        def forward(self, x):  # noqa: ANN001, ANN201
            return x[torch.nonzero(x > 0)]

    with pytest.raises(ValueError, match=r"Route: the forward cannot run on the meta device: aten\.nonzero"):
        trace.trace_module(Route(), lambda: Route()(torch.ones(3, device="meta")))


def test_an_encoder_has_no_decode_step() -> None:
    with pytest.raises(ValueError, match="is an encoder"):
        trace.trace_decode(_build(AutoConfig.for_model("bert", **SMALL), encoder=True), 1, 4, label="bert")


@pytest.mark.parametrize("name", ["gpt2", "llama2-7b", "llama3-70b"])
def test_the_fused_convention_meets_the_formulas(name: str) -> None:
    """Fused (an optimising runtime's bytes): the KV cache equals the formulas' exactly (the
    in-place cache, GQA read where it lies), weights too once the named differences are added
    (:func:`weight_bytes_differences`); activations exceed them by under 70% at
    these short lengths (HF's rotary tables, casts and the additive mask; 10-25% at 2,048
    tokens), so intensities stay within 20%."""
    model = _build(preset_config(name), dtype=torch.bfloat16)
    for traced, analytic in (
        (
            trace.trace_prefill(model, 1, 64, last_logits_only=True, fused=True),
            llm.prefill(name, 1, 64, "bf16", logits="last"),
        ),
        (trace.trace_decode(model, 4, 96, fused=True), llm.decode_step(name, 4, 96, "bf16")),
    ):
        t, a = traced.totals(), analytic.totals()
        assert t["kv_bytes"] == a["kv_bytes"], traced.phase
        assert t["weight_bytes"] == a["weight_bytes"] + sum(weight_bytes_differences(name, traced, tfm.BF16).values())
        assert a["act_bytes"] <= t["act_bytes"] <= 1.7 * a["act_bytes"]
        assert 0.8 <= t["arithmetic_intensity"] / a["arithmetic_intensity"] <= 1.0
        unfused = (trace.trace_prefill if traced.phase == "prefill" else trace.trace_decode)(
            model, 1 if traced.phase == "prefill" else 4, 64 if traced.phase == "prefill" else 96
        ).totals()
        assert unfused["bytes"] > t["bytes"]
