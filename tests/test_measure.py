"""Measurement code on tiny models: FLOP counting, timing mechanics, roofline arithmetic.
No test asserts a timing."""

from __future__ import annotations

import statistics
import subprocess
import sys

import pytest

from memwall_lib.engines.counts import transformer as tfm
from memwall_lib.engines.timing import clock as timing
from memwall_lib.engines.timing import single_roof, workloads


@pytest.fixture(scope="module")
def tiny_configs():
    from transformers import BertConfig, GPT2Config

    return {
        "bert": BertConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            vocab_size=100,
            max_position_embeddings=16,
            attn_implementation="eager",
        ),
        "gpt2": GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=100, n_positions=16, attn_implementation="eager"),
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
    from memwall_lib.engines.models import builders

    net = builders.build_from_config(tiny_configs["gpt2"])
    ids = workloads.start_ids(1, 100)
    steps = []
    out = workloads.greedy_generate(net, ids, 6, on_step=steps.append)
    assert tuple(out.shape) == (1, 6) and steps == [1, 2, 3, 4, 5, 6]
    again = workloads.greedy_generate(net, ids, 6)
    assert out.tolist() == again.tolist()  # deterministic


def test_whole_latency_rows(tiny_configs) -> None:
    rows = latency.measure(tiny_configs["gpt2"], [2, 4], method="whole", repeats=2, warmup=0, threads=1)["rows"]
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


_HEAP_PROBE = """
import sys
import torch
from memwall_lib.engines.timing import clock as timing
def heap_bytes():
    for line in open("/proc/self/maps"):
        if line.rstrip().endswith("[heap]"):
            a, b = (int(x, 16) for x in line.split()[0].split("-"))
            return b - a
    return 0
if sys.argv[1] == "history":
    torch.ones(4 * 2**20).sum()  # a freed 16 MiB mapping: unpinned glibc raises its thresholds to 16 MiB
desc = timing.pin_allocator() if sys.argv[2] == "pinned" else "unpinned"
h = heap_bytes()
blocks = [torch.ones(2**18) for _ in range(16)]  # 16 x 1 MiB
print(heap_bytes() - h, "|", desc)
"""


def _heap_growth(history: str, mode: str) -> tuple[int, str]:
    out = subprocess.run(
        [sys.executable, "-c", _HEAP_PROBE, history, mode], capture_output=True, text=True, check=True
    ).stdout
    grown, desc = out.split("|")
    return int(grown), desc.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps (Linux)")
def test_pinned_allocator_maps_large_blocks_whatever_ran_before() -> None:
    """Unpinned, glibc's threshold follows what the process freed: after a 16 MiB free, 1 MiB
    tensors land on the heap (memory the process may have touched before). Pinned, they are
    mapped fresh with or without that history. Subprocesses: this test process stays unpinned."""
    grown, desc = _heap_growth("history", "pinned")
    if "glibc" not in desc or "not pinned" in desc:
        pytest.skip(f"allocator not pinned here: {desc}")
    assert _heap_growth("history", "unpinned")[0] >= 8 * 2**20
    assert grown < 2**20 and _heap_growth("fresh", "pinned")[0] < 2**20
    assert f"mmap threshold pinned at {128 * 1024} bytes, trim threshold at {128 * 1024} bytes" in desc


def test_roofline_prediction_arithmetic() -> None:
    roof = single_roof.Roofline(peak_flops=100.0, bandwidth=10.0, call_overhead_s={"m": 0.5})
    assert roof.ridge_point == 10.0
    assert roof.attainable(1.0) == 10.0 and roof.attainable(100.0) == 100.0
    ops = (
        tfm.OpCount("a", "ffn", flops=1000.0, act_bytes=10.0),  # compute-bound: 10 s
        tfm.OpCount("b", "other", flops=10.0, act_bytes=50.0),
    )  # memory-bound: 5 s
    spec = tfm.get_spec("gpt2")
    prof = tfm.Profile(spec, 3, 0, 1, tfm.FP32, True, True, 3, ops)
    pred = roof.predict(prof, "m")
    assert pred == {
        "predicted_s": 16.5,
        "roofline_s": 15.0,
        "compute_bound_s": 10.0,
        "memory_bound_s": 5.0,
        "overhead_s": 1.5,
    }


def test_small_calibration_runs() -> None:
    rate = single_roof.measure_gemm_rate(n=64, repeats=1)
    bw = single_roof.measure_stream_bandwidth(array_bytes=2**20, repeats=1)
    assert rate > 0 and bw["triad"] > 0 and bw["array_bytes"] == 2**20
    assert single_roof.measure_call_overhead("gpt2", repeats=1, warmup=0) > 0


