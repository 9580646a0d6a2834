"""Drawing Figure 5 from an analysed :class:`~memwall_lib.figures.fig5_ridge.Result`:
(a) ridge point of each accelerator over time, (b) arithmetic intensity of LLM decode and
prefill on the same axis, (c) roofline lower bound of one model on every accelerator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...core import plotting
from ..model_params import decoder_source
from .result import Result
from .series import USER_FAMILY

#: Colour (palette index) and marker of each accelerator family.
FAMILY_STYLE: dict[str, tuple[int, str, str]] = {
    "nvidia": (2, "o", "NVIDIA GPU"),
    "amd": (1, "s", "AMD GPU"),
    "google": (0, "^", "Google TPU"),
    "intel": (3, "D", "Intel accelerator"),
    USER_FAMILY: (5, "*", "user-supplied chip"),
}
#: Colour (palette index) of the side of the roof that bounds a workload.
BOUND_COLOR = {"memory": 0, "compute": 1}


def _labelled(acc: pd.DataFrame, value: str) -> pd.Series:
    """Which rows get a name: the paper's labelled devices, and per family the first, the
    last and the one with the highest ``value``."""
    keep = (acc["label"] != "") | (acc["family"] == USER_FAMILY)  # a user's chip is always named
    for _, g in acc[acc[value].notna()].groupby("family"):
        keep[g.index[[0, -1]]] = True
        keep[g[value].idxmax()] = True
    return keep


def _panel_ridge(ax: Any, result: Result) -> None:
    acc, p = result.accelerators, result.parameters
    main = acc[acc["ridge"].notna()]
    for fam, (ci, marker, title) in FAMILY_STYLE.items():
        color = plotting.PALETTE[ci]
        g = main[main["family"] == fam]
        if len(g):
            ax.scatter(g["year"], g["ridge"], color=color, marker=marker, s=30, zorder=3, label=title)
        g8 = acc[(acc["family"] == fam) & acc["ridge_fp8"].notna()]
        if p["fp8_ridge"] and len(g8):
            ax.scatter(
                g8["year"],
                g8["ridge_fp8"],
                facecolors="none",
                edgecolors=color,
                marker=marker,
                s=44,
                linewidths=1.1,
                zorder=3,
            )
    fit = result.fits["ridge"]
    if fit is not None:
        lx, ly = fit.line()
        lo, hi = fit.per_2yr_ci95
        ax.plot(
            lx,
            ly,
            color="0.15",
            linewidth=1.8,
            zorder=2,
            label=f"ridge point fit ({p['flops_policy']}): {fit.per_2yr:.2f}x / 2 yrs [{lo:.2f}, {hi:.2f}]",
        )
    if p["fp8_ridge"] and acc["ridge_fp8"].notna().any():
        ax.scatter([], [], facecolors="none", edgecolors="0.3", marker="o", s=44, label="hollow: dense fp8 peak")
    keep = _labelled(main, "ridge")
    plotting.annotate_points(
        ax, main["year"][keep], main["ridge"][keep], main["short"][keep], fontsize=7.5, offset=(5, -3)
    )
    # the workloads as horizontal bands: decode at batch 1 and prefill, the range over the models
    inten = result.intensities
    for phase, batch, ci, text in (
        ("decode", 1, 7, "decode, batch 1"),
        ("prefill", 1, 4, f"prefill, {p['prefill_tokens']} tokens"),
    ):
        rows = inten[(inten["phase"] == phase) & (inten["batch"] == batch)]["intensity"]
        lo, hi = float(rows.min()), float(rows.max())
        ax.axhspan(lo / 1.08, hi * 1.08, color=plotting.PALETTE[ci], alpha=0.13, zorder=1, linewidth=0)
        ax.annotate(
            f"{text} (all models)",
            (0.01, hi * 1.1),
            xycoords=("axes fraction", "data"),
            fontsize=8,
            color="0.25",
            va="bottom",
        )
    plotting.log_axis(ax, "y")
    ax.set_xlabel("Year (availability)" if p["date_rule"] == "availability" else "Year (announcement)")
    ax.set_ylabel("FLOPs per byte (log)")
    ax.set_title("(a) Ridge point of each accelerator: peak FLOP/s / DRAM bytes/s", loc="left")
    ax.legend(loc="lower right", fontsize=8)


def _panel_intensity(ax: Any, result: Result) -> None:
    inten, p, acc = result.intensities, result.parameters, result.accelerators
    models = list(dict.fromkeys(inten["model"]))
    recent = acc[acc["ridge"].notna() & (acc["year"] >= p["year_max"] - 2)]
    if len(recent):
        ax.axhspan(recent["ridge"].min(), recent["ridge"].max(), color="0.5", alpha=0.18, linewidth=0, zorder=1)
        ax.annotate(
            f"ridge points of {p['year_max'] - 2}-{p['year_max']} accelerators",
            (0.02, recent["ridge"].min() * 1.04),
            xycoords=("axes fraction", "data"),
            ha="left",
            va="bottom",
            fontsize=8,
            color="0.3",
        )
    batches = sorted(inten["batch"].unique())
    shades = np.linspace(0.35, 1.0, len(batches))
    for x, m in enumerate(models):
        dec = inten[(inten["model"] == m) & (inten["phase"] == "decode")].sort_values("batch")
        pre = inten[(inten["model"] == m) & (inten["phase"] == "prefill")]
        ax.plot(
            [x, x],
            [dec["intensity"].min(), dec["intensity"].max()],
            color=plotting.PALETTE[7],
            alpha=0.35,
            linewidth=5,
            solid_capstyle="round",
            zorder=2,
        )
        last = 0.0
        for (_, r), s in zip(dec.iterrows(), shades):
            ax.scatter([x], [r["intensity"]], color=plotting.PALETTE[7], alpha=float(s), s=26, zorder=3)
            if r["intensity"] > 1.3 * last:  # name a batch only where it stands apart from the one below
                ax.annotate(
                    f"B={r['batch']}",
                    (x, r["intensity"]),
                    xytext=(6, -3),
                    textcoords="offset points",
                    fontsize=7,
                    color="0.3",
                )
                last = r["intensity"]
        lo, hi = pre["intensity"].min(), pre["intensity"].max()
        ax.plot(
            [x + 0.2, x + 0.2],
            [lo, hi * 1.001],
            color=plotting.PALETTE[4],
            linewidth=4,
            zorder=3,
            solid_capstyle="butt",
            label=f"prefill, {p['prefill_tokens']} tokens, B={batches[0]}..{batches[-1]}" if x == 0 else None,
        )
    ax.scatter([], [], color=plotting.PALETTE[7], s=26, label=f"decode, {p['context_len']}-token KV cache")
    traced = [m for m in models if result.methods.get(m) == "traced"]
    if traced:
        ax.scatter([], [], marker="", label="† traced on the meta device (no formula here)")
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels([f"{m} †" if m in traced else m for m in models], rotation=25, ha="right", fontsize=9)
    ax.set_xlim(-0.5, len(models) - 0.3)
    ax.set_title(f"(b) Arithmetic intensity of LLM inference ({p['precision']})", loc="left")
    ax.legend(loc="center left" if len(models) <= 5 else "best", fontsize=8)


def _panel_latency(ax: Any, result: Result) -> None:
    lat, p = result.latency, result.parameters
    for phase, marker in (("decode", "o"), ("prefill", "s")):
        rows = lat[lat["phase"] == phase]
        other = np.where(rows["bound"] == "memory", rows["compute_s"], rows["memory_s"])
        ax.vlines(rows["year"], other, rows["time_s"], color="0.6", linewidth=0.7, zorder=1)
        ax.scatter(rows["year"], other, marker="_", color="0.45", s=30, zorder=2)
        for side, ci in BOUND_COLOR.items():
            g = rows[rows["bound"] == side]
            what = (
                f"decode step (batch {p['latency_batch']}, {p['context_len']}-token cache)"
                if phase == "decode"
                else f"prefill ({p['latency_batch']} x {p['prefill_tokens']} tokens)"
            )
            ax.scatter(
                g["year"],
                g["time_s"],
                marker=marker,
                color=plotting.PALETTE[ci],
                s=30,
                zorder=3,
                label=f"{what}: {side}-bound" if len(g) else None,
            )
    dec = lat[lat["phase"] == "decode"].reset_index(drop=True)
    keep = pd.Series(False, index=dec.index)
    for _, g in dec.groupby("family"):  # per family: the last chip and the fastest one
        keep[g.index[-1]] = keep[g["time_s"].idxmin()] = True
    plotting.annotate_points(
        ax, dec["year"][keep], dec["time_s"][keep], dec["short"][keep], fontsize=7.5, offset=(5, -9)
    )
    ax.scatter([], [], marker="_", color="0.45", s=30, label="the other side of the roof")
    plotting.log_axis(ax, "y")
    ax.set_xlabel("Year")
    ax.set_ylabel("Seconds, lower bound (log)")
    model = decoder_source(p["latency_model"]).label
    ax.set_title(f"(c) Roofline lower bound of {model} on one chip of each accelerator", loc="left")
    ax.legend(loc="upper right", fontsize=8, ncol=1)


def plot_figure5(result: Result) -> Any:
    """The three panels of Figure 5 in one figure."""
    import matplotlib.pyplot as plt

    plotting.apply_style()
    fig = plt.figure(figsize=(13.0, 10.5))
    gs = fig.add_gridspec(2, 2, width_ratios=(1.7, 1.0), height_ratios=(1.15, 1.0), hspace=0.32, wspace=0.06)
    ax_a = fig.add_subplot(gs[0, 0])
    ax_b = fig.add_subplot(gs[0, 1], sharey=ax_a)
    ax_c = fig.add_subplot(gs[1, :])
    _panel_ridge(ax_a, result)
    _panel_intensity(ax_b, result)
    ax_b.tick_params(labelleft=False)
    _panel_latency(ax_c, result)
    for ax in (ax_a, ax_c):
        plotting.declutter_labels(ax)
    fig.suptitle("The memory wall accelerator by accelerator: ridge points against LLM inference", fontsize=13)
    fig.subplots_adjust(left=0.06, right=0.985, top=0.93, bottom=0.06)
    return fig
