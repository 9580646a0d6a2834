"""Accelerators a user supplies (:mod:`memwall_lib.tables.user_chips`): an ``accelerators_file``
is validated like ``data/`` (every error names file, row, line, column, expected and found),
``extra_accelerators`` items get errors naming ``extra_accelerators[i].field``, and both come
back in the shape of the data's tables, marked user-supplied, ready for Figure 5's series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from memwall_lib.core.schema import DataValidationError
from memwall_lib.tables import device_peaks, load_hardware, memory_capacity_gb
from memwall_lib.tables.user_chips import (
    ACCELERATORS_FILE,
    ChipSpecError,
    extra_accelerators,
    load_accelerators_file,
    with_user_chips,
)

HEADER = ",".join(ACCELERATORS_FILE.column_names)
GOOD = [
    "MyChip,Acme,accelerator,2026-03-01,,4000,96,bf16,tensor,dense,1000,hypothetical (a test)",
    "MyChip,Acme,accelerator,2026-03-01,,4000,96,fp8,tensor,dense,2000,hypothetical (a test)",
    "MyChip,Acme,accelerator,2026-03-01,,4000,96,fp8,tensor,sparse,4000,hypothetical (a test)",
    "Small,Acme,gpu,2024-05,2024-09,900,,fp16,tensor,dense,120,hypothetical (a test)",
]
SPEC: dict[str, Any] = {"name": "MyChip", "year": 2026, "peak_tflops": 1000, "dram_tb_s": 4, "memory_gb": 96}


@pytest.fixture(scope="module")
def hw() -> Any:
    return load_hardware()


def _csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "my_chips.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _errors(exc: pytest.ExceptionInfo[DataValidationError]) -> list[str]:
    return [str(e) for e in exc.value.errors]


def test_the_file_has_the_columns_figure_5_reads() -> None:
    assert ACCELERATORS_FILE.column_names == [
        "name",
        "vendor",
        "device_type",
        "announce_date",
        "availability_date",
        "memory_bandwidth_GB_per_s",
        "memory_capacity_GiB",
        "precision",
        "unit",
        "sparsity",
        "peak_TFLOPS",
        "source",
    ]
    assert ACCELERATORS_FILE.column("source").required
    assert ACCELERATORS_FILE.column("memory_bandwidth_GB_per_s").required  # Figure 5 needs it


def test_a_good_file_comes_back_in_the_data_tables_shape(tmp_path: Path, hw: Any) -> None:
    chips = load_accelerators_file(_csv(tmp_path, GOOD), hw.devices["name"])
    assert chips.names == ["MyChip", "Small"]
    assert list(chips.devices.columns) == [*hw.devices.columns, "user_supplied", "origin"]
    assert list(chips.peak_flops.columns) == [*hw.peak_flops.columns, "user_supplied", "origin"]
    assert chips.devices["user_supplied"].all() and set(chips.peak_flops["origin"]) == {"my_chips.csv"}
    merged = with_user_chips(hw, chips)
    assert len(merged.devices) == len(hw.devices) + 2 and len(merged.peak_flops) == len(hw.peak_flops) + 4
    assert not merged.devices["user_supplied"].iloc[: len(hw.devices)].any()
    peaks = device_peaks(merged.peak_flops, "ai_peak")
    assert peaks.loc["MyChip", "peak_TFLOPS"] == 1000 and peaks.loc["MyChip", "precision"] == "bf16"
    assert device_peaks(merged.peak_flops, "max_any").loc["MyChip", "peak_TFLOPS"] == 4000
    assert merged.dram is hw.dram and merged.interconnects is hw.interconnects


def test_cells_are_checked_as_in_data(tmp_path: Path, hw: Any) -> None:
    rows = [
        "MyChip,Acme,accelerator,2026-03-01,,-4000,96,bf16,tensor,dense,1000,hypothetical",  # negative bandwidth
        "Zero,Acme,accelerator,2026-03-01,,4000,96,bf16,tensor,dense,0,hypothetical",  # zero peak
        "NoSource,Acme,accelerator,2026-03-01,,4000,96,bf16,tensor,dense,10,",
        "NoBandwidth,Acme,accelerator,2026-03-01,,,96,bf16,tensor,dense,10,hypothetical",
        "BadDate,Acme,accelerator,2026-13-01,,4000,96,bf16,tensor,dense,10,hypothetical",
        "BadPrecision,Acme,accelerator,2026-03-01,,4000,96,fp12,tensor,dense,10,hypothetical",
    ]
    with pytest.raises(DataValidationError) as exc:
        load_accelerators_file(_csv(tmp_path, rows), hw.devices["name"])
    errors = _errors(exc)
    assert any(
        e.startswith("my_chips.csv: row 1 (line 2), column 'memory_bandwidth_GB_per_s'") and "'-4000'" in e
        for e in errors
    )
    assert any("row 2 (line 3), column 'peak_TFLOPS': expected a positive number (> 0), got '0'" in e for e in errors)
    assert any("row 3 (line 4), column 'source': expected a value" in e for e in errors)
    assert any("row 4 (line 5), column 'memory_bandwidth_GB_per_s': expected a value" in e for e in errors)
    assert any("row 5 (line 6), column 'announce_date'" in e for e in errors)
    assert any("row 6 (line 7), column 'precision'" in e and "'fp12'" in e for e in errors)


def test_the_header_must_be_exact(tmp_path: Path) -> None:
    header = HEADER.replace(",memory_capacity_GiB", "")
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['memory_capacity_GiB'\]"):
        load_accelerators_file(_csv(tmp_path, [], header))
    with pytest.raises(DataValidationError, match="file not found"):
        load_accelerators_file(tmp_path / "absent.csv")


def test_cross_row_rules(tmp_path: Path, hw: Any) -> None:
    rows = [
        "H100 SXM5 80GB,NVIDIA,gpu,2022-03-22,,3350,80,bf16,tensor,dense,989,a copy",  # a name of data/
        "MyChip,Acme,accelerator,2026-03-01,,4000,96,bf16,tensor,dense,1000,hypothetical",
        "MyChip,Acme,accelerator,2026-03-01,,5000,96,fp8,tensor,dense,2000,hypothetical",  # disagrees
        "Late,Acme,gpu,2025-06-01,2025-01-01,900,,fp16,tensor,dense,120,hypothetical",  # available before announced
        "Sparse,Acme,gpu,2025-06-01,,900,,fp16,tensor,dense,120,hypothetical",
        "Sparse,Acme,gpu,2025-06-01,,900,,fp16,tensor,sparse,200,hypothetical",  # sparse != 2 x dense
        "Fast2016,Acme,gpu,2016-06-01,,900,,fp16,tensor,dense,50000,hypothetical",  # over the 2016 ceiling
    ]
    with pytest.raises(DataValidationError) as exc:
        load_accelerators_file(_csv(tmp_path, rows), hw.devices["name"])
    errors = _errors(exc)
    assert any(
        "row 1 (line 2), column 'name'" in e and "already a device of data/compute_devices.csv" in e for e in errors
    )
    assert any("row 3 (line 4), column 'memory_bandwidth_GB_per_s': expected 4000.0 as on row 2" in e for e in errors)
    assert any("row 4 (line 5), column 'availability_date': expected a date on or after" in e for e in errors)
    assert any("row 6 (line 7), column 'peak_TFLOPS': expected the sparse peak = 2 x dense" in e for e in errors)
    assert any("row 7 (line 8), column 'peak_TFLOPS': expected at most" in e and "2016" in e for e in errors)
    assert len(errors) == 5


def test_a_chip_and_peak_given_twice(tmp_path: Path) -> None:
    # cell checks come first, as for data/: the key is checked case-insensitively
    rows = [GOOD[0], GOOD[0].replace("MyChip", "mychip")]
    with pytest.raises(DataValidationError) as exc:
        load_accelerators_file(_csv(tmp_path, rows))
    assert _errors(exc) == [
        "my_chips.csv: row 2 (line 3), column 'name,precision,unit,sparsity': duplicate of row 1: "
        "{'name': 'mychip', 'precision': 'bf16', 'unit': 'tensor', 'sparsity': 'dense'} must be unique"
    ]


# --------------------------------------------------------------------------- extra_accelerators
def test_extra_accelerators_in_the_data_tables_shape(hw: Any) -> None:
    chips = extra_accelerators([SPEC, {**SPEC, "name": "Fp8Chip", "precision": "fp8", "source": "my notes"}])
    dev, peaks = chips.devices, chips.peak_flops
    assert list(dev.columns) == [*hw.devices.columns, "user_supplied", "origin"]
    assert list(dev["origin"]) == ["extra_accelerators[0]", "extra_accelerators[1]"]
    assert dev.loc[0, "memory_bandwidth_GB_per_s"] == 4000.0  # 4 TB/s
    assert memory_capacity_gb(dev).iloc[0] == pytest.approx(96.0)  # GB in, GB back out of the GiB column
    assert str(dev.loc[0, "announce_date"]) == "2026-07-01" and dev.loc[0, "vendor"] == "user-supplied"
    assert list(peaks["precision"]) == ["bf16", "fp8"] and set(peaks["sparsity"]) == {"dense"}
    assert dev.loc[1, "source"] == "my notes"
    merged = with_user_chips(hw, chips)
    ai = device_peaks(merged.peak_flops, "ai_peak")
    assert ai.loc["MyChip", "peak_TFLOPS"] == 1000 and "Fp8Chip" not in ai.index  # fp8 is not an AI-training peak


def _problems(items: Any, known: Any = ()) -> list[str]:
    with pytest.raises(ChipSpecError) as exc:
        extra_accelerators(items, known)
    assert all(p in str(exc.value) for p in exc.value.problems)
    return exc.value.problems


def test_each_bad_field_is_named(hw: Any) -> None:
    items = [
        {**SPEC, "dram_tb_s": 0},
        {**SPEC, "name": "B", "peak_tflops": -5},
        {k: v for k, v in SPEC.items() if k != "memory_gb"} | {"name": "C"},
        {**SPEC, "name": "D", "colour": "red"},
        {**SPEC, "name": "E", "year": 2100},
        {**SPEC, "name": "F", "peak_tflops": True},
        {**SPEC, "name": "G", "precision": "fp12"},
        {**SPEC, "name": "H", "year": 2016, "peak_tflops": 50000},
    ]
    problems = _problems(items)
    expected = [
        "extra_accelerators[0].dram_tb_s: expected a positive number (> 0), got 0",
        "extra_accelerators[1].peak_tflops: expected a positive number (> 0), got -5",
        "extra_accelerators[2].memory_gb: missing (required)",
        "extra_accelerators[3].colour: unknown key",
        "extra_accelerators[4].year: expected a whole year in [1940, 2030], got 2100",
        "extra_accelerators[5].peak_tflops: expected a finite number, got True",
        "extra_accelerators[6].precision: expected one of",
        "extra_accelerators[7].peak_tflops: expected at most",
    ]
    for e in expected:
        assert any(p.startswith(e) for p in problems), e
    assert len(problems) == len(expected)


def test_duplicate_names_and_names_of_data(hw: Any) -> None:
    problems = _problems([SPEC, {**SPEC, "name": "mychip"}, {**SPEC, "name": "A100 SXM4 80GB"}], hw.devices["name"])
    assert problems == [
        "extra_accelerators[1].name: 'mychip' is already taken by extra_accelerators[0]; rename it",
        "extra_accelerators[2].name: 'A100 SXM4 80GB' is already taken by data/compute_devices.csv; rename it",
    ]
    assert _problems({"name": "x"}) == ["extra_accelerators: expected a list of mappings, got {'name': 'x'}"]
    assert _problems(["MyChip"])[0].startswith("extra_accelerators[0]: expected a mapping")


def test_a_name_may_not_repeat_across_the_file_and_the_list(tmp_path: Path, hw: Any) -> None:
    from_file = load_accelerators_file(_csv(tmp_path, GOOD), hw.devices["name"])
    with pytest.raises(
        ValueError, match=r"extra_accelerators\[0\]: chip name 'MyChip' is already taken by my_chips.csv"
    ):
        with_user_chips(hw, from_file, extra_accelerators([SPEC]))


def test_the_example_file_loads(hw: Any) -> None:
    from memwall_lib.core.paths import REPO_ROOT

    chips = load_accelerators_file(REPO_ROOT / "examples" / "accelerators" / "my_chips.csv", hw.devices["name"])
    assert chips.names == ["MyChip"] and len(chips.peak_flops) == 2


def test_unit_slips_of_a_chip_are_caught_as_in_data(tmp_path: Path, hw: Any) -> None:
    # issue 22: floors beside the ceilings, tensor against vector peaks, the precision ladder
    rows = [
        "Slow,Acme,gpu,2025-06-01,,4.0,,bf16,tensor,dense,1000,TB/s typed as GB/s",
        "Vec,Acme,gpu,2025-06-01,,4000,,fp32,vector,dense,10,hypothetical",
        "Vec,Acme,gpu,2025-06-01,,4000,,bf16,tensor,dense,10000,tensor x10",
        "Ladder,Acme,gpu,2025-06-01,,4000,,bf16,tensor,dense,1000,hypothetical",
        "Ladder,Acme,gpu,2025-06-01,,4000,,fp16,tensor,dense,10000,fp16 x10",
    ]
    with pytest.raises(DataValidationError) as exc:
        load_accelerators_file(_csv(tmp_path, rows), hw.devices["name"])
    errors = _errors(exc)
    assert any("row 1 (line 2), column 'memory_bandwidth_GB_per_s': expected at least" in e for e in errors), errors
    assert any("row 3 (line 4), column 'peak_TFLOPS': expected a bf16 tensor peak of at most 800" in e for e in errors)
    assert any("row 5 (line 6), column 'peak_TFLOPS': expected the fp16 peak to be at most" in e for e in errors)
    problems = _problems([{**SPEC, "peak_tflops": 0.001}, {**SPEC, "name": "B", "dram_tb_s": 0.004}])
    assert problems[0].startswith("extra_accelerators[0].peak_tflops: expected at least") and "floor" in problems[0]
    assert problems[1].startswith("extra_accelerators[1].dram_tb_s: expected at least")