def test_overhead_twin_keeps_structure() -> None:
    cfg = single_roof.overhead_twin_config("bert-large")
    spec = tfm.get_spec(cfg)
    assert (spec.n_layers, spec.n_heads, spec.head_dim, spec.vocab_size) == (24, 16, 8, 256)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: latency.measure("gpt2", [4], device="tpu"), "device"),
        (lambda: latency.measure("gpt2", [4], dtype="float64"), "dtype"),
        (lambda: latency.measure("gpt2", [0]), "seq_lens"),
        (lambda: latency.measure("gpt2", []), "seq_lens"),
        (lambda: latency.measure("gpt3", [4]), "model: unknown model"),
        (lambda: timing.time_fn(lambda: None, repeats=0), "repeats"),
        (lambda: workloads.validate_flops("gpt2", [4], max_generate=0), "max_generate"),
    ],
)
def test_bad_input_names_the_parameter(call, match) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_cuda_requested_without_gpu() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(timing.MeasureError, match="device: 'cuda'"):
        timing.check_device("cuda")


# --------------------------------------------------------------------------- latency at every length
from memwall_lib.engines.timing import class_roofline, latency  # noqa: E402


def test_integrate_steps_is_exact_for_affine_steps() -> None:
    ctx = latency.decode_contexts([8, 32])
    assert ctx == [1, 4, 8, 20, 32]
    step = [0.5 + 0.01 * t for t in ctx]  # affine in the context: interpolation is exact
    for n in (1, 8, 20, 32):
        assert latency.integrate_steps(ctx, step, n) == pytest.approx(sum(0.5 + 0.01 * t for t in range(1, n + 1)))
    with pytest.raises(ValueError, match="contexts"):
        latency.integrate_steps([2, 32], [1.0, 1.0], 8)  # does not cover t = 1
    with pytest.raises(ValueError, match="contexts"):
        latency.integrate_steps(ctx, step, 64)  # beyond the last sample


def test_sampled_decode_step_does_the_work_of_step_t(tiny_configs) -> None:
    """A step over a random cache of t - 1 tokens counts exactly the FLOPs of step t of a
    whole generation (analytic total(t) - total(t - 1), itself checked against whole runs)."""
    from memwall_lib.engines.models import builders

    cfg = workloads.config_for(tiny_configs["gpt2"], 64)
    spec = tfm.get_spec(cfg)
    net = builders.build_from_config(cfg)
    for t in (2, 9, 40):  # 40 > the config's 16 positions: enlarged
        cache = latency.random_cache(spec, t - 1)
        assert cache.get_seq_length() == t - 1
        counted = workloads.count_flops(
            lambda cache=cache: workloads.greedy_generate(net, workloads.start_ids(1, spec.vocab_size), 1, cache=cache)
        )["total"]
        analytic = [workloads.workload_profile(spec, n, tfm.SURVEY_8BIT).matmul_flops for n in (t - 1, t)]
        assert counted == analytic[1] - analytic[0]


def test_one_layer_twin_plus_layers_is_the_encoder(tiny_configs) -> None:
    """FLOPs: the one-layer twin plus (layers - 1) layers equal the whole encoder's."""
    from memwall_lib.engines.models import builders

    cfg = workloads.config_for(tiny_configs["bert"], 32)
    spec = tfm.get_spec(cfg)
    twin = latency._build(cfg, "cpu", "float32", 0, n_layers=1)
    whole = builders.build_from_config(cfg)
    n = 24
    layer = sum(op.matmul_flops for op in tfm.layer_ops(spec, n, n, tfm.SURVEY_8BIT))
    one = workloads.count_flops(workloads.workload(twin, spec, n))["total"]
    assert one + (spec.n_layers - 1) * layer == workloads.count_flops(workloads.workload(whole, spec, n))["total"]


@pytest.mark.parametrize("kind", ["bert", "gpt2"])
def test_measure_sampled_rows_and_validation(tiny_configs, kind) -> None:
    out = latency.measure(
        tiny_configs[kind], [4, 12], repeats=2, warmup=0, threads=1, validate_lengths=[4, 12], validate_repeats=1
    )
    rows = out["rows"]
    assert [r["seq_len"] for r in rows] == [4, 12] and all(r["method"] == "sampled" for r in rows)
    for r in rows:
        assert r["min_s"] <= r["median_s"] <= r["max_s"] and len(r["runs_s"]) == 2
    if kind == "bert":
        for r in rows:  # rest + layers x layer
            assert r["layers"] == 2 and r["layer_s"] > 0
            assert r["median_s"] == pytest.approx(statistics.median(r["runs_s"]))
        assert out["decode_steps"] == {}
    else:
        steps = out["decode_steps"]
        assert steps["context"] == latency.decode_contexts([4, 12])
        assert rows[1]["median_s"] == pytest.approx(latency.integrate_steps(steps["context"], steps["median_s"], 12))
    v = out["validation"]
    assert [x["seq_len"] for x in v] == [4, 12]
    for x, r in zip(v, rows):
        assert x["sampled_s"] == r["median_s"] and x["ratio"] == pytest.approx(x["sampled_s"] / x["whole_s"])


