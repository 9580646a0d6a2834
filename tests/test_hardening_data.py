"""A corpus of broken data folders, each the real ``data/`` with one edit: every implausible
value, cross-field contradiction and malformed file gives a DataValidationError naming the
file, row, column, value and the bound (issue 11), never a raw traceback or a "holds" verdict."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from memwall_lib import tables
from memwall_lib.core.paths import DATA_DIR
from memwall_lib.core.schema import MAX_CELL_CHARS, DataValidationError

Rows = list[list[str]]


def _rows(path: Path) -> Rows:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write(path: Path, rows: Rows) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _set(file: str, match: dict[str, str], column: str, value: str) -> Callable[[Path], int]:
    """An edit: in ``file``, the first row whose cells equal ``match`` gets ``column = value``;
    returns that row's data-row number (1-based)."""

    def edit(folder: Path) -> int:
        rows = _rows(folder / file)
        header = rows[0]
        for i, r in enumerate(rows[1:], start=1):
            if all(r[header.index(k)] == v for k, v in match.items()):
                r[header.index(column)] = value
                _write(folder / file, rows)
                return i
        raise AssertionError(f"no row {match} in {file}")

    return edit


H100 = {"device": "H100 SXM5 80GB", "precision": "fp16", "unit": "tensor"}

# case -> (edit, loader, file, column, fragments of the message: value and bound)
CASES: dict[str, tuple[Callable[[Path], int], str, str, str, tuple[str, ...]]] = {
    "h100_1e300_tflops": (
        _set("compute_peak_flops.csv", {**H100, "sparsity": "dense"}, "peak_TFLOPS", "1e300"),
        "hardware",
        "compute_peak_flops.csv",
        "peak_TFLOPS",
        ("'1e300'", "[1e-06, 1e+06]"),
    ),
    "h100_2022_at_1e5_tflops": (
        _set("compute_peak_flops.csv", {**H100, "sparsity": "dense"}, "peak_TFLOPS", "100000"),
        "hardware",
        "compute_peak_flops.csv",
        "peak_TFLOPS",
        ("got 100000", "announced in 2022", "at most"),
    ),
    "sparse_not_twice_dense": (
        _set("compute_peak_flops.csv", {**H100, "sparsity": "sparse"}, "peak_TFLOPS", "2500"),
        "hardware",
        "compute_peak_flops.csv",
        "peak_TFLOPS",
        ("got 2500", "2 x dense (989.5) = 1979"),
    ),
    "h100_available_1990": (
        _set("compute_devices.csv", {"name": "H100 SXM5 80GB"}, "availability_date", "1990-01-01"),
        "hardware",
        "compute_devices.csv",
        "availability_date",
        ("got 1990-01-01", "on or after announce_date 2022-03-22"),
    ),
    "bandwidth_1e9": (
        _set("compute_devices.csv", {"name": "H100 SXM5 80GB"}, "memory_bandwidth_GB_per_s", "1e9"),
        "hardware",
        "compute_devices.csv",
        "memory_bandwidth_GB_per_s",
        ("'1e9'", "[0.01, 100000]"),
    ),
    "capacity_1e-9": (
        _set("compute_devices.csv", {"name": "H100 SXM5 80GB"}, "memory_capacity_GiB", "1e-9"),
        "hardware",
        "compute_devices.csv",
        "memory_capacity_GiB",
        ("'1e-9'", "[0.001, 10000]"),
    ),
    "dram_bandwidth_1e12": (
        _set("dram_technologies.csv", {"technology": "HBM2"}, "bandwidth_GB_per_s", "1e12"),
        "hardware",
        "dram_technologies.csv",
        "bandwidth_GB_per_s",
        ("'1e12'", "100000]"),
    ),
    "links_times_link_not_total": (
        _set("interconnects.csv", {"standard": "NVLink 4.0"}, "device_GB_per_s", "600"),
        "hardware",
        "interconnects.csv",
        "device_GB_per_s",
        ("= 450", "got 600"),
    ),
    "links_per_device_1e6": (
        _set("interconnects.csv", {"standard": "NVLink 4.0"}, "links_per_device", "1e6"),
        "hardware",
        "interconnects.csv",
        "links_per_device",
        ("'1e6'", "[1, 1024]"),
    ),
    "gpt3_1e-300_parameters": (
        _set("models.csv", {"name": "GPT-3"}, "parameters_total_billions", "1e-300"),
        "models",
        "models.csv",
        "parameters_total_billions",
        ("'1e-300'", "[1e-06, 1e+06]"),
    ),
    "gpt3_compute_1e40": (
        _set("models.csv", {"name": "GPT-3"}, "training_compute_pflops", "1e40"),
        "models",
        "models.csv",
        "training_compute_pflops",
        ("'1e40'", "1e+15]"),
    ),
    "active_over_total": (
        _set("models.csv", {"name": "GShard"}, "parameters_active_billions", "700"),
        "models",
        "models.csv",
        "parameters_active_billions",
        ("got 700.0", "<= total"),
    ),
    "authors_parameters_1e9": (
        _set("authors_tables.csv", {"model": "Transformer (base)"}, "parameters_billions", "1e9"),
        "authors",
        "authors_tables.csv",
        "parameters_billions",
        ("'1e9'",),
    ),
    "oversized_cell": (
        _set("models.csv", {"name": "GPT-3"}, "source", "x" * 200_000),
        "models",
        "models.csv",
        "source",
        ("200000 characters", f"limit of {MAX_CELL_CHARS}"),
    ),
}

