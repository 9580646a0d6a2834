"""Data loading and validation: the real data loads; broken files fail with file/row/column errors."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from memwall_lib import tables
from memwall_lib.core.paths import DATA_DIR
from memwall_lib.core.schema import DataValidationError, parse_date, read_table
from memwall_lib.tables import schemas

BROKEN = Path(__file__).parent / "broken_csv"

# file -> (schema, row, column, fragment of the expectation)
CORPUS = {
    "missing_value.csv": (schemas.COMPUTE_PEAK_FLOPS, 2, "peak_TFLOPS", "got an empty cell"),
    "negative.csv": (schemas.COMPUTE_PEAK_FLOPS, 2, "peak_TFLOPS", "expected a positive number"),
    "nan.csv": (schemas.COMPUTE_PEAK_FLOPS, 2, "peak_TFLOPS", "expected a finite number"),
    "unknown_precision.csv": (schemas.COMPUTE_PEAK_FLOPS, 2, "precision", "expected one of fp64"),
    "duplicate_row.csv": (schemas.COMPUTE_PEAK_FLOPS, 2, "device,precision,unit,sparsity", "duplicate of row 1"),
    "missing_source.csv": (schemas.COMPUTE_PEAK_FLOPS, 2, "source", "a URL or citation"),
    "number_with_unit.csv": (schemas.COMPUTE_PEAK_FLOPS, 2, "peak_TFLOPS", "expected a number, got '15.7 TFLOPS'"),
    "bad_date.csv": (schemas.COMPUTE_DEVICES, 1, "announce_date", "expected a valid calendar date"),
    "bad_date_format.csv": (schemas.COMPUTE_DEVICES, 1, "announce_date", "YYYY-MM-DD"),
    "date_out_of_range.csv": (schemas.COMPUTE_DEVICES, 1, "announce_date", "between 1940-01-01 and 2030-12-31"),
    "unknown_device_type.csv": (schemas.COMPUTE_DEVICES, 1, "device_type", "expected one of cpu, gpu"),
    "model_unknown_domain.csv": (
        schemas.MODELS,
        2,
        "domain",
        "expected one of cv, nlp, speech, recsys; got 'language'",
    ),
    "model_bad_boolean.csv": (schemas.MODELS, 1, "parameters_is_estimate", "expected 'true' or 'false'"),
    "model_unknown_panel.csv": (schemas.MODELS, 1, "paper_figures", "got '3c'"),
    "model_zero_parameters.csv": (schemas.MODELS, 1, "parameters_total_billions", "expected a positive number"),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_broken_file_names_file_row_column_and_expectation(name: str) -> None:
    schema, row, column, fragment = CORPUS[name]
    with pytest.raises(DataValidationError) as info:
        read_table(BROKEN / name, schema)
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
    with pytest.raises(DataValidationError, match=r"missing_column.csv: header: missing column\(s\) \['sparsity'\]"):
        read_table(BROKEN / "missing_column.csv", schemas.COMPUTE_PEAK_FLOPS)


def test_all_bad_cells_are_reported_at_once(tmp_path: Path) -> None:
    p = tmp_path / "two_errors.csv"
    p.write_text("device,precision,unit,sparsity,peak_TFLOPS,source\nA,fp99,vector,dense,-1,https://x\n")
    with pytest.raises(DataValidationError) as info:
        read_table(p, schemas.COMPUTE_PEAK_FLOPS)
    assert {e.column for e in info.value.errors} == {"precision", "peak_TFLOPS"}


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="file not found"):
        read_table(tmp_path / "nope.csv", schemas.MODELS)


def test_month_only_dates_are_mid_month() -> None:
    assert parse_date("2020-05") == dt.date(2020, 5, 15)
    assert parse_date("2020-05-02") == dt.date(2020, 5, 2)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date("2020")


def test_unknown_device_in_peak_flops_is_rejected(tmp_path: Path) -> None:
    for f in ("compute_devices.csv", "compute_peak_flops.csv", "dram_technologies.csv", "interconnects.csv"):
        shutil.copy(DATA_DIR / f, tmp_path / f)
    with (tmp_path / "compute_peak_flops.csv").open("a") as fh:
        fh.write("Imaginary GPU 9000,fp16,tensor,dense,1000,https://example.org\n")
    with pytest.raises(DataValidationError, match="compute_peak_flops.csv: row .*column 'device'.*Imaginary GPU 9000"):
        tables.load_hardware(tmp_path)


def test_moe_model_needs_active_parameters(tmp_path: Path) -> None:
    shutil.copy(DATA_DIR / "models.csv", tmp_path / "models.csv")
    with (tmp_path / "models.csv").open("a") as fh:
        fh.write("Made-up MoE,2024-01-01,arxiv,nlp,moe,100,,,false,false,,https://example.org\n")
    with pytest.raises(DataValidationError, match="column 'parameters_active_billions'"):
        tables.load_models(tmp_path)


# --------------------------------------------------------------------------- the real data
def test_real_hardware_data_loads_and_covers_the_paper_labels() -> None:
    hw = tables.load_hardware()
    labels = set(hw.devices["paper_label"].dropna())
    assert labels == set(schemas.FIG1_LABELS), f"missing labels: {set(schemas.FIG1_LABELS) - labels}"
    assert set(hw.dram["paper_label"].dropna()) == set(schemas.DRAM_TECHNOLOGIES.column("paper_label").allowed)
    assert set(hw.interconnects["paper_label"].dropna()) == set(schemas.INTERCONNECTS.column("paper_label").allowed)
    # each label on exactly one row
    for frame in (hw.devices, hw.dram, hw.interconnects):
        counts = frame["paper_label"].dropna().value_counts()
        assert (counts == 1).all(), counts[counts > 1]


def test_real_hardware_data_reaches_2025() -> None:
    hw = tables.load_hardware()
    names = " ".join(hw.devices["name"])
    for chip in ("H200", "B200", "MI300X", "v5p", "v6e"):
        assert chip in names, chip
    assert {"HBM3", "HBM3E"} <= set(hw.dram["technology"])
    assert {"NVLink 5.0", "PCIe 6.0"} <= set(hw.interconnects["standard"])


def test_real_models_load() -> None:
    models = tables.load_models()
    assert len(models) >= 40
    assert {"GPT-3", "BERT-Large"} <= set(models["name"]), sorted(models["name"])


def test_every_source_is_a_url_or_citation() -> None:
    # the loader only rejects an empty source; a placeholder ("x", "TODO") would pass it
    for schema in tables.SCHEMAS.values():
        frame = read_table(DATA_DIR / schema.name, schema)
        assert (frame["source"].str.len() > 10).all(), (
            schema.name,
            list(frame["source"][frame["source"].str.len() <= 10]),
        )


# --------------------------------------------------------------------------- the loaders reject bad rows
#: The loader that reads each file (all of them validate the file against its schema first).
LOADERS: dict[str, Callable[[Path], object]] = {
    "compute_devices.csv": tables.load_hardware,
    "compute_peak_flops.csv": tables.load_hardware,
    "dram_technologies.csv": tables.load_hardware,
    "interconnects.csv": tables.load_hardware,
    "models.csv": tables.load_models,
    "authors_tables.csv": tables.load_authors_tables,
    "authors_plotted.csv": tables.load_authors_plotted,
    "survey_cpu_latency.csv": tables.load_survey_latency,
}


def _append_copy_of_last_row(tmp_path: Path, name: str, blank: str | None = None) -> int:
    """Copy data/ into ``tmp_path``, append to ``name`` a copy of its last row whose key cells
    are all filled (a key with an empty cell is not checked; with ``blank``, the column
    ``blank`` emptied); return the new row's number (1-based data row)."""
    for f in DATA_DIR.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / name
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    header = rows[0]
    key = [header.index(k) for k in tables.SCHEMAS[name].key]
    last = [list(r) for r in rows[1:] if all(r[i].strip() for i in key)][-1]
    if blank is not None:
        last[header.index(blank)] = ""
    text = path.read_text(encoding="utf-8")
    with path.open("a", newline="", encoding="utf-8") as fh:
        if not text.endswith("\n"):
            fh.write("\n")
        csv.writer(fh, lineterminator="\n").writerow(last)
    return len(rows)  # header + n data rows: the appended row is data row n + 1 = len(rows)


