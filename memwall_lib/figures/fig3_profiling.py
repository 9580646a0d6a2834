"""Figure 3: BERT-Base, BERT-Large and GPT-2 profiled: analytic FLOPs, MOPs and arithmetic
intensity, measured latency, and a roofline calibrated on this machine.

The numbers come from :mod:`memwall_lib.engines.transformer` (analytic FLOPs and bytes),
:mod:`memwall_lib.engines.workloads` (latency, FLOP counting) and
:mod:`memwall_lib.engines.roofline`; this module arranges them. Units: GFLOPs = 1e9 FLOPs, GB = 1e9 bytes, seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import paper
from ..core.claims import Claim
from ..core.params import Param
from ..core.progress import progress
from ..core.provenance import measuring
from ..engines import timing, workloads
from ..engines import transformer as tfm
from ..engines.builders import BERT_SIZES, GPT2_SIZES
from ..engines.roofline import Roofline, calibrate_roofline

MODEL_CHOICES: tuple[str, ...] = tuple(BERT_SIZES) + tuple(GPT2_SIZES)
#: Display names and colours (PALETTE indices) of the models.
LABELS: dict[str, str] = {"bert-base": "BERT-Base", "bert-large": "BERT-Large", "gpt2": "GPT-2",
                          "gpt2-medium": "GPT-2 Medium", "gpt2-large": "GPT-2 Large", "gpt2-xl": "GPT-2 XL"}
#: The survey's latency of GPT-2 relative to BERT-Base at 128 tokens, on its Xeon Gold 6242.
PAPER_GPT2_OVER_BERT_BASE_128: float = paper.claim("fig3_decoder_over_bert_base").value
#: The survey's arithmetic intensity of GPT-2 at 8-bit (about 2 FLOPs/byte).
PAPER_GPT2_AI: float = paper.GPT2_INTENSITY
#: Roofline predictions count as good within this relative error of the measured latency.
PREDICTION_TOLERANCE = 0.25
REFERENCE = ("bert-base", 128)


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
    "measured_lengths": Param(list, "sequence lengths whose latency is measured (up to 4096; GPT-2 "
                                    "generates that many tokens, ~25 ms each on a CPU core)",
                              item_type=int, minimum=1, maximum=4096, min_items=1, check=_unique,
                              check_message="lengths must not repeat"),
    "repeats": Param(int, "timed runs per latency (median reported, min-max as spread)", minimum=1, maximum=100),
    "warmup": Param(int, "untimed runs before timing", minimum=0, maximum=10),
    "threads": Param(int, "CPU threads for every measurement (0 = torch's default)", minimum=0, maximum=512),
    "device": Param(str, "where latency and the roofline are measured", choices=timing.DEVICES,
                    check=timing.device_available,
                    check_message="that device is not available on this machine (no CUDA GPU); use 'cpu'"),
    "dtype": Param(str, "precision of the measured runs", choices=timing.DTYPES),
    "flop_check_generate_len": Param(int, "GPT-2 generations up to this length are FLOP-counted whole; "
                                          "longer ones on their last step", minimum=1, maximum=4096),
    "output_dir": Param(str, "folder the figures and sidecars are written to", path="out_dir"),
}


#: Checks across parameters (none for Figure 3).
RELATIONS: tuple = ()


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
    rows = [r for m in progress(models, "FLOP check (models)")
            for r in workloads.validate_flops(m, seq_lens, max_generate=max_generate)]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- measured
def measure_models(models: Sequence[str], seq_lens: Sequence[int], *, device: str, dtype: str,
                   repeats: int, warmup: int, threads: int) -> dict[str, Any]:
    """Latency rows per model (see :func:`memwall_lib.workloads.measure_latency`) as columns:
    ``{model: {"seq_len": [...], "median_s": [...], ...}}`` plus ``"runtime"``."""
    out: dict[str, Any] = {}
    for m in progress(models, "latency (models)"):
        rows = workloads.measure_latency(m, seq_lens, device=device, dtype=dtype, repeats=repeats,
                                       warmup=warmup, threads=threads)
        out[m] = {k: [r[k] for r in rows] for k in rows[0]}
    with timing.using_threads(threads):
        out["runtime"] = timing.runtime_info(device, dtype)
    return out


def predictions(roofline: Roofline, measured: Mapping[str, Any], dtype: str) -> dict[str, Any]:
    """Roofline-predicted against measured latency, per model and length: the workload's
    profile at the measured precision (embeddings, pooler / LM head included)."""
    prec = tfm.precision_for_dtype(dtype)
    out: dict[str, Any] = {}
    for m, rows in measured.items():
        if m == "runtime":
            continue
        spec = tfm.get_spec(m)
        cols: dict[str, list[float]] = {k: [] for k in (
            "seq_len", "measured_s", "predicted_s", "ratio", "roofline_s", "compute_bound_s",
            "memory_bound_s", "overhead_s", "gflops", "mops_gb", "arithmetic_intensity",
            "attained_gflops_per_s")}
        for n, t in zip(rows["seq_len"], rows["median_s"]):
            prof = workloads.workload_profile(spec, n, prec)
            pred = roofline.predict(prof, m)
            for k in ("predicted_s", "roofline_s", "compute_bound_s", "memory_bound_s", "overhead_s"):
                cols[k].append(pred[k])
            cols["seq_len"].append(n)
            cols["measured_s"].append(t)
            cols["ratio"].append(pred["predicted_s"] / t)
            cols["gflops"].append(prof.gflops)
            cols["mops_gb"].append(prof.mops_gb)
            cols["arithmetic_intensity"].append(prof.arithmetic_intensity)
            cols["attained_gflops_per_s"].append(prof.gflops / t)
        out[m] = cols
    return out


def reference_point(measured: Mapping[str, Any]) -> tuple[str, int]:
    """The latency all others are normalized to: BERT-Base at 128 tokens (the paper's), or
    the first measured model at its shortest measured length when those were not run."""
    m, n = REFERENCE
    if m in measured and n in measured[m]["seq_len"]:
        return m, n
    first = next(k for k in measured if k != "runtime")
    return first, min(measured[first]["seq_len"])


def normalized_latency(measured: Mapping[str, Any]) -> dict[str, Any]:
    """Median latencies divided by the reference point's (:func:`reference_point`)."""
    m0, n0 = reference_point(measured)
    ref = measured[m0]["median_s"][measured[m0]["seq_len"].index(n0)]
    out: dict[str, Any] = {"reference": {"model": m0, "seq_len": n0, "median_s": ref}}
    for m, rows in measured.items():
        if m != "runtime":
            out[m] = {"seq_len": rows["seq_len"], "normalized": [t / ref for t in rows["median_s"]]}
    return out


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


def roofline_claims(preds: Mapping[str, Any]) -> list[Claim]:
    """Whether the calibrated roofline predicts every measured latency within 25%."""
    ratios = [r for v in preds.values() for r in v["ratio"]]
    worst = max(ratios, key=lambda r: abs(r - 1))
    within = sum(abs(r - 1) <= PREDICTION_TOLERANCE for r in ratios)
    c = paper.claim("fig3_roofline_predicts_latency")
    return [Claim(
        c.id, c.text, c.value, worst, None, within == len(ratios),
        rule="holds if every prediction is within 25% of the measured median",
        note=f"{within} of {len(ratios)} within 25% (ratios {min(ratios):.3g}-{max(ratios):.3g}); "
             "this reproduction's check, not a claim of the paper")]


# --------------------------------------------------------------------------- figures
def _label(m: str) -> str:
    return LABELS.get(m, m)


def plot_profiling(analytic: Mapping[str, Any], normalized: Mapping[str, Any]) -> Any:
    """The paper's four panels: (a) GFLOPs, (b) MOPs, (c) arithmetic intensity (8-bit solid,
    measured precision dashed), (d) measured latency normalized to the reference point."""
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
    names = [_label(m) for m in analytic["survey_8bit"]]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    fig.suptitle(f"{listed} profiled at batch size 1 "
                 "(a-c: analytic, survey convention; d: measured on this machine)", y=1.02)
    fig.tight_layout()
    return fig


def plot_roofline(roofline: Roofline, preds: Mapping[str, Any]) -> Any:
    """Left: the machine's calibrated roofline with each measured model/length placed at
    its arithmetic intensity and attained FLOP rate (lengths labelled on the right only:
    a model's points nearly coincide on the left). Right: predicted against measured
    latency, with the +-25% band."""
    import matplotlib.pyplot as plt

    from ..core import plotting

    plotting.apply_style()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5))
    ais = [x for v in preds.values() for x in v["arithmetic_intensity"]]
    lo, hi = min(min(ais) / 3, 0.05), max(max(ais) * 3, roofline.ridge_point * 10)
    xs = np.logspace(np.log10(lo), np.log10(hi), 200)
    ax.plot(xs, [roofline.attainable(x) / 1e9 for x in xs], color="0.2", linewidth=2,
            label=f"roofline: {roofline.peak_flops / 1e9:.0f} GFLOP/s (GEMM), "
                  f"{roofline.bandwidth / 1e9:.1f} GB/s (STREAM triad)")
    for i, (m, v) in enumerate(preds.items()):
        c, mk = plotting.PALETTE[i], plotting.MARKERS[i]
        ax.scatter(v["arithmetic_intensity"], v["attained_gflops_per_s"], color=c, marker=mk, s=40, zorder=3,
                   label=_label(m))
        bx.scatter(v["measured_s"], v["predicted_s"], color=c, marker=mk, s=40, zorder=3, label=_label(m))
        plotting.annotate_points(bx, v["measured_s"], v["predicted_s"], [str(n) for n in v["seq_len"]],
                                 color=c, fontsize=7.5)
    plotting.log_axis(ax, "both")
    ax.set_xlabel("arithmetic intensity (FLOPs / byte, measured precision)")
    ax.set_ylabel("attained GFLOP/s (1e9 FLOP/s)")
    ax.set_title("Calibrated roofline of this machine")
    ax.legend(loc="lower right", fontsize=8)
    t = [x for v in preds.values() for x in v["measured_s"] + v["predicted_s"]]
    span = np.array([min(t) / 2, max(t) * 2])
    bx.plot(span, span, color="0.2", linewidth=1.2, label="predicted = measured")
    bx.fill_between(span, span * (1 - PREDICTION_TOLERANCE), span * (1 + PREDICTION_TOLERANCE),
                    color="0.5", alpha=0.15, label="+-25%")
    plotting.log_axis(bx, "both")
    bx.set_xlabel("measured latency (s, median)")
    bx.set_ylabel("roofline-predicted latency (s)")
    bx.set_title("Predicted vs measured (labels: sequence length)")
    bx.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = True
