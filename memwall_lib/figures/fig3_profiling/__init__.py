"""Figure 3: BERT-Base, BERT-Large and GPT-2 profiled: analytic FLOPs, MOPs and arithmetic
intensity, measured latency at every length beside the survey's, and a roofline calibrated
per operation class on this machine.

The numbers come from :mod:`memwall_lib.engines.counts.transformer` (analytic FLOPs and bytes),
:mod:`memwall_lib.engines.timing.workloads` (FLOP counting), :mod:`memwall_lib.engines.timing.latency`,
:mod:`memwall_lib.engines.timing.single_roof` and :mod:`memwall_lib.engines.timing.class_roofline`; this module
and :mod:`.fig3_measured` arrange them. Units: GFLOPs = 1e9 FLOPs, GB = 1e9 bytes, seconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...core.claims import Claim
from ...core.params import Param
from ...core.progress import progress
from ...core.provenance import measuring
from ...engines.counts import transformer as tfm
from ...engines.models.builders import BERT_SIZES, GPT2_SIZES
from ...engines.timing import class_roofline, latency, workloads
from ...engines.timing import clock as timing
from ...engines.timing.single_roof import Roofline, calibrate_roofline
from ...tables import load_survey_latency
from . import draw as fig3_plot
from . import measured as measured_part
from . import verdicts as fig3_claims
from .measured import normalized_latency

MODEL_CHOICES: tuple[str, ...] = tuple(BERT_SIZES) + tuple(GPT2_SIZES)


def _unique(v: list[Any]) -> bool:
    return len(set(v)) == len(v)


PARAMETERS: dict[str, Param] = {
    "models": Param(
        list,
        "models to profile (the survey's: bert-base, bert-large, gpt2)",
        item_type=str,
        choices=MODEL_CHOICES,
        min_items=1,
        check=_unique,
        check_message="models must not repeat",
    ),
    "analytic_lengths": Param(
        list,
        "sequence lengths of the analytic panels (survey: 128 ... 4096)",
        item_type=int,
        minimum=1,
        maximum=65536,
        min_items=1,
        check=_unique,
        check_message="lengths must not repeat",
    ),
    "breakdown_lengths": Param(
        list, "lengths of the per-operation breakdown table", item_type=int, minimum=1, maximum=65536, min_items=1
    ),
    "measured_lengths": Param(
        list,
        "sequence lengths whose latency is measured (up to 4096)",
        item_type=int,
        minimum=1,
        maximum=4096,
        min_items=1,
        check=_unique,
        check_message="lengths must not repeat",
    ),
    "latency_method": Param(
        str,
        "'sampled': one encoder layer x layers + the rest, GPT-2's decode step at "
        "sampled contexts summed over the generation; 'whole': whole runs "
        "(GPT-2 at 4096 tokens: minutes)",
        choices=latency.METHODS,
    ),
    "validation_lengths": Param(
        list,
        "lengths also run whole, to check the sampled method (empty: none)",
        item_type=int,
        minimum=1,
        maximum=4096,
        check=_unique,
        check_message="lengths must not repeat",
    ),
    "validation_repeats": Param(int, "whole runs per validation length (median)", minimum=1, maximum=20),
    "repeats": Param(int, "timed runs per latency (median reported, min-max as spread)", minimum=1, maximum=100),
    "warmup": Param(int, "untimed runs before the first timed length of each model", minimum=0, maximum=10),
    "threads": Param(int, "CPU threads for every measurement (0 = torch's default)", minimum=0, maximum=512),
    "scaling_threads": Param(
        list,
        "thread counts at which BERT-Base and GPT-2 are also timed at 128 tokens, beside the "
        "main run's (0: torch's default, all cores; empty: none); the survey's CPU had 16 cores",
        item_type=int,
        minimum=0,
        maximum=512,
        check=_unique,
        check_message="thread counts must not repeat",
    ),
    "device": Param(
        str,
        "where latency and the roofline are measured",
        choices=timing.DEVICES,
        check=timing.device_available,
        check_message="that device is not available on this machine (no CUDA GPU); use 'cpu'",
    ),
    "dtype": Param(str, "precision of the measured runs", choices=timing.DTYPES),
    "clock": Param(
        str,
        "CPU timings read 'wall' time (latency), or the 'process' CPU time, which leaves out "
        "the time other processes hold the core (one thread on a shared machine)",
        choices=timing.CLOCKS,
    ),
    "flop_check_generate_len": Param(
        int,
        "GPT-2 generations up to this length are FLOP-counted whole; longer ones on their last step",
        minimum=1,
        maximum=4096,
    ),
    "output_dir": Param(str, "folder the figures and sidecars are written to", path="out_dir"),
}


#: Checks across parameters.
RELATIONS: tuple = (
    (
        lambda p: p["clock"] == "wall" or (p["device"] == "cpu" and p["threads"] == 1),
        "parameters 'clock', 'device' and 'threads': clock 'process' needs device 'cpu' and threads 1",
    ),
    (
        lambda p: p["clock"] == "wall" or set(p["scaling_threads"]) <= {1},
        "parameters 'clock' and 'scaling_threads': clock 'process' reads one thread's CPU time, so "
        "scaling_threads must be [] (or [1])",
    ),
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


def breakdown_table(
    models: Sequence[str], seq_lens: Sequence[int], precision: tfm.Precision = tfm.SURVEY_8BIT
) -> pd.DataFrame:
    """Share of FLOPs and of bytes (MOPs) per op group, per model and length (in %)."""
    rows = []
    for m in models:
        for n in seq_lens:
            p = tfm.profile(m, n, precision=precision)
            for g, v in p.by_group().items():
                rows.append(
                    {
                        "model": m,
                        "seq_len": n,
                        "group": g,
                        "flops_pct": 100 * v["flops_share"],
                        "mops_pct": 100 * v["bytes_share"],
                        "gflops": v["flops"] / 1e9,
                        "mops_gb": v["bytes"] / 1e9,
                        "arithmetic_intensity": v["flops"] / v["bytes"],
                    }
                )
    return pd.DataFrame(rows)


def flop_validation(models: Sequence[str], seq_lens: Sequence[int], max_generate: int) -> pd.DataFrame:
    """FlopCounterMode against the analytic matmul FLOPs for every model and length."""
    rows = [
        r
        for m in progress(models, "FLOP check (models)")
        for r in workloads.validate_flops(m, seq_lens, max_generate=max_generate)
    ]
    return pd.DataFrame(rows)


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
    class_roofline: class_roofline.ClassRoofline
    predicted: dict[str, Any]
    normalized: dict[str, Any]
    survey: dict[str, Any]
    thread_scaling: dict[str, Any]

    def analytic_table(self) -> pd.DataFrame:
        """GFLOPs, MOPs (GB) and arithmetic intensity per model and length, in both precisions."""
        return pd.concat(
            {
                (conv, m): pd.DataFrame(v)
                for conv in ("survey_8bit", "measured_precision")
                for m, v in self.analytic[conv].items()
            },
            names=["convention", "model"],
        )

    def agreement_table(self) -> pd.DataFrame:
        """The sampled estimate against whole runs (seconds; ratio = sampled / whole)."""
        return measured_part.agreement_frame(self.validation)

    def survey_table(self) -> pd.DataFrame:
        """Our normalized latency beside the survey's (ratio = ours / survey's)."""
        return measured_part.survey_frame(self.survey)

    def thread_scaling_table(self) -> pd.DataFrame:
        """The decoder / BERT-Base latency ratio at 128 tokens per thread count (seconds)."""
        cols = ("threads", "encoder_s", "decoder_s", "ratio")
        return pd.DataFrame({k: self.thread_scaling.get(k, []) for k in cols}).set_index("threads")

    def class_rates_table(self) -> pd.DataFrame:
        """What each operation class attains at each model's shapes (FLOP/s or bytes/s, by the
        calibrated size: tokens, or 1 for decoding), beside the machine's GEMM peak and STREAM."""
        rows = [
            {
                "model": m,
                "class": c,
                "size": n,
                "rate_G": r / 1e9,
                "unit": v["unit"],
                "of_roof": r / (self.roofline.peak_flops if v["unit"] == "FLOP/s" else self.roofline.bandwidth),
            }
            for m, per in class_roofline.class_rates(self.class_roofline).items()
            for c, v in per.items()
            for n, r in zip(v["size"], v["rate"])
        ]
        return pd.DataFrame(rows).set_index(["model", "class", "size"])

    def predictions_table(self) -> pd.DataFrame:
        """Measured against predicted latency (seconds) per model and length: the class
        roofline, its seconds per class, the class that bounds it, and one roof's prediction."""
        cols = [
            "seq_len",
            "measured_s",
            "predicted_s",
            "ratio",
            "ratio_to_median",
            "bound_by",
            "overhead_s",
            *(f"{c}_s" for c in class_roofline.CLASSES),
            "single_roof_ratio",
        ]
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
    with timing.using_clock(p["clock"]), measuring("fig3 latency and roofline", p["threads"]):
        measured, validation, steps = measured_part.measure_models(
            p["models"],
            p["measured_lengths"],
            method=p["latency_method"],
            device=p["device"],
            dtype=p["dtype"],
            repeats=p["repeats"],
            warmup=p["warmup"],
            threads=p["threads"],
            validation_lengths=p["validation_lengths"],
            validation_repeats=p["validation_repeats"],
        )
        machine = calibrate_roofline(
            p["models"], device=p["device"], dtype=p["dtype"], threads=p["threads"], gemm_n=1024, repeats=3
        )
        roof = class_roofline.calibrate(
            p["models"],
            p["measured_lengths"],
            device=p["device"],
            dtype=p["dtype"],
            threads=p["threads"],
            repeats=2,
            machine=machine,
        )
    most = max((t or os.cpu_count() or 1 for t in p["scaling_threads"]), default=1)
    with timing.using_clock(p["clock"]), measuring("fig3 thread scaling", most):
        scaling = measured_part.thread_scaling(
            p["models"],
            p["scaling_threads"],
            measured,
            method=p["latency_method"],
            device=p["device"],
            dtype=p["dtype"],
            repeats=p["repeats"],
            warmup=p["warmup"],
        )
    predicted = measured_part.predictions(roof, machine, measured, p["dtype"])
    normalized = normalized_latency(measured)
    survey = measured_part.survey_comparison(normalized, load_survey_latency())
    return Result(
        p,
        analytic,
        breakdown,
        flop_check,
        measured,
        validation,
        steps,
        machine,
        roof,
        predicted,
        normalized,
        survey,
        scaling,
    )