def test_every_file_has_a_loader() -> None:
    assert set(LOADERS) == set(tables.SCHEMAS)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loader_rejects_a_row_without_a_source(tmp_path: Path, name: str) -> None:
    row = _append_copy_of_last_row(tmp_path, name, blank="source")
    with pytest.raises(DataValidationError) as info:
        LOADERS[name](tmp_path)
    message = str(info.value)
    assert f"{name}: row {row} (line " in message and "column 'source'" in message, message
    assert "got an empty cell" in message
    err = info.value.errors[0]
    assert (err.file, err.row, err.column) == (name, row, "source")


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loader_rejects_a_duplicate_key(tmp_path: Path, name: str) -> None:
    row = _append_copy_of_last_row(tmp_path, name)
    key = ",".join(tables.SCHEMAS[name].key)
    with pytest.raises(DataValidationError) as info:
        LOADERS[name](tmp_path)
    message = str(info.value)
    assert f"{name}: row {row} (line " in message and f"column '{key}'" in message, message
    assert "duplicate of row" in message
    err = info.value.errors[0]
    assert (err.file, err.row, err.column) == (name, row, key)


def test_interconnect_device_total_must_match_its_links(tmp_path: Path) -> None:
    for f in ("compute_devices.csv", "compute_peak_flops.csv", "dram_technologies.csv", "interconnects.csv"):
        shutil.copy(DATA_DIR / f, tmp_path / f)
    with (tmp_path / "interconnects.csv").open("a") as fh:
        fh.write("Made-up Link 9,nvlink,2025-01-01,,100,18,900,per_direction,Imaginary GPU,,https://example.org\n")
    with pytest.raises(
        DataValidationError,
        match="interconnects.csv: row .*column 'device_GB_per_s': expected link_GB_per_s x links_per_device = 1800",
    ):
        tables.load_hardware(tmp_path)


def test_survey_latency_is_normalized_and_whole(tmp_path: Path) -> None:
    frame = tables.load_survey_latency()
    ref = frame[(frame.model == "bert-base") & (frame.seq_len_tokens == 128)]["normalized_latency"]
    assert list(ref) == [1.0]  # normalized to BERT-Base at 128 tokens
    assert sorted(set(frame.seq_len_tokens)) == [128, 256, 512, 1024, 2048, 4096]
    row = _append_copy_of_last_row(tmp_path, "survey_cpu_latency.csv")
    path = tmp_path / "survey_cpu_latency.csv"
    lines = path.read_text().splitlines()
    lines[-1] = lines[-1].replace("gpt2,4096,", "gpt2,4096.5,", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=rf"row {row} .*seq_len_tokens.*whole number"):
        tables.load_survey_latency(tmp_path)
