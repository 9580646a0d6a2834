"""Notebook 03 end to end with quick parameters: Figure 3's files and sidecars, claims
computed from the data, and the committed analytic numbers reproduced. Measured timings are
checked only through their claims, never as numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_figure_files, assert_numbers_close, committed_sidecar, fig3_parameters, sidecar
from papermill.exceptions import PapermillExecutionError

from memwall_lib.core.paths import NOTEBOOKS_DIR
from memwall_lib.engines.counts import transformer as tfm
from memwall_lib.figures import fig3_profiling as profiling
from memwall_lib.figures.fig3_profiling import measured as fig3_measured
from memwall_lib.run.runner import run_notebook

pytestmark = pytest.mark.notebook
NB = "03_transformer_profiling"
FIG, ROOF = "fig3_transformer_profiling", "fig3_roofline"
#: Quick: the default analytic part (it takes seconds), two short measured lengths (128 for the
#: survey's reference point), sampled, with one whole-run check, one run each.
QUICK = dict(
    measured_lengths=[16, 128],
    validation_lengths=[16],
    validation_repeats=1,
    repeats=1,
    warmup=1,
    flop_check_generate_len=16,
)
SWEEP_KEYS = {"seq_len", "gflops", "mops_gb", "arithmetic_intensity"}


def _sidecar(folder: Path, name: str = FIG) -> dict:
    return sidecar(folder, name)


def test_writes_files_and_sidecar_contract(notebook_run) -> None:
    out = notebook_run(NB, **QUICK)
    for name in (FIG, ROOF):
        assert_figure_files(out, name)
    data = _sidecar(out)["data"]
    for conv in ("survey_8bit", "measured_precision"):
        assert list(data["analytic"][conv]) == ["bert-base", "bert-large", "gpt2"]
        for sweep in data["analytic"][conv].values():
            assert set(sweep) == SWEEP_KEYS
            assert sweep["seq_len"] == list(tfm.SURVEY_SEQ_LENS)
    assert all(data["flop_validation"]["equal"])
    for m in ("bert-base", "bert-large", "gpt2"):
        meas = data["measured"][m]
        assert meas["seq_len"] == [16, 128] and set(meas["method"]) == {"sampled"}
        assert {"median_s", "min_s", "max_s", "spread"} <= set(meas)
        assert set(data["roofline_predictions"][m]) >= {"measured_s", "predicted_s", "ratio", "bound_by"}
        check = data["sampled_vs_whole"][m]
        assert check["seq_len"] == [16] and check["ratio"][0] == check["sampled_s"][0] / check["whole_s"][0]
        assert check["sampled_s"][0] == meas["median_s"][0]
        comp = data["survey_comparison"][m]
        assert comp["seq_len"] == [128] and comp["ratio"][0] == comp["ours"][0] / comp["survey"][0]
    assert data["latency_method"] == "sampled"
    assert data["decode_steps"]["gpt2"]["context"][0] == 1
    assert data["measured"]["runtime"]["threads"] == 1
    roof = _sidecar(out, ROOF)["data"]
    assert roof["roofline"]["peak_flops"] > 0 and roof["roofline"]["bandwidth"] > 0
    assert set(roof["bound_by"]) == {"bert-base", "bert-large", "gpt2"}
    assert roof["runtime"]["device_name"] and "load_average_1min" in roof["runtime"]
    assert set(roof["class_rates"]["gpt2"]) == {"gemv", "kv_attention"}


def test_committed_analytic_numbers_reproduce(notebook_run) -> None:
    new, old = _sidecar(notebook_run(NB, **QUICK)), committed_sidecar(FIG)
    for key in ("analytic", "breakdown"):
        assert_numbers_close(new["data"][key], old["data"][key], rtol=1e-12, path=f"data.{key}")
    fv_new, fv_old = new["data"]["flop_validation"], old["data"]["flop_validation"]
    assert fv_new["model"] == fv_old["model"] and fv_new["seq_len"] == fv_old["seq_len"]
    assert all(fv_new["equal"]) and all(fv_old["equal"])
    for i, (s_new, s_old) in enumerate(zip(fv_new["scope"], fv_old["scope"])):
        if s_new == s_old:  # GPT-2's scope past 16 steps depends on the quick setting
            assert fv_new["analytic"][i] == fv_old["analytic"][i]
            assert fv_new["counted"][i] == fv_old["counted"][i]
    analytic_claims = [
        c
        for c in old["claims"]
        if c["id"]
        in (
            "fig3.encoders_more_flops",
            "fig3.decoder_mops",
            "fig3.decoder_low_intensity",
            "fig3.decoder_intensity_about_2",
        )
    ]
    new_claims = {c["id"]: c for c in new["claims"]}
    for c in analytic_claims:
        assert_numbers_close(new_claims[c["id"]], c, rtol=1e-12, path=f"claims.{c['id']}")


def test_claims_are_computed_from_the_data(notebook_run) -> None:
    sc = _sidecar(notebook_run(NB, **QUICK))
    data, claims = sc["data"], {c["id"]: c for c in sc["claims"]}
    a = data["analytic"]["survey_8bit"]
    bert, gpt = a["bert-base"], a["gpt2"]
    enc = [a["bert-base"], a["bert-large"]]
    assert claims["fig3.encoders_more_flops"]["reproduced"] == pytest.approx(
        min(x / y for e in enc for x, y in zip(e["gflops"], gpt["gflops"])), rel=1e-12
    )
    assert claims["fig3.decoder_mops"]["reproduced"] == pytest.approx(
        min(y / x for e in enc for x, y in zip(e["mops_gb"], gpt["mops_gb"])), rel=1e-12
    )
    assert claims["fig3.decoder_intensity_about_2"]["reproduced"] == pytest.approx(
        sum(gpt["arithmetic_intensity"]) / len(gpt["arithmetic_intensity"]), rel=1e-12
    )
    assert min(bert["arithmetic_intensity"]) / max(gpt["arithmetic_intensity"]) > 10
    t = {m: dict(zip(v["seq_len"], v["median_s"])) for m, v in data["measured"].items() if m != "runtime"}
    slowest = min(t["gpt2"][n] / max(t["bert-base"][n], t["bert-large"][n]) for n in (16, 128))
    assert claims["fig3.decoder_slowest"]["reproduced"] == pytest.approx(slowest, rel=1e-12)
    assert claims["fig3.decoder_slowest"]["holds"] == (slowest > 1)
    ratio = t["gpt2"][128] / t["bert-base"][128]
    scaling = data["thread_scaling"]  # the main run (1 thread) first, then torch's default
    assert scaling["threads"][0] == 1 and scaling["ratio"][0] == pytest.approx(ratio, rel=1e-12)
    assert scaling["encoder_s"][0] == t["bert-base"][128] and scaling["decoder_s"][0] == t["gpt2"][128]
    for e, d, r in zip(scaling["encoder_s"], scaling["decoder_s"], scaling["ratio"]):
        assert r == pytest.approx(d / e, rel=1e-12)
    assert scaling["threads"] == sorted(set(scaling["threads"]))
    assert claims["fig3.decoder_over_bert_base"]["reproduced"] == pytest.approx(ratio, rel=1e-12)
    assert claims["fig3.decoder_over_bert_base"]["holds"] == (15 <= ratio <= 135)
    if len(scaling["threads"]) > 1:  # a machine with one logical CPU times one thread count only
        assert f"{scaling['threads'][-1]} thread(s): " in claims["fig3.decoder_over_bert_base"]["note"]
    survey = ratio / (45 / 1)  # the survey's GPT-2 / BERT-Base at 128 tokens (data/survey_cpu_latency.csv)
    assert claims["fig3.latency_vs_survey"]["reproduced"] == pytest.approx(survey, rel=1e-12)
    assert claims["fig3.latency_vs_survey"]["holds"] == (1 / 3 <= survey <= 3)
    checks = [r for v in data["sampled_vs_whole"].values() for r in v["ratio"]]
    assert claims["fig3.sampled_matches_whole"]["reproduced"] == max(checks, key=lambda r: abs(r - 1))
    assert claims["fig3.sampled_matches_whole"]["holds"] == all(abs(r - 1) <= 0.15 for r in checks)
    preds = data["roofline_predictions"]
    for v in preds.values():
        for meas, pred, r in zip(v["measured_s"], v["predicted_s"], v["ratio"]):
            assert r == pytest.approx(pred / meas, rel=1e-12)
    roof_claim = _sidecar(notebook_run(NB, **QUICK), ROOF)["claims"][0]
    ratios = [r for v in preds.values() for r in v["ratio"]]
    assert roof_claim["reproduced"] == pytest.approx(max(ratios, key=lambda r: abs(r - 1)), rel=1e-12)
    standings = [st for v in preds.values() for st in v["standing"]]
    for v in preds.values():
        for r, spread, st, fast, med in zip(
            v["ratio"], v["ratio_spread"], v["standing"], v["measured_s"], v["median_s"]
        ):
            assert spread == pytest.approx(r - r * fast / med, rel=1e-9, abs=1e-12)
            assert st == fig3_measured.standing(r, spread)
    held = False if "outside" in standings else None if "marginal" in standings else True
    assert roof_claim["holds"] is held
    for c in sc["claims"]:
        assert c["rule"], c["id"]


def test_bad_parameter_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        PapermillExecutionError, match=r"parameter 'models\[0\]': 'bert-huge' is not a preset.*presets: "
    ):
        run_notebook(
            NOTEBOOKS_DIR / f"{NB}.ipynb",
            {"models": ["bert-huge"], "output_dir": str(tmp_path)},
            output=tmp_path / "bad.ipynb",
        )


def test_process_clock_needs_one_cpu_thread() -> None:
    from memwall_lib.core import params

    base = fig3_parameters(models=["gpt2"], analytic_lengths=[128], breakdown_lengths=[128], clock="process")
    assert params.check_parameters(base, profiling.PARAMETERS, profiling.RELATIONS)["clock"] == "process"
    with pytest.raises(params.ParameterError, match="scaling_threads"):
        params.check_parameters({**base, "scaling_threads": [0]}, profiling.PARAMETERS, profiling.RELATIONS)
    with pytest.raises(params.ParameterError, match="clock"):
        params.check_parameters({**base, "threads": 2}, profiling.PARAMETERS, profiling.RELATIONS)


def test_thread_note_says_grows_only_past_the_margin() -> None:
    from memwall_lib.figures.fig3_profiling.verdicts import GROWTH_MARGIN, thread_note

    base = {"seq_len": 128, "encoder": "bert-base", "decoder": "gpt2", "threads": [1, 2], "encoder_s": [1.0, 0.6]}
    assert thread_note({}) == "" and thread_note({**base, "threads": [1]}) == ""
    flat = thread_note({**base, "decoder_s": [10.0, 6.3], "ratio": [10.0, 10.0 * GROWTH_MARGIN * 0.99]})
    assert "does not grow" in flat and "may explain" not in flat
    grows = thread_note({**base, "decoder_s": [10.0, 10.0], "ratio": [10.0, 16.7]})
    assert "grows with threads" in grows and "may explain part of the gap at 128 tokens" in grows


# --------------------------------------------------------------------------- your own model
#: A GPT-NeoX decoder small enough to time in a second, its label from ``_name_or_path``.
TINY_NEOX = {
    "_name_or_path": "my-org/tiny-neox",
    "architectures": ["GPTNeoXForCausalLM"],
    "model_type": "gpt_neox",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "vocab_size": 128,
    "max_position_embeddings": 16,
    "rotary_pct": 0.25,
}
#: Quick: one survey preset, two short lengths, one run each, no checks or thread scaling.
YOURS = dict(
    analytic_lengths=[16, 32],
    breakdown_lengths=[16],
    measured_lengths=[8, 24],
    validation_lengths=[],
    repeats=1,
    warmup=0,
    scaling_threads=[],
    flop_check_generate_len=16,
)


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("configs") / "tiny.json"
    path.write_text(json.dumps(TINY_NEOX))
    return path


def test_your_config_is_counted_and_timed_beside_the_presets(notebook_run, tiny_config: Path) -> None:
    """A traced GPT-NeoX config and an analytic BERT config drawn beside BERT-Base: counted at
    the analytic lengths, timed by whole runs (past the config's 16 positions), normalized to
    the presets' reference; the roofline and the claims are the preset's alone."""
    models = ["bert-base", str(tiny_config), "examples/configs/bert-base-uncased.json"]
    out = notebook_run(NB, models=models, **YOURS)
    assert_figure_files(out, FIG)
    sc = _sidecar(out)
    data, user = sc["data"], sc["data"]["user_models"]
    assert list(user["survey_8bit"]) == ["tiny-neox", "bert-base-uncased"]
    assert user["method"] == {"tiny-neox": "traced", "bert-base-uncased": "analytic"}
    assert user["kind"] == {"tiny-neox": "decoder", "bert-base-uncased": "encoder"}
    assert str(tiny_config) in user["sources"]["tiny-neox"] and "traced" in user["sources"]["tiny-neox"]
    assert "bytes / 4" in user["convention"]
    # BERT-Base's shapes in a config: the preset's numbers (the survey leaves the embeddings out)
    assert user["survey_8bit"]["bert-base-uncased"] == data["analytic"]["survey_8bit"]["bert-base"]
    for conv in ("survey_8bit", "measured_precision"):
        sweep = user[conv]["tiny-neox"]
        assert set(sweep) == SWEEP_KEYS and sweep["seq_len"] == [16, 32]
        assert sweep["arithmetic_intensity"] == pytest.approx(
            [f / b for f, b in zip(sweep["gflops"], sweep["mops_gb"])]
        )
    fp32, int8 = user["measured_precision"]["tiny-neox"], user["survey_8bit"]["tiny-neox"]
    assert fp32["gflops"] == int8["gflops"] and fp32["mops_gb"] == pytest.approx([4 * x for x in int8["mops_gb"]])
    ref = data["normalized_latency"]["reference"]
    assert (ref["model"], ref["seq_len"]) == ("bert-base", 8)
    for m, calls in (("tiny-neox", [8, 24]), ("bert-base-uncased", [1, 1])):
        meas = user["measured"][m]
        assert meas["seq_len"] == [8, 24] and set(meas["method"]) == {"whole"} and meas["forward_calls"] == calls
        assert user["normalized"][m]["normalized"] == [t / ref["median_s"] for t in meas["median_s"]]
    assert list(data["analytic"]["survey_8bit"]) == ["bert-base"] and set(data["measured"]) == {"bert-base", "runtime"}
    assert set(_sidecar(out, ROOF)["data"]["bound_by"]) == {"bert-base"}
    assert "fig3 your models' latency" in sc["provenance"]["measurements"]
    assert sc["parameters"]["models"] == models


def _checked(**overrides: object) -> dict:
    from memwall_lib.core import params

    return params.check_parameters(fig3_parameters(**overrides), profiling.PARAMETERS, profiling.RELATIONS)


def test_a_bad_model_is_one_line_before_any_work(tmp_path: Path) -> None:
    """A missing config file stops the notebook at its parameter check: one line, no file."""
    with pytest.raises(
        PapermillExecutionError, match=r"parameter 'models\[1\]': config file .*missing.json.* does not exist"
    ):
        run_notebook(
            NOTEBOOKS_DIR / f"{NB}.ipynb",
            {"models": ["bert-base", "examples/configs/missing.json"], "output_dir": str(tmp_path)},
            output=tmp_path / "bad.ipynb",
        )
    assert not list(tmp_path.glob("*.json")) and not list(tmp_path.glob("*.png"))


def test_bad_models_are_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from memwall_lib.core import params
    from memwall_lib.figures.fig3_profiling import user_models

    t5 = tmp_path / "t5-small.json"
    t5.write_text(json.dumps({"model_type": "t5", "d_model": 64, "num_layers": 2, "num_heads": 2}))
    cases = [
        ({"models": ["examples/configs/pythia-160m.json"]}, r"parameter 'models': expected one of the survey's models"),
        (
            {"models": ["bert-base", str(t5)]},
            r"parameter 'models\[1\]': 't5-small': .*encoder-decoder models are not supported",
        ),
        ({"models": ["bert-base", "bert-base"]}, r"parameter 'models'"),
    ]
    for overrides, match in cases:
        with pytest.raises(params.ParameterError, match=match):
            _checked(**overrides)
    # a 7B config in float32 (29 GB) on a machine of 16 GiB: refused, naming it, before any build
    monkeypatch.setattr(user_models, "fits_in_memory", lambda nbytes: nbytes <= 0.5 * 16 * 2**30)
    monkeypatch.setattr(user_models, "machine_memory_bytes", lambda: 16 * 2**30)
    with pytest.raises(params.ParameterError, match=r"'models\[1\]': 'mistral-7b' holds 29.0 GB of weights in float32"):
        _checked(models=["bert-base", "examples/configs/mistral-7b.json"])
    assert _checked(models=["gpt2", "examples/configs/pythia-160m.json"])["models"][1].endswith("pythia-160m.json")
