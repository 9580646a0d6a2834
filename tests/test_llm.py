"""Analytic LLM prefill/decode FLOPs and bytes (memwall_lib.engines.counts.llm) against hand-worked values
and against torch's FlopCounterMode on the Hugging Face models built from tiny configs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from helpers import build_hf, count_hf_flops, validate_llm_flops  # noqa: E402
from transformers import DeepseekV3Config, GPT2Config, LlamaConfig, MixtralConfig  # noqa: E402

from memwall_lib.engines.counts import llm, presets  # noqa: E402
from memwall_lib.engines.counts.transformer import FP32, Precision  # noqa: E402

torch.set_num_threads(1)


def tiny_llama(**kw) -> LlamaConfig:
    args = dict(
        hidden_size=16,
        intermediate_size=24,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=32,
        max_position_embeddings=64,
    )
    return LlamaConfig(**{**args, **kw})


def tiny_mixtral(**kw) -> MixtralConfig:
    args = dict(
        hidden_size=16,
        intermediate_size=24,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=32,
        num_local_experts=4,
        num_experts_per_tok=2,
        max_position_embeddings=64,
    )
    return MixtralConfig(**{**args, **kw})


def tiny_deepseek(**kw) -> DeepseekV3Config:
    args = dict(
        hidden_size=16,
        intermediate_size=24,
        moe_intermediate_size=8,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=32,
        n_routed_experts=8,
        num_experts_per_tok=2,
        n_group=2,
        topk_group=1,
        first_k_dense_replace=1,
        n_shared_experts=1,
        q_lora_rank=12,
        kv_lora_rank=8,
        qk_rope_head_dim=4,
        qk_nope_head_dim=6,
        v_head_dim=5,
        max_position_embeddings=64,
    )
    return DeepseekV3Config(**{**args, **kw})


FAMILIES = {
    "llama-gqa": tiny_llama(),
    "llama-tied-bias": tiny_llama(tie_word_embeddings=True, attention_bias=True, num_key_value_heads=1),
    "mixtral": tiny_mixtral(),
    "deepseek-v3": tiny_deepseek(),
    "deepseek-v3-no-q-lora": tiny_deepseek(
        q_lora_rank=None,
        first_k_dense_replace=0,
        n_shared_experts=2,
        n_routed_experts=4,
        n_group=1,
        attention_bias=True,
    ),
    "gpt2": GPT2Config(n_embd=16, n_layer=2, n_head=4, vocab_size=32, n_positions=64),
}


# --------------------------------------------------------------------------- exact FLOPs
@pytest.mark.parametrize("name", FAMILIES)
def test_matmul_flops_equal_flopcountermode_on_meta(name: str) -> None:
    """Prefill of 5 tokens and one decode step after a 7-token cache, batch 2, on the meta
    device. MoE experts run with HF's ``batched_mm`` implementation (one bmm over all
    (token, expert) pairs: no data-dependent shapes, so it runs on meta)."""
    rows = validate_llm_flops(FAMILIES[name], batch=2, tokens=5, context_len=7)
    assert [r["phase"] for r in rows] == ["prefill", "decode"]
    for r in rows:
        assert r["equal"], r
        assert r["analytic"] > 0


@pytest.mark.parametrize("name", ["mixtral", "deepseek-v3"])
def test_moe_flops_do_not_depend_on_routing(name: str) -> None:
    """HF's eager experts loop over the experts actually hit by the (random) routing, each on
    the tokens routed to it; the rows summed over experts are always tokens * top_k, so the
    count equals the analytic one whatever the routing. Checked on CPU with random weights
    and two seeds (two different routings)."""
    cfg = FAMILIES[name]
    a = int(sum(o.matmul_flops for o in llm.pass_ops(cfg, 2, 5, 5, mla="expanded")))
    for seed in (0, 1):
        counted = count_hf_flops(cfg, 2, 5, device="cpu", experts_implementation="eager", seed=seed)
        assert counted["total"] == a


def test_preset_flops_on_meta_llama3_70b_one_layer() -> None:
    """The published Llama-3-70B shapes (GQA 64/8 heads), cut to one layer to stay cheap."""
    cfg = presets.llama3_70b_config()
    cfg.num_hidden_layers = 1
    assert all(r["equal"] for r in validate_llm_flops(cfg, batch=1, tokens=3, context_len=4))


# --------------------------------------------------------------------------- by hand
HAND = llm.LLMSpec("hand", n_layers=1, d_model=4, n_heads=2, n_kv_heads=1, head_dim=2, d_ff=8, vocab_size=6)


def test_decode_intensity_by_hand() -> None:
    """One layer, d=4, 2 query heads / 1 KV head of size 2, SwiGLU 8, vocab 6, untied head;
    batch 1, cache of 3 tokens (attention spans 4 keys), 2 bytes everywhere (bf16).

    op           FLOPs                      bytes (weights + KV + activations)
    embedding    0                          8 + 0 + 8
    rmsnorm x2   2 * 4*4 = 32               2 * (8 + 0 + 16) = 48
    q_proj       2*4*4 = 32                 32 + 0 + (8 + 8) = 48
    k_proj       2*4*2 = 16                 16 + 4 + 8 = 28     (writes K of the new token)
    v_proj       16                         28
    rope         3 * (2+1)*2 = 18           6 elements read + written: 24
    qk_matmul    2 * (2 heads*4 keys) * 2 = 32   K cache 4*2*2 = 16; q 8, scores 16: 40
    softmax      5 * 8 = 40                 32
    sv_matmul    32                         V cache 16; scores 16, out 8: 40
    o_proj       32                         48
    residual x2  2 * 4 = 8                  2 * 3*4*2 = 48
    gate, up     2 * 2*4*8 = 128            2 * (64 + 8 + 16) = 176
    silu_mul     5 * 8 = 40                 3*8*2 = 48
    down_proj    64                         64 + 16 + 8 = 88
    final_norm   16                         8 + 16 = 24
    lm_head      2*4*6 = 48                 48 + 8 + 12 = 68
    total        554                        804 (weights 368, KV 40)
    """
    p = llm.decode_step(HAND, batch=1, context_len=3)
    ops = {o.name: o for o in p.ops}
    assert ops["qk_matmul"].flops == 32 and ops["qk_matmul"].kv_bytes == 16 and ops["qk_matmul"].bytes == 40
    assert ops["k_proj"].bytes == 28 and ops["k_proj"].kv_bytes == 4
    assert ops["lm_head"].bytes == 68
    assert p.flops == 554
    assert p.bytes == 804
    assert p.weight_bytes == 368 and p.kv_bytes == 40 and p.act_bytes == 804 - 368 - 40
    assert p.matmul_flops == 32 + 16 + 16 + 32 + 32 + 32 + 128 + 64 + 48
    assert llm.decode_intensity(HAND, 1, 3) == pytest.approx(554 / 804, rel=1e-15)
    # fp32 doubles every byte and no FLOP
    assert llm.decode_step(HAND, 1, 3, FP32).bytes == 2 * 804


def test_decode_at_batch_one_is_about_one_flop_per_byte_for_bf16_weights() -> None:
    """Decoding with a short context reads each bf16 weight once (2 bytes) for one
    multiply-accumulate (2 FLOPs): intensity close to 1."""
    assert llm.decode_intensity("llama2-7b", 1, 16) == pytest.approx(1.0, abs=0.02)
    spec = llm.get_spec("llama2-7b")  # every weight once, but only one row of the embedding table
    assert llm.decode_step(spec, 1, 0).weight_bytes == 2 * (spec.n_params - spec.vocab_size * 4096 + 4096)


# --------------------------------------------------------------------------- GQA, MoE
def test_gqa_shrinks_kv_cache_by_heads_over_kv_heads() -> None:
    mha = llm.get_spec(tiny_llama(num_attention_heads=8, num_key_value_heads=8, hidden_size=32))
    gqa = llm.get_spec(tiny_llama(num_attention_heads=8, num_key_value_heads=2, hidden_size=32))
    assert mha.kv_elements_per_token == 4 * gqa.kv_elements_per_token
    a, b = llm.decode_step(mha, 3, 100), llm.decode_step(gqa, 3, 100)
    assert a.kv_bytes == 4 * b.kv_bytes
    assert a.matmul_flops > b.matmul_flops  # smaller K/V projections; attention FLOPs equal
    ka, kb = ({o.name: o for o in x.ops} for x in (a, b))
    assert ka["qk_matmul"].flops == kb["qk_matmul"].flops
    # the published 70B: 64 query heads, 8 KV heads of 128 -> 2*8*128 per token and layer
    assert llm.get_spec("llama3-70b").kv_elements_per_token == 2 * 8 * 128


@pytest.mark.parametrize(
    "cfg",
    [tiny_mixtral(), tiny_deepseek(), presets.mixtral_8x7b_config(), presets.deepseek_v3_config()],
    ids=["mixtral", "deepseek", "mixtral-8x7b", "deepseek-v3"],
)
def test_moe_total_and_active_params_against_hf(cfg) -> None:
    """Total = sum(p.numel()) of the HF model on meta; active = total minus the unrouted
    (E - k) experts of every MoE layer, sized from HF's own expert tensors."""
    spec = llm.get_spec(cfg)
    net = build_hf(cfg)
    total = sum(p.numel() for p in net.parameters())
    experts = [m for n, m in net.named_modules() if n.endswith("mlp.experts")]
    per_expert = sum(p.numel() for p in experts[0].parameters()) // spec.n_experts
    assert spec.n_params == total
    assert len(experts) == spec.n_moe_layers
    assert spec.n_active_params == total - len(experts) * (spec.n_experts - spec.top_k) * per_expert


