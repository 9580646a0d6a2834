"""Accelerators a user supplies, beside those of ``data/``: a CSV file (``accelerators_file``)
or a list of specs (``extra_accelerators``, e.g. from a papermill ``-y`` YAML), validated as
strictly as the data files and returned in the shape of :class:`~.loaders.HardwareData`'s
``devices`` and ``peak_flops`` tables, marked ``user_supplied``.

- :data:`ACCELERATORS_FILE`: the file's schema, one row per chip and peak, with the columns of
  ``data/compute_devices.csv`` and ``data/compute_peak_flops.csv`` that Figure 5 reads
  (the same column definitions: types, units, bounds); :func:`load_accelerators_file` reads
  and checks it as :func:`~.loaders.load_hardware` checks ``data/`` (availability after
  announcement, sparse = 2 x dense, year floors and ceilings, tensor against vector peaks, the precision ladder), and that rows of one chip agree;
- :func:`extra_accelerators` checks ``{name, year, peak_tflops, dram_tb_s, memory_gb}``
  dicts (optional ``precision``, default bf16, and ``source``), errors naming
  ``extra_accelerators[i].field``;
- :func:`with_user_chips` appends them to the data's tables; no name may repeat one of
  ``data/`` or of another user chip.

Units: peak_TFLOPS in 1e12 FLOP/s, bandwidth in GB/s (1e9 bytes/s; ``dram_tb_s`` in
1e12 bytes/s), capacity in GiB (2**30 bytes) in the tables and ``memory_gb`` in GB (1e9 bytes,
Figure 5's ``memory_GB``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.schema import DATE_MAX, DATE_MIN, CellError, Column, DataValidationError, Schema, read_table
from .devices import GIB
from .hardware_checks import (
    check_dates,
    check_precision_ladder,
    check_sparse_is_twice_dense,
    check_tensor_over_vector,
    check_year_ceilings,
    year_ceiling,
    year_floor,
)
from .loaders import HardwareData
from .schemas import COMPUTE_DEVICES, COMPUTE_PEAK_FLOPS, PRECISIONS

#: Columns of a chip (its device row); the other columns of the file describe one peak.
DEVICE_COLUMNS: tuple[str, ...] = (
    "name",
    "vendor",
    "device_type",
    "announce_date",
    "availability_date",
    "memory_bandwidth_GB_per_s",
    "memory_capacity_GiB",
)
PEAK_COLUMNS: tuple[str, ...] = ("precision", "unit", "sparsity", "peak_TFLOPS")

#: The schema of an ``accelerators_file``: the column definitions of ``data/`` (a chip needs a
#: DRAM bandwidth here: Figure 5 has no use for one without).
ACCELERATORS_FILE = Schema(
    name="accelerators_file",
    description="one row per user-supplied chip and peak throughput",
    key=("name", "precision", "unit", "sparsity"),
    columns=(
        *(COMPUTE_DEVICES.column(c) for c in DEVICE_COLUMNS[:5]),
        dataclasses.replace(COMPUTE_DEVICES.column("memory_bandwidth_GB_per_s"), required=True),
        COMPUTE_DEVICES.column("memory_capacity_GiB"),
        *(COMPUTE_PEAK_FLOPS.column(c) for c in PEAK_COLUMNS),
        COMPUTE_DEVICES.column("source"),
    ),
)

#: Keys of an ``extra_accelerators`` item: required, and optional with their defaults.
EXTRA_REQUIRED: tuple[str, ...] = ("name", "year", "peak_tflops", "dram_tb_s", "memory_gb")
EXTRA_OPTIONAL: dict[str, str] = {"precision": "bf16", "source": "user-supplied (extra_accelerators)"}
#: Vendor and device type given to an ``extra_accelerators`` chip.
EXTRA_VENDOR, EXTRA_DEVICE_TYPE = "user-supplied", "accelerator"


@dataclasses.dataclass(frozen=True)
class UserChips:
    """User-supplied chips: ``devices`` with the columns of ``HardwareData.devices`` and
    ``peak_flops`` with those of ``HardwareData.peak_flops``, each plus ``user_supplied``
    (True) and ``origin`` (the file, or ``extra_accelerators[i]``)."""

    devices: pd.DataFrame
    peak_flops: pd.DataFrame

    @property
    def names(self) -> list[str]:
        return [str(n) for n in self.devices["name"]]


def _taken(name: str, known: Mapping[str, str]) -> str | None:
    """What already holds ``name`` (case-insensitive) in ``known`` (folded name -> holder)."""
    return known.get(name.casefold())


def _frames(devices: pd.DataFrame, flops: pd.DataFrame, origin: str | Sequence[str]) -> UserChips:
    """:class:`UserChips` with every column of the data's tables (absent ones empty)."""
    dev = devices.copy()
    for c in COMPUTE_DEVICES.column_names:
        if c not in dev:
            dev[c] = [() if COMPUTE_DEVICES.column(c).kind == "list" else None] * len(dev)
    dev = dev[["row", "line", *COMPUTE_DEVICES.column_names]].assign(user_supplied=True, origin=origin)
    peaks = flops[["row", "line", *COMPUTE_PEAK_FLOPS.column_names]].assign(user_supplied=True)
    peaks["origin"] = peaks["device"].map(dict(zip(dev["name"], dev["origin"])))
    return UserChips(dev.reset_index(drop=True), peaks.reset_index(drop=True))