def test_encoders_warm_up_at_every_sampled_length_and_once_for_whole_runs(tiny_configs, monkeypatch) -> None:
    """A sampled encoder's warmup runs come before every length (the first pass at a new long
    length is slow on a VM); whole runs warm up once, before the first length. (With the
    warm-up's floor in seconds off: :func:`test_warm_up_lasts_its_floor` checks it.)"""
    from memwall_lib.engines.timing import clock
    from memwall_lib.engines.timing import latency as lat

    monkeypatch.setattr(clock, "MIN_WARMUP_S", 0.0)

    forwards: list[int] = []
    real_workload = lat.workload

    def counting(net, spec, n, device, seed=0):
        fn = real_workload(net, spec, n, device, seed=seed)

        def run():
            forwards.append(n)
            return fn()

        return run

    monkeypatch.setattr(lat, "workload", counting)
    lat.measure(tiny_configs["bert"], [4, 8, 12], repeats=2, warmup=2, threads=1)
    assert forwards == [4, 4, 4, 4] + [8, 8, 8, 8] + [12, 12, 12, 12]
    forwards.clear()
    net = lat._build(tiny_configs["bert"], "cpu", "float32", 0)
    lat.whole_times(net, tfm.get_spec(tiny_configs["bert"]), [4, 8], repeats=1, warmup=1)
    assert forwards == [4, 4, 8]


def test_warm_up_lasts_its_floor(monkeypatch) -> None:
    """A warm-up runs its passes, then more until it has lasted MIN_WARMUP_S; none when asked
    for none; a bad count is refused by name."""
    import time

    from memwall_lib.engines.timing import clock

    calls: list[int] = []

    def slow() -> None:
        calls.append(1)
        time.sleep(0.02)

    monkeypatch.setattr(clock, "MIN_WARMUP_S", 0.1)
    clock.warm_up(slow, 1)
    assert len(calls) >= 5  # each call sleeps at least 0.02 s
    calls.clear()
    clock.warm_up(slow, 0)
    assert calls == []
    monkeypatch.setattr(clock, "MIN_WARMUP_S", 0.0)
    clock.warm_up(slow, 3)
    assert len(calls) == 3
    with pytest.raises(ValueError, match="warmup"):
        clock.warm_up(slow, -1)


def test_whole_decoder_is_read_at_every_length(tiny_configs) -> None:
    out = latency.measure(tiny_configs["gpt2"], [3, 6], method="whole", repeats=2, warmup=0)
    a, b = out["rows"]
    assert a["method"] == "whole" and [a["forward_calls"], b["forward_calls"]] == [3, 6]
    assert all(x < y for x, y in zip(a["runs_s"], b["runs_s"]))  # the same runs, read at 3 then 6 tokens


def test_bad_method_is_named(tiny_configs) -> None:
    with pytest.raises(ValueError, match="method"):
        latency.measure(tiny_configs["gpt2"], [4], method="guess")


def test_cuda_latency_uses_events(tiny_configs) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine: CUDA-event timing is checked where one is present")
    out = latency.measure(tiny_configs["gpt2"], [4, 8], device="cuda", repeats=2, warmup=1, validate_lengths=[4, 8])
    assert all(r["median_s"] > 0 for r in out["rows"]) and len(out["validation"]) == 2
    clock = timing.Clock("cuda")
    a = clock.mark()
    torch.ones(1024, device="cuda").sum()
    assert clock.seconds(a, clock.mark()) >= 0


# --------------------------------------------------------------------------- roofline per op class
def test_op_classes() -> None:
    assert class_roofline.op_class("ffn1", 128) == "gemm" and class_roofline.op_class("ffn1", 1) == "gemv"
    assert class_roofline.op_class("pooler", 128) == "gemv" and class_roofline.op_class("lm_head", 1) == "gemv"
    assert (
        class_roofline.op_class("softmax", 64) == "attention"
        and class_roofline.op_class("qk_matmul", 1) == "kv_attention"
    )
    assert class_roofline.op_class("layernorm", 64) == "elementwise"


