"""The values read back from the authors' figure PDFs (data/authors/): the extraction
reproduces the committed CSV, the axis calibration and label assignment work on synthetic
input, and the growth rates fitted on the authors' points are those of their drawn lines."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from memwall_lib.authors import plotted as ap
from memwall_lib.authors.identify import identify
from memwall_lib.authors.pdf import Text, read_page
from memwall_lib.core.schema import read_table
from memwall_lib.figures import authors_points as af
from memwall_lib.tables import load_authors_plotted

BLACK, RED = (0.0, 0.0, 0.0), (1.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return identify(ap.extract())


# --------------------------------------------------------------------------- fits of the authors' lines, to check ours


def matches_paper(key: str, per_2yr: float) -> bool:
    """Whether the trend ``key``'s ``per_2yr`` rounds to the paper's number at the precision
    the paper states it (``rounds_to_paper``)."""
    return af.rounds_to_paper(af.TREND_CLAIMS[key], per_2yr)


def authors_fits(frame: pd.DataFrame) -> dict[str, float]:
    """Trend id -> growth per 2 years fitted on the authors' markers (``authors_growth_fits``)."""
    return {key: fit.per_2yr for key, fit in af.authors_growth_fits(frame).items()}


def days_of(frame: pd.DataFrame) -> np.ndarray:
    return ((pd.to_datetime(frame["date"]) - pd.Timestamp("1970-01-01")).dt.days).to_numpy(float)


def drawn_slopes(frame: pd.DataFrame) -> dict[str, float]:
    """Line id (``figure.series``, every drawn line) -> growth per 2 years of the authors'
    drawn line between its two end points, a year being 365.25 days (the line is straight
    in log10(value) against matplotlib's day numbers)."""
    out = {}
    ends = frame[frame["kind"].isin(("fit_line_start", "fit_line_end"))]
    for (fig, series), g in ends.groupby(["figure", "series"], sort=False):
        g = g.set_index("kind").loc[["fit_line_start", "fit_line_end"]]
        d0, d1 = days_of(g)
        v0, v1 = g["value"].to_numpy(float)
        out[f"{fig}.{series}"] = float((v1 / v0) ** (2 * 365.25 / (d1 - d0)))
    return out


def day_fits(frame: pd.DataFrame) -> dict[str, float]:
    """Like ``authors_fits`` but least squares of log10(value) on day numbers, a year
    being 365.25 days (the x space the authors' lines were fitted in)."""
    out = {}
    for key, (fig, series) in af.TRENDS.items():
        pts = frame[(frame["figure"] == fig) & (frame["kind"] == "marker") & (frame["series"] == series)]
        slope = np.polyfit(days_of(pts), np.log10(pts["value"].to_numpy(float)), 1)[0]
        out[key] = float(10 ** (slope * 2 * 365.25))
    return out


def test_extraction_reproduces_the_committed_csv(table: pd.DataFrame) -> None:
    assert ap.to_csv_text(table) == ap.CSV_PATH.read_text()


def test_the_csv_passes_its_schema() -> None:
    frame = read_table(ap.CSV_PATH, ap.SCHEMA)
    assert len(frame) == 156
    assert frame.groupby("figure").size().to_dict() == {"fig1": 65, "fig2a": 27, "fig2b": 35, "fig4": 29}


# --------------------------------------------------------------------------- calibration
def test_tick_values() -> None:
    assert ap.tick_value("1996", "date") == (dt.date(1996, 1, 1) - dt.date(1970, 1, 1)).days
    assert ap.tick_value("YEAR", "date") is None
    assert ap.tick_value("1e+02", "log") == 100.0
    assert ap.tick_value("0.01", "log") == 0.01
    assert ap.tick_value("Parameter Count (Billion)", "log") is None


def test_date_axis_round_trip() -> None:
    years = [2012, 2013, 2014, 2015]
    days = [ap.tick_value(str(y), "date") for y in years]
    pixels = [150.0 + 0.5 * d for d in days]  # a linear day axis, leap years included
    axis = ap.calibrate(pixels, days, "date")
    assert axis.residual < 1e-9
    for p, d in zip(pixels, days):
        assert axis.to_value(p) == pytest.approx(d)
    assert axis.to_value(pixels[0] + 0.5) == pytest.approx(days[0] + 1.0)


def test_log_axis_round_trip() -> None:
    axis = ap.calibrate([88.9, 286.0, 483.1], [0.01, 1.0, 100.0], "log")
    assert axis.to_value(286.0) == pytest.approx(1.0)
    assert axis.to_value((286.0 + 483.1) / 2) == pytest.approx(10.0)
    assert axis.to_value(483.1 + 1.5 * 197.1) == pytest.approx(1e5)


def test_calibration_rejects_too_few_or_inconsistent_ticks() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        ap.calibrate([1.0], [1.0], "linear")
    with pytest.raises(ValueError, match="do not lie on one line"):
        ap.calibrate([0.0, 1.0, 2.0], [0.0, 5.0, 11.0], "linear")


