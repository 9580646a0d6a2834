"""Figure 1's drawing: the three normalized series, their fits with the rates in the legend, the paper's labelled points named, and the extension drawn hollow."""

from __future__ import annotations

from typing import Any

from ...core.trends import GrowthFit
from .series import (
    PAPER_YEAR_MAX,
    SERIES_TITLES,
    Series,
)

# --------------------------------------------------------------------------- figures
# series -> (palette index, marker, label offset in points, label alignment)
_STYLE = {
    "flops": (0, "o", (-5, 5), "right"),
    "dram": (1, "s", (6, -10), "left"),
    "interconnect": (2, "^", (-6, 5), "right"),
}


# labels that would collide with a neighbour under their series' default placement
_LABEL_PLACEMENT = {
    "R10000": ((0, -15), "center"),
    "TPUv4": ((6, -12), "left"),
    "PCIe 5.0": ((6, -10), "left"),
    "HBM": ((4, -12), "center"),
}


def plot_figure1(
    series: dict[str, Series],
    fits: dict[str, GrowthFit],
    extended: bool = False,
    extended_fits: dict[str, GrowthFit] | None = None,
    year_max: int = PAPER_YEAR_MAX,
) -> Any:
    """The paper's Figure 1: each series normalized to its first point, log y, fitted lines
    with their rates in the legend, the paper's labelled points named.

    With ``extended``, extension points are drawn hollow, the paper-era fits dashed and
    extended to the last point, and the fits with the extension solid. ``year_max`` is the
    last year of the paper-era fit (for the labels).
    """
    import matplotlib.pyplot as plt

    from ...core import plotting

    plotting.apply_style()
    fig, ax = plt.subplots(figsize=(8.6, 7.0 if extended else 5.6))
    for key, s in series.items():
        ci, marker, offset, ha = _STYLE[key]
        color = plotting.PALETTE[ci]
        t = s.table if extended else s.paper_era
        ref = float(s.table["value"].iloc[0])
        era, ext = t[~t["extension"]], t[t["extension"]]
        title = SERIES_TITLES[key]
        if extended:
            end = float(t["year"].max())
            plotting.plot_trend(
                ax,
                era["year"],
                era["value"],
                fits[key],
                name=f"{title} to {year_max}",
                color=color,
                marker=marker,
                scale=1 / ref,
                linestyle="--",
                line_span=(fits[key].year_min, end),
            )
            if len(ext):
                plotting.plot_trend(
                    ax,
                    ext["year"],
                    ext["value"],
                    None,
                    name=f"{title}: released after {year_max}",
                    color=color,
                    marker=marker,
                    scale=1 / ref,
                    filled=False,
                )
            if extended_fits is not None:
                efit = extended_fits[key]
                lx, ly = efit.line()
                ax.plot(
                    lx,
                    ly / ref,
                    color=color,
                    linewidth=1.4,
                    alpha=0.9,
                    label=f"{title} with extension: {plotting.fit_label(efit)}",
                )
        else:
            plotting.plot_trend(
                ax, era["year"], era["value"], fits[key], name=title, color=color, marker=marker, scale=1 / ref
            )
        default = t["label"].map(lambda lab: lab not in _LABEL_PLACEMENT)
        plotting.annotate_points(
            ax, t["year"][default], t["value"][default] / ref, t["label"][default], color=color, offset=offset, ha=ha
        )
        for lab, (off, align) in _LABEL_PLACEMENT.items():
            hit = t[t["label"] == lab]
            plotting.annotate_points(
                ax, hit["year"], hit["value"] / ref, hit["label"], color=color, offset=off, ha=align
            )
    plotting.log_axis(ax, "y")
    ax.set_xlabel("Year")
    ax.set_ylabel("Scaling, relative to the first point of each series (log)")
    title = "Peak compute vs memory and interconnect bandwidth"
    if extended:
        title += f": does the trend hold after {year_max}?"
    ax.set_title(title)
    if extended:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2, fontsize=8.5)
    else:
        ax.legend(loc="upper left")
    fig.tight_layout()
    plotting.declutter_labels(ax)
    return fig
