"""The one plot style of memwall, and the few plot helpers every figure shares.

Colour-blind-safe palette (Okabe-Ito), readable fonts, light grid, no top/right spines,
log axes where the paper uses them. Functions here draw what they are given; they never
compute the numbers (fits come from :mod:`memwall_lib.core.trends`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence

import matplotlib


def in_kernel() -> bool:
    """True inside a Jupyter kernel (JupyterLab, papermill, nbconvert): ipykernel is loaded, and it
    set ``MPLBACKEND`` to its inline backend unless the user chose another one."""
    return "ipykernel" in sys.modules


def choose_backend() -> str:
    """Keep whatever backend a kernel or the user chose (``MPLBACKEND``), so a notebook's plot cell
    shows its figures inline; elsewhere (scripts, tests, ``python -m``) use the non-interactive Agg,
    which never opens a window. Returns the backend in use."""
    if not in_kernel() and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    return str(matplotlib.get_backend())


choose_backend()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from .trends import GrowthFit  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe palette, black last.
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")


def apply_style() -> None:
    """Set the project style for every later figure (idempotent)."""
    sns.set_theme(context="notebook", style="ticks", palette=list(PALETTE), font_scale=1.0)
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "legend.fontsize": 9.5,
            "legend.frameon": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "grid.linewidth": 0.6,
            "pdf.fonttype": 42,  # embed TrueType: editable text in the PDF
            "svg.hashsalt": "memwall",
        }
    )


def format_factor(x: float) -> str:
    """A growth factor as text: 3.04 -> '3.0x', 61234 -> '61,000x' (2 significant digits)."""
    if not np.isfinite(x):
        return "n/a"
    if x < 10:
        return f"{x:.1f}x"
    digits = int(np.floor(np.log10(x))) - 1
    rounded = round(x, -digits)
    return f"{rounded:,.0f}x"


def fit_label(fit: GrowthFit, name: str = "") -> str:
    """Legend text computed from a fit: 'name: 61,000x / 20 yrs (3.0x / 2 yrs)'."""
    body = f"{format_factor(fit.per_20yr)} / 20 yrs ({format_factor(fit.per_2yr)} / 2 yrs)"
    return f"{name}: {body}" if name else body


def plot_trend(
    ax: plt.Axes,
    years: Sequence[float],
    values: Sequence[float],
    fit: GrowthFit | None,
    *,
    name: str,
    color: str,
    marker: str = "o",
    line_span: tuple[float, float] | None = None,
    linestyle: str = "-",
    scale: float = 1.0,
    filled: bool = True,
) -> None:
    """Scatter ``values`` at ``years`` and draw ``fit`` as a line labelled with its rates.

    ``scale`` multiplies values and line alike (e.g. normalization already applied, or a
    unit change); ``line_span`` extends the line beyond the fitted points.
    """
    ys = np.asarray(values, dtype=float) * scale
    ax.scatter(
        years,
        ys,
        color=color if filled else "none",
        edgecolors=color,
        marker=marker,
        s=28,
        zorder=3,
        linewidths=1.0,
        label=None if fit is not None else name,
    )
    if fit is not None:
        lo, hi = line_span if line_span is not None else (fit.year_min, fit.year_max)
        lx, ly = fit.line(lo, hi)
        ax.plot(lx, ly * scale, color=color, linestyle=linestyle, linewidth=1.8, label=fit_label(fit, name), zorder=2)


def annotate_points(
    ax: plt.Axes,
    xs: Iterable[float],
    ys: Iterable[float],
    labels: Iterable[str],
    color: str = "0.2",
    fontsize: float = 8.5,
    offset: tuple[float, float] = (4, 4),
    ha: str = "left",
) -> None:
    """Write ``labels`` next to points (``offset`` in points, ``ha`` the text alignment),
    skipping empty labels."""
    for x, y, text in zip(xs, ys, labels):
        if text:
            ax.annotate(
                text, (x, y), xytext=offset, textcoords="offset points", ha=ha, fontsize=fontsize, color=color, zorder=4
            )


def log_axis(ax: plt.Axes, axis: str = "y") -> None:
    """Log scale with plain decade labels (1, 10, 100, 10^3 ...)."""
    if axis in ("y", "both"):
        ax.set_yscale("log")
    if axis in ("x", "both"):
        ax.set_xscale("log")


def declutter_labels(ax: plt.Axes, max_steps: int = 8) -> int:
    """Nudge point labels (annotations) of ``ax`` up or down until they no longer overlap
    an earlier label; returns how many were moved. Call after the axis limits are final."""
    from matplotlib.text import Annotation

    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = sorted((t for t in ax.texts if isinstance(t, Annotation)), key=lambda t: t.xy[0])
    placed: list = []
    moved = 0
    for label in labels:
        box = label.get_window_extent(renderer)
        if any(box.overlaps(p) for p in placed):
            step = box.height / fig.dpi * 72 * 1.05  # label height in points
            x0, y0 = label.xyann
            for i in range(1, max_steps + 1):
                for sign in (-1, 1):
                    label.xyann = (x0, y0 + sign * i * step)
                    box = label.get_window_extent(renderer)
                    if not any(box.overlaps(p) for p in placed):
                        break
                else:
                    continue
                break
            moved += 1
        placed.append(box)
    return moved