LOADERS = {"hardware": tables.load_hardware, "models": tables.load_models, "authors": tables.load_authors_tables}


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DATA_DIR, folder, ignore=shutil.ignore_patterns("*.md"))
    return folder


def test_the_real_data_passes_every_check() -> None:
    tables.load_hardware()
    tables.load_authors_tables(models=tables.load_models())


@pytest.mark.parametrize("case", sorted(CASES))
def test_corpus_case_names_file_row_column_value_and_bound(case: str, data_copy: Path) -> None:
    edit, loader, file, column, fragments = CASES[case]
    row = edit(data_copy)
    with pytest.raises(DataValidationError) as info:
        LOADERS[loader](data_copy)
    message = str(info.value)
    assert f"{file}: row {row} (line {row + 1}), column '{column}'" in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in message


def _first_line_of(folder: Path, file: str, needle: str) -> int:
    return next(i for i, line in enumerate((folder / file).read_text().splitlines(), start=1) if needle in line)


def test_latin1_byte_names_file_and_line(data_copy: Path) -> None:
    path = data_copy / "models.csv"
    line = _first_line_of(data_copy, "models.csv", "GPT-3,")
    lines = path.read_bytes().split(b"\n")
    lines[line - 1] = lines[line - 1].replace(b"GPT-3", b"GPT-3 \xe9", 1)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataValidationError, match=rf"models.csv: line {line}: byte b'\\xe9' .* is not UTF-8"):
        tables.load_models(data_copy)


def test_bom_is_named(data_copy: Path) -> None:
    path = data_copy / "compute_devices.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with pytest.raises(DataValidationError, match="compute_devices.csv: line 1 starts with a UTF-8 byte-order mark"):
        tables.load_hardware(data_copy)


def test_unterminated_quote_is_named_not_blamed_on_the_field_count(data_copy: Path) -> None:
    path = data_copy / "models.csv"
    line = _first_line_of(data_copy, "models.csv", "GPT-3,")
    lines = path.read_text().split("\n")
    lines[line - 1] = lines[line - 1].replace("GPT-3,", '"GPT-3,', 1)
    path.write_text("\n".join(lines))
    with pytest.raises(DataValidationError) as info:
        tables.load_models(data_copy)
    message = str(info.value)
    assert f"models.csv: row {line - 1} (line {line})" in message
    assert "unterminated or stray quote" in message and "unquoted comma" not in message


def test_a_quote_left_open_to_the_end_of_the_file_is_named(data_copy: Path) -> None:
    path = data_copy / "models.csv"
    path.write_text(path.read_text() + 'Toy,2020-01-01,arxiv,nlp,other,1,,,false,false,,"never closed\n')
    with pytest.raises(DataValidationError, match=r"models.csv: row \d+ \(line \d+\): .*unterminated"):
        tables.load_models(data_copy)


@pytest.mark.parametrize("bad", [None, 3, ""])
def test_loaders_reject_a_non_folder(bad: object) -> None:
    for load in LOADERS.values():
        with pytest.raises(TypeError, match="data_dir"):
            load(bad)  # type: ignore[arg-type]


def test_loaders_name_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="data_dir: folder .* does not exist"):
        tables.load_models(tmp_path / "nope")