def claims(result: Result) -> dict[str, list[Claim]]:
    """The paper's Figure 3 claims (the survey's latencies beside ours among them), and the
    roofline check of this reproduction."""
    return {
        OUTPUTS[0]: fig3_claims.profiling_claims(result.analytic, result.measured, result.thread_scaling)
        + fig3_claims.sampled_claims(result.validation, result.measured)
        + fig3_claims.survey_claims(result.survey, result.measured, result.thread_scaling),
        OUTPUTS[1]: fig3_claims.roofline_claims(result.predicted, result.measured),
    }


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """Every analytic and measured number behind the two figures."""
    return {
        OUTPUTS[0]: {
            "analytic": result.analytic,
            "breakdown": result.breakdown.to_dict(orient="list"),
            "flop_validation": result.flop_check.to_dict(orient="list"),
            "measured": result.measured,
            "latency_method": result.parameters["latency_method"],
            "sampled_vs_whole": result.validation,
            "decode_steps": result.decode_steps,
            "normalized_latency": result.normalized,
            "survey_comparison": result.survey,
            "thread_scaling": result.thread_scaling,
            "roofline_predictions": result.predicted,
        },
        OUTPUTS[1]: {
            "roofline": result.roofline.to_dict(),
            "class_roofline": result.class_roofline.to_dict(),
            "class_rates": class_roofline.class_rates(result.class_roofline),
            "predictions": result.predicted,
            "bound_by": measured_part.bound_by(result.predicted),
            "runtime": result.measured["runtime"],
        },
    }


def plot(result: Result) -> dict[str, Any]:
    """The four panels, and the roofline figure."""
    return {
        OUTPUTS[0]: fig3_plot.plot_profiling(result.analytic, result.normalized, result.survey),
        OUTPUTS[1]: measured_part.plot_roofline(result.roofline, result.class_roofline, result.predicted),
    }
