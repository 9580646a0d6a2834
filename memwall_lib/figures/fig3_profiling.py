"""Figure 3: BERT-Base, BERT-Large and GPT-2 profiled: analytic FLOPs, MOPs and arithmetic
intensity, measured latency at every length beside the survey's, and a roofline calibrated
per operation class on this machine.

The numbers come from :mod:`memwall_lib.engines.transformer` (analytic FLOPs and bytes),
:mod:`memwall_lib.engines.workloads` (FLOP counting), :mod:`memwall_lib.engines.latency`,
:mod:`memwall_lib.engines.roofline` and :mod:`memwall_lib.engines.op_roofline`; this module
and :mod:`.fig3_measured` arrange them. Units: GFLOPs = 1e9 FLOPs, GB = 1e9 bytes, seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import paper
from ..core.claims import Claim
from ..core.params import Param
from ..engines import latency, op_roofline, timing, workloads
from ..engines import transformer as tfm
from ..engines.builders import BERT_SIZES, GPT2_SIZES
from ..engines.roofline import Roofline, calibrate_roofline
from ..tables import load_survey_latency
from . import fig3_measured as measured_part
from .fig3_measured import LABELS, PREDICTION_TOLERANCE, normalized_latency

MODEL_CHOICES: tuple[str, ...] = tuple(BERT_SIZES) + tuple(GPT2_SIZES)
#: The survey's latency of GPT-2 relative to BERT-Base at 128 tokens, on its Xeon Gold 6242.
PAPER_GPT2_OVER_BERT_BASE_128: float = paper.claim("fig3_decoder_over_bert_base").value
#: The survey's arithmetic intensity of GPT-2 at 8-bit (about 2 FLOPs/byte).
PAPER_GPT2_AI: float = paper.GPT2_INTENSITY


def _unique(v: list[Any]) -> bool:
    return len(set(v)) == len(v)


PARAMETERS: dict[str, Param] = {
    "models": Param(list, "models to profile (the survey's: bert-base, bert-large, gpt2)", item_type=str,
                    choices=MODEL_CHOICES, min_items=1, check=_unique, check_message="models must not repeat"),
    "analytic_lengths": Param(list, "sequence lengths of the analytic panels (survey: 128 ... 4096)",
                              item_type=int, minimum=1, maximum=65536, min_items=1, check=_unique,
                              check_message="lengths must not repeat"),
    "breakdown_lengths": Param(list, "lengths of the per-operation breakdown table", item_type=int,
                               minimum=1, maximum=65536, min_items=1),
    "measured_lengths": Param(list, "sequence lengths whose latency is measured (up to 4096)",
                              item_type=int, minimum=1, maximum=4096, min_items=1, check=_unique,
                              check_message="lengths must not repeat"),
    "latency_method": Param(str, "'sampled': one encoder layer x layers + the rest, GPT-2's decode step at "
                                 "sampled contexts summed over the generation; 'whole': whole runs "
                                 "(GPT-2 at 4096 tokens: minutes)", choices=latency.METHODS),
    "validation_lengths": Param(list, "lengths also run whole, to check the sampled method (empty: none)",
                                item_type=int, minimum=1, maximum=4096, check=_unique,
                                check_message="lengths must not repeat"),
    "validation_repeats": Param(int, "whole runs per validation length (median)", minimum=1, maximum=20),
    "repeats": Param(int, "timed runs per latency (median reported, min-max as spread)", minimum=1, maximum=100),
    "warmup": Param(int, "untimed runs before timing", minimum=0, maximum=10),
    "threads": Param(int, "CPU threads for every measurement (0 = torch's default)", minimum=0, maximum=512),
    "device": Param(str, "where latency and the roofline are measured", choices=timing.DEVICES,
                    check=timing.device_available,
                    check_message="that device is not available on this machine (no CUDA GPU); use 'cpu'"),
    "dtype": Param(str, "precision of the measured runs", choices=timing.DTYPES),
    "clock": Param(str, "CPU timings read 'wall' time (latency), or the 'process' CPU time, which leaves out "
                        "the time other processes hold the core (one thread on a shared machine)",
                   choices=timing.CLOCKS),
    "flop_check_generate_len": Param(int, "GPT-2 generations up to this length are FLOP-counted whole; "
                                          "longer ones on their last step", minimum=1, maximum=4096),
    "output_dir": Param(str, "folder the figures and sidecars are written to", path="out_dir"),
}


#: Checks across parameters.
RELATIONS: tuple = (
    (lambda p: p["clock"] == "wall" or (p["device"] == "cpu" and p["threads"] == 1),
     "parameters 'clock', 'device' and 'threads': clock 'process' needs device 'cpu' and threads 1"),
)


# --------------------------------------------------------------------------- analytic
def analytic_data(models: Sequence[str], seq_lens: Sequence[int], dtype: str = "float32") -> dict[str, Any]:
    """``{"survey_8bit": {model: sweep}, "measured_precision": {model: sweep}, "precision": ...}``
    where a sweep is ``{"seq_len", "gflops", "mops_gb", "arithmetic_intensity"}`` (survey
    convention: no embeddings, pooler or LM head; GPT-2 generating all tokens one by one)."""
    measured = tfm.precision_for_dtype(dtype)
    return {
        "survey_8bit": tfm.profile_models(models, seq_lens, precision=tfm.SURVEY_8BIT),
        "measured_precision": tfm.profile_models(models, seq_lens, precision=measured),
        "precision": {"survey_8bit": vars(tfm.SURVEY_8BIT).copy(), "measured_precision": vars(measured).copy()},
    }


def breakdown_table(models: Sequence[str], seq_lens: Sequence[int],
                    precision: tfm.Precision = tfm.SURVEY_8BIT) -> pd.DataFrame:
    """Share of FLOPs and of bytes (MOPs) per op group, per model and length (in %)."""
    rows = []
    for m in models:
        for n in seq_lens:
            p = tfm.profile(m, n, precision=precision)
            for g, v in p.by_group().items():
                rows.append({"model": m, "seq_len": n, "group": g, "flops_pct": 100 * v["flops_share"],
                             "mops_pct": 100 * v["bytes_share"], "gflops": v["flops"] / 1e9,
                             "mops_gb": v["bytes"] / 1e9,
                             "arithmetic_intensity": v["flops"] / v["bytes"]})
    return pd.DataFrame(rows)


def flop_validation(models: Sequence[str], seq_lens: Sequence[int], max_generate: int) -> pd.DataFrame:
    """FlopCounterMode against the analytic matmul FLOPs for every model and length."""
    rows = [r for m in models for r in workloads.validate_flops(m, seq_lens, max_generate=max_generate)]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- claims
def profiling_claims(analytic: Mapping[str, Any], measured: Mapping[str, Any]) -> list[Claim]:
    """The paper's Figure 3 claims, each reproduced value computed from the data."""
    a = analytic["survey_8bit"]
    claims: list[Claim] = []
    encoders = [m for m in a if tfm.get_spec(m).kind == "encoder"]
    decoders = [m for m in a if tfm.get_spec(m).kind == "decoder"]
    if encoders and decoders:
        d = decoders[0]
        fl = min(min(x / y for x, y in zip(a[enc]["gflops"], a[d]["gflops"])) for enc in encoders)
        c = paper.claim("fig3_encoders_more_flops")
        claims.append(Claim(
            c.id, c.format(decoder=LABELS.get(d, d)), c.value, fl, None, fl > 1,
            rule="holds if every encoder's FLOPs exceed the decoder's at every analytic length",
            note="survey convention: 8-bit, no embeddings or LM head"))
        mo = min(min(y / x for x, y in zip(a[enc]["mops_gb"], a[d]["mops_gb"])) for enc in encoders)
        c = paper.claim("fig3_decoder_mops")
        claims.append(Claim(
            c.id, c.format(decoder=LABELS.get(d, d)), c.value, mo, None, mo >= 10,
            rule="holds if the decoder's MOPs are at least 10x every encoder's at every length"))
        ai = [x / y for enc in encoders for x, y in zip(a[enc]["arithmetic_intensity"],
                                                          a[d]["arithmetic_intensity"])]
        c = paper.claim("fig3_decoder_low_intensity")
        claims.append(Claim(
            c.id, c.format(decoder=LABELS.get(d, d)), c.value, min(ai), None, min(ai) >= 10,
            rule="holds if every encoder's arithmetic intensity is at least 10x the decoder's at every length"))
        dai = a[d]["arithmetic_intensity"]
        mean_ai = float(np.mean(dai))
        ok = all(abs(x / PAPER_GPT2_AI - 1) <= PREDICTION_TOLERANCE for x in dai)
        c = paper.claim("fig3_decoder_intensity_about_2")
        claims.append(Claim(
            c.id, c.format(decoder=LABELS.get(d, d)), c.value, mean_ai, None, ok,
            rule="holds if it is within 25% of 2 at every analytic length",
            note=f"range over lengths {min(dai):.3g}-{max(dai):.3g}"))
    times = {m: dict(zip(v["seq_len"], v["median_s"])) for m, v in measured.items() if m != "runtime"}
    enc_t = [m for m in times if tfm.get_spec(m).kind == "encoder"]
    dec_t = [m for m in times if tfm.get_spec(m).kind == "decoder"]
    if enc_t and dec_t:
        d = dec_t[0]
        common = sorted(set(times[d]).intersection(*[set(times[e]) for e in enc_t]))
        ratios = [times[d][n] / max(times[e][n] for e in enc_t) for n in common]
        c = paper.claim("fig3_decoder_slowest")
        claims.append(Claim(
            c.id, c.format(decoder=LABELS.get(d, d)), c.value, min(ratios), None, min(ratios) > 1,
            rule="holds if the decoder's median latency exceeds every encoder's at every measured length",
            note=f"measured lengths {common}"))
        if "bert-base" in times:
            n0 = 128 if 128 in common else common[0]
            r = times[d][n0] / times["bert-base"][n0]
            lo, hi = PAPER_GPT2_OVER_BERT_BASE_128 / 3, PAPER_GPT2_OVER_BERT_BASE_128 * 3
            c = paper.claim("fig3_decoder_over_bert_base")
            claims.append(Claim(
                c.id, c.format(decoder=LABELS.get(d, d), seq_len=n0), c.value, r, None, lo <= r <= hi,
                rule="holds if within a factor of 3 of the survey's 45x (a different CPU and precision)",
                note=("survey: Intel Xeon Gold 6242; here: "
                      f"{measured.get('runtime', {}).get('device_name', '?')}, "
                      f"{measured.get('runtime', {}).get('dtype', '?')}, "
                      f"{measured.get('runtime', {}).get('threads', '?')} thread(s)"
                      + ("" if n0 == 128 else "; 128 tokens were not measured"))))
    return claims


