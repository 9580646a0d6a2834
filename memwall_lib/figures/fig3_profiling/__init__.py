"""Figure 3: BERT-Base, BERT-Large and GPT-2 profiled: analytic FLOPs, MOPs and arithmetic
intensity, measured latency at every length beside the survey's, and a roofline calibrated
per operation class on this machine. Any model given by a ``config.json`` is drawn beside them
in the counted panels and the measured one (:mod:`.user_models`).

The numbers come from :mod:`memwall_lib.engines.counts.transformer` (analytic FLOPs and bytes),
:mod:`memwall_lib.engines.timing.workloads` (FLOP counting), :mod:`memwall_lib.engines.timing.latency`,
:mod:`memwall_lib.engines.timing.single_roof` and :mod:`memwall_lib.engines.timing.class_roofline`.
This module holds the figure's API; beside it: :mod:`.counted` (the analytic sweeps, the per-op
breakdown, the FLOP check), :mod:`.measured` (latency, the survey's beside it, the roofline's
predictions), :mod:`.user_models` (the user's own models, counted and timed), :mod:`.verdicts`
(the claims), :mod:`.result` and :mod:`.draw`.
Units: GFLOPs = 1e9 FLOPs, GB = 1e9 bytes, seconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ...core.claims import Claim
from ...core.params import Param
from ...core.paths import resolve
from ...core.provenance import measuring
from ...engines.timing import class_roofline, latency
from ...engines.timing import clock as timing
from ...engines.timing.single_roof import calibrate_roofline
from ...tables import load_survey_latency
from . import counted, draw, measured, user_models, verdicts
from .result import Result

PARAMETERS: dict[str, Param] = {
    "models": Param(
        list,
        "models to profile: the survey's (bert-base, bert-large, gpt2, gpt2-medium ...), at least "
        "one, and any of your own as a path to a Hugging Face config.json",
        item_type=str,
        min_items=1,
        validate=user_models.check_models,
    ),
    "analytic_lengths": Param(
        list,
        "sequence lengths of the analytic panels (survey: 128 ... 4096)",
        item_type=int,
        minimum=1,
        maximum=65536,
        min_items=1,
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
    ),
    "validation_repeats": Param(int, "whole runs per validation length (median)", minimum=1, maximum=20),
    "repeats": Param(int, "timed runs per latency (median reported, min-max as spread)", minimum=1, maximum=100),
    "warmup": Param(
        int,
        "untimed runs before each length of a sampled encoder (and more until they last "
        "engines.timing.clock.MIN_WARMUP_S), before the first length otherwise",
        minimum=0,
        maximum=10,
    ),
    "threads": Param(
        int,
        "CPU threads for every measurement (0 = torch's default), at most the logical CPUs",
        minimum=0,
        maximum=512,
        validate=timing.check_threads,
    ),
    "scaling_threads": Param(
        list,
        "thread counts at which BERT-Base and GPT-2 are also timed at 128 tokens, beside the "
        "main run's (0: torch's default, all cores; empty: none); the survey's CPU had 16 cores",
        item_type=int,
        minimum=0,
        maximum=512,
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
    "data_dir": Param(str, "folder with survey_cpu_latency.csv (the survey's latencies)", path="dir"),
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
    # raises its own line, naming the model too large to time here
    (user_models.weights_fit, "parameters 'models' and 'dtype': a model's weights do not fit in memory"),
)


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = True
#: The data files this figure reads (the models are built from their configurations).
DATA_FILES: tuple[str, ...] = ("survey_cpu_latency.csv",)
#: The figures written: the four panels, and the roofline with predicted against measured latency.
OUTPUTS: tuple[str, ...] = ("fig3_transformer_profiling", "fig3_roofline")


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 3 from checked parameters (:data:`PARAMETERS`): the survey's presets among
    ``models`` as the paper profiles them, then the user's own models (:mod:`.user_models`).
    Raises AssertionError if the analytic FLOPs differ from FlopCounterMode's anywhere."""
    p = dict(params)
    survey_table = load_survey_latency(resolve(p["data_dir"]))  # read before any timing: a bad file fails first
    survey_models, sources = user_models.split_models(p["models"])
    analytic = counted.analytic_data(survey_models, p["analytic_lengths"], p["dtype"])
    breakdown = counted.breakdown_table(survey_models, p["breakdown_lengths"])
    flop_check = counted.flop_validation(survey_models, p["analytic_lengths"], p["flop_check_generate_len"])
    if not flop_check["equal"].all():
        raise AssertionError(f"analytic and counted FLOPs differ:\n{flop_check[~flop_check['equal']]}")
    with timing.using_clock(p["clock"]), measuring("fig3 latency and roofline", p["threads"]):
        latencies, validation, steps = measured.measure_models(
            survey_models,
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
            survey_models, device=p["device"], dtype=p["dtype"], threads=p["threads"], gemm_n=1024, repeats=3
        )
        roof = class_roofline.calibrate(
            survey_models,
            p["measured_lengths"],
            device=p["device"],
            dtype=p["dtype"],
            threads=p["threads"],
            repeats=2,
            machine=machine,
        )
    most = max((t or os.cpu_count() or 1 for t in p["scaling_threads"]), default=1)
    with timing.using_clock(p["clock"]), measuring("fig3 thread scaling", most):
        scaling = measured.thread_scaling(
            survey_models,
            p["scaling_threads"],
            latencies,
            method=p["latency_method"],
            device=p["device"],
            dtype=p["dtype"],
            repeats=p["repeats"],
            warmup=p["warmup"],
        )
    predicted = measured.predictions(roof, machine, latencies, p["dtype"])
    normalized = measured.normalized_latency(latencies)
    survey = measured.survey_comparison(normalized, survey_table)
    return Result(
        p,
        analytic,
        breakdown,
        flop_check,
        latencies,
        validation,
        steps,
        machine,
        roof,
        predicted,
        normalized,
        survey,
        scaling,
        user_models.analyse_models(p, sources, normalized["reference"]["median_s"]),
    )


def claims(result: Result) -> dict[str, list[Claim]]:
    """The paper's Figure 3 claims (the survey's latencies beside ours among them), and the
    roofline check of this reproduction."""
    return {
        OUTPUTS[0]: verdicts.profiling_claims(result.analytic, result.measured, result.thread_scaling)
        + verdicts.sampled_claims(result.validation, result.measured)
        + verdicts.survey_claims(result.survey, result.measured, result.thread_scaling),
        OUTPUTS[1]: verdicts.roofline_claims(result.predicted, result.measured),
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
            **({"user_models": result.user} if result.user else {}),
        },
        OUTPUTS[1]: {
            "roofline": result.roofline.to_dict(),
            "class_roofline": result.class_roofline.to_dict(),
            "class_rates": class_roofline.class_rates(result.class_roofline),
            "predictions": result.predicted,
            "bound_by": measured.bound_by(result.predicted),
            "runtime": result.measured["runtime"],
        },
    }


def plot(result: Result) -> dict[str, Any]:
    """The four panels, and the roofline figure."""
    return {OUTPUTS[0]: draw.plot_profiling(result), OUTPUTS[1]: draw.plot_roofline(result)}