def test_published_parameter_counts() -> None:
    counts = {n: llm.get_spec(n) for n in ("llama2-7b", "llama3-70b", "mixtral-8x7b", "deepseek-v3")}
    assert counts["llama2-7b"].n_params == pytest.approx(6.74e9, rel=2e-3)
    assert counts["llama3-70b"].n_params == pytest.approx(70.6e9, rel=2e-3)
    assert counts["mixtral-8x7b"].n_params == pytest.approx(46.7e9, rel=2e-3)  # paper: 47B total, 13B active
    assert counts["mixtral-8x7b"].n_active_params == pytest.approx(12.9e9, rel=5e-3)
    assert counts["deepseek-v3"].n_params == pytest.approx(671e9, rel=2e-3)  # paper: 671B total, 37B active
    assert counts["deepseek-v3"].n_active_params == pytest.approx(37e9, rel=0.02)


def test_expected_experts_touched_and_moe_weight_bytes() -> None:
    assert llm.expected_experts_touched(8, 2, 1) == pytest.approx(2)
    assert llm.expected_experts_touched(256, 8, 10_000) == pytest.approx(256)
    assert llm.expected_experts_touched(8, 2, 3) == pytest.approx(8 * (1 - 0.75**3))
    spec = llm.get_spec("mixtral-8x7b")
    for batch in (1, 4):
        gate = {o.name: o for o in llm.decode_step(spec, batch, 10).ops}["expert_gate_proj"]
        touched = llm.expected_experts_touched(8, 2, batch)
        assert gate.weight_bytes == pytest.approx(32 * touched * 4096 * 14336 * 2)
        assert gate.matmul_flops == 32 * 2 * batch * 2 * 4096 * 14336  # top-2 experts per token