# --------------------------------------------------------------------------- figures
def _label(m: str) -> str:
    return LABELS.get(m, m)


def plot_profiling(analytic: Mapping[str, Any], normalized: Mapping[str, Any],
                   published: Mapping[str, Any] | None = None) -> Any:
    """The paper's four panels: (a) GFLOPs, (b) MOPs, (c) arithmetic intensity (8-bit solid,
    measured precision dashed), (d) measured latency normalized to the reference point, with
    the survey's published values (hollow, dotted) where comparable."""
    import matplotlib.pyplot as plt

    from ..core import plotting

    plotting.apply_style()
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.3))
    survey, meas = analytic["survey_8bit"], analytic["measured_precision"]
    mp = analytic["precision"]["measured_precision"]["name"]
    for i, (m, s) in enumerate(survey.items()):
        c, mk = plotting.PALETTE[i], plotting.MARKERS[i]
        axes[0].plot(s["seq_len"], s["gflops"], marker=mk, color=c, label=_label(m))
        axes[1].plot(s["seq_len"], s["mops_gb"], marker=mk, color=c, label=_label(m))
        axes[2].plot(s["seq_len"], s["arithmetic_intensity"], marker=mk, color=c, label=f"{_label(m)}, 8-bit")
        axes[2].plot(meas[m]["seq_len"], meas[m]["arithmetic_intensity"], marker=mk, color=c,
                     linestyle="--", markerfacecolor="none", label=f"{_label(m)}, {mp}")
    ref = normalized["reference"]
    for i, m in enumerate(survey):
        if m in normalized:
            v = normalized[m]
            axes[3].plot(v["seq_len"], v["normalized"], marker=plotting.MARKERS[i], color=plotting.PALETTE[i],
                         label=_label(m))
        if published and published.get("comparable") and m in published:
            axes[3].plot(published[m]["seq_len"], published[m]["survey"], marker=plotting.MARKERS[i], linestyle=":",
                         color=plotting.PALETTE[i], markerfacecolor="none", label=f"{_label(m)}, survey")
    titles = ["(a) FLOPs", "(b) Memory operations (MOPs)", "(c) Arithmetic intensity", "(d) Latency (measured)"]
    ylabels = ["GFLOPs (1e9 FLOPs)", "MOPs (GB = 1e9 bytes)", "FLOPs / byte",
               f"latency / {_label(ref['model'])} at {ref['seq_len']}"]
    for ax, t, yl in zip(axes, titles, ylabels):
        ax.set_xscale("log", base=2)
        plotting.log_axis(ax, "y")
        ax.set_title(t)
        ax.set_xlabel("sequence length (tokens)")
        ax.set_ylabel(yl)
        ax.legend(loc="best")
    axes[2].legend(loc="best", fontsize=7.5, ncol=1)
    axes[3].legend(loc="best", fontsize=7.5, ncol=1)
    names = [_label(m) for m in analytic["survey_8bit"]]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    fig.suptitle(f"{listed} profiled at batch size 1 "
                 "(a-c: analytic, survey convention; d: measured on this machine, hollow: the survey's "
                 "Xeon Gold 6242, arXiv:2302.14017 Fig. 9)", y=1.02)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = True
