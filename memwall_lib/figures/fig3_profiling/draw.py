"""Figure 3's drawing: the four panels (FLOPs, MOPs, arithmetic intensity, normalized latency)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .measured import label


def plot_profiling(
    analytic: Mapping[str, Any], normalized: Mapping[str, Any], published: Mapping[str, Any] | None = None
) -> Any:
    """The paper's four panels: (a) GFLOPs, (b) MOPs, (c) arithmetic intensity (8-bit solid,
    measured precision dashed), (d) measured latency normalized to the reference point, with
    the survey's published values (hollow, dotted) where comparable."""
    import matplotlib.pyplot as plt

    from ...core import plotting

    plotting.apply_style()
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.3))
    survey, meas = analytic["survey_8bit"], analytic["measured_precision"]
    mp = analytic["precision"]["measured_precision"]["name"]
    for i, (m, s) in enumerate(survey.items()):
        c, mk = plotting.PALETTE[i], plotting.MARKERS[i]
        axes[0].plot(s["seq_len"], s["gflops"], marker=mk, color=c, label=label(m))
        axes[1].plot(s["seq_len"], s["mops_gb"], marker=mk, color=c, label=label(m))
        axes[2].plot(s["seq_len"], s["arithmetic_intensity"], marker=mk, color=c, label=f"{label(m)}, 8-bit")
        axes[2].plot(
            meas[m]["seq_len"],
            meas[m]["arithmetic_intensity"],
            marker=mk,
            color=c,
            linestyle="--",
            markerfacecolor="none",
            label=f"{label(m)}, {mp}",
        )
    ref = normalized["reference"]
    for i, m in enumerate(survey):
        if m in normalized:
            v = normalized[m]
            axes[3].plot(
                v["seq_len"], v["normalized"], marker=plotting.MARKERS[i], color=plotting.PALETTE[i], label=label(m)
            )
        if published and published.get("comparable") and m in published:
            axes[3].plot(
                published[m]["seq_len"],
                published[m]["survey"],
                marker=plotting.MARKERS[i],
                linestyle=":",
                color=plotting.PALETTE[i],
                markerfacecolor="none",
                label=f"{label(m)}, survey",
            )
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
    names = [label(m) for m in analytic["survey_8bit"]]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    fig.suptitle(
        f"{listed} profiled at batch size 1 "
        "(a-c: analytic, survey convention; d: measured on this machine, hollow: the survey's "
        "Xeon Gold 6242, arXiv:2302.14017 Fig. 9)",
        y=1.02,
    )
    fig.tight_layout()
    return fig