def test_mla_modes() -> None:
    """DeepSeek-V3's latent cache: kv_lora_rank + rope dim = 576 elements per token and
    layer, whatever the MLA mode; absorbed decode needs far fewer FLOPs than expanding."""
    spec = llm.get_spec("deepseek-v3")
    assert spec.kv_elements_per_token == 512 + 64
    e = llm.decode_step(spec, 1, 4096, mla="expanded")
    a = llm.decode_step(spec, 1, 4096, mla="absorbed")
    assert a.flops < e.flops / 10
    assert a.weight_bytes == e.weight_bytes
    write = 61 * (512 + 64) * 2  # kv_a_proj writes the new token's latent
    assert a.kv_bytes == write + 61 * 4097 * ((512 + 64) + 512) * 2  # keys and values both read it
    assert llm.decode_step(spec, 1, 4096).flops == a.flops  # auto: absorbed for decode
    assert llm.prefill(spec, 1, 64).flops == llm.prefill(spec, 1, 64, mla="expanded").flops


# --------------------------------------------------------------------------- intensities
@pytest.mark.parametrize("model", presets.PRESETS)
def test_decode_intensity_rises_with_batch(model: str) -> None:
    xs = [llm.decode_intensity(model, b, 4096) for b in (1, 2, 4, 8, 16, 64, 256, 1024)]
    assert all(b > a for a, b in zip(xs, xs[1:]))
    assert llm.prefill(model, 1, 2048).arithmetic_intensity > xs[0]