def test_class_roofline_prediction_arithmetic() -> None:
    spec = tfm.get_spec("gpt2")
    prec = tfm.FP32
    prof = workloads.workload_profile(spec, 8, prec)
    roof = class_roofline.ClassRoofline(1e12, 1e10, "cpu", {"gpt2": 0.01})
    spb = 2e-10  # every gemv op at 5 GB/s, the rest at the STREAM fallback (1e10 B/s)
    roof.points["gpt2"] = {f"gemv:{o}": [(1, spb)] for o in class_roofline.LINEAR_OPS}
    p = roof.predict("gpt2", spec, 8, prec)
    gemv = sum(op.bytes for op in prof.ops if op.name in class_roofline.LINEAR_OPS)
    rest = sum(op.bytes for op in prof.ops if op.name not in class_roofline.LINEAR_OPS)
    assert p["by_class_s"]["gemv"] == pytest.approx(gemv * spb)
    assert p["predicted_s"] == pytest.approx(gemv * spb + rest / 1e10 + 0.01 * 8)
    assert p["bound_by"] == "gemv"
    gpu = class_roofline.ClassRoofline(1e12, 1e10, "cuda", {"gpt2": 1.0}, roof.points)
    assert gpu.predict("gpt2", spec, 8, prec)["predicted_s"] == pytest.approx(8.0)  # host-bound steps


def test_calibration_never_runs_the_models(monkeypatch) -> None:
    """The microbenchmarks build no model of the real sizes (only structural twins)."""
    from memwall_lib.engines.models import builders

    built = []
    real = builders.build_from_config
    monkeypatch.setattr(builders, "build_from_config", lambda cfg, *a, **k: built.append(cfg) or real(cfg, *a, **k))
    roof = class_roofline.calibrate(["bert-base", "gpt2"], [8, 16], repeats=1, gemm_rows=(8,), threads=1)
    assert built and all(c.hidden_size < 768 for c in built)
    rates = class_roofline.class_rates(roof)
    assert set(rates["bert-base"]) == {"gemm", "attention", "elementwise"}
    assert set(rates["gpt2"]) == {"gemv", "kv_attention"}
    assert all(r > 0 for per in rates.values() for c in per.values() for r in c["rate"])
    p = roof.predict("bert-base", tfm.get_spec("bert-base"), 16, tfm.FP32)
    assert p["predicted_s"] == pytest.approx(p["ops_s"] + p["overhead_s"])


def test_attention_microbenchmark_runs_the_models_heads(monkeypatch) -> None:
    """Issue 20: the attention microbenchmark's tensors have the model's size (every head at
    every length, whatever the cache), and its seconds per FLOP are over one layer's FLOPs of
    all heads."""
    from memwall_lib.engines.timing import microbench

    heads_seen: list[tuple[int, int]] = []

    def attn(module, q, k, v, mask, scaling, **kw):
        heads_seen.append((q.shape[1], q.shape[2]))
        return q.transpose(1, 2), None

    monkeypatch.setattr(microbench, "eager_attention", lambda model_type: attn)
    monkeypatch.setattr(microbench, "time_per_call", lambda fn, *a: (fn(), 1.0)[1])
    spec = tfm.get_spec("bert-large")
    pts = microbench.attention_points(spec, [8, 32], tfm.FP32, "cpu", None, 1, "bert", {})
    assert heads_seen == [(16, 8), (16, 32)]
    for i, n in enumerate((8, 32)):
        ops = microbench.reference_ops(spec, n, tfm.FP32)
        per_layer = sum(ops[o].flops for o in microbench.ATTENTION_OPS) / spec.n_layers
        for o in microbench.ATTENTION_OPS:
            assert pts[f"attention:{o}"][i] == (n, pytest.approx(1.0 / per_layer, rel=1e-12))


