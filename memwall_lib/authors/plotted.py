"""The values plotted in the authors' own figure files, read back from their vector PDFs.

``data/authors/`` holds the authors' matplotlib PDFs of Figures 1, 2(a), 2(b) and 4 (MIT
License; see ``data/authors/SOURCE.md``). :func:`extract` reads each page with
:mod:`memwall_lib.authors.pdf` (pikepdf's content-stream parser), calibrates both axes from the tick
marks and their labels (:class:`Axis`), and returns one row per drawn element:

- ``marker``: a scatter point (Figs 1, 2a, 2b), the series from its colour, the text label
  beside it (:func:`assign_labels`) or "" if it has none;
- ``fit_line_start`` / ``fit_line_end``: the two ends (smallest and largest date) of each
  drawn trend line (Figs 1, 2a, 2b);
- ``bar_segment`` (Fig 4): one stacked segment (``value`` its height, ``value_base`` its
  bottom) of a model's bar; ``step`` (Fig 4): one level of the GPU-memory step line, its
  ``label`` the bars it spans.

Units of ``value``/``value_base`` are the figure's axis units: Fig 1 normalized scaling (each
series divided by its first point, dimensionless), Fig 2a billions of parameters, Fig 2b
PFLOPs (1e15 FLOPs), Fig 4 GB. ``date`` is ISO (rounded to the day; empty for Fig 4, whose
x axis is categorical). ``python -m memwall_lib.authors.plotted`` rewrites
``data/authors_plotted.csv``; the identifications against our tables are in
:mod:`memwall_lib.authors.identify`, the fits in :mod:`memwall_lib.figures.authors_points`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.output import atomic_write_text
from ..core.paths import DATA_DIR
from ..tables.schemas import AUTHORS_PLOTTED
from . import pdf

AUTHORS_DIR: Path = DATA_DIR / "authors"
CSV_PATH: Path = DATA_DIR / "authors_plotted.csv"
SOURCE_COMMIT = "e14c1ed73ed58b75bac7e06b86715a8a509bb59c"
COLUMNS = ["figure", "kind", "series", "label", "date", "value", "value_base", "identified_as", "source"]
EPOCH = dt.date(1970, 1, 1)

#: The contract of ``data/authors_plotted.csv`` (:data:`memwall_lib.tables.schemas.AUTHORS_PLOTTED`).
SCHEMA = AUTHORS_PLOTTED

Colour = tuple[float, float, float]
BLACK, RED, GREEN, BLUE = (0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.5, 0.0), (0.0, 0.0, 1.0)


@dataclass(frozen=True)
class FigureSpec:
    """How to read one figure: its file, x axis (``date`` or ``category``), y scale
    (``log``/``linear``), series names by marker / line / bar colour (RGB rounded to 3
    decimals), and the label colours that may name a marker of any series (otherwise a
    coloured label names a marker of its own colour)."""

    file: str
    x_scale: str
    y_scale: str
    marker_series: dict[Colour, str]
    line_series: dict[Colour, str]
    free_label_colours: tuple[Colour, ...] = ()


FIGURES: dict[str, FigureSpec] = {
    "fig1": FigureSpec(
        "hw_scaling.pdf",
        "date",
        "log",
        {BLACK: "peak_flops", GREEN: "dram_bandwidth", BLUE: "interconnect_bandwidth"},
        {BLACK: "peak_flops", GREEN: "dram_bandwidth", BLUE: "interconnect_bandwidth"},
    ),
    "fig2a": FigureSpec(
        "model_size_scaling.pdf",
        "date",
        "log",
        {RED: "transformer", BLUE: "cv", BLACK: "recsys", GREEN: "accelerator_memory_div6"},
        {RED: "transformer", GREEN: "accelerator_memory_div6"},
        (BLACK,),
    ),
    "fig2b": FigureSpec(
        "ai_and_compute.pdf",
        "date",
        "log",
        {BLUE: "all_models", RED: "transformer"},
        {RED: "transformer", BLACK: "moore_law"},
        (BLACK,),
    ),
    "fig4": FigureSpec(
        "gpu_memory_wall.pdf",
        "category",
        "linear",
        {(0.0, 0.0, 0.545): "parameters", (0.416, 0.353, 0.804): "optimizer", (0.0, 0.749, 1.0): "feature_maps"},
        {BLACK: "gpu_memory"},
    ),
}


def colour_key(c: Colour) -> Colour:
    """A colour rounded to 3 decimals (the key of :class:`FigureSpec` tables)."""
    return (round(c[0], 3), round(c[1], 3), round(c[2], 3))


# --------------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class Axis:
    """A linear map ``u = intercept + slope * pixel`` from a page coordinate (points) to the
    axis' linear space ``u``: days since 1970-01-01 (``date``, matplotlib's date numbers),
    log10(value) (``log``) or the value (``linear``). ``residual`` is the largest tick misfit
    in ``u`` units."""

    scale: str
    slope: float
    intercept: float
    residual: float

    def to_value(self, pixel: float) -> float:
        """Data value at ``pixel``: days since 1970-01-01 for dates."""
        u = self.intercept + self.slope * pixel
        return float(10**u) if self.scale == "log" else float(u)


def tick_value(label: str, scale: str) -> float | None:
    """The value a tick label stands for: a year label ``"1996"`` on a date axis is
    1996-01-01 in days since 1970-01-01; numbers (``"0.01"``, ``"1e+02"``) as written.
    None for text that is not a tick label (axis titles)."""
    if scale == "date":
        return float((dt.date(int(label), 1, 1) - EPOCH).days) if re.fullmatch(r"\d{4}", label) else None
    try:
        return float(label)
    except ValueError:
        return None


def calibrate(pixels: list[float], values: list[float], scale: str, tol: float = 1e-3) -> Axis:
    """Least-squares axis map through (tick pixel, tick value) pairs; raises ValueError with
    fewer than 2 ticks or a tick misfit above ``tol`` (in ``u`` units: days, decades, value)."""
    if len(pixels) < 2:
        raise ValueError(f"calibrating a {scale} axis needs at least 2 labelled ticks, got {len(pixels)}")
    u = np.log10(values) if scale == "log" else np.asarray(values, dtype=float)
    slope, intercept = np.polyfit(np.asarray(pixels, dtype=float), u, 1)
    resid = float(np.max(np.abs(intercept + slope * np.asarray(pixels) - u)))
    if resid > tol:
        raise ValueError(f"{scale} axis: tick labels do not lie on one line (misfit {resid:g})")
    return Axis(scale, float(slope), float(intercept), resid)


def axes_box(page: pdf.Page) -> tuple[float, float, float, float]:
    """The data area (x0, y0, x1, y1): the clip rectangle most paths are drawn under."""
    return Counter(p.clip for p in page.paths if p.clip is not None).most_common(1)[0][0]


def _ticks(page: pdf.Page, box: tuple[float, float, float, float]) -> tuple[list[float], list[float]]:
    """Page positions of the x and y tick marks: short strokes leaving the data area's
    bottom (x ticks) or left (y ticks) edge outwards."""
    xs, ys = [], []
    for p in page.paths:
        if p.paint not in ("S", "B") or len(p.points) != 2:
            continue
        (ax, ay), (bx, by) = p.points
        if abs(ax - bx) < 1e-6 and abs(max(ay, by) - box[1]) < 1e-3 and min(ay, by) < box[1]:
            xs.append(ax)
        if abs(ay - by) < 1e-6 and abs(max(ax, bx) - box[0]) < 1e-3 and min(ax, bx) < box[0]:
            ys.append(ay)
    return xs, ys


def tick_labels(page: pdf.Page, box: tuple[float, float, float, float]) -> tuple[list[pdf.Text], list[pdf.Text]]:
    """Texts below the data area (x tick labels, axis title included) and left of it (y)."""
    below = [t for t in page.texts if t.y < box[1] and not (t.vertical and t.x < box[0])]
    left = [t for t in page.texts if t.x + t.width <= box[0] + 1 and not t.vertical]
    return below, left


def _nearest(targets: list[float], at: float) -> float:
    return min(targets, key=lambda v: abs(v - at))


def calibrate_page(page: pdf.Page, x_scale: str, y_scale: str) -> tuple[Axis | None, Axis]:
    """The x axis (None for a categorical one) and the y axis of ``page``, from each
    labelled tick (a label is matched to the tick mark nearest its centre)."""
    box = axes_box(page)
    xt, yt = _ticks(page, box)
    below, left = tick_labels(page, box)
    ypix, yval = [], []
    for t in left:
        v = tick_value(t.text, y_scale)
        if v is not None:
            ypix.append(_nearest(yt, t.y + 0.38 * t.size))
            yval.append(v)
    yaxis = calibrate(ypix, yval, y_scale)
    if x_scale == "category":
        return None, yaxis
    xpix, xval = [], []
    for t in below:
        v = tick_value(t.text, x_scale)
        if v is not None:
            xpix.append(_nearest(xt, t.x + t.width / 2))
            xval.append(v)
    return calibrate(xpix, xval, x_scale), yaxis


# --------------------------------------------------------------------------- labels
def text_box(t: pdf.Text) -> tuple[float, float, float, float]:
    """Approximate ink box (x0, y0, x1, y1) of a horizontal text: DejaVu descends 0.24 and
    rises 0.73 of the font size (cap height) about the baseline."""
    return t.x, t.y - 0.24 * t.size, t.x + t.width, t.y + 0.73 * t.size


def box_distance(box: tuple[float, float, float, float], x: float, y: float) -> float:
    """Distance (points) from (x, y) to a box; 0 inside it."""
    dx = max(box[0] - x, 0.0, x - box[2])
    dy = max(box[1] - y, 0.0, y - box[3])
    return float(np.hypot(dx, dy))


def assign_labels(
    points: list[tuple[float, float, Colour]], labels: list[pdf.Text], free_colours: tuple[Colour, ...] = ()
) -> dict[int, int]:
    """Label index -> point index, one label per point. The authors' labels are centred
    horizontally on their point (matplotlib ``annotate``, ``ha="center"``) at a few fixed
    vertical offsets, so: (1) a label whose centre is within 0.5 pt of a point's x names the
    one of those points nearest in y; (2) a label moved sideways names the point, among
    those left, that sits at one of the offsets found in (1) (within 0.5 pt) with the
    smallest sideways shift; (3) otherwise the point nearest its box. Pairs are taken
    closest first. A label whose colour is not in ``free_colours`` only names points of its
    own colour. Points are (x, y, colour) in page points."""

    def ok(li: int, pi: int) -> bool:
        lc = colour_key(labels[li].fill)
        return lc in free_colours or lc == points[pi][2]

    def greedy(pairs: list[tuple[float, int, int]], out: dict[int, int]) -> None:
        for _, li, pi in sorted(pairs):
            if li not in out and pi not in out.values():
                out[li] = pi

    centre = [t.x + t.width / 2 for t in labels]
    out: dict[int, int] = {}
    greedy(
        [
            (abs(t.y - y), li, pi)
            for li, t in enumerate(labels)
            for pi, (x, y, _) in enumerate(points)
            if ok(li, pi) and abs(centre[li] - x) < 0.5
        ],
        out,
    )
    offsets = [labels[li].y - points[pi][1] for li, pi in out.items()]
    rest = [
        (
            abs(centre[li] - x)
            if any(abs(t.y - y - o) < 0.5 for o in offsets)
            else 1e4 + box_distance(text_box(t), x, y),
            li,
            pi,
        )
        for li, t in enumerate(labels)
        for pi, (x, y, _) in enumerate(points)
        if ok(li, pi) and li not in out and pi not in out.values()
    ]
    greedy(rest, out)
    return out


# --------------------------------------------------------------------------- extraction
def _iso(days: float) -> str:
    return (EPOCH + dt.timedelta(days=int(round(days)))).isoformat()


def _row(
    fig: str, kind: str, series: str, label: str, date: str, value: float, base: float = np.nan
) -> dict[str, object]:
    return {
        "figure": fig,
        "kind": kind,
        "series": series,
        "label": label,
        "date": date,
        "value": value,
        "value_base": base,
        "identified_as": "",
        "source": f"data/authors/{FIGURES[fig].file} @ amirgholami/ai_and_memory_wall {SOURCE_COMMIT[:7]}",
    }


def marker_points(page: pdf.Page, spec: FigureSpec) -> list[tuple[float, float, str, Colour]]:
    """(x, y, series, colour) of every marker: XObject markers and closed curves drawn alone."""
    out = [(m.x, m.y, spec.marker_series[colour_key(m.fill)], colour_key(m.fill)) for m in page.markers]
    for p in page.paths:
        xs, ys = [q[0] for q in p.points], [q[1] for q in p.points]
        if p.curved and p.paint in ("f", "B") and max(xs) - min(xs) < 40 and abs(np.ptp(xs) - np.ptp(ys)) < 0.5:
            c = colour_key(p.fill)
            out.append(((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, spec.marker_series[c], c))
    return out


def _scatter_rows(fig: str, page: pdf.Page, spec: FigureSpec, xa: Axis, ya: Axis) -> list[dict[str, object]]:
    box = axes_box(page)
    markers = marker_points(page, spec)
    tick = min(t.size for t in tick_labels(page, box)[0])
    texts = [
        t
        for t in page.texts
        if box[0] <= t.x <= box[2] and box[1] <= t.y <= box[3] and not t.vertical and t.size < tick
    ]
    # markers drawn on top of each other (Fig 2b: a transformer over its all-models marker) are one point
    points: list[tuple[float, float, Colour]] = []
    where: list[int] = []
    for x, y, _, c in markers:
        hit = [i for i, (px, py, _) in enumerate(points) if abs(px - x) < 0.01 and abs(py - y) < 0.01]
        if not hit:
            points.append((x, y, c))
        where.append(hit[0] if hit else len(points) - 1)
    named = assign_labels(points, texts, spec.free_label_colours)
    point_label = {pi: texts[li].text for li, pi in named.items()}
    rows = [
        _row(fig, "marker", s, point_label.get(where[i], ""), _iso(xa.to_value(x)), ya.to_value(y))
        for i, (x, y, s, _) in enumerate(markers)
    ]
    for p in page.paths:
        if p.paint == "S" and p.width >= 5 and p.clip == box and len(p.points) >= 2:
            series = spec.line_series[colour_key(p.stroke)]
            lo, hi = min(p.points), max(p.points)
            rows.append(_row(fig, "fit_line_start", series, "", _iso(xa.to_value(lo[0])), ya.to_value(lo[1])))
            rows.append(_row(fig, "fit_line_end", series, "", _iso(xa.to_value(hi[0])), ya.to_value(hi[1])))
    return rows


def _bar_rows(fig: str, page: pdf.Page, spec: FigureSpec, ya: Axis) -> list[dict[str, object]]:
    """Fig 4: stacked bar segments, and the levels of the step line (a model is under a
    level when its tick lies within the level's horizontal extent)."""
    box = axes_box(page)
    xt, _ = _ticks(page, box)
    below, _ = tick_labels(page, box)
    cats = {_nearest(xt, t.x + 0.3 * t.size): t.text for t in below if t.vertical}
    rows = []
    for p in page.paths:
        c = colour_key(p.fill)
        if p.paint == "f" and p.clip == box and c in spec.marker_series and len(p.points) == 4:
            xs, ys = [q[0] for q in p.points], [q[1] for q in p.points]
            label = cats[_nearest(list(cats), (min(xs) + max(xs)) / 2)]
            lo, hi = ya.to_value(min(ys)), ya.to_value(max(ys))
            # a linear axis in GB: read to the byte-level noise of the page coordinates (1e-6 GB)
            rows.append(_row(fig, "bar_segment", spec.marker_series[c], label, "", round(hi - lo, 6), round(lo, 6)))
        elif p.paint == "S" and p.clip == box and colour_key(p.stroke) in spec.line_series:
            levels = {round(q[1], 6) for q in p.points}
            if len(levels) == 1:
                x0, x1 = min(q[0] for q in p.points), max(q[0] for q in p.points)
                under = "; ".join(cats[x] for x in sorted(cats) if x0 <= x <= x1)
                rows.append(
                    _row(
                        fig,
                        "step",
                        spec.line_series[colour_key(p.stroke)],
                        under,
                        "",
                        round(ya.to_value(p.points[0][1]), 6),
                    )
                )
    return rows


def extract(directory: Path = AUTHORS_DIR) -> pd.DataFrame:
    """Every plotted element of the four figures (columns :data:`COLUMNS`; see module
    docstring), in drawing order within each figure."""
    rows: list[dict[str, object]] = []
    for fig, spec in FIGURES.items():
        page = pdf.read_page(directory / spec.file)
        xa, ya = calibrate_page(page, spec.x_scale, spec.y_scale)
        rows += _bar_rows(fig, page, spec, ya) if xa is None else _scatter_rows(fig, page, spec, xa, ya)
    return pd.DataFrame(rows, columns=COLUMNS)


def to_csv_text(frame: pd.DataFrame) -> str:
    """The CSV text of ``frame`` (values to 7 significant digits)."""
    return frame.to_csv(index=False, float_format="%.7g", lineterminator="\n")


def main() -> None:
    """Rewrite ``data/authors_plotted.csv`` (with identifications, see
    :func:`memwall_lib.authors.identify.identify`)."""
    from .identify import identify

    atomic_write_text(CSV_PATH, to_csv_text(identify(extract())))
    print(f"wrote {CSV_PATH}")


if __name__ == "__main__":
    main()