def load_accelerators_file(path: str | Path, known: Iterable[str] = ()) -> UserChips:
    """Read and check an ``accelerators_file`` (:data:`ACCELERATORS_FILE`); ``known``: names
    already taken (the devices of ``data/``), which a chip may not reuse.

    Raises :class:`~memwall_lib.core.schema.DataValidationError` naming file, row, line,
    column, expected and found for every bad cell, as for ``data/``."""
    table = read_table(path, ACCELERATORS_FILE)
    fname = table.attrs["file"]
    first = table.drop_duplicates("name")
    taken = {str(n).casefold(): "data/" + COMPUTE_DEVICES.name for n in known}
    errors = [
        CellError.of(fname, r, "name", f"{r.name!r} is already a device of {holder}; rename it")
        for r in first.itertuples()
        if (holder := _taken(str(r.name), taken))
    ]
    errors += _disagreements(table, fname)
    devices = first[["row", "line", *DEVICE_COLUMNS, "source"]]
    flops = table[["row", "line", "name", *PEAK_COLUMNS, "source"]].rename(columns={"name": "device"})
    errors += check_dates(devices, fname) + check_sparse_is_twice_dense(flops, fname)
    errors += check_year_ceilings(devices, flops, (fname, fname))
    errors += check_tensor_over_vector(flops, fname) + check_precision_ladder(flops, fname)
    if errors:
        raise DataValidationError(errors)
    return _frames(devices, flops, fname)


def _disagreements(table: pd.DataFrame, fname: str) -> list[CellError]:
    """Rows of one chip must give it the same device columns (they differ only in the peak)."""
    first = {r.name: r for r in table.drop_duplicates("name").itertuples()}
    errors = []
    for r in table.itertuples():
        ref = first[r.name]
        for col in DEVICE_COLUMNS[1:]:
            a, b = getattr(r, col), getattr(ref, col)
            if not (a == b or (_missing(a) and _missing(b))):
                text = f"expected {b!r} as on row {ref.row}, the first row of {r.name!r}; got {a!r}"
                errors.append(CellError.of(fname, r, col, text))
    return errors


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# --------------------------------------------------------------------------- extra_accelerators
#: ``extra_accelerators`` number field -> (data column whose bounds apply, factor to its unit).
_EXTRA_NUMBERS: dict[str, tuple[Column, float]] = {
    "peak_tflops": (COMPUTE_PEAK_FLOPS.column("peak_TFLOPS"), 1.0),
    "dram_tb_s": (COMPUTE_DEVICES.column("memory_bandwidth_GB_per_s"), 1e3),
    "memory_gb": (COMPUTE_DEVICES.column("memory_capacity_GiB"), 1e9 / GIB),
}


