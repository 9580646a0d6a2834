"""Figure 5 (memory wall by accelerator): ridge points and roofline bounds worked by hand, a
decode intensity worked by hand, the tables behind the panels, the claims, and the figure API."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("transformers")

from memwall_lib.core.params import ParameterError, check_parameters  # noqa: E402
from memwall_lib.core.paths import DATA_DIR  # noqa: E402
from memwall_lib.core.trends import fit_growth  # noqa: E402
from memwall_lib.engines.counts import llm  # noqa: E402
from memwall_lib.engines.counts.ridge import ridge_point, roofline_time  # noqa: E402
from memwall_lib.figures import fig5_ridge as figure  # noqa: E402
from memwall_lib.figures.fig5_ridge.series import REMOVED_BY, accelerators, select_accelerators, short_name  # noqa: E402
from memwall_lib.tables import HardwareData, load_hardware  # noqa: E402

DEFAULTS = dict(
    models=["gpt2", "llama2-7b", "llama3-70b", "mixtral-8x7b", "deepseek-v3"],
    batch_sizes=[1, 8, 64, 256],
    context_len=4096,
    prefill_tokens=2048,
    precision="bf16",
    flops_policy="ai_peak",
    fp8_ridge=True,
    year_min=2012,
    year_max=2025,
    accelerator_families=["nvidia", "amd", "google", "intel"],
    date_rule="availability",
    latency_model="llama3-70b",
    latency_batch=1,
    critical_model="llama3-70b",
    critical_context_len=512,
    max_batch=65536,
    accelerators_file="",
    extra_accelerators=[],
    fit_user_accelerators=False,
    data_dir="data",
    output_dir="build/test_fig5",
)


def _params(**changes: object) -> dict:
    return check_parameters({**DEFAULTS, **changes}, figure.PARAMETERS, figure.RELATIONS)


@pytest.fixture(scope="module")
def result() -> figure.Result:
    return figure.analyse(_params(models=["llama2-7b", "llama3-70b", "deepseek-v3"]))


# --------------------------------------------------------------------------- by hand
def test_ridge_point_by_hand() -> None:
    # H100 SXM5: 989.5 TFLOPS dense bf16 over 3,350 GB/s = 295.37 FLOPs per byte
    assert ridge_point(989.5e12, 3350e9) == pytest.approx(295.373134, rel=1e-6)
    acc = accelerators(load_hardware(DATA_DIR), "ai_peak", "availability", ["nvidia"], 2012, 2025).set_index("name")
    h100 = acc.loc["H100 SXM5 80GB"]
    assert h100["ridge"] == pytest.approx(989.5 / 3.35, rel=1e-12)
    assert h100["ridge_fp8"] == pytest.approx(1979 / 3.35, rel=1e-12)
    # Tesla K40: fp32 vector 5.04 TFLOPS (its AI peak in 2013) over 288 GB/s = 17.5
    assert acc.loc["Tesla K40", "ridge"] == pytest.approx(5040 / 288, rel=1e-12) == 17.5
    assert math.isnan(acc.loc["Tesla K40", "ridge_fp8"])


def test_decode_intensity_by_hand_at_batch_two() -> None:
    """tests/test_llm.py works one decode step of a one-layer model by hand at batch 1
    (554 FLOPs, 804 bytes: weights 368, KV 40, activations 396; bf16, cache of 3 tokens).
    At batch 2 every FLOP, KV byte and activation byte doubles; the weights are read once,
    except the embedding, which reads one more row of 4 bf16 values (8 bytes):
    FLOPs 1108; bytes 376 + 80 + 792 = 1248; intensity 1108 / 1248."""
    hand = llm.LLMSpec("hand", n_layers=1, d_model=4, n_heads=2, n_kv_heads=1, head_dim=2, d_ff=8, vocab_size=6)
    step = llm.decode_step(hand, 2, 3)
    assert (step.flops, step.weight_bytes, step.kv_bytes, step.bytes) == (1108, 376, 80, 1248)
    assert llm.decode_intensity(hand, 2, 3) == pytest.approx(1108 / 1248, rel=1e-15)
    # on a made-up chip of 1000 FLOP/s and 100 bytes/s (ridge 10): 12.48 s, memory-bound
    t = roofline_time(step.flops, step.bytes, 1000.0, 100.0)
    assert (t.compute_s, t.memory_s, t.time_s, t.bound) == (
        pytest.approx(1.108),
        pytest.approx(12.48),
        pytest.approx(12.48),
        "memory",
    )
    assert roofline_time(1e6, 1.0, 1000.0, 100.0).bound == "compute"


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: ridge_point(0, 1e9), ValueError, "peak_flops_per_s"),
        (lambda: ridge_point(1e12, -1), ValueError, "bandwidth_bytes_per_s"),
        (lambda: ridge_point("1e12", 1e9), TypeError, "peak_flops_per_s"),
        (lambda: roofline_time(1.0, float("nan"), 1.0, 1.0), ValueError, "bytes_moved"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_short_names() -> None:
    assert short_name("Tesla V100 SXM2 16GB") == "V100 SXM2 16GB"
    assert short_name("TPU v6e (Trillium)") == "TPU v6e"
    assert short_name("B200 in GB200 NVL72 (per GPU, 1200 W)") == "B200 (GB200)"
    assert short_name("Radeon Instinct MI25") == "MI25"


# --------------------------------------------------------------------------- tables
def test_accelerators_follow_families_years_and_policy() -> None:
    hw = load_hardware(DATA_DIR)
    acc = accelerators(hw, "ai_peak", "availability", ["google"], 2012, 2025)
    assert set(acc["family"]) == {"google"} and acc["name"].str.startswith("TPU").all()
    assert acc["year"].between(2012, 2026).all() and acc["year"].is_monotonic_increasing
    # TPU v7: bf16 2307 and fp8 4614 TFLOPS over 7,370 GB/s; TPU v2 has no fp8
    tpu = acc.set_index("name")
    assert tpu.loc["TPU v7 (Ironwood)", "ridge"] == pytest.approx(2307 / 7.37)
    assert tpu.loc["TPU v7 (Ironwood)", "ridge_fp8"] == pytest.approx(4614 / 7.37)
    assert tpu.loc["TPU v2", "ridge"] == pytest.approx(45000 / 600) and math.isnan(tpu.loc["TPU v2", "ridge_fp8"])
    fp32 = accelerators(hw, "fp32_vector", "availability", ["nvidia"], 2012, 2025).set_index("name")
    assert fp32.loc["H100 SXM5 80GB", "ridge"] == pytest.approx(67 / 3.35)
    with pytest.raises(ValueError, match="families"):
        accelerators(hw, "ai_peak", "availability", ["cerebras"], 2012, 2025)


def test_result_tables(result: figure.Result) -> None:
    it = result.intensity_table()
    assert list(it.columns) == [1, 8, 64, 256]
    dec = it.xs("decode", level="phase")
    assert (dec.diff(axis=1).iloc[:, 1:] > 0).all().all()  # decode intensity rises with batch
    assert dec.loc["llama3-70b", 1] == pytest.approx(llm.decode_intensity("llama3-70b", 1, 4096))
    assert (it.xs("prefill", level="phase")[1] > dec[256]).all()
    lat = result.latency
    assert set(lat["bound"][lat["phase"] == "decode"]) == {"memory"}
    assert set(lat["bound"][lat["phase"] == "prefill"]) == {"compute"}
    assert (lat["time_s"] == lat[["compute_s", "memory_s"]].max(axis=1)).all()
    # llama3-70b in bf16 (141 GB of weights) fits one H200 (141 GiB) but not one H100 (80 GiB)
    fits = lat[lat["phase"] == "decode"].set_index("name")["fits_in_memory"]
    assert fits["H200 SXM 141GB"] and not fits["H100 SXM5 80GB"]


def test_critical_batch_reaches_the_ridge(result: figure.Result) -> None:
    crit = result.critical.set_index("name")
    ridge, b = crit.loc["A100 SXM4 80GB", "ridge"], int(crit.loc["A100 SXM4 80GB", "critical_batch_kv_cache_512"])
    assert llm.decode_intensity("llama3-70b", b, 512) >= ridge > llm.decode_intensity("llama3-70b", b - 1, 512)
    # a 4096-token cache caps llama3-70b's decode intensity near 112: never an H100's 295
    assert np.isnan(crit.loc["H100 SXM5 80GB", "critical_batch_kv_cache_4096"])
    assert list(crit.columns) == ["year", "ridge", "critical_batch_kv_cache_512", "critical_batch_kv_cache_4096"]


# --------------------------------------------------------------------------- claims and API
def test_claims(result: figure.Result) -> None:
    cl = {c.id: c for c in figure.claims(result)[figure.OUTPUTS[0]]}
    assert set(cl) == {"fig5.ridge.per_2yr", "fig5.decode_b1_memory_bound", "fig5.critical_batch.per_2yr"}
    acc = result.accelerators[result.accelerators["ridge"].notna()]
    fit = fit_growth(acc["year"].to_numpy(), acc["ridge"].to_numpy())
    ridge = cl["fig5.ridge.per_2yr"]
    assert ridge.paper == pytest.approx(3.0 / 1.6) and ridge.reproduced == pytest.approx(fit.per_2yr)
    assert ridge.holds == (ridge.ci95[0] <= ridge.paper <= ridge.ci95[1])
    # log-linear fits on the same dates: ridge growth = FLOPS growth / bandwidth growth, exactly
    f = result.fits
    assert f["ridge"].per_2yr == pytest.approx(f["peak_flops"].per_2yr / f["bandwidth"].per_2yr, rel=1e-12)
    assert cl["fig5.decode_b1_memory_bound"].reproduced == f"{len(acc)} of {len(acc)}"
    assert cl["fig5.decode_b1_memory_bound"].holds
    crit = cl["fig5.critical_batch.per_2yr"]
    assert crit.holds == (crit.ci95[0] > 1)


def test_the_memory_bound_claim_can_fail() -> None:
    # a batch-1 intensity of 100 FLOPs/byte is above every ridge point of 2012-2013 (6 to 18)
    r = figure.analyse(_params(models=["llama3-70b"], batch_sizes=[1, 256], year_min=2012, year_max=2013))
    r.intensities.loc[r.intensities["batch"] == 1, "intensity"] = 100.0
    claim = figure.claims(r)[figure.OUTPUTS[0]][1]
    assert not claim.holds and claim.reproduced == f"0 of {len(r.decode_b1_margin())}"


def test_sidecar_and_plot(result: figure.Result) -> None:
    import matplotlib.pyplot as plt

    sc = figure.sidecar(result)[figure.OUTPUTS[0]]
    assert {"accelerators", "fits", "intensities", "latency", "critical_batch", "conventions", "model_sources"} <= set(
        sc
    )
    assert len(sc["accelerators"]["name"]) == len(result.accelerators)
    assert "uniform top-k" in sc["conventions"]["bytes"]
    figs = figure.plot(result)
    assert set(figs) == set(figure.OUTPUTS)
    assert len(figs[figure.OUTPUTS[0]].axes) == 3
    plt.close("all")


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"batch_sizes": [8, 64]}, "must include 1"),
        ({"year_min": 2025, "year_max": 2020}, "year_min < year_max"),
        ({"models": ["llama4"]}, r"'models\[0\]'"),
        ({"accelerator_families": ["cerebras"]}, r"'accelerator_families\[0\]'"),
        ({"precision": "fp8"}, "'precision'"),
    ],
)
def test_bad_parameters_name_themselves(changes: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        _params(**changes)


# --------------------------------------------------------------------------- rows the filters remove
def _with_user_chip(vendor: str) -> HardwareData:
    """The repository's hardware tables plus a user's chip: an H100 SXM5 sold by ``vendor``."""
    hw = load_hardware(DATA_DIR)
    chip = hw.devices[hw.devices["name"] == "H100 SXM5 80GB"].assign(name="WSE-3", vendor=vendor)
    peaks = hw.peak_flops[hw.peak_flops["device"] == "H100 SXM5 80GB"].assign(device="WSE-3")
    return dataclasses.replace(
        hw, devices=pd.concat([hw.devices, chip], ignore_index=True), peak_flops=pd.concat([hw.peak_flops, peaks])
    )


def test_every_filter_says_which_rows_it_removed() -> None:
    acc, removed = select_accelerators(_with_user_chip("Cerebras"), "ai_peak", "availability", ["nvidia"], 2012, 2025)
    assert set(removed) == set(REMOVED_BY)
    assert "WSE-3" in removed["family"] and "TPU v7 (Ironwood)" in removed["family"]
    assert "WSE-3" not in set(acc["name"])
    assert "Tesla C2050" in removed["years"] and "Xeon Phi 7250 (Knights Landing)" in removed["no_bandwidth"]
    assert "MIPS R10000 195 MHz" in removed["cpu"]
    kept = {n for names in removed.values() for n in names} | set(acc["name"])
    assert kept == set(_with_user_chip("Cerebras").devices["name"])  # every row is kept or named once


def test_a_user_chip_of_another_vendor_is_named_in_a_warning_and_the_sidecar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(figure, "load_hardware", lambda data_dir: _with_user_chip("Cerebras"))
    with pytest.warns(UserWarning, match=r"leaves out 1 device\(s\) whose vendor and type are not in .*: WSE-3"):
        res = figure.analyse(_params(models=["llama2-7b"]))
    removed = figure.sidecar(res)[figure.OUTPUTS[0]]["accelerators_removed"]
    assert removed["family"] == {"filter": REMOVED_BY["family"], "devices": ["WSE-3"]}
    monkeypatch.setattr(figure, "load_hardware", lambda data_dir: _with_user_chip("NVIDIA"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "WSE-3" in set(figure.analyse(_params(models=["llama2-7b"])).accelerators["name"])


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"year_min": 1990, "year_max": 2005}, r"parameters 'year_min' \(1990\), 'year_max' \(2005\).*has 0 point"),
        ({"context_len": 1 << 20}, r"parameter 'context_len': 1048577 tokens exceed the positions of every model"),
        ({"prefill_tokens": 1 << 20}, r"parameter 'prefill_tokens': 1048576 tokens exceed the positions"),
    ],
)
def test_a_selection_or_length_nothing_can_run_is_one_line(changes: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        figure.analyse(_params(**changes))


def test_an_unfittable_critical_batch_is_undetermined() -> None:
    res = figure.analyse(_params(max_batch=1, models=["llama2-7b"]))
    claim = {c.id: c for c in figure.claims(res)[figure.OUTPUTS[0]]}["fig5.critical_batch.per_2yr"]
    assert claim.holds is None
