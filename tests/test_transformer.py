"""The analytic FLOPs/bytes model, on configurations small enough to count by hand."""

from __future__ import annotations

import subprocess
import sys

import pytest

from memwall_lib.engines.counts import transformer as tfm

#: d=8, 2 heads (dh=4), FFN 16, 1 layer: small enough to write every term out.
TINY_ENC = tfm.TransformerSpec(
    "tiny-enc",
    "encoder",
    n_layers=1,
    d_model=8,
    n_heads=2,
    d_ff=16,
    vocab_size=10,
    max_positions=32,
    type_vocab_size=2,
    pooler=True,
    embedding_layernorm=True,
)
TINY_DEC = tfm.TransformerSpec(
    "tiny-dec",
    "decoder",
    n_layers=1,
    d_model=8,
    n_heads=2,
    d_ff=16,
    vocab_size=10,
    max_positions=32,
    final_layernorm=True,
)


def _ops(p: tfm.Profile) -> dict[str, tfm.OpCount]:
    return {op.name: op for op in p.ops}


def test_encoder_by_hand() -> None:
    l, d, f, h = 4, 8, 16, 2
    ops = _ops(tfm.profile(TINY_ENC, l))  # 1 byte everywhere
    # a projection: 2*l*d*d matmul + l*d bias; reads l*d + d*d + d, writes l*d
    assert ops["q_proj"].matmul_flops == 2 * l * d * d == 512
    assert ops["q_proj"].flops == 512 + l * d
    assert ops["q_proj"].bytes == l * d + d * d + d + l * d == 136
    # Q.K^T: h heads of (l x dh)(dh x l) = 2*l*l*d FLOPs; reads Q and K (l*d each), writes h*l*l
    assert ops["qk_matmul"].flops == 2 * l * l * d == 256
    assert ops["qk_matmul"].bytes == 2 * l * d + h * l * l == 96
    assert ops["sv_matmul"].bytes == h * l * l + l * d + l * d == 96
    assert ops["softmax"].flops == 5 * h * l * l and ops["softmax"].bytes == 2 * h * l * l
    assert ops["ffn1"].bytes == l * d + d * f + f + l * f == 240
    assert ops["ffn2"].bytes == l * f + f * d + d + l * d == 232
    assert ops["gelu"].flops == 8 * l * f and ops["gelu"].bytes == 2 * l * f
    assert ops["layernorm"].calls == 2 and ops["layernorm"].bytes == 2 * (2 * l * d + 2 * d)
    assert ops["residual_add"].bytes == 2 * 3 * l * d and ops["residual_add"].flops == 2 * l * d
    assert set(ops) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "qk_matmul",
        "softmax",
        "sv_matmul",
        "out_proj",
        "residual_add",
        "layernorm",
        "ffn1",
        "gelu",
        "ffn2",
    }


def test_precision_scales_bytes_not_flops() -> None:
    a = tfm.profile(TINY_ENC, 4)
    b = tfm.profile(TINY_ENC, 4, precision=tfm.FP32)
    assert b.flops == a.flops and b.bytes == 4 * a.bytes
    w = tfm.profile(TINY_ENC, 4, precision=tfm.Precision(4, 1, 1))
    assert _ops(w)["q_proj"].bytes == 2 * 4 * 8 + 4 * (8 * 8 + 8)  # acts 1 B, weights 4 B


def test_decoder_steps_by_hand() -> None:
    d, f, h, kv = 8, 16, 2, 2
    prec = tfm.Precision(1, 1, kv)
    p = tfm.profile(TINY_DEC, 3, precision=prec)  # steps with contexts 1, 2, 3
    ops = _ops(p)
    assert p.forward_calls == 3
    # weights re-read at every step
    assert ops["ffn1"].bytes == 3 * (d + d * f + f + f)
    assert ops["ffn1"].matmul_flops == 3 * 2 * d * f
    # Q.K^T at context t: 2*t*d FLOPs; reads q (d), K cache (t*d*kv), writes h*t scores
    assert ops["qk_matmul"].flops == sum(2 * t * d for t in (1, 2, 3))
    assert ops["qk_matmul"].bytes == sum(d + t * d * kv + h * t for t in (1, 2, 3))
    # K and V projections write the cache at kv bytes per element
    assert ops["k_proj"].bytes == 3 * (d + d * d + d + d * kv)
    assert ops["final_layernorm"].calls == 3


def test_decoder_closed_form_equals_step_by_step() -> None:
    for prompt in (0, 1, 5):
        for opts in ({}, {"include_embeddings": True, "include_head": True}):
            total = tfm.profile(TINY_DEC, 17, prompt_len=prompt, **opts)
            first = max(prompt, 1)
            steps = [tfm.profile(TINY_DEC, first, prompt_len=prompt, **opts)]
            for t in range(first + 1, 18):
                steps.append(
                    tfm.Profile(
                        TINY_DEC,
                        t,
                        0,
                        1,
                        tfm.SURVEY_8BIT,
                        False,
                        False,
                        1,
                        tuple(
                            tfm.pass_ops(
                                TINY_DEC,
                                1,
                                t,
                                tfm.SURVEY_8BIT,
                                1,
                                opts.get("include_embeddings", False),
                                opts.get("include_head", False),
                            )
                        ),
                    )
                )
            assert total.flops == sum(s.flops for s in steps)
            assert total.bytes == pytest.approx(sum(s.bytes for s in steps), rel=1e-15)
            assert total.forward_calls == len(steps)