class ChipSpecError(ValueError):
    """Bad ``extra_accelerators`` items; ``problems`` lists every one as
    ``extra_accelerators[i].field: expected ..., got ...``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in extra_accelerators:\n  " + "\n  ".join(problems))


def _number_problem(key: str, value: Any) -> str | None:
    """What is wrong with number field ``key`` (:data:`_EXTRA_NUMBERS`), or None."""
    col, factor = _EXTRA_NUMBERS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"expected a finite number, got {value!r}"
    if value <= 0:
        return f"expected a positive number (> 0), got {value!r}"
    lo, hi = (col.minimum or 0.0) / factor, (col.maximum or math.inf) / factor
    if not lo <= value <= hi:
        return f"expected a plausible value in [{lo:g}, {hi:g}] ({key}), got {value!r}"
    return None


def _item_problems(item: Any) -> dict[str, str]:
    """field -> what is wrong with one ``extra_accelerators`` item (``""`` for the item)."""
    if not isinstance(item, Mapping):
        return {"": f"expected a mapping {{{', '.join(EXTRA_REQUIRED)}}}, got {item!r}"}
    out = {k: "missing (required)" for k in EXTRA_REQUIRED if k not in item}
    allowed = (*EXTRA_REQUIRED, *EXTRA_OPTIONAL)
    out.update({str(k): f"unknown key; expected some of {list(allowed)}" for k in item if k not in allowed})
    if "name" in item and (not isinstance(item["name"], str) or not item["name"].strip()):
        out["name"] = f"expected a non-empty string, got {item['name']!r}"
    year = item.get("year")
    if "year" in item and (
        isinstance(year, bool) or not isinstance(year, int) or not DATE_MIN.year <= year <= DATE_MAX.year
    ):
        out["year"] = f"expected a whole year in [{DATE_MIN.year}, {DATE_MAX.year}], got {year!r}"
    out.update({k: p for k in _EXTRA_NUMBERS if k in item and (p := _number_problem(k, item[k]))})
    if "precision" in item and item["precision"] not in PRECISIONS:
        out["precision"] = f"expected one of {', '.join(PRECISIONS)}; got {item['precision']!r}"
    if "source" in item and (not isinstance(item["source"], str) or not item["source"].strip()):
        out["source"] = f"expected a non-empty string, got {item['source']!r}"
    for key, col in (("peak_tflops", "peak_TFLOPS"), ("dram_tb_s", "memory_bandwidth_GB_per_s")):
        if key not in out and "year" not in out and key in item and "year" in item:
            factor = _EXTRA_NUMBERS[key][1]
            value, hi, lo = item[key] * factor, year_ceiling(col, item["year"]), year_floor(col, item["year"])
            if value > hi:
                out[key] = (
                    f"expected at most {hi / factor:.3g} for a chip of {year} (plausibility ceiling), got {item[key]!r}"
                )
            elif value < lo:
                out[key] = (
                    f"expected at least {lo / factor:.3g} for a chip of {year} (plausibility floor), got {item[key]!r}: "
                    f"a unit 1000x too large?"
                )
    return out


def extra_accelerators(items: Sequence[Mapping[str, Any]], known: Iterable[str] = ()) -> UserChips:
    """Check ``extra_accelerators`` items and return them as :class:`UserChips`.

    Each item is ``{name, year, peak_tflops, dram_tb_s, memory_gb}`` with optional
    ``precision`` (of ``peak_tflops``: default ``bf16``, a dense tensor peak, so the default
    ``ai_peak`` policy takes it) and ``source``. A chip is dated 1 July of ``year`` (mid-year),
    has vendor ``"user-supplied"`` and type ``"accelerator"``; ``dram_tb_s`` x 1000 gives its
    GB/s, ``memory_gb`` (GB = 1e9 bytes) x 1e9 / 2**30 its GiB. Numbers obey the bounds and
    year floors and ceilings of the data's columns. ``known``: names already taken (``data/``'s devices).

    Raises :class:`ChipSpecError` listing every problem as ``extra_accelerators[i].field``
    (zero or negative numbers, missing or unknown keys, a name used twice or already in
    ``data/``)."""
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
        raise ChipSpecError([f"extra_accelerators: expected a list of mappings, got {items!r}"])
    problems: list[str] = []
    taken = {str(n).casefold(): "data/" + COMPUTE_DEVICES.name for n in known}
    for i, item in enumerate(items):
        found = _item_problems(item)
        if "name" not in found and "" not in found:
            if holder := _taken(item["name"], taken):
                found["name"] = f"{item['name']!r} is already taken by {holder}; rename it"
            taken[item["name"].casefold()] = f"extra_accelerators[{i}]"
        problems += [f"extra_accelerators[{i}]{'.' + k if k else ''}: {p}" for k, p in found.items()]
    if problems:
        raise ChipSpecError(problems)
    return _extra_frames(items)


def _extra_frames(items: Sequence[Mapping[str, Any]]) -> UserChips:
    """The tables of checked ``extra_accelerators`` items (row = position + 1, line 0: no file)."""
    devices, flops = [], []
    for i, item in enumerate(items):
        spec = {**EXTRA_OPTIONAL, **item}
        where = {"row": i + 1, "line": 0}
        devices.append(
            {
                **where,
                "name": spec["name"],
                "vendor": EXTRA_VENDOR,
                "device_type": EXTRA_DEVICE_TYPE,
                "announce_date": dt.date(int(spec["year"]), 7, 1),
                "availability_date": None,
                "memory_bandwidth_GB_per_s": float(spec["dram_tb_s"]) * 1e3,
                "memory_capacity_GiB": float(spec["memory_gb"]) * 1e9 / GIB,
                "source": spec["source"],
            }
        )
        flops.append(
            {
                **where,
                "device": spec["name"],
                "precision": spec["precision"],
                "unit": "tensor",
                "sparsity": "dense",
                "peak_TFLOPS": float(spec["peak_tflops"]),
                "source": spec["source"],
            }
        )
    origins = [f"extra_accelerators[{i}]" for i in range(len(items))]
    return _frames(pd.DataFrame(devices), pd.DataFrame(flops), origins)


def with_user_chips(hw: HardwareData, *chips: UserChips) -> HardwareData:
    """``hw`` with the user's chips appended to its ``devices`` and ``peak_flops`` (every row
    gains ``user_supplied`` and ``origin``: False and ``"data/<file>"`` for the data's rows).
    A name may appear once across ``data/`` and all ``chips`` (case-insensitive)."""
    holders = {str(n).casefold(): "data/" + COMPUTE_DEVICES.name for n in hw.devices["name"]}
    for c in chips:
        for name, origin in zip(c.devices["name"], c.devices["origin"]):
            if holder := _taken(str(name), holders):
                raise ValueError(f"{origin}: chip name {name!r} is already taken by {holder}; rename it")
            holders[str(name).casefold()] = str(origin)
    dev = hw.devices.assign(user_supplied=False, origin="data/" + COMPUTE_DEVICES.name)
    peaks = hw.peak_flops.assign(user_supplied=False, origin="data/" + COMPUTE_PEAK_FLOPS.name)
    devices = pd.concat([dev, *(c.devices for c in chips)], ignore_index=True)
    flops = pd.concat([peaks, *(c.peak_flops for c in chips)], ignore_index=True)
    return dataclasses.replace(hw, devices=devices, peak_flops=flops)
