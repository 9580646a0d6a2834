"""The text's memory claims (ZeRO, quantized inference, optimizer state) counted from their
definitions, and Figure 4's comparison points: the authors' bars and GPU line, the GPUs behind
each step, and the GPU line under each policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from memwall_lib.core.paths import DATA_DIR
from memwall_lib.engines.memory import text_claims as mc
from memwall_lib.figures.fig4_memory import authors_bars, text_claims
from memwall_lib.tables import GIB, gpu_memory_by_year, load_hardware


# --------------------------------------------------------------------------- ZeRO
def test_zero_reproduces_fig1_of_the_zero_paper() -> None:
    # Rajbhandari et al. 2020, Fig. 1: 7.5B parameters, 64 devices, K = 12:
    # baseline 120 GB, P_os 31.4 GB, P_os+g 16.6 GB, P_os+g+p 1.9 GB per device
    got = [mc.zero_model_state_bytes(7.5e9, 64, s) / 1e9 for s in (0, 1, 2, 3)]
    assert got == pytest.approx([120.0, 31.4, 16.6, 1.9], abs=0.06)


def test_zero_reduction_and_limits() -> None:
    assert mc.zero_reduction(1, 3) == 1.0 and mc.zero_reduction(8, 3) == 8.0
    assert mc.zero_limit(1) == 4.0 and mc.zero_limit(2) == 8.0
    assert mc.zero_reduction(10**9, 2) == pytest.approx(8.0, rel=1e-6)
    assert all(mc.zero_reduction(n, 2) < 8 for n in (2, 64, 4096))  # 8x only in the limit
    with pytest.raises(ValueError, match="stage"):
        mc.zero_model_state_bytes(1e9, 8, 4)
    with pytest.raises(ValueError, match="devices"):
        mc.zero_model_state_bytes(1e9, 0, 1)


# --------------------------------------------------------------------------- inference footprint
def test_inference_footprint_by_hand() -> None:
    # 1000 weights + KV cache 2 x 2 layers x 10 tokens x 8 hidden = 320 values -> 1320 values
    assert mc.inference_footprint_bytes(1000, 2, 8, 10, fmt="fp32") == 1320 * 4
    assert mc.inference_footprint_bytes(1000, 2, 8, 10, fmt="fp16") == 1320 * 2
    # int4: half a byte plus one 2-byte scale per 128 values
    assert mc.inference_footprint_bytes(1000, 2, 8, 10, fmt="int4") == pytest.approx(1320 * (0.5 + 2 / 128))
    assert mc.inference_footprint_bytes(1000, 2, 8, 0, fmt="int8", group=64) == pytest.approx(1000 * (1 + 2 / 64))
    with pytest.raises(ValueError, match="fmt"):
        mc.inference_footprint_bytes(1000, 2, 8, 10, fmt="int2")


def test_kv_cache_with_every_head_its_own_is_the_gpt_count() -> None:
    # GPT-2 XL as the text's claim sizes it (48 layers, 1600 hidden, 25 heads of 64, 1024 tokens):
    # giving n_kv_heads = heads and head_dim = hidden / heads changes nothing, bit for bit
    for fmt in ("fp32", "fp16", "int8", "int4"):
        gpt = mc.inference_footprint_bytes(1_557_611_200, 48, 1600, 1024, 1, fmt)
        assert mc.inference_footprint_bytes(1_557_611_200, 48, 1600, 1024, 1, fmt, n_kv_heads=25, head_dim=64) == gpt
        assert mc.inference_footprint_bytes(1_557_611_200, 48, 1600, 1024, 1, fmt, windows=[None] * 48) == gpt


def test_kv_cache_under_grouped_query_attention_and_sliding_windows() -> None:
    # Llama 3 70B: 80 layers, 64 heads of 128 (hidden 8192), 8 KV heads: 8x fewer than 2 x L x T x hidden
    mha = mc.kv_cache_values(80, 4096, 8192)
    gqa = mc.kv_cache_values(80, 4096, 8 * 128)
    assert gqa == 2 * 80 * 4096 * 8 * 128 and mha / gqa == 64 / 8
    kv_gqa = mc.inference_footprint_bytes(0, 80, 8192, 4096, 2, "fp16", n_kv_heads=8, head_dim=128)
    assert kv_gqa == 2 * gqa * 2  # batch 2, 2 bytes per value
    # a sliding layer of window W keeps the last W - 1 tokens (transformers' DynamicSlidingWindowLayer)
    assert mc.kv_cache_values(2, 10, 4, windows=[4, None]) == 2 * (3 + 10) * 4
    assert mc.kv_cache_values(2, 2, 4, windows=[4, None]) == 2 * (2 + 2) * 4  # shorter than the window
    with pytest.raises(ValueError, match="one entry per layer"):
        mc.kv_cache_values(2, 10, 4, windows=[4])
    with pytest.raises(ValueError, match="positive int"):
        mc.kv_cache_values(1, 10, 4, windows=[0])
    with pytest.raises(ValueError, match="both or neither"):
        mc.inference_footprint_bytes(1000, 2, 8, 10, n_kv_heads=2)


# --------------------------------------------------------------------------- optimizer state
def test_optimizer_state_from_definitions() -> None:
    shapes = [(2, 3), (3,)]  # 9 parameters
    assert mc.optimizer_state_elements(shapes, "sgd") == 0
    assert mc.optimizer_state_elements(shapes, "sgd_momentum") == 9
    assert mc.optimizer_state_elements(shapes, "adam") == 18
    assert mc.optimizer_state_elements(shapes, "adahessian") == 36  # 2 state + v and Hv
    # Shampoo: momentum + (statistic + inverse root) per dimension: (2,3): 6 + 2 (4 + 9); (3,): 3 + 2 * 9
    assert mc.optimizer_state_elements(shapes, "shampoo") == 32 + 21
    # a dimension above max_dim falls back to a diagonal: (2,3): 6 + 2 (4 + 3); (3,): 3 + 2 * 3
    assert mc.optimizer_state_elements(shapes, "shampoo", max_dim=2) == 20 + 9
    assert mc.memory_over_sgd(shapes, "adam") == 2.0 and mc.memory_over_sgd(shapes, "adahessian") == 3.0
    with pytest.raises(ValueError, match="method"):
        mc.optimizer_state_elements(shapes, "lbfgs")


def test_text_claims_verdicts() -> None:
    claims = {
        c.id: c
        for c in text_claims.text_claims(
            text_claims.zero_table(), text_claims.int4_table(), text_claims.optimizer_table(("resnet152",))
        )
    }
    zero = claims["text.zero_8x"]
    assert zero.reproduced == pytest.approx(mc.zero_reduction(64, 2)) and zero.holds
    int4 = claims["text.int4_8x"]
    assert int4.reproduced == pytest.approx(4 / (0.5 + 2 / 128)) and int4.holds
    assert claims["text.second_order_3to4x.adahessian"].holds


# --------------------------------------------------------------------------- the authors' Figure 4
def test_read_authors_fig4() -> None:
    bars, steps = authors_bars.read_authors_fig4(DATA_DIR)
    assert list(bars.index) == list(authors_bars.PAPER_MODELS)
    assert bars.loc["alexnet", "total"] == pytest.approx(1.17)  # drawn as 1.17 (the README's 1.71 is a typo)
    assert bars.loc["gpt2_xl", "optimizer"] == 11.72
    assert [steps[k] for k in bars.index] == [3, 6, 12, 12, 12, 16, 32, 32]


def test_read_authors_fig4_names_the_bad_cell(tmp_path: Path) -> None:
    text = (DATA_DIR / "authors_plotted.csv").read_text().replace('"VGG19, 2014"', '"VGG16, 2014"', 1)
    (tmp_path / "authors_plotted.csv").write_text(text)
    line = text.splitlines().index(next(t for t in text.splitlines() if '"VGG16, 2014"' in t)) + 1
    with pytest.raises(
        ValueError, match=rf"authors_plotted.csv: line {line}: column 'label': unknown Figure 4 model 'VGG16'"
    ):
        authors_bars.read_authors_fig4(tmp_path)


def test_gpu_lines_on_our_data() -> None:
    devices = load_hardware().devices
    _, steps = authors_bars.read_authors_fig4(DATA_DIR)
    keys = list(authors_bars.PAPER_MODELS)
    authors = authors_bars.gpu_line("authors", keys, devices, steps)
    assert list(authors["device"]) == [
        "GeForce GTX 580 3GB",
        "GeForce GTX TITAN Black",
        "Tesla K40",
        "Tesla K40",
        "Tesla K40",
        "Tesla P100 SXM2 16GB",
        "Tesla V100 SXM2 32GB",
        "Tesla V100 SXM2 32GB",
    ]
    assert list(authors["memory_gb"]) == pytest.approx([v * GIB / 1e9 for v in (3, 6, 12, 12, 12, 16, 32, 32)])
    largest = authors_bars.gpu_line("largest", keys, devices, steps).set_index("model")
    centre = authors_bars.gpu_line("datacenter", keys, devices, steps).set_index("model")
    # workstation boards raise the "largest" line; the data-centre line leaves them out
    assert largest.loc["bert_large", "device"] == "Quadro RTX 8000"
    assert centre.loc["bert_large", "device"] == "Tesla V100 SXM2 32GB"
    assert all(not any(w.lower() in str(d).lower() for w in authors_bars.NON_DATACENTRE) for d in centre["device"])
    assert (largest["memory_gb"] >= centre["memory_gb"]).all()
    with pytest.raises(ValueError, match="policy"):
        authors_bars.gpu_line("median", keys, devices, steps)


def test_a_users_model_is_compared_with_the_largest_gpu_of_its_year() -> None:
    devices = load_hardware().devices
    _, steps = authors_bars.read_authors_fig4(DATA_DIR)
    paper_only = authors_bars.gpu_line("authors", ["alexnet", "gpt2_xl"], devices, steps).set_index("model")
    by_year = gpu_memory_by_year(devices, [2023]).set_index("year")
    for policy in authors_bars.GPU_LINES:
        line = authors_bars.gpu_line(policy, ["alexnet", "mine", "gpt2_xl"], devices, steps, years={"mine": 2023})
        assert list(line["model"]) == ["alexnet", "mine", "gpt2_xl"]
        mine = line.set_index("model").loc["mine"]
        assert mine["year"] == 2023 and mine["device"] == by_year.loc[2023, "device"] == "Instinct MI300X"
        if policy == "authors":  # the paper's models keep the authors' steps
            assert line.set_index("model").loc[["alexnet", "gpt2_xl"]].equals(paper_only)


def test_step_gpus_with_no_gpu_of_that_capacity_names_it() -> None:
    devices = load_hardware().devices
    for frame in (devices, devices.iloc[0:0]):  # no match, and no device at all
        with pytest.raises(
            ValueError, match=r"devices: no GPU with 12345 GiB dated by 2020 for the authors' step of alexnet"
        ):
            authors_bars.step_gpus(frame, 12345.0, 2020, "alexnet")


def test_read_authors_fig4_reads_the_given_folder(tmp_path: Path) -> None:
    text = (DATA_DIR / "authors_plotted.csv").read_text()
    edited = text.replace(
        'fig4,bar_segment,parameters,"AlexNet, 2012",,0.23,', 'fig4,bar_segment,parameters,"AlexNet, 2012",,0.5,'
    )
    assert edited != text
    (tmp_path / "authors_plotted.csv").write_text(edited)
    bars, _ = authors_bars.read_authors_fig4(tmp_path)
    assert bars.loc["alexnet", "parameters"] == 0.5
    (tmp_path / "authors_plotted.csv").unlink()
    with pytest.raises(ValueError, match=r"authors_plotted.csv"):
        authors_bars.read_authors_fig4(tmp_path)
