"""Measurement code on tiny models: FLOP counting, timing mechanics, roofline arithmetic.
No test asserts a timing."""

from __future__ import annotations

import pytest

from memwall_lib.engines import roofline, timing, workloads
from memwall_lib.engines import transformer as tfm


@pytest.fixture(scope="module")
def tiny_configs():
    from transformers import BertConfig, GPT2Config

    return {
        "bert": BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                           vocab_size=100, max_position_embeddings=16, attn_implementation="eager"),
        "gpt2": GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=100, n_positions=16,
                           attn_implementation="eager"),
    }


@pytest.mark.parametrize("kind", ["bert", "gpt2"])
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_flop_counter_matches_analytic_on_tiny_models(tiny_configs, kind, device) -> None:
    # lengths beyond the config's 16 positions: the position table is enlarged
    rows = workloads.validate_flops(tiny_configs[kind], [1, 5, 24], device=device, max_generate=8)
    assert [r["equal"] for r in rows] == [True, True, True], rows
    if kind == "gpt2":
        assert [r["scope"] for r in rows] == ["total", "total", "last_step"]


def test_flop_counter_on_survey_models_meta() -> None:
    for m in ("bert-base", "gpt2"):
        rows = workloads.validate_flops(m, [128, 4096], max_generate=4)
        assert all(r["equal"] for r in rows), rows


def test_greedy_generate_makes_n_tokens(tiny_configs) -> None:
    from memwall_lib.engines import builders

    net = builders.build_from_config(tiny_configs["gpt2"])
    ids = workloads.start_ids(1, 100)
    steps = []
    out = workloads.greedy_generate(net, ids, 6, on_step=steps.append)
    assert tuple(out.shape) == (1, 6) and steps == [1, 2, 3, 4, 5, 6]
    again = workloads.greedy_generate(net, ids, 6)
    assert out.tolist() == again.tolist()  # deterministic


def test_measure_latency_rows(tiny_configs) -> None:
    rows = workloads.measure_latency(tiny_configs["gpt2"], [2, 4], repeats=2, warmup=0, threads=1)
    assert [r["seq_len"] for r in rows] == [2, 4]
    assert [r["forward_calls"] for r in rows] == [2, 4]
    for r in rows:
        assert len(r["runs_s"]) == 2 and r["min_s"] <= r["median_s"] <= r["max_s"]
        assert r["spread"] >= 0


def test_time_fn_counts_calls() -> None:
    calls = []
    t = timing.time_fn(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and len(t.runs_s) == 3 and t.to_dict()["warmup"] == 2


def test_using_threads_restores() -> None:
    import torch

    before = torch.get_num_threads()
    with timing.using_threads(1) as n:
        assert n == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before


def test_roofline_prediction_arithmetic() -> None:
    roof = roofline.Roofline(peak_flops=100.0, bandwidth=10.0, call_overhead_s={"m": 0.5})
    assert roof.ridge_point == 10.0
    assert roof.attainable(1.0) == 10.0 and roof.attainable(100.0) == 100.0
    ops = (tfm.OpCount("a", "ffn", flops=1000.0, bytes=10.0),  # compute-bound: 10 s
           tfm.OpCount("b", "other", flops=10.0, bytes=50.0))  # memory-bound: 5 s
    spec = tfm.get_spec("gpt2")
    prof = tfm.Profile(spec, 3, 0, 1, tfm.FP32, True, True, 3, ops)
    pred = roof.predict(prof, "m")
    assert pred == {"predicted_s": 16.5, "roofline_s": 15.0, "compute_bound_s": 10.0,
                    "memory_bound_s": 5.0, "overhead_s": 1.5}


def test_small_calibration_runs() -> None:
    rate = roofline.measure_gemm_rate(n=64, repeats=1)
    bw = roofline.measure_stream_bandwidth(array_bytes=2**20, repeats=1)
    assert rate > 0 and bw["triad"] > 0 and bw["array_bytes"] == 2**20
    assert roofline.measure_call_overhead("gpt2", repeats=1, warmup=0) > 0


def test_overhead_twin_keeps_structure() -> None:
    cfg = roofline.overhead_twin_config("bert-large")
    spec = tfm.spec_from_config(cfg)
    assert (spec.n_layers, spec.n_heads, spec.head_dim, spec.vocab_size) == (24, 16, 8, 256)


@pytest.mark.parametrize("call, match", [
    (lambda: workloads.measure_latency("gpt2", [4], device="tpu"), "device"),
    (lambda: workloads.measure_latency("gpt2", [4], dtype="float64"), "dtype"),
    (lambda: workloads.measure_latency("gpt2", [0]), "seq_lens"),
    (lambda: workloads.measure_latency("gpt2", []), "seq_lens"),
    (lambda: workloads.measure_latency("gpt3", [4]), "model: unknown model"),
    (lambda: timing.time_fn(lambda: None, repeats=0), "repeats"),
    (lambda: workloads.validate_flops("gpt2", [4], max_generate=0), "max_generate"),
])
def test_bad_input_names_the_parameter(call, match) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_cuda_requested_without_gpu() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(timing.MeasureError, match="device: 'cuda'"):
        timing.check_device("cuda")
