"""The one plot style of memwall, and the few plot helpers every figure shares.

Colour-blind-safe palette (Okabe-Ito), readable fonts, light grid, no top/right spines,
log axes where the paper uses them. Functions here draw what they are given; they never
compute the numbers (fits come from :mod:`memwall_lib.core.trends`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

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


def _marker_boxes(ax: plt.Axes, half_pt: float) -> list[Any]:
    """Display-space boxes (``half_pt`` points either side) around every marker of ``ax``:
    scatter points and the markers of lines drawn with one."""
    from matplotlib.transforms import Bbox

    half = half_pt * ax.figure.dpi / 72
    xy: list[Any] = []
    for coll in ax.collections:
        offsets = coll.get_offsets()
        if len(offsets):
            xy.extend(coll.get_offset_transform().transform(offsets))
    for line in ax.lines:
        if line.get_marker() not in (None, "", "None", " "):
            xy.extend(line.get_transform().transform(line.get_xydata()))
    return [Bbox.from_bounds(x - half, y - half, 2 * half, 2 * half) for x, y in xy if np.isfinite([x, y]).all()]


_MIRROR = {"left": "right", "right": "left", "center": "center"}


def _candidates(x0: float, y0: float, ha: str, step: float, max_steps: int) -> list[tuple[float, float, str, float]]:
    """Offsets (points), alignments and a distance penalty for the places to try for one label:
    as drawn (0), mirrored to the other side of its point, then moved up or down by ``step``
    at a time on either side (the farther, the dearer)."""
    sides = [(x0, ha, 0.0), (-x0, _MIRROR.get(ha, ha), 0.2)]
    out = [(x, y0, a, extra) for x, a, extra in sides]
    for i in range(1, max_steps + 1):
        for x, a, extra in sides:
            out += [(x, y0 + i * step, a, 0.3 * i + extra), (x, y0 - i * step, a, 0.3 * i + extra)]
    return out


def _leader(ax: plt.Axes, label: Any) -> None:
    """Redraw ``label`` with a thin line to its point (for a label moved away from it)."""
    ax.annotate(
        label.get_text(),
        label.xy,
        xytext=label.xyann,
        textcoords="offset points",
        ha=label.get_horizontalalignment(),
        va=label.get_verticalalignment(),
        fontsize=label.get_fontsize(),
        color=label.get_color(),
        zorder=label.get_zorder(),
        arrowprops={"arrowstyle": "-", "color": label.get_color(), "lw": 0.5, "alpha": 0.6, "shrinkA": 1, "shrinkB": 3},
    )
    label.remove()


def declutter_labels(ax: plt.Axes, max_steps: int = 6) -> int:
    """Place the point labels (annotations) of ``ax`` so that none overlaps an earlier label or
    the legend, leaves the axes, or (if it can help it) covers a marker: each label takes the
    cheapest of :func:`_candidates` (overlapping a label costs 10, leaving the axes 100, each
    marker covered 1, plus the distance moved); one moved two steps or more gets a leader line
    to its point. Returns how many were moved. Call after the axis limits are final."""
    from matplotlib.text import Annotation

    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    markers = _marker_boxes(ax, half_pt=3.0)
    legend = ax.get_legend()
    # a label under the legend is hidden: the legend counts as a label already placed
    placed: list[Any] = [legend.get_window_extent(renderer)] if legend is not None else []
    labels = sorted((t for t in ax.texts if isinstance(t, Annotation)), key=lambda t: t.xy[0])
    moved = 0
    gap = 1.5 * fig.dpi / 72  # 1.5 points

    def cost(box: Any) -> float:
        inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        return 10 * sum(box.overlaps(p) for p in placed) + sum(box.overlaps(m) for m in markers) + 100 * (not inside)

    for label in labels:
        start = (float(label.xyann[0]), float(label.xyann[1]), str(label.get_horizontalalignment()))
        step = label.get_window_extent(renderer).height / fig.dpi * 72 * 1.05  # label height in points
        best: tuple[float, tuple[float, float, str], Any] | None = None
        for x, y, ha, distance in _candidates(start[0], start[1], start[2], step, max_steps):
            label.xyann = (x, y)
            label.set_horizontalalignment(ha)
            box = label.get_window_extent(renderer).padded(gap)  # a clear gap between labels
            c = cost(box) + distance
            if best is None or c < best[0]:
                best = (c, (x, y, ha), box)
        assert best is not None
        (x, y, ha), box = best[1], best[2]
        label.xyann = (x, y)
        label.set_horizontalalignment(ha)
        moved += (x, y, ha) != start
        if abs(y - start[1]) >= 1.5 * step:
            _leader(ax, label)
        placed.append(box)
    return moved
