"""Figure 3's drawing: the four panels (FLOPs, MOPs, arithmetic intensity, normalized latency),
and the roofline of this machine with predicted against measured latency."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engines.timing import class_roofline
from .measured import PREDICTION_TOLERANCE, label
from .result import Result


def _style(i: int) -> tuple[str, str]:
    """The colour and marker of the ``i``-th model drawn (cycling past the palette's end)."""
    from ...core import plotting

    return plotting.PALETTE[i % len(plotting.PALETTE)], plotting.MARKERS[i % len(plotting.MARKERS)]


def _counted(axes: Any, i: int, name: str, survey: dict[str, Any], own: dict[str, Any], mp: str) -> None:
    """Panels (a)-(c) of one model: its 8-bit sweep solid, its measured-precision intensity dashed."""
    c, mk = _style(i)
    axes[0].plot(survey["seq_len"], survey["gflops"], marker=mk, color=c, label=name)
    axes[1].plot(survey["seq_len"], survey["mops_gb"], marker=mk, color=c, label=name)
    axes[2].plot(survey["seq_len"], survey["arithmetic_intensity"], marker=mk, color=c, label=f"{name}, 8-bit")
    axes[2].plot(
        own["seq_len"],
        own["arithmetic_intensity"],
        marker=mk,
        color=c,
        linestyle="--",
        markerfacecolor="none",
        label=f"{name}, {mp}",
    )


def _title(result: Result) -> str:
    names = [label(m) for m in result.analytic["survey_8bit"]]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    yours = list(result.user.get("survey_8bit", {}))
    extra = (
        f"\nbeside them, from your config: {', '.join(yours)} (counted in the same convention; latency by whole runs)"
        if yours
        else ""
    )
    return (
        f"{listed} profiled at batch size 1 "
        "(a-c: analytic, survey convention; d: measured on this machine, hollow: the survey's "
        f"Xeon Gold 6242, arXiv:2302.14017 Fig. 9){extra}"
    )


def plot_profiling(result: Result) -> Any:
    """The paper's four panels: (a) GFLOPs, (b) MOPs, (c) arithmetic intensity (8-bit solid,
    measured precision dashed), (d) measured latency normalized to the reference point, with
    the survey's published values (hollow, dotted) where comparable; the user's own models
    (:mod:`.user_models`) after the presets, in the next colours, labelled from their configs."""
    import matplotlib.pyplot as plt

    from ...core import plotting

    analytic, normalized, published, user = result.analytic, result.normalized, result.survey, result.user
    plotting.apply_style()
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.3))
    survey, meas = analytic["survey_8bit"], analytic["measured_precision"]
    mp = analytic["precision"]["measured_precision"]["name"]
    for i, (m, s) in enumerate(survey.items()):
        _counted(axes, i, label(m), s, meas[m], mp)
    for j, (m, s) in enumerate(user.get("survey_8bit", {}).items()):
        _counted(axes, len(survey) + j, m, s, user["measured_precision"][m], mp)
    ref = normalized["reference"]
    for i, m in enumerate(survey):
        c, mk = _style(i)
        if m in normalized:
            v = normalized[m]
            axes[3].plot(v["seq_len"], v["normalized"], marker=mk, color=c, label=label(m))
        if published and published.get("comparable") and m in published:
            axes[3].plot(
                published[m]["seq_len"],
                published[m]["survey"],
                marker=mk,
                linestyle=":",
                color=c,
                markerfacecolor="none",
                label=f"{label(m)}, survey",
            )
    for j, (m, v) in enumerate(user.get("normalized", {}).items()):
        c, mk = _style(len(survey) + j)
        axes[3].plot(v["seq_len"], v["normalized"], marker=mk, color=c, label=f"{m}, whole runs")
    titles = ["(a) FLOPs", "(b) Memory operations (MOPs)", "(c) Arithmetic intensity", "(d) Latency (measured)"]
    ylabels = [
        "GFLOPs (1e9 FLOPs)",
        "MOPs (GB = 1e9 bytes)",
        "FLOPs / byte",
        f"latency / {label(ref['model'])} at {ref['seq_len']}",
    ]
    for ax, t, yl in zip(axes, titles, ylabels):
        ax.set_xscale("log", base=2)
        plotting.log_axis(ax, "y")
        ax.set_title(t)
        ax.set_xlabel("sequence length (tokens)")
        ax.set_ylabel(yl)
        ax.legend(loc="best")
    axes[2].legend(loc="best", fontsize=7.5, ncol=1)
    axes[3].legend(loc="best", fontsize=7.5, ncol=1)
    fig.suptitle(_title(result), y=1.02)
    fig.tight_layout()
    return fig