def test_embeddings_and_heads() -> None:
    l, d = 4, 8
    enc = _ops(tfm.profile(TINY_ENC, l, include_embeddings=True, include_head=True))
    assert enc["embedding_lookup"].bytes == l * d * 3 + l * d  # 3 table rows read per token, 1 written
    assert enc["pooler"].matmul_flops == 2 * d * d
    dec = _ops(tfm.profile(TINY_DEC, 2, include_head=True))
    assert dec["lm_head"].matmul_flops == 2 * 2 * d * 10
    assert dec["lm_head"].bytes == 2 * (d + d * 10 + 10)
    assert "pooler" not in _ops(tfm.profile(TINY_ENC, l))


def test_batch_scales_activations_only() -> None:
    a, b = _ops(tfm.profile(TINY_ENC, 4)), _ops(tfm.profile(TINY_ENC, 4, batch=3))
    assert b["q_proj"].matmul_flops == 3 * a["q_proj"].matmul_flops
    assert b["q_proj"].bytes == 3 * (2 * 4 * 8) + 8 * 8 + 8


def test_survey_anchor_bert_base_128() -> None:
    p = tfm.profile("bert-base", 128)
    assert p.gflops == pytest.approx(22.4, abs=0.1)
    assert p.mops_gb == pytest.approx(0.14, abs=0.005)
    assert p.arithmetic_intensity == pytest.approx(160, rel=0.03)
    assert set(p.by_group()) == set(tfm.SURVEY_GROUPS)
    assert sum(g["flops_share"] for g in p.by_group().values()) == pytest.approx(1)


def test_survey_shape_of_the_figure() -> None:
    s = tfm.profile_models(tfm.SURVEY_MODELS, tfm.SURVEY_SEQ_LENS)
    for x in s["gpt2"]["arithmetic_intensity"]:
        assert x == pytest.approx(2.0, rel=0.05)
    assert all(b > g for b, g in zip(s["bert-base"]["gflops"], s["gpt2"]["gflops"]))
    assert all(g > 10 * b for b, g in zip(s["bert-large"]["mops_gb"], s["gpt2"]["mops_gb"]))


def test_spec_from_transformers_config_and_name() -> None:
    from transformers import BertConfig, GPT2Config

    spec = tfm.get_spec(GPT2Config(n_embd=64, n_layer=2, n_head=4))
    assert (spec.kind, spec.d_model, spec.n_layers, spec.n_heads, spec.d_ff) == ("decoder", 64, 2, 4, 256)
    b = tfm.get_spec(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=48))
    assert (b.kind, b.d_ff, b.pooler, b.type_vocab_size) == ("encoder", 48, True, 2)
    assert tfm.profile(BertConfig(), 128).flops == tfm.profile("bert-base", 128).flops
    assert tfm.get_spec("bert-large").n_layers == 24


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: tfm.profile("bert-huge", 128), "model: unknown model 'bert-huge'"),
        (lambda: tfm.profile("gpt2", -1), "seq_len"),
        (lambda: tfm.profile("gpt2", 8, batch=0), "batch"),
        (lambda: tfm.profile("gpt2", 8, prompt_len=9), "prompt_len"),
        (lambda: tfm.profile("bert-base", 8, prompt_len=2), "prompt_len"),
        (lambda: tfm.profile("gpt2", 8, precision="int8"), "precision"),
        (lambda: tfm.Precision(0, 1, 1), "weight_bytes"),
        (lambda: tfm.sweep("gpt2", 128), "seq_lens"),
        (lambda: tfm.precision_for_dtype("float8"), "dtype"),
        (lambda: tfm.TransformerSpec("x", "encoder", 1, 10, 3, 4, 5, 6), "multiple of n_heads"),
    ],
)
def test_bad_input_names_the_parameter(call, match) -> None:
    # ValueError (ProfileError is one) for a bad value, TypeError for a wrong type, naming it
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_spec_from_unsupported_config() -> None:
    class Cfg:
        model_type = "mamba"

    with pytest.raises(tfm.ProfileError, match="config: model_type 'mamba' has no analytic formula"):
        tfm.get_spec(Cfg())
    with pytest.raises(tfm.ProfileError, match="'llama2-7b' is not a BERT-like encoder or GPT-2-like decoder"):
        tfm.get_spec("llama2-7b")


def test_module_import_does_not_import_torch() -> None:
    code = "import sys, memwall_lib.engines.counts.transformer; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