def test_gemm_microbenchmark_streams_every_layers_weights(monkeypatch) -> None:
    """Issue 20: the GEMM microbenchmark runs the model's weight stream (a weight of its own
    for each linear layer of each layer, in the model's order), and its seconds per FLOP are
    over every layer's FLOPs of that op."""
    import dataclasses
    import itertools

    import torch

    from memwall_lib.engines.timing import microbench

    seen: list[tuple[int, tuple[int, ...]]] = []
    monkeypatch.setattr(torch.nn.functional, "linear", lambda x, w, b=None: seen.append((w.data_ptr(), tuple(w.shape))))
    ticks = itertools.count()

    class OneSecondPerMark:  # every op lasts 1 s
        def __init__(self, device: str) -> None: ...

        def mark(self) -> int:
            return next(ticks)

        def seconds(self, a: int, b: int) -> float:
            return float(b - a)

    monkeypatch.setattr(microbench, "Clock", OneSecondPerMark)
    spec = tfm.get_spec("bert-base")
    small = dataclasses.replace(spec, n_layers=3, d_model=16, d_ff=64, n_heads=2)
    pts = microbench.gemm_points(small, [4, 8], tfm.FP32, "cpu", torch.float32, 2)
    per_pass = 6 * small.n_layers
    assert len(seen) == 2 * 3 * per_pass  # 2 row counts x (warm-up + 2 passes)
    assert len({ptr for ptr, _ in seen[:per_pass]}) == per_pass  # a weight of its own per op and layer
    assert [shape for _, shape in seen[:6]] == [(16, 16)] * 4 + [(64, 16), (16, 64)]
    for i, r in enumerate((4, 8)):
        for op, (din, dout) in {"q_proj": (16, 16), "ffn1": (16, 64), "ffn2": (64, 16)}.items():
            flops = small.n_layers * (2 * r * din * dout + r * dout)
            assert pts[f"gemm:{op}"][i] == (r, pytest.approx(small.n_layers / flops, rel=1e-12))


def test_cuda_class_roofline() -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine: the GPU calibration is checked where one is present")
    roof = class_roofline.calibrate(["bert-base", "gpt2"], [16, 64], device="cuda", repeats=1, gemm_rows=(16,))
    for m in ("bert-base", "gpt2"):
        p = roof.predict(m, tfm.get_spec(m), 64, tfm.FP32)
        assert p["predicted_s"] >= p["overhead_s"] > 0  # on a GPU: the larger of host and device time


def test_process_clock_reads_cpu_time_and_restores() -> None:
    import time

    with timing.using_clock("process"):
        clock = timing.Clock("cpu")
        a = clock.mark()
        time.sleep(0.05)  # sleeping uses no CPU: the process clock barely moves
        assert clock.seconds(a, clock.mark()) < 0.04
        assert timing.runtime_info()["clock"] == "process"
    assert timing.runtime_info()["clock"] == "wall"
    with pytest.raises(ValueError, match="clock"):
        with timing.using_clock("sundial"):
            pass


# --------------------------------------------------------------------------- any other model
def _tiny_neox() -> object:
    from transformers import GPTNeoXConfig

    return GPTNeoXConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        vocab_size=100,
        max_position_embeddings=8,
    )


def test_a_config_decoder_is_timed_by_whole_generations() -> None:
    """Lengths past the config's 8 positions: the table is enlarged; one generation per repeat,
    read at every length."""
    rows = latency.measure_config(_tiny_neox(), [3, 12], name="tiny", repeats=2, warmup=1, threads=1)
    a, b = rows
    assert [a["seq_len"], b["seq_len"]] == [3, 12] and [a["forward_calls"], b["forward_calls"]] == [3, 12]
    assert {a["method"], b["method"]} == {"whole"} and "load_average_1min" in a
    assert all(x < y for x, y in zip(a["runs_s"], b["runs_s"]))
    assert a["min_s"] <= a["median_s"] <= a["max_s"] and len(a["runs_s"]) == 2


def test_a_config_encoder_is_timed_by_forward_passes() -> None:
    from transformers import RobertaConfig

    config = RobertaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        vocab_size=100,
        max_position_embeddings=10,
    )
    rows = latency.measure_config(config, [4, 16], name="tiny-roberta", repeats=1, warmup=0, threads=1)
    assert [r["forward_calls"] for r in rows] == [1, 1] and [r["seq_len"] for r in rows] == [4, 16]


def test_weight_bytes_are_the_parameters_and_buffers_built_at_random() -> None:
    config = _tiny_neox()
    net = latency.build_random(config, "decoder", dtype="bfloat16", seed=1)
    held = sum(t.numel() * t.element_size() for t in (*net.parameters(), *net.buffers()))
    assert latency.weight_bytes(config, "bfloat16") == held
    assert latency.weight_bytes(config, "float32") > held
    again = latency.build_random(config, "decoder", dtype="bfloat16", seed=1)
    assert all((p == q).all() for p, q in zip(net.parameters(), again.parameters()))  # seeded


def test_a_config_run_checks_its_arguments() -> None:
    for call, match in (
        (lambda: latency.measure_config(_tiny_neox(), [], name="x"), "seq_lens"),
        (lambda: latency.measure_config(_tiny_neox(), [4], name="x", dtype="float64"), "dtype"),
        (lambda: latency.measure_config(_tiny_neox(), [4], name="x", repeats=0), "repeats"),
    ):
        with pytest.raises(ValueError, match=match):
            call()