def test_the_pdf_axes_calibrate_to_their_ticks(table: pd.DataFrame) -> None:
    # the first point of each normalized Fig 1 series is exactly 1, markers land on whole days
    first = table[(table["figure"] == "fig1") & (table["kind"] == "marker")].groupby("series").head(1)
    assert first["value"].tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-7)
    steps = table[(table["figure"] == "fig4") & (table["kind"] == "step")]["value"]
    assert steps.tolist() == [3, 6, 12, 16, 32]


# --------------------------------------------------------------------------- labels
def _label(text: str, centre_x: float, baseline: float, colour=BLACK) -> Text:
    return Text(text, centre_x - 20.0, baseline, 10.0, 40.0, False, colour)


def test_a_centred_label_names_the_point_below_it_not_the_nearest_box() -> None:
    points = [(100.0, 100.0, RED), (145.0, 112.0, RED)]
    # centred on the first point 12 pt above it; its box nearly touches the second point
    labels = [_label("A", 100.0, 112.0)]
    assert ap.assign_labels(points, labels, free_colours=(BLACK,)) == {0: 0}


def test_a_label_moved_sideways_keeps_the_standard_offset() -> None:
    points = [(100.0, 100.0, RED), (300.0, 100.0, RED), (360.0, 90.0, RED)]
    labels = [_label("A", 100.0, 112.0), _label("B", 330.0, 112.0)]
    # B is centred on neither point; it sits 12 pt above the point at x=300 (the offset A uses)
    assert ap.assign_labels(points, labels, free_colours=(BLACK,)) == {0: 0, 1: 1}


def test_a_coloured_label_names_only_points_of_its_colour() -> None:
    points = [(100.0, 100.0, BLACK), (100.0, 130.0, RED)]
    labels = [_label("red one", 100.0, 112.0, RED)]
    assert ap.assign_labels(points, labels) == {0: 1}
    assert ap.assign_labels(points, labels, free_colours=(RED,)) == {0: 0}


def test_every_label_of_the_figures_is_used_once(table: pd.DataFrame) -> None:
    marks = table[(table["kind"] == "marker") & (table["figure"] == "fig1")]
    labels = [x for x in marks["label"] if x]
    assert sorted(labels) == sorted(
        [
            "R10000",
            "Pentium II Xeon",
            "Itanium 2",
            "GTX 580",
            "K40",
            "KNL",
            "TPUv3",
            "A100",
            "TPUv4",
            "H100",
            "GDDR3",
            "GDDR4",
            "GDDR5",
            "HBM",
            "HBM2",
            "HBM2E",
            "PCIe 1.0a",
            "PCIe 2.0",
            "PCIe 3.0",
            "PCIe 5.0",
            "NVLink 1.0",
            "NVLink 4.0",
        ]
    )
    fig2b = table[(table["figure"] == "fig2b") & (table["series"] == "transformer") & (table["kind"] == "marker")]
    assert set(fig2b["label"]) == {
        "Transformer",
        "GPT-1",
        "BERT",
        "Megatron LM",
        "Microsoft T-NLG",
        "GPT-3",
        "XLNet",
        "",
    }
    unlabelled = fig2b[fig2b["label"] == ""]["identified_as"].tolist()
    assert sorted(unlabelled) == ["ALBERT-xxlarge", "ELECTRA-Large", "RoBERTa-Large"]


def test_interconnect_points_are_lane_rates(table: pd.DataFrame) -> None:
    ic = table[(table["series"] == "interconnect_bandwidth") & (table["kind"] == "marker")]
    assert all("[lane_rate_GT_per_s]" in x for x in ic["identified_as"])
    assert ic["value"].tolist() == pytest.approx([1, 2, 3.2, 8, 6.4, 10, 12.8, 20, 25.6, 40])


def test_fig4_bars_add_up_to_the_authors_table_totals(table: pd.DataFrame) -> None:
    bars = table[table["kind"] == "bar_segment"].groupby("label", sort=False)["value"].sum().round(2)
    # the authors' README table totals, except AlexNet: its 1.71 GB is 0.23 + 0.23 + 0.71 = 1.17
    assert bars.tolist() == [1.17, 5.72, 5.58, 6.18, 7.96, 14.84, 18.34, 26.21]
    gpt2 = table[(table["kind"] == "bar_segment") & (table["label"] == "GPT-2, 2019")].set_index("series")["value"]
    assert gpt2["optimizer"] == 2 * gpt2["parameters"] == 11.72  # the README table says 11.62