#: The data files this figure reads (the models are built from their configurations).
DATA_FILES: tuple[str, ...] = ("survey_cpu_latency.csv",)
#: The figures written: the four panels, and the roofline with predicted against measured latency.
OUTPUTS: tuple[str, ...] = ("fig3_transformer_profiling", "fig3_roofline")


@dataclass
class Result:
    """Figure 3 analysed: analytic sweeps, the per-op breakdown, the FLOP check, measured
    latencies (with whole-run checks and the survey's beside them), the machine roofline,
    the class roofline and its predictions."""

    parameters: dict[str, Any]
    analytic: dict[str, Any]
    breakdown: pd.DataFrame
    flop_check: pd.DataFrame
    measured: dict[str, Any]
    validation: dict[str, Any]
    decode_steps: dict[str, Any]
    roofline: Roofline
    class_roofline: op_roofline.ClassRoofline
    predicted: dict[str, Any]
    normalized: dict[str, Any]
    survey: dict[str, Any]

    def analytic_table(self) -> pd.DataFrame:
        """GFLOPs, MOPs (GB) and arithmetic intensity per model and length, in both precisions."""
        return pd.concat({(conv, m): pd.DataFrame(v) for conv in ("survey_8bit", "measured_precision")
                          for m, v in self.analytic[conv].items()}, names=["convention", "model"])

    def agreement_table(self) -> pd.DataFrame:
        """The sampled estimate against whole runs (seconds; ratio = sampled / whole)."""
        return measured_part.agreement_frame(self.validation)

    def survey_table(self) -> pd.DataFrame:
        """Our normalized latency beside the survey's (ratio = ours / survey's)."""
        return measured_part.survey_frame(self.survey)

    def class_rates_table(self) -> pd.DataFrame:
        """What each operation class attains at each model's shapes (FLOP/s or bytes/s, by the
        calibrated size: tokens, or 1 for decoding), beside the machine's GEMM peak and STREAM."""
        rows = [{"model": m, "class": c, "size": n, "rate_G": r / 1e9, "unit": v["unit"],
                 "of_roof": r / (self.roofline.peak_flops if v["unit"] == "FLOP/s" else self.roofline.bandwidth)}
                for m, per in op_roofline.class_rates(self.class_roofline).items() for c, v in per.items()
                for n, r in zip(v["size"], v["rate"])]
        return pd.DataFrame(rows).set_index(["model", "class", "size"])

    def predictions_table(self) -> pd.DataFrame:
        """Measured against predicted latency (seconds) per model and length: the class
        roofline, its seconds per class, the class that bounds it, and one roof's prediction."""
        cols = ["seq_len", "measured_s", "predicted_s", "ratio", "bound_by", "overhead_s",
                *(f"{c}_s" for c in op_roofline.CLASSES), "single_roof_ratio"]
        return pd.concat({m: pd.DataFrame(v)[cols] for m, v in self.predicted.items()}, names=["model"])


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 3 from checked parameters (:data:`PARAMETERS`). Raises AssertionError if the
    analytic FLOPs differ from FlopCounterMode's anywhere."""
    p = dict(params)
    analytic = analytic_data(p["models"], p["analytic_lengths"], p["dtype"])
    breakdown = breakdown_table(p["models"], p["breakdown_lengths"])
    flop_check = flop_validation(p["models"], p["analytic_lengths"], p["flop_check_generate_len"])
    if not flop_check["equal"].all():
        raise AssertionError(f"analytic and counted FLOPs differ:\n{flop_check[~flop_check['equal']]}")
    with timing.using_clock(p["clock"]):
        measured, validation, steps = measured_part.measure_models(
            p["models"], p["measured_lengths"], method=p["latency_method"], device=p["device"], dtype=p["dtype"],
            repeats=p["repeats"], warmup=p["warmup"], threads=p["threads"],
            validation_lengths=p["validation_lengths"], validation_repeats=p["validation_repeats"])
        machine = calibrate_roofline(p["models"], device=p["device"], dtype=p["dtype"], threads=p["threads"],
                                     gemm_n=1024, repeats=3)
        roof = op_roofline.calibrate(p["models"], p["measured_lengths"], device=p["device"], dtype=p["dtype"],
                                     threads=p["threads"], machine=machine)
    predicted = measured_part.predictions(roof, machine, measured, p["dtype"])
    normalized = normalized_latency(measured)
    survey = measured_part.survey_comparison(normalized, load_survey_latency())
    return Result(p, analytic, breakdown, flop_check, measured, validation, steps, machine, roof, predicted,
                  normalized, survey)


