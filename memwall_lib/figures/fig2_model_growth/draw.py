"""Figure 2's drawing: model size against accelerator memory (a) and training compute (b),
the paper era beside the extension."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...core.trends import GrowthFit
from ...paper import MOORE_PER_2YR

#: Extension points are many; only the largest few of each group are named.
_NAMED_EXTENSION_POINTS = 4


def _scatter(ax: Any, t: pd.DataFrame, col: str, color: str, marker: str, label: str, annotate: bool = True) -> None:
    """Paper-era points filled, extension points hollow; names on the paper-era points and
    on the largest few extension points."""
    from ...core import plotting

    era, ext = t[~t["extension"]], t[t["extension"]]
    ax.scatter(era["year"], era[col], color=color, marker=marker, s=32, zorder=3, label=label)
    if len(ext):
        ax.scatter(
            ext["year"],
            ext[col],
            facecolors="none",
            edgecolors=color,
            marker=marker,
            s=32,
            zorder=3,
            label=f"{label} (after the paper)",
        )
    if annotate:
        named = pd.concat([era, ext.nlargest(_NAMED_EXTENSION_POINTS, col)])
        plotting.annotate_points(ax, named["year"], named[col], named["name"], color=color, fontsize=7.5)


def _fit_ylim(ax: Any, groups: list[pd.DataFrame], col: str) -> None:
    """Y limits from the points (so an extrapolated fit line cannot stretch the axis)."""
    values = pd.concat([g[col] for g in groups if len(g)]).dropna()
    ax.set_ylim(values.min() / 4, values.max() * 8)


def _line(
    ax: Any, fit: GrowthFit, color: str, name: str, linestyle: str = "-", span: tuple[float, float] | None = None
) -> None:
    from ...core import plotting

    lx, ly = fit.line(*(span or (None, None)))
    ax.plot(
        lx,
        ly,
        color=color,
        linestyle=linestyle,
        linewidth=1.8,
        label=f"{name}: {plotting.format_factor(fit.per_2yr)} / 2 yrs",
    )


def _new_panels(n: int) -> tuple[Any, Any]:
    """A row of ``n`` panels sharing the y axis, in the project style."""
    import matplotlib.pyplot as plt

    from ...core import plotting

    plotting.apply_style()
    fig, axes = plt.subplots(1, n, figsize=(7.6 * n, 5.8), squeeze=False, sharey=True)
    return fig, axes[0]


def _finish_panel(ax: Any, title: str) -> None:
    from ...core import plotting

    plotting.log_axis(ax, "y")
    ax.set_xlabel("Year")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)


def _finish_figure(fig: Any, axes: Any, ylabel: str) -> Any:
    from ...core import plotting

    axes[0].set_ylabel(ylabel)
    fig.tight_layout()
    for ax in axes:
        plotting.declutter_labels(ax)
    return fig


def plot_size_vs_memory(
    panels: list[tuple[str, dict[str, pd.DataFrame], pd.DataFrame, dict[str, GrowthFit]]], divisor: float
) -> Any:
    """Figure 2(a), one axes per panel: (title, size groups, memory points, fits with keys
    ``transformer`` and ``memory``). Parameters in billions on a log axis."""
    from ...core import plotting

    fig, axes = _new_panels(len(panels))
    for ax, (title, groups, mem, fits) in zip(axes, panels):
        _scatter(ax, groups["transformer"], "parameters_billions", plotting.PALETTE[0], "o", "Transformers")
        _scatter(ax, groups["cv"], "parameters_billions", plotting.PALETTE[2], "s", "CV models")
        _scatter(ax, groups["recsys"], "parameters_billions", plotting.PALETTE[3], "D", "Recommender")
        _scatter(
            ax,
            mem,
            "largest_model_billions",
            plotting.PALETTE[1],
            "^",
            f"Accelerator memory / {divisor:g} B per parameter",
            annotate=False,
        )
        era_mem = mem[~mem["extension"]]
        plotting.annotate_points(
            ax,
            era_mem["year"],
            era_mem["largest_model_billions"],
            era_mem["name"],
            color=plotting.PALETTE[1],
            fontsize=7,
            offset=(4, -10),
        )
        _line(ax, fits["transformer"], plotting.PALETTE[0], "Transformer size")
        _line(ax, fits["memory"], plotting.PALETTE[1], "Accelerator memory")
        if "paper_transformer" in fits:
            _line(
                ax,
                fits["paper_transformer"],
                plotting.PALETTE[0],
                "Paper-era transformer fit",
                "--",
                span=(fits["paper_transformer"].year_min, fits["transformer"].year_max),
            )
        if "frontier" in fits:
            _line(ax, fits["frontier"], plotting.PALETTE[4], "Running record (largest so far)", "-.")
        _finish_panel(ax, title)
        _fit_ylim(
            ax,
            [*groups.values(), mem.rename(columns={"largest_model_billions": "parameters_billions"})],
            "parameters_billions",
        )
    return _finish_figure(fig, axes, "Parameters (billions, log)")


def plot_training_compute(panels: list[tuple[str, dict[str, pd.DataFrame], dict[str, GrowthFit]]]) -> Any:
    """Figure 2(b), one axes per panel: (title, compute groups, fits with key
    ``transformer``), plus a Moore's-law line (2x / 2 yrs) from the first transformer."""
    from ...core import plotting

    fig, axes = _new_panels(len(panels))
    for ax, (title, groups, fits) in zip(axes, panels):
        _scatter(ax, groups["transformer"], "compute_pflops", plotting.PALETTE[0], "o", "Transformers (NLP)")
        _scatter(ax, groups["nlp_other"], "compute_pflops", plotting.PALETTE[5], "v", "Other NLP (RNN)")
        _scatter(ax, groups["cv"], "compute_pflops", plotting.PALETTE[2], "s", "CV models")
        _scatter(ax, groups["speech"], "compute_pflops", plotting.PALETTE[3], "D", "Speech models")
        tf = fits["transformer"]
        _line(ax, tf, plotting.PALETTE[0], "Transformer training compute")
        if "paper_transformer" in fits:
            _line(
                ax,
                fits["paper_transformer"],
                plotting.PALETTE[0],
                "Paper-era transformer fit",
                "--",
                span=(fits["paper_transformer"].year_min, tf.year_max),
            )
        if "frontier" in fits:
            _line(ax, fits["frontier"], plotting.PALETTE[4], "Running record (largest so far)", "-.")
        all_years = pd.concat([g["year"] for g in groups.values()])
        moore = moore_line(tf, float(all_years.min()), float(all_years.max()))
        ax.plot(
            moore[0],
            moore[1],
            color="0.35",
            linestyle=":",
            linewidth=1.5,
            label=f"Moore's law: {MOORE_PER_2YR:g}x / 2 yrs",
        )
        _finish_panel(ax, title)
        _fit_ylim(ax, list(groups.values()), "compute_pflops")
    return _finish_figure(fig, axes, "Training compute (PFLOPs, log)")


def moore_line(anchor: GrowthFit, year_min: float, year_max: float, n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Moore's law (2x / 2 yrs) drawn through ``anchor``'s fitted value at its first year."""
    years = np.linspace(year_min, year_max, n)
    start = anchor.predict([anchor.year_min])[0]
    return years, start * MOORE_PER_2YR ** ((years - anchor.year_min) / 2)
