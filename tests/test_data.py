"""Data loading and validation: the real data loads; broken files fail with file/row/column errors."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from memwall_lib import data
from memwall_lib.paths import DATA_DIR

BROKEN = Path(__file__).parent / "broken_csv"

# file -> (schema, row, column, fragment of the expectation)
CORPUS = {
    "missing_value.csv": (data.COMPUTE_PEAK_FLOPS, 2, "peak_TFLOPS", "got an empty cell"),
    "negative.csv": (data.COMPUTE_PEAK_FLOPS, 2, "peak_TFLOPS", "expected a positive number"),
    "nan.csv": (data.COMPUTE_PEAK_FLOPS, 2, "peak_TFLOPS", "expected a finite number"),
    "unknown_precision.csv": (data.COMPUTE_PEAK_FLOPS, 2, "precision", "expected one of fp64"),
    "duplicate_row.csv": (data.COMPUTE_PEAK_FLOPS, 2, "device,precision,unit,sparsity", "duplicate of row 1"),
    "missing_source.csv": (data.COMPUTE_PEAK_FLOPS, 2, "source", "a URL or citation"),
    "number_with_unit.csv": (data.COMPUTE_PEAK_FLOPS, 2, "peak_TFLOPS", "expected a number, got '15.7 TFLOPS'"),
    "bad_date.csv": (data.COMPUTE_DEVICES, 1, "announce_date", "expected a valid calendar date"),
    "bad_date_format.csv": (data.COMPUTE_DEVICES, 1, "announce_date", "YYYY-MM-DD"),
    "date_out_of_range.csv": (data.COMPUTE_DEVICES, 1, "announce_date", "between 1940-01-01 and 2030-12-31"),
    "unknown_device_type.csv": (data.COMPUTE_DEVICES, 1, "device_type", "expected one of cpu, gpu"),
    "model_unknown_domain.csv": (data.MODELS, 2, "domain", "expected one of cv, nlp, speech, recsys; got 'language'"),
    "model_bad_boolean.csv": (data.MODELS, 1, "parameters_is_estimate", "expected 'true' or 'false'"),
    "model_unknown_panel.csv": (data.MODELS, 1, "paper_figures", "got '3c'"),
    "model_zero_parameters.csv": (data.MODELS, 1, "parameters_total_billions", "expected a positive number"),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_broken_file_names_file_row_column_and_expectation(name: str) -> None:
    schema, row, column, fragment = CORPUS[name]
    with pytest.raises(data.DataValidationError) as info:
        data.read_table(BROKEN / name, schema)
    message = str(info.value)
    assert name in message
    assert f"row {row} (line {row + 1})" in message
    assert f"column '{column}'" in message
    assert fragment in message
    assert "Traceback" not in message
    err = info.value.errors[0]
    assert (err.file, err.row, err.column) == (name, row, column)


def test_every_broken_file_is_in_the_corpus_table() -> None:
    on_disk = {p.name for p in BROKEN.glob("*.csv")} - {"missing_column.csv"}
    assert on_disk == set(CORPUS)


def test_missing_column_is_a_header_error() -> None:
    with pytest.raises(data.DataValidationError, match=r"missing_column.csv: header: missing column\(s\) \['sparsity'\]"):
        data.read_table(BROKEN / "missing_column.csv", data.COMPUTE_PEAK_FLOPS)


def test_all_bad_cells_are_reported_at_once(tmp_path: Path) -> None:
    p = tmp_path / "two_errors.csv"
    p.write_text("device,precision,unit,sparsity,peak_TFLOPS,source\n"
                 "A,fp99,vector,dense,-1,https://x\n")
    with pytest.raises(data.DataValidationError) as info:
        data.read_table(p, data.COMPUTE_PEAK_FLOPS)
    assert {e.column for e in info.value.errors} == {"precision", "peak_TFLOPS"}


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(data.DataValidationError, match="file not found"):
        data.read_table(tmp_path / "nope.csv", data.MODELS)


def test_month_only_dates_are_mid_month() -> None:
    assert data.parse_date("2020-05") == dt.date(2020, 5, 15)
    assert data.parse_date("2020-05-02") == dt.date(2020, 5, 2)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        data.parse_date("2020")


def test_unknown_device_in_peak_flops_is_rejected(tmp_path: Path) -> None:
    for f in ("compute_devices.csv", "compute_peak_flops.csv", "dram_technologies.csv", "interconnects.csv"):
        shutil.copy(DATA_DIR / f, tmp_path / f)
    with (tmp_path / "compute_peak_flops.csv").open("a") as fh:
        fh.write("Imaginary GPU 9000,fp16,tensor,dense,1000,https://example.org\n")
    with pytest.raises(data.DataValidationError, match="compute_peak_flops.csv: row .*column 'device'.*Imaginary GPU 9000"):
        data.load_hardware(tmp_path)


def test_moe_model_needs_active_parameters(tmp_path: Path) -> None:
    shutil.copy(DATA_DIR / "models.csv", tmp_path / "models.csv")
    with (tmp_path / "models.csv").open("a") as fh:
        fh.write("Made-up MoE,2024-01-01,arxiv,nlp,moe,100,,,false,false,,https://example.org\n")
    with pytest.raises(data.DataValidationError, match="column 'parameters_active_billions'"):
        data.load_models(tmp_path)


# --------------------------------------------------------------------------- the real data
def test_real_hardware_data_loads_and_covers_the_paper_labels() -> None:
    hw = data.load_hardware()
    labels = set(hw.devices["paper_label"].dropna())
    assert labels == set(data.FIG1_LABELS), f"missing labels: {set(data.FIG1_LABELS) - labels}"
    assert set(hw.dram["paper_label"].dropna()) == set(data.DRAM_TECHNOLOGIES.column("paper_label").allowed)
    assert set(hw.interconnects["paper_label"].dropna()) == set(data.INTERCONNECTS.column("paper_label").allowed)
    # each label on exactly one row
    for frame in (hw.devices, hw.dram, hw.interconnects):
        counts = frame["paper_label"].dropna().value_counts()
        assert (counts == 1).all(), counts[counts > 1]


def test_real_hardware_data_reaches_2025() -> None:
    hw = data.load_hardware()
    names = " ".join(hw.devices["name"])
    for chip in ("H200", "B200", "MI300X", "v5p", "v6e"):
        assert chip in names, chip
    assert {"HBM3", "HBM3E"} <= set(hw.dram["technology"])
    assert {"NVLink 5.0", "PCIe 6.0"} <= set(hw.interconnects["standard"])


def test_real_models_load() -> None:
    models = data.load_models()
    assert models["name"].is_unique
    assert (models["source"].str.len() > 10).all()


def test_every_row_has_a_source() -> None:
    for schema in data.SCHEMAS.values():
        frame = data.read_table(DATA_DIR / schema.name, schema)
        assert frame["source"].map(lambda s: isinstance(s, str) and len(s.strip()) > 0).all(), schema.name


def test_interconnect_device_total_must_match_its_links(tmp_path: Path) -> None:
    for f in ("compute_devices.csv", "compute_peak_flops.csv", "dram_technologies.csv", "interconnects.csv"):
        shutil.copy(DATA_DIR / f, tmp_path / f)
    with (tmp_path / "interconnects.csv").open("a") as fh:
        fh.write("Made-up Link 9,nvlink,2025-01-01,,100,18,900,per_direction,Imaginary GPU,,https://example.org\n")
    with pytest.raises(data.DataValidationError,
                       match="interconnects.csv: row .*column 'device_GB_per_s': expected link_GB_per_s x links_per_device = 1800"):
        data.load_hardware(tmp_path)