#: The data files this figure reads (none: the models are built from their configurations).
DATA_FILES: tuple[str, ...] = ()
#: The figures written: the four panels, and the roofline with predicted against measured latency.
OUTPUTS: tuple[str, ...] = ("fig3_transformer_profiling", "fig3_roofline")


@dataclass
class Result:
    """Figure 3 analysed: analytic sweeps, the per-op breakdown, the FLOP check, measured
    latencies, the calibrated roofline and its predictions."""

    parameters: dict[str, Any]
    analytic: dict[str, Any]
    breakdown: pd.DataFrame
    flop_check: pd.DataFrame
    measured: dict[str, Any]
    roofline: Roofline
    predicted: dict[str, Any]
    normalized: dict[str, Any]

    def analytic_table(self) -> pd.DataFrame:
        """GFLOPs, MOPs (GB) and arithmetic intensity per model and length, in both precisions."""
        return pd.concat({(conv, m): pd.DataFrame(v) for conv in ("survey_8bit", "measured_precision")
                          for m, v in self.analytic[conv].items()}, names=["convention", "model"])

    def predictions_table(self) -> pd.DataFrame:
        """Measured against roofline-predicted latency (seconds) per model and length."""
        return pd.concat({m: pd.DataFrame(v)[["seq_len", "measured_s", "predicted_s", "ratio", "compute_bound_s",
                                              "memory_bound_s", "overhead_s"]] for m, v in self.predicted.items()},
                         names=["model"])


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 3 from checked parameters (:data:`PARAMETERS`). Raises AssertionError if the
    analytic FLOPs differ from FlopCounterMode's anywhere."""
    p = dict(params)
    analytic = analytic_data(p["models"], p["analytic_lengths"], p["dtype"])
    breakdown = breakdown_table(p["models"], p["breakdown_lengths"])
    flop_check = flop_validation(p["models"], p["analytic_lengths"], p["flop_check_generate_len"])
    if not flop_check["equal"].all():
        raise AssertionError(f"analytic and counted FLOPs differ:\n{flop_check[~flop_check['equal']]}")
    with measuring("fig3 latency and roofline", p["threads"]):
        measured = measure_models(p["models"], p["measured_lengths"], device=p["device"], dtype=p["dtype"],
                                  repeats=p["repeats"], warmup=p["warmup"], threads=p["threads"])
        roofline = calibrate_roofline(p["models"], device=p["device"], dtype=p["dtype"], threads=p["threads"])
    predicted = predictions(roofline, measured, p["dtype"])
    return Result(p, analytic, breakdown, flop_check, measured, roofline, predicted, normalized_latency(measured))


def claims(result: Result) -> dict[str, list[Claim]]:
    """The paper's Figure 3 claims, and the roofline check of this reproduction."""
    return {OUTPUTS[0]: profiling_claims(result.analytic, result.measured),
            OUTPUTS[1]: roofline_claims(result.predicted)}


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """Every analytic and measured number behind the two figures."""
    return {OUTPUTS[0]: {"analytic": result.analytic, "breakdown": result.breakdown.to_dict(orient="list"),
                         "flop_validation": result.flop_check.to_dict(orient="list"), "measured": result.measured,
                         "normalized_latency": result.normalized, "roofline_predictions": result.predicted},
            OUTPUTS[1]: {"roofline": result.roofline.to_dict(), "predictions": result.predicted,
                         "runtime": result.measured["runtime"]}}


def plot(result: Result) -> dict[str, Any]:
    """The four panels, and the roofline figure."""
    return {OUTPUTS[0]: plot_profiling(result.analytic, result.normalized),
            OUTPUTS[1]: plot_roofline(result.roofline, result.predicted)}
