"""Unit slips and typos caught across columns and files (issue 22): each case is the real
``data/`` with one edit that used to pass every check and move a figure (some flipped a
verdict to "holds"); now each gives a DataValidationError naming file, row, column, value and
the bound. The committed data passes unchanged (test_hardening_data)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from memwall_lib import tables
from memwall_lib.core.paths import DATA_DIR
from memwall_lib.core.schema import DataValidationError
from memwall_lib.tables import hardware_cross, model_checks

Rows = list[list[str]]
Edit = Callable[[Path], int]


def _rows(path: Path) -> Rows:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write(path: Path, rows: Rows) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _edit(
    file: str, match: dict[str, str], column: str, change: Callable[[str], str], report: dict[str, str] | None = None
) -> Edit:
    """In ``file``, every row whose cells equal ``match`` gets ``column = change(old)``;
    returns the number (1-based) of the first such row, or of the first that also matches
    ``report``."""

    def edit(folder: Path) -> int:
        rows = _rows(folder / file)
        header = rows[0]

        def hits(cells: dict[str, str]) -> list[int]:
            return [
                i for i, r in enumerate(rows[1:], start=1) if all(r[header.index(k)] == v for k, v in cells.items())
            ]

        assert hits(match), f"no row {match} in {file}"
        reported = hits({**match, **(report or {})})[0]
        for i in hits(match):
            rows[i][header.index(column)] = change(rows[i][header.index(column)])
        _write(folder / file, rows)
        return reported

    return edit


def _set(file: str, match: dict[str, str], column: str, value: str) -> Edit:
    return _edit(file, match, column, lambda _: value)


def _times(file: str, match: dict[str, str], column: str, factor: float, report: dict[str, str] | None = None) -> Edit:
    return _edit(file, match, column, lambda old: f"{float(old) * factor:g}", report)


def _both(*edits: Edit) -> Edit:
    def edit(folder: Path) -> int:
        return [e(folder) for e in edits][0]

    return edit


H100 = {"name": "H100 SXM5 80GB"}
GPT3 = {"name": "GPT-3"}
CD, PF, DRAM, IC, MODELS = (
    "compute_devices.csv",
    "compute_peak_flops.csv",
    "dram_technologies.csv",
    "interconnects.csv",
    "models.csv",
)

# case -> (edit, loader, file, column, fragments of the message: value and bound)
CASES: dict[str, tuple[Edit, str, str, str, tuple[str, ...]]] = {
    # models: a count in millions, compute in TFLOPs, dates decades off
    "gpt3_parameters_in_millions": (
        _set(MODELS, GPT3, "parameters_total_billions", "175000"),
        "models",
        MODELS,
        "parameters_total_billions",
        ("at least 0.05 training tokens per parameter", "got 1.71e-06", "175000"),
    ),
    "gpt2_parameters_in_millions_against_the_authors": (
        _set(MODELS, {"name": "GPT-2"}, "parameters_total_billions", "1542"),
        "authors",
        MODELS,
        "parameters_total_billions",
        ("within 10x of 1.5, the value of the authors' table (authors_tables.csv row 7)", "got 1542"),
    ),
    "gpt3_compute_in_tflops": (
        _times(MODELS, GPT3, "training_compute_pflops", 1000),
        "models",
        MODELS,
        "training_compute_pflops",
        ("expected at most", "for a model of 2020-05-28", "got 3.14e+11"),
    ),
    "palm_compute_in_tflops": (
        _times(MODELS, {"name": "PaLM"}, "training_compute_pflops", 1000),
        "models",
        MODELS,
        "training_compute_pflops",
        ("expected at most", "for a model of 2022-04-04", "got 2.527e+12"),
    ),
    "gpt3_in_1985": (
        _set(MODELS, GPT3, "date", "1985-05-28"),
        "models",
        MODELS,
        "date",
        (
            "on or after 2017-06-12",
            "arXiv:1706.03762",
            "in the month of an arXiv identifier",
            "2020-05",
            "got 1985-05-28",
        ),
    ),
    "gpt3_in_2029": (
        _set(MODELS, GPT3, "date", "2029-05-28"),
        "models",
        MODELS,
        "date",
        ("in the month of an arXiv identifier its source cites (2020-05)", "got 2029-05-28", "on or before today"),
    ),
    "t_nlg_a_year_late_against_the_authors": (
        _set(MODELS, {"name": "T-NLG"}, "date", "2021-06-13"),
        "authors",
        MODELS,
        "date",
        ("within 366 days of 2020-02-13", "got 2021-06-13 (486 days off)"),
    ),
    "announcement_after_its_paper": (
        _set(MODELS, {"name": "PaLM"}, "date", "2023-04-04"),
        "models",
        MODELS,
        "date",
        ("no later than 2022-04-30", "got 2023-04-04"),
    ),
    "arxiv_date_without_an_arxiv_id": (
        _edit(MODELS, GPT3, "source", lambda s: s.replace("arXiv:", "paper ").replace("arxiv.org", "example.org")),
        "models",
        MODELS,
        "source",
        ("expected an arXiv identifier", "none found"),
    ),
    # DRAM bandwidth: TB/s typed as GB/s, x10 in one file but not the other
    "h100_bandwidth_in_tb_s": (
        _set(CD, H100, "memory_bandwidth_GB_per_s", "3.35"),
        "hardware",
        CD,
        "memory_bandwidth_GB_per_s",
        ("at least 17.4", "plausibility floor", "got 3.35", "expected 3350 (within 2%)", "HBM3"),
    ),
    "hbm3_bandwidth_in_tb_s": (
        _set(DRAM, {"technology": "HBM3"}, "bandwidth_GB_per_s", "3.35"),
        "hardware",
        DRAM,
        "bandwidth_GB_per_s",
        ("at least 17.4", "got 3.35"),
    ),
    "mi300x_hbm3_bandwidth_in_tb_s": (
        _set(CD, {"name": "Instinct MI300X"}, "memory_bandwidth_GB_per_s", "5.3"),
        "hardware",
        CD,
        "memory_bandwidth_GB_per_s",
        ("HBM3 bandwidth in [837.5, 4.02e+04]", "got 5.3"),
    ),
    "h100_bandwidth_x10_in_one_file": (
        _set(CD, H100, "memory_bandwidth_GB_per_s", "33500"),
        "hardware",
        CD,
        "memory_bandwidth_GB_per_s",
        ("expected 3350 (within 2%) as dram_technologies.csv row 11 (HBM3", "got 33500"),
    ),
    "gtx280_bandwidth_x10": (
        _times(CD, {"name": "GeForce GTX 280"}, "memory_bandwidth_GB_per_s", 10),
        "hardware",
        CD,
        "memory_bandwidth_GB_per_s",
        ("GDDR3 bandwidth in [3.8, 182.4]", "got 1417"),
    ),
    # peaks: tensor x10, one precision x10, a generation x10, PFLOPS typed as TFLOPS
    "a100_tensor_peaks_x10": (
        _times(PF, {"device": "A100 SXM4 40GB", "unit": "tensor"}, "peak_TFLOPS", 10, {"precision": "fp16"}),
        "hardware",
        PF,
        "peak_TFLOPS",
        ("tensor peak of at most", "40 x the fp32 vector peak 19.5", "got 3120"),
    ),
    "h100_fp8_x10": (
        _times(PF, {"device": "H100 SXM5 80GB", "precision": "fp8", "sparsity": "dense"}, "peak_TFLOPS", 10),
        "hardware",
        PF,
        "peak_TFLOPS",
        ("fp8 peak to be at most 8 x", "got 19790"),
    ),
    "tpu_v4_x10": (
        _times(PF, {"device": "TPU v4"}, "peak_TFLOPS", 10),
        "hardware",
        PF,
        "peak_TFLOPS",
        ("16 x the peak of TPU v3 (123)", "got 2750"),
    ),
    "h100_peaks_in_pflops": (
        _times(PF, {"device": "H100 SXM5 80GB"}, "peak_TFLOPS", 0.001, {"precision": "fp8", "sparsity": "sparse"}),
        "hardware",
        PF,
        "peak_TFLOPS",
        ("expected at least 10 for the largest peak of a device (gpu) announced in 2022", "got 3.958"),
    ),
    # interconnects: lane rates x10
    "pcie3_lane_rate_x10": (
        _set(IC, {"standard": "PCIe 3.0"}, "lane_rate_GT_per_s", "80"),
        "hardware",
        IC,
        "lane_rate_GT_per_s",
        ("encoding efficiency", "[7.877, 10.5] GT/s", "got 80"),
    ),
    "nvlink1_lane_rate_x10": (
        _set(IC, {"standard": "NVLink 1.0"}, "lane_rate_GT_per_s", "200"),
        "hardware",
        IC,
        "lane_rate_GT_per_s",
        ("whole power of two of lanes", "got 0.8 lanes from lane rate 200"),
    ),
    # device dates: in the future, years early
    "h100_available_2029": (
        _set(CD, H100, "availability_date", "2029-09-20"),
        "hardware",
        CD,
        "availability_date",
        ("on or before today", "got 2029-09-20"),
    ),
    "h100_four_years_early": (
        _set(CD, H100, "announce_date", "2018-03-22"),
        "hardware",
        CD,
        "announce_date",
        ("on or after 2022-03-22, when HBM3's first device", "expected 2022-03-22 as interconnects.csv row 11"),
    ),
    "gpu_before_the_first_gpu": (
        _set(CD, {"name": "GeForce 8800 GTX"}, "announce_date", "1996-11-08"),
        "hardware",
        CD,
        "announce_date",
        ("gpu date on or after 1999-08-31", "got 1996-11-08"),
    ),
    "a_tpu_before_tpus": (
        _set(CD, {"name": "TPU v2"}, "announce_date", "2015-05-17"),
        "hardware",
        CD,
        "announce_date",
        ("tpu date on or after 2016-05-18", "got 2015-05-17"),
    ),
    "interconnect_in_the_future": (
        _set(IC, {"standard": "PCIe 7.0"}, "date", "2029-06-11"),
        "hardware",
        IC,
        "date",
        ("on or before today", "got 2029-06-11"),
    ),
    # control characters
    "nul_in_a_vendor_cell": (
        _set(CD, H100, "vendor", "NVI\x00DIA"),
        "hardware",
        CD,
        "vendor",
        ("control character U+0000 at position 4", "'NVI\\x00DIA'"),
    ),
    "zero_width_space_in_a_model_name": (
        _set(MODELS, GPT3, "name", "GPT\u200b-3"),
        "models",
        MODELS,
        "name",
        ("control character U+200B",),
    ),
    "tab_in_a_source": (
        _edit(CD, H100, "source", lambda s: s + "\tx"),
        "hardware",
        CD,
        "source",
        ("control character U+0009",),
    ),
}

LOADERS = {"hardware": tables.load_hardware, "models": tables.load_models, "authors": tables.load_authors_tables}


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DATA_DIR, folder, ignore=shutil.ignore_patterns("*.md", "authors"))
    return folder


@pytest.mark.parametrize("case", sorted(CASES))
def test_unit_slip_names_file_row_column_value_and_bound(case: str, data_copy: Path) -> None:
    edit, loader, file, column, fragments = CASES[case]
    row = edit(data_copy)
    with pytest.raises(DataValidationError) as info:
        LOADERS[loader](data_copy)
    message = str(info.value)
    assert f"{file}: row {row} (line {row + 1}), column '{column}'" in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in message


def test_the_committed_data_passes_every_plausibility_check() -> None:
    hw = tables.load_hardware()
    models = tables.load_models()
    tables.load_authors_tables(models=models)
    assert (hw.devices["announce_date"] <= dt.date.today()).all()


def test_the_bounds_leave_room_above_the_data() -> None:
    # the bounds are not tuned to the last digit: each real value keeps a margin
    models = tables.load_models()
    with_compute = models[models["training_compute_pflops"].notna()]
    years = model_checks.fractional_year(with_compute["date"])
    ratios = [
        model_checks.compute_ceiling(y) / (c * 1e15) for y, c in zip(years, with_compute["training_compute_pflops"])
    ]
    assert min(ratios) > 5
    assert (
        model_checks.compute_ceiling(2009.0)
        < model_checks.compute_ceiling(2010.0)
        < model_checks.compute_ceiling(2025.0)
    )
    assert model_checks.arxiv_months("arXiv:2005.14165 ; https://arxiv.org/abs/1706.03762v5") == [(2017, 6), (2020, 5)]


def test_a_future_date_is_judged_against_the_day_given() -> None:
    hw = tables.load_hardware()
    assert hardware_cross.check_not_future(hw.devices, ("announce_date",), "x", today=dt.date(2025, 12, 31)) == []
    late = hardware_cross.check_not_future(hw.devices, ("announce_date",), "x", today=dt.date(2020, 1, 1))
    assert late and all("on or before today (2020-01-01" in e.message for e in late)


def test_data_readme_states_every_bound() -> None:
    from memwall_lib.tables import hardware_checks as hc

    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Plausibility across columns and files", 1)[1].split("\n## ", 1)[0]
    low, high = hardware_cross.GENERATION_BANDWIDTH_SPAN
    stated = [
        f"/ {hc.YEAR_FLOOR_SPANS[('memory_bandwidth_GB_per_s', 'other')]:g}",
        f"/ {hc.YEAR_FLOOR_SPANS[('peak_TFLOPS', 'cpu')]:.0e}".replace("e+0", "e"),
        f"/ {hc.YEAR_FLOOR_SPANS[('peak_TFLOPS', 'other')]:g}",
        f"at most {hc.TENSOR_OVER_VECTOR_MAX:g} x vector",
        f"at most {hc.WIDER_OVER_NARROWER_MAX:g}x a narrower",
        f"at most {hc.NARROWER_PER_BIT_MAX:g} x the ratio of bits",
        f"at most {hc.GENERATION_STEP_MAX:g}x the best",
        f"in the {hc.GENERATION_WINDOW_YEARS:g} years before",
        f"1/{low:g} to {high:g}x",
        f"within {hardware_cross.RTOL:.0%}",
        f"in [{hardware_cross.PCIE_EFFICIENCY[0]:g}, {hardware_cross.PCIE_EFFICIENCY[1]:g}]",
        *(floor.isoformat() for floor, _ in hardware_cross.TYPE_DATE_FLOORS.values()),
        model_checks.TRANSFORMER_DATE.isoformat(),
        f"at least {model_checks.TOKENS_PER_PARAMETER_MIN:g}",
        f"at most {model_checks.COMPUTE_CEILING_FLOPS[0]:.0e}".replace("e+", "e") + " FLOPs",
        f"parameters within {model_checks.AUTHORS_PARAMETER_RATIO_MAX:g}x",
        f"compute within {model_checks.AUTHORS_COMPUTE_RATIO_MAX:g}x",
        f"dates within {model_checks.AUTHORS_DATE_GAP_DAYS} days",
    ]
    missing = [s for s in stated if s not in section]
    assert not missing, f"data/README.md's plausibility section does not state {missing}"