def plot_roofline(result: Result) -> Any:
    """Left: the machine's roofline (GEMM peak, STREAM) and the bandwidths the memory
    classes attain at the models' shapes, with each measured model/length at its arithmetic
    intensity and attained FLOP rate. Right: class-roofline prediction against measurement,
    with the +-25% band."""
    import matplotlib.pyplot as plt

    from ...core import plotting

    machine, roof, preds = result.roofline, result.class_roofline, result.predicted
    plotting.apply_style()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5))
    ais = [x for v in preds.values() for x in v["arithmetic_intensity"]]
    lo, hi = min(min(ais) / 3, 0.05), max(max(ais) * 3, machine.ridge_point * 10)
    xs = np.logspace(np.log10(lo), np.log10(hi), 200)
    ax.plot(
        xs,
        [machine.attainable(x) / 1e9 for x in xs],
        color="0.2",
        linewidth=2,
        label=f"roofline: {machine.peak_flops / 1e9:.0f} GFLOP/s (GEMM), "
        f"{machine.bandwidth / 1e9:.1f} GB/s (STREAM triad)",
    )
    rates = class_roofline.class_rates(roof)
    styles = iter([":", "-.", (0, (5, 2)), (0, (1, 3))])
    for m, per in rates.items():
        for c in ("gemv", "kv_attention"):
            if c in per:
                bw = per[c]["rate"][0]
                ax.plot(
                    xs,
                    [min(machine.peak_flops, bw * x) / 1e9 for x in xs],
                    color="0.45",
                    linewidth=1,
                    linestyle=next(styles, "--"),
                    label=f"{c}, {label(m)}: {bw / 1e9:.1f} GB/s",
                )
    for i, (m, v) in enumerate(preds.items()):
        c, mk = plotting.PALETTE[i], plotting.MARKERS[i]
        ax.scatter(
            v["arithmetic_intensity"], v["attained_gflops_per_s"], color=c, marker=mk, s=40, zorder=3, label=label(m)
        )
        bx.scatter(v["measured_s"], v["predicted_s"], color=c, marker=mk, s=40, zorder=3, label=label(m))
        plotting.annotate_points(
            bx, v["measured_s"], v["predicted_s"], [str(n) for n in v["seq_len"]], color=c, fontsize=7.5
        )
    plotting.log_axis(ax, "both")
    ax.set_xlabel("arithmetic intensity (FLOPs / byte, measured precision)")
    ax.set_ylabel("attained GFLOP/s (1e9 FLOP/s)")
    ax.set_title("Roofline of this machine, and what decoding attains")
    ax.legend(loc="lower right", fontsize=7.5)
    t = [x for v in preds.values() for x in v["measured_s"] + v["predicted_s"]]
    span = np.array([min(t) / 2, max(t) * 2])
    bx.plot(span, span, color="0.2", linewidth=1.2, label="predicted = measured")
    bx.fill_between(
        span,
        span * (1 - PREDICTION_TOLERANCE),
        span * (1 + PREDICTION_TOLERANCE),
        color="0.5",
        alpha=0.15,
        label="+-25%",
    )
    plotting.log_axis(bx, "both")
    bx.set_xlabel("measured latency (s, fastest run)")
    bx.set_ylabel("predicted latency (s, roofline per op class)")
    bx.set_title("Predicted vs measured (labels: sequence length)")
    bx.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    plotting.declutter_labels(bx)
    return fig