def test_critical_batch() -> None:
    model, ctx = "llama3-70b", 4096
    b = llm.critical_batch(model, ctx, 20.0)
    assert b is not None and b > 1
    assert llm.decode_intensity(model, b, ctx) >= 20.0 > llm.decode_intensity(model, b - 1, ctx)
    assert llm.critical_batch(model, ctx, 0.5) == 1
    # the KV cache is read per sequence: at 4096 tokens of context decode never reaches 1000
    assert llm.critical_batch(model, ctx, 1000.0) is None


def test_logits_last_and_gpt2_split() -> None:
    all_, last = llm.prefill("gpt2", 2, 64), llm.prefill("gpt2", 2, 64, logits="last")
    assert all_.flops - last.flops == 2 * (2 * 64 - 2) * 768 * 50257
    d = llm.decode_step("gpt2", 1, 100, Precision(1, 2, 4))
    assert d.weight_bytes + d.kv_bytes + d.act_bytes == pytest.approx(d.bytes)
    assert d.kv_bytes == pytest.approx(12 * (2 * 768 * 4 + 2 * 101 * 768 * 4))  # K,V written + read, 4 B


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: llm.decode_intensity("llama2-7b", 0, 10), ValueError, "batch"),
        (lambda: llm.decode_intensity("llama2-7b", 1.5, 10), TypeError, "batch"),
        (lambda: llm.decode_intensity("llama2-7b", 1, -1), ValueError, "context_len"),
        (lambda: llm.prefill("llama2-7b", 1, 0), ValueError, "tokens"),
        (lambda: llm.prefill("llama2-7b", 1, 8, precision=2), TypeError, "precision"),
        (lambda: llm.prefill("llama2-7b", 1, 8, precision="float8"), ValueError, "dtype"),
        (lambda: llm.decode_intensity("llama-9000", 1, 8), ValueError, "model: unknown model 'llama-9000'"),
        (lambda: llm.decode_intensity(42, 1, 8), TypeError, "model"),
        (lambda: llm.decode_step("deepseek-v3", 1, 8, mla="fast"), ValueError, "mla"),
        (lambda: llm.prefill("gpt2", 1, 8, logits="first"), ValueError, "logits"),
        (lambda: llm.critical_batch("llama2-7b", 8, 0), ValueError, "ridge_flops_per_byte"),
        (lambda: llm.critical_batch("llama2-7b", 8, "high"), TypeError, "ridge_flops_per_byte"),
        (lambda: llm.critical_batch("llama2-7b", 8, 10, max_batch=0), ValueError, "max_batch"),
        (lambda: llm.pass_ops("llama2-7b", 1, 4, 2), ValueError, "n_ctx"),
        (lambda: llm.get_spec(transformers.BertConfig()), ValueError, "is an encoder"),
        (lambda: llm.get_spec(tiny_llama(num_key_value_heads=3)), ValueError, "n_kv_heads"),
        (lambda: llm.get_spec(tiny_mixtral(sliding_window=16)), ValueError, "sliding_window"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_presets_cite_sources() -> None:
    assert set(presets.SOURCES) == set(presets.PRESETS)
    assert all("arXiv" in s or "huggingface.co" in s for s in presets.SOURCES.values())


def test_module_import_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, memwall_lib.engines.counts.llm, memwall_lib.engines.counts.presets; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