def claims(result: Result) -> dict[str, list[Claim]]:
    """The paper's Figure 3 claims (the survey's latencies beside ours among them), and the
    roofline check of this reproduction."""
    return {OUTPUTS[0]: profiling_claims(result.analytic, result.measured)
            + measured_part.sampled_claims(result.validation, result.measured)
            + measured_part.survey_claims(result.survey, result.measured),
            OUTPUTS[1]: measured_part.roofline_claims(result.predicted, result.measured)}


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """Every analytic and measured number behind the two figures."""
    return {OUTPUTS[0]: {"analytic": result.analytic, "breakdown": result.breakdown.to_dict(orient="list"),
                         "flop_validation": result.flop_check.to_dict(orient="list"), "measured": result.measured,
                         "latency_method": result.parameters["latency_method"],
                         "sampled_vs_whole": result.validation, "decode_steps": result.decode_steps,
                         "normalized_latency": result.normalized, "survey_comparison": result.survey,
                         "roofline_predictions": result.predicted},
            OUTPUTS[1]: {"roofline": result.roofline.to_dict(), "class_roofline": result.class_roofline.to_dict(),
                         "class_rates": op_roofline.class_rates(result.class_roofline),
                         "predictions": result.predicted, "bound_by": measured_part.bound_by(result.predicted),
                         "runtime": result.measured["runtime"]}}


def plot(result: Result) -> dict[str, Any]:
    """The four panels, and the roofline figure."""
    return {OUTPUTS[0]: plot_profiling(result.analytic, result.normalized, result.survey),
            OUTPUTS[1]: measured_part.plot_roofline(result.roofline, result.class_roofline, result.predicted)}
