"""Reading and validating the raw CSV tables in ``data/``.

Every table has a :class:`Schema`: its columns, their types, units, ranges and allowed
values, and the key that must be unique. :func:`read_table` parses a file cell by cell and
raises :class:`DataValidationError` naming the file, the row (and its line in the file),
the column, what was expected and what was found, for *every* bad cell, never a raw pandas
or numpy traceback. Nothing here plots or fits.

Conventions shared by all tables (see ``data/README.md``):

- dates are ISO ``YYYY-MM-DD``, or ``YYYY-MM`` when only the month is known (taken as the
  15th of that month);
- numbers are plain decimals with the unit in the column name (GB = 1e9 bytes,
  TFLOPS = 1e12 FLOP/s, PFLOPs = 1e15 FLOPs);
- booleans are ``true``/``false``;
- every row has a non-empty ``source`` (a URL or a citation).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

import pandas as pd

from .paths import DATA_DIR

Kind = Literal["str", "float", "date", "bool", "category", "list"]

#: Dates outside this window are rejected as typos (e.g. 2103 for 2013).
DATE_MIN = dt.date(1940, 1, 1)
DATE_MAX = dt.date(2030, 12, 31)

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_MAX_REPORTED_ERRORS = 25


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``kind`` is the cell type; ``positive`` requires a number > 0; ``allowed`` restricts a
    ``category`` (or each item of a ``;``-separated ``list``) to a set of values.
    """

    name: str
    kind: Kind
    description: str
    required: bool = True
    positive: bool = False
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Schema:
    """The contract of one CSV file: its columns and the columns that form a unique key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass
class CellError:
    """One bad cell (or a whole-file problem when ``row`` is None)."""

    file: str
    row: int | None
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f": row {self.row} (line {self.line})"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class DataValidationError(ValueError):
    """Raised when a data file breaks its schema; ``errors`` lists every bad cell."""

    def __init__(self, errors: list[CellError]):
        self.errors = errors
        shown = errors[:_MAX_REPORTED_ERRORS]
        lines = [str(e) for e in shown]
        if len(errors) > len(shown):
            lines.append(f"... and {len(errors) - len(shown)} more errors")
        super().__init__(
            f"{len(errors)} data error(s):\n  " + "\n  ".join(lines)
        )


# --------------------------------------------------------------------------- cell parsers
def _parse_float(text: str, col: Column) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    if col.positive and value <= 0:
        raise ValueError(f"expected a positive number (> 0), got {text!r}")
    return value


def parse_date(text: str) -> dt.date:
    """Parse ``YYYY-MM-DD`` or ``YYYY-MM`` (the 15th of the month) into a date.

    Raises ValueError with a readable message for anything else or for a date outside
    [1940, 2030].
    """
    m = _DATE_RE.match(text)
    if not m:
        raise ValueError(f"expected a date as YYYY-MM-DD or YYYY-MM, got {text!r}")
    year, month = int(m.group(1)), int(m.group(2))
    day = int(m.group(3)) if m.group(3) else 15
    try:
        value = dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"expected a valid calendar date, got {text!r}") from None
    if not (DATE_MIN <= value <= DATE_MAX):
        raise ValueError(
            f"expected a date between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}, got {text!r}"
        )
    return value


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise ValueError(f"expected 'true' or 'false', got {text!r}")


def _parse_category(text: str, col: Column) -> str:
    if col.allowed is not None and text not in col.allowed:
        raise ValueError(f"expected one of {', '.join(col.allowed)}; got {text!r}")
    return text


def _parse_list(text: str, col: Column) -> tuple[str, ...]:
    items = tuple(s.strip() for s in text.split(";") if s.strip())
    for item in items:
        _parse_category(item, col)
    return items


def _parse_cell(text: str, col: Column) -> Any:
    if col.kind == "float":
        return _parse_float(text, col)
    if col.kind == "date":
        return parse_date(text)
    if col.kind == "bool":
        return _parse_bool(text)
    if col.kind == "category":
        return _parse_category(text, col)
    if col.kind == "list":
        return _parse_list(text, col)
    return text


def _empty_value(col: Column) -> Any:
    if col.kind == "float":
        return math.nan
    if col.kind == "list":
        return ()
    return None


# --------------------------------------------------------------------------- reading
def read_table(path: str | Path, schema: Schema) -> pd.DataFrame:
    """Read ``path`` and validate it against ``schema``.

    Returns a DataFrame with one column per schema column, typed: floats (NaN where an
    optional cell is empty), ``datetime.date`` objects, bools, strings, tuples for lists.
    Columns ``row`` (1-based data row) and ``line`` (line in the file) locate each record
    for later error messages.

    Raises DataValidationError listing every problem (file, row, line, column, expected).
    """
    path = Path(path)
    fname = path.name
    errors: list[CellError] = []
    if not path.is_file():
        raise DataValidationError([CellError(str(path), None, None, None, "file not found")])
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise DataValidationError([CellError(fname, None, None, None, "file is empty")]) from None
        header = [h.strip() for h in header]
        missing = [c for c in schema.column_names if c not in header]
        unknown = [h for h in header if h not in schema.column_names]
        dupes = sorted({h for h in header if header.count(h) > 1})
        if missing or unknown or dupes:
            msg = []
            if missing:
                msg.append(f"missing column(s) {missing}")
            if unknown:
                msg.append(f"unknown column(s) {unknown}")
            if dupes:
                msg.append(f"repeated column(s) {dupes}")
            raise DataValidationError([CellError(
                fname, None, None, None,
                "header: " + "; ".join(msg) + f"; expected exactly {schema.column_names}",
            )])
        index = {h: i for i, h in enumerate(header)}
        records: list[dict[str, Any]] = []
        seen_keys: dict[tuple, int] = {}
        rownum = 0
        for raw in reader:
            line = reader.line_num
            if not raw or all(not c.strip() for c in raw):
                continue  # blank line
            rownum += 1
            if len(raw) != len(header):
                errors.append(CellError(fname, rownum, line, None,
                                        f"expected {len(header)} fields, got {len(raw)} (unquoted comma?)"))
                continue
            rec: dict[str, Any] = {"row": rownum, "line": line}
            for col in schema.columns:
                text = raw[index[col.name]].strip()
                if text == "":
                    if col.required:
                        errors.append(CellError(fname, rownum, line, col.name,
                                                f"expected a value ({col.description}), got an empty cell"))
                    rec[col.name] = _empty_value(col)
                    continue
                try:
                    rec[col.name] = _parse_cell(text, col)
                except ValueError as exc:
                    errors.append(CellError(fname, rownum, line, col.name, str(exc)))
                    rec[col.name] = _empty_value(col)
            key = tuple(rec.get(k) for k in schema.key)
            if all(k not in (None, "") for k in key):
                norm = tuple(k.casefold() if isinstance(k, str) else k for k in key)
                if norm in seen_keys:
                    errors.append(CellError(
                        fname, rownum, line, ",".join(schema.key),
                        f"duplicate of row {seen_keys[norm]}: {dict(zip(schema.key, key))} must be unique",
                    ))
                else:
                    seen_keys[norm] = rownum
            records.append(rec)
    if not records and not errors:
        errors.append(CellError(fname, None, None, None, "no data rows"))
    if errors:
        raise DataValidationError(errors)
    frame = pd.DataFrame.from_records(records, columns=["row", "line", *schema.column_names])
    frame.attrs["file"] = fname
    return frame


def check_references(
    child: pd.DataFrame, child_col: str, parent: pd.DataFrame, parent_col: str
) -> None:
    """Every ``child[child_col]`` must appear in ``parent[parent_col]`` (a foreign key)."""
    known = set(parent[parent_col])
    errors = [
        CellError(child.attrs.get("file", "?"), int(r.row), int(r.line), child_col,
                  f"expected a {parent_col} listed in {parent.attrs.get('file', '?')}, got {getattr(r, child_col)!r}")
        for r in child.itertuples() if getattr(r, child_col) not in known
    ]
    if errors:
        raise DataValidationError(errors)


# --------------------------------------------------------------------------- schemas
SOURCE = Column("source", "str", "a URL or citation of the spec sheet or paper")

PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "fp4", "int4")
FIG1_LABELS = ("R10000", "Pentium II Xeon", "Itanium 2", "GTX 580", "K40", "KNL",
               "TPUv3", "A100", "TPUv4", "H100")

COMPUTE_DEVICES = Schema(
    name="compute_devices.csv",
    description="one row per compute device (CPU, GPU, TPU, other accelerator)",
    key=("name",),
    columns=(
        Column("name", "str", "unique device name"),
        Column("vendor", "str", "manufacturer"),
        Column("device_type", "category", "cpu|gpu|tpu|accelerator",
               allowed=("cpu", "gpu", "tpu", "accelerator")),
        Column("announce_date", "date", "first public announcement, YYYY-MM-DD"),
        Column("availability_date", "date", "first general availability, YYYY-MM-DD", required=False),
        Column("memory_type", "str", "DRAM technology, e.g. HBM2", required=False),
        Column("memory_bandwidth_GB_per_s", "float", "peak memory bandwidth per device in GB/s",
               required=False, positive=True),
        Column("memory_capacity_GiB", "float", "nominal memory capacity per device in GiB (2**30 bytes; "
               "vendors write GB)", required=False, positive=True),
        Column("paper_label", "category", "label printed in the paper's Figure 1", required=False,
               allowed=FIG1_LABELS),
        Column("paper_figures", "list", "paper figures the device appears in (1, 2a)", required=False,
               allowed=("1", "2a")),
        SOURCE,
    ),
)

COMPUTE_PEAK_FLOPS = Schema(
    name="compute_peak_flops.csv",
    description="one row per (device, precision, unit, sparsity) peak throughput",
    key=("device", "precision", "unit", "sparsity"),
    columns=(
        Column("device", "str", "a name from compute_devices.csv"),
        Column("precision", "category", "|".join(PRECISIONS), allowed=PRECISIONS),
        Column("unit", "category", "vector|tensor", allowed=("vector", "tensor")),
        Column("sparsity", "category", "dense|sparse", allowed=("dense", "sparse")),
        Column("peak_TFLOPS", "float", "peak throughput in 1e12 operations/s", positive=True),
        SOURCE,
    ),
)

DRAM_TECHNOLOGIES = Schema(
    name="dram_technologies.csv",
    description="one row per DRAM generation, with its leading device",
    key=("technology",),
    columns=(
        Column("technology", "str", "DRAM generation, e.g. GDDR5"),
        Column("family", "category", "gddr|hbm|ddr", allowed=("gddr", "hbm", "ddr")),
        Column("date", "date", "first leading device with this memory, YYYY-MM-DD"),
        Column("reference_device", "str", "the leading device whose bandwidth is given"),
        Column("bandwidth_GB_per_s", "float", "memory bandwidth in GB/s", positive=True),
        Column("bandwidth_scope", "category", "device|stack", allowed=("device", "stack")),
        Column("pin_rate_Gbps", "float", "per-pin data rate in Gbit/s", required=False, positive=True),
        Column("paper_label", "category", "label printed in the paper's Figure 1", required=False,
               allowed=("GDDR3", "GDDR4", "GDDR5", "HBM", "HBM2", "HBM2E")),
        SOURCE,
    ),
)

INTERCONNECTS = Schema(
    name="interconnects.csv",
    description="one row per interconnect standard or generation",
    key=("standard",),
    columns=(
        Column("standard", "str", "interconnect generation, e.g. PCIe 3.0"),
        Column("family", "category", "pcie|nvlink|infinity_fabric|ici|ethernet",
               allowed=("pcie", "nvlink", "infinity_fabric", "ici", "ethernet")),
        Column("date", "date", "specification release or first product, YYYY-MM-DD"),
        Column("lane_rate_GT_per_s", "float", "per-lane signalling rate in GT/s", required=False, positive=True),
        Column("link_GB_per_s", "float", "one link (PCIe x16, one NVLink) in GB/s per direction", positive=True),
        Column("links_per_device", "float", "links on the reference device", required=False, positive=True),
        Column("device_GB_per_s", "float", "all links of one device in GB/s per direction", positive=True),
        Column("direction", "category", "per_direction", allowed=("per_direction",)),
        Column("reference_device", "str", "device the per-device figure is for", required=False),
        Column("paper_label", "category", "label printed in the paper's Figure 1", required=False,
               allowed=("PCIe 1.0a", "PCIe 2.0", "PCIe 3.0", "PCIe 5.0", "NVLink 1.0", "NVLink 4.0")),
        SOURCE,
    ),
)

MODELS = Schema(
    name="models.csv",
    description="one row per model, with parameter count and training compute",
    key=("name",),
    columns=(
        Column("name", "str", "unique model name"),
        Column("date", "date", "first public release, YYYY-MM-DD"),
        Column("date_rule", "category", "arxiv|announcement", allowed=("arxiv", "announcement")),
        Column("domain", "category", "cv|nlp|speech|recsys", allowed=("cv", "nlp", "speech", "recsys")),
        Column("family", "category", "transformer|cnn|rnn|moe|other",
               allowed=("transformer", "cnn", "rnn", "moe", "other")),
        Column("parameters_total_billions", "float", "total parameters in billions (1e9)", positive=True),
        Column("parameters_active_billions", "float", "parameters active per token in billions (MoE)",
               required=False, positive=True),
        Column("training_compute_pflops", "float", "total training compute in PFLOPs (1e15 FLOPs)",
               required=False, positive=True),
        Column("parameters_is_estimate", "bool", "true if the parameter count is not the developers'"),
        Column("compute_is_estimate", "bool", "true if the training compute is not the developers'",
               required=False),
        Column("paper_figures", "list", "paper panels the model appears in (2a, 2b)", required=False,
               allowed=("2a", "2b")),
        SOURCE,
    ),
)

AUTHORS_TABLES = Schema(
    name="authors_tables.csv",
    description="the values the paper's authors published in their tables, errors included",
    key=("model",),
    columns=(
        Column("model", "str", "a name from models.csv"),
        Column("authors_name", "str", "the model's name in the authors' table"),
        Column("authors_date", "date", "the authors' date, YYYY-MM-DD"),
        Column("parameters_billions", "float", "the authors' parameter count in billions",
               required=False, positive=True),
        Column("training_compute_pflops", "float", "the authors' training compute in PFLOPs (1e15 FLOPs)",
               required=False, positive=True),
        SOURCE,
    ),
)

SCHEMAS: dict[str, Schema] = {s.name: s for s in
                              (COMPUTE_DEVICES, COMPUTE_PEAK_FLOPS, DRAM_TECHNOLOGIES, INTERCONNECTS, MODELS,
                               AUTHORS_TABLES)}


#: Bytes in a GiB. DRAM capacities are sized in powers of two: a "80GB" A100 holds 80 GiB.
GIB = 2**30

#: How a device is dated: its first availability where the data has it, else its
#: announcement; or always its announcement.
DATE_RULES: tuple[str, ...] = ("availability", "announce")


def device_dates(devices: pd.DataFrame, rule: str = "availability") -> pd.Series:
    """The date of each device under ``rule`` (see :data:`DATE_RULES`)."""
    if rule not in DATE_RULES:
        raise ValueError(f"date_rule: expected one of {list(DATE_RULES)}, got {rule!r}")
    if rule == "availability":
        avail = devices["availability_date"]
        return avail.where(avail.notna(), devices["announce_date"])
    return devices["announce_date"]


def memory_capacity_gb(devices: pd.DataFrame) -> pd.Series:
    """Memory capacity per device in GB (1e9 bytes), from the nominal GiB of the data."""
    return devices["memory_capacity_GiB"] * GIB / 1e9


@dataclass
class HardwareData:
    """The four validated hardware tables (Figure 1, and memory capacity for Figures 2 and 4)."""

    devices: pd.DataFrame
    peak_flops: pd.DataFrame
    dram: pd.DataFrame
    interconnects: pd.DataFrame
    data_dir: Path = field(default=DATA_DIR)


def load_hardware(data_dir: str | Path = DATA_DIR) -> HardwareData:
    """Read and cross-check ``compute_devices``, ``compute_peak_flops``, ``dram_technologies``
    and ``interconnects`` from ``data_dir``.

    Besides each file's schema, every peak-FLOPS row must name a known device and every
    device must have at least one peak-FLOPS row.
    """
    d = Path(data_dir)
    devices = read_table(d / COMPUTE_DEVICES.name, COMPUTE_DEVICES)
    flops = read_table(d / COMPUTE_PEAK_FLOPS.name, COMPUTE_PEAK_FLOPS)
    dram = read_table(d / DRAM_TECHNOLOGIES.name, DRAM_TECHNOLOGIES)
    links = read_table(d / INTERCONNECTS.name, INTERCONNECTS)
    check_references(flops, "device", devices, "name")
    with_flops = set(flops["device"])
    orphans = [CellError(COMPUTE_DEVICES.name, int(r.row), int(r.line), "name",
                         f"device {r.name!r} has no row in {COMPUTE_PEAK_FLOPS.name}")
               for r in devices.itertuples() if r.name not in with_flops]
    if orphans:
        raise DataValidationError(orphans)
    _check_interconnect_totals(links)
    return HardwareData(devices, flops, dram, links, d)


def _check_interconnect_totals(links: pd.DataFrame, rtol: float = 0.02) -> None:
    """``device_GB_per_s`` must equal ``link_GB_per_s`` x ``links_per_device`` (within 2%,
    for rounding in vendors' figures) wherever the link count is given."""
    errors = []
    for r in links.itertuples():
        if r.links_per_device > 0:
            expected = r.link_GB_per_s * r.links_per_device
            if abs(r.device_GB_per_s - expected) > rtol * expected:
                errors.append(CellError(INTERCONNECTS.name, int(r.row), int(r.line), "device_GB_per_s",
                                        f"expected link_GB_per_s x links_per_device = {expected:g}, "
                                        f"got {r.device_GB_per_s:g}"))
    if errors:
        raise DataValidationError(errors)


def load_models(data_dir: str | Path = DATA_DIR) -> pd.DataFrame:
    """Read and validate ``models.csv``; mixture-of-experts rows must give active parameters."""
    frame = read_table(Path(data_dir) / MODELS.name, MODELS)
    errors = [CellError(MODELS.name, int(r.row), int(r.line), "parameters_active_billions",
                        "expected the active parameter count for a mixture-of-experts (family moe) model")
              for r in frame.itertuples()
              if r.family == "moe" and not (r.parameters_active_billions > 0)]
    errors += [CellError(MODELS.name, int(r.row), int(r.line), "parameters_active_billions",
                         f"expected active <= total parameters ({r.parameters_total_billions}), "
                         f"got {r.parameters_active_billions}")
               for r in frame.itertuples()
               if r.parameters_active_billions > r.parameters_total_billions]
    if errors:
        raise DataValidationError(errors)
    return frame


def load_authors_tables(data_dir: str | Path = DATA_DIR, models: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read ``authors_tables.csv`` (the authors' published values); every ``model`` must be a
    name in ``models.csv``."""
    d = Path(data_dir)
    frame = read_table(d / AUTHORS_TABLES.name, AUTHORS_TABLES)
    check_references(frame, "model", models if models is not None else load_models(d), "name")
    return frame


def schema_markdown(schemas: Iterable[Schema] = SCHEMAS.values()) -> str:
    """The column dictionary of each schema as Markdown tables (for ``data/README.md``)."""
    out = []
    for s in schemas:
        out.append(f"### `{s.name}`: {s.description}\n\nUnique key: {', '.join(s.key)}.\n")
        out.append("| column | type | required | meaning |\n|---|---|---|---|")
        for c in s.columns:
            kind = c.kind + (" > 0" if c.positive else "")
            out.append(f"| `{c.name}` | {kind} | {'yes' if c.required else 'no'} | {c.description} |")
        out.append("")
    return "\n".join(out)