# --------------------------------------------------------------------------- fits
def _line_vertices_at_markers() -> dict[str, tuple[int, int, bool]]:
    """Line id -> (vertices of the drawn trend line, markers of its series, whether the
    vertices lie exactly at the markers' x positions, to 1e-3 pt). The Moore's-law line of
    Fig 2(b) is compared with the ``all_models`` markers."""
    out = {}
    for fig, spec in ap.FIGURES.items():
        if spec.x_scale != "date":
            continue
        page = read_page(ap.AUTHORS_DIR / spec.file)
        markers = ap.marker_points(page, spec)
        for p in page.paths:
            if p.paint == "S" and p.width >= 5 and p.clip == ap.axes_box(page):
                series = spec.line_series[ap.colour_key(p.stroke)]
                of = series if series != "moore_law" else "all_models"
                xs = sorted(round(m[0], 3) for m in markers if m[2] == of)
                vx = sorted(round(q[0], 3) for q in p.points)
                out[f"{fig}.{series}"] = (len(vx), len(xs), vx == xs)
    return out


def test_each_drawn_line_runs_through_exactly_its_series_markers() -> None:
    assert _line_vertices_at_markers() == {
        "fig1.peak_flops": (37, 37, True),
        "fig1.dram_bandwidth": (12, 12, True),
        "fig1.interconnect_bandwidth": (10, 10, True),
        "fig2a.transformer": (10, 10, True),
        "fig2a.accelerator_memory_div6": (7, 7, True),
        "fig2b.transformer": (10, 10, True),
        "fig2b.moore_law": (21, 21, True),
    }


def test_fits_on_the_authors_points_reproduce_their_drawn_lines(table: pd.DataFrame) -> None:
    fits, days, drawn = authors_fits(table), day_fits(table), drawn_slopes(table)
    for key in af.TRENDS:
        # the lines are least squares on day numbers: identical to the drawn slope
        assert days[key] == pytest.approx(drawn[key], rel=1e-6), key
        # our fit_growth (fractional years) differs only by the calendar convention
        assert fits[key] == pytest.approx(drawn[key], rel=5e-3), key
    assert drawn["fig2b.moore_law"] == pytest.approx(2.0, rel=1e-3)


def test_fitted_rates_and_whether_they_match_the_paper(table: pd.DataFrame) -> None:
    fits = authors_fits(table)
    found = {
        "fig1.peak_flops": 3.0257,
        "fig1.dram_bandwidth": 1.5915,
        "fig1.interconnect_bandwidth": 1.4151,
        "fig2a.transformer": 413.43,
        "fig2a.accelerator_memory_div6": 1.8629,
        "fig2b.transformer": 753.17,
    }
    assert fits == pytest.approx(found, rel=1e-4)
    # every rate rounds to the paper's number at the precision the paper gives (memory: 1.86 -> "2x")
    assert {k: matches_paper(k, v) for k, v in fits.items()} == dict.fromkeys(found, True)


# --------------------------------------------------------------------------- claims
def test_authors_points_of_every_growth_claim() -> None:
    values = af.authors_points(load_authors_plotted())
    assert values["fig1.flops.per_20yr"] == pytest.approx(64306, rel=1e-3)
    assert values["fig2a.size_outgrows_memory"] == pytest.approx(413.43 / 1.8629, rel=1e-4)
    assert values["fig2b.compute_outgrows_moore"] == pytest.approx(753.17, rel=1e-4)
    assert af.rounds_to_paper("fig1.dram.per_20yr", values["fig1.dram.per_20yr"])  # 104 -> "100x"
    assert not af.rounds_to_paper("fig1.dram.per_2yr", 1.66)  # the six labelled DRAM points


def test_with_authors_points_sets_the_field_and_says_where_a_gap_comes_from() -> None:
    from memwall_lib.core.claims import Claim, growth_claim

    cs = [
        growth_claim("fig1.interconnect.per_2yr.ext2025", "t", 1.4, 1.6, [1.5, 1.7], note="n=9"),
        growth_claim("fig1.dram.per_2yr", "t", 1.6, 1.7, [1.5, 1.9]),
        Claim("fig3.decoder_slowest", "t", "> 1", 2.0, None, True),
    ]
    out = af.with_authors_points(cs, {"fig1.interconnect.per_2yr": 1.4151, "fig1.dram.per_2yr": 1.3})
    assert [c.authors_points for c in out] == [1.4151, 1.3, None]
    # an extension claim: the authors' points are its paper-era reference
    assert out[0].note.startswith("n=9; authors' points (paper era) give 1.415x") and "later data" in out[0].note
    assert "comes from the data" in af.attribution("fig1.dram.per_2yr", 1.59)
    assert "not the paper's number" in out[1].note
    assert out[2].note == ""


def test_a_file_that_is_not_a_pdf_is_named_in_the_error(tmp_path) -> None:
    bad = tmp_path / "figure.pdf"
    bad.write_text("not a PDF")
    with pytest.raises(ValueError, match=r"figure\.pdf: expected a matplotlib vector PDF"):
        read_page(bad)
