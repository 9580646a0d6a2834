"""Validating a CSV file against its schema, cell by cell.

Every table has a :class:`Schema` (the project's own are in :mod:`memwall_lib.tables.schemas`): its columns, their types, units, ranges and allowed
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

Why not frictionless (Table Schema): evaluated with frictionless 5.21 on the broken-CSV corpus's
kinds of error. It names row, field, value and constraint for single cells, but it takes
``nan`` as a number (caught only by a range, twice), refuses absolute paths unless trusted,
cannot express the cross-column and cross-file rules that catch most unit slips (availability
after announcement, sparse = 2x dense, per-year bounds: :mod:`memwall_lib.tables.loaders`), and
brings about 40 packages. Those rules would still need this code, so there would be two
validators for one job; this module stays the one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

Kind = Literal["str", "float", "date", "bool", "category", "list"]

#: Dates outside this window are rejected as typos (e.g. 2103 for 2013).
DATE_MIN = dt.date(1940, 1, 1)
DATE_MAX = dt.date(2030, 12, 31)

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
#: Control characters (C0, DEL, C1) and invisible format characters (soft hyphen, zero-width
#: spaces and joiners, bidirectional marks, word joiner, byte-order mark): a NUL in a vendor
#: cell reads as another vendor, a zero-width space as another device name. No cell may hold one.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_MAX_REPORTED_ERRORS = 25
#: Longest cell accepted, in characters (the longest real one, a list of sources, is ~400).
MAX_CELL_CHARS = 4000


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``kind`` is the cell type; ``positive`` requires a number > 0; ``minimum``/``maximum``
    are plausibility bounds of a number, in the column's unit (wide physical ranges that catch
    typos and unit slips such as 1e300 TFLOPS, not a judgement on the value); ``allowed``
    restricts a ``category`` (or each item of a ``;``-separated ``list``) to a set of values.
    """

    name: str
    kind: Kind
    description: str
    required: bool = True
    positive: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


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

    @classmethod
    def of(cls, file: str, record: Any, column: str | None, message: str) -> CellError:
        """The error of ``column`` in ``record``, a row of a frame that :func:`read_table`
        read (its ``row`` and ``line`` fields)."""
        return cls(file, int(record.row), int(record.line), column, message)

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
        if len(errors) == 1:  # one line, as the runner prints it
            super().__init__(f"data error: {lines[0]}")
        else:
            super().__init__(f"{len(errors)} data error(s):\n  " + "\n  ".join(lines))


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
    if (col.minimum is not None and value < col.minimum) or (col.maximum is not None and value > col.maximum):
        raise ValueError(
            f"expected a plausible value in [{col.minimum:g}, {col.maximum:g}] ({col.description}), got {text!r}"
        )
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
        raise ValueError(f"expected a date between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}, got {text!r}")
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

    Raises DataValidationError listing every problem (file, row, line, column, expected);
    TypeError for a ``path`` that is not a str or Path or a ``schema`` that is not a Schema.
    """
    if not isinstance(path, (str, Path)) or str(path).strip() == "":
        raise TypeError(f"path: expected a CSV file path (str or pathlib.Path), got {path!r}")
    if not isinstance(schema, Schema):
        raise TypeError(
            f"schema: expected a memwall_lib.core.schema.Schema (e.g. memwall_lib.tables.SCHEMAS['models.csv']), "
            f"got {schema!r:.80}"
        )
    path = Path(path)
    fname = path.name
    if not path.is_file():
        raise DataValidationError(
            [
                CellError(
                    str(path),
                    None,
                    None,
                    None,
                    f"file not found (every file is read from the data folder {str(path.parent)!r})",
                )
            ]
        )
    text = _decode(path.read_bytes(), fname)
    try:
        return _read_rows(text, schema, fname)
    except csv.Error as exc:  # malformed quoting the row checks did not catch
        raise DataValidationError(
            [CellError(fname, None, None, None, f"not a well-formed CSV file ({exc}); check the quotes")]
        ) from None


def _decode(raw: bytes, fname: str) -> str:
    """UTF-8 text of a file, or a DataValidationError naming the line of the first bad byte
    (a Latin-1 or Windows-1252 export) or the byte-order mark (save as UTF-8 without BOM)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise DataValidationError(
            [
                CellError(
                    fname,
                    None,
                    None,
                    None,
                    "line 1 starts with a UTF-8 byte-order mark (BOM); save the file as UTF-8 without BOM",
                )
            ]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataValidationError(
            [
                CellError(
                    fname,
                    None,
                    None,
                    None,
                    f"line {line}: byte {raw[exc.start : exc.start + 1]!r} at offset {exc.start} is not UTF-8 "
                    f"(a Latin-1 or Windows-1252 export?); save the file as UTF-8",
                )
            ]
        ) from None


def _read_rows(text: str, schema: Schema, fname: str) -> pd.DataFrame:
    errors: list[CellError] = []
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))  # cells are checked below, with a clear message
    try:
        fh = io.StringIO(text, newline="")
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise DataValidationError([CellError(fname, None, None, None, "file is empty")]) from None
        return _read_records(reader, header, schema, fname, errors, text.split("\n"))
    finally:
        csv.field_size_limit(limit)


def _check_header(header: list[str], schema: Schema, fname: str) -> None:
    """Raise naming the file when ``header`` is not exactly the schema's columns."""
    missing = [c for c in schema.column_names if c not in header]
    unknown = [h for h in header if h not in schema.column_names]
    dupes = sorted({h for h in header if header.count(h) > 1})
    msg = [
        f"{what} column(s) {cols}"
        for what, cols in (("missing", missing), ("unknown", unknown), ("repeated", dupes))
        if cols
    ]
    if msg:
        text = "header: " + "; ".join(msg) + f"; expected exactly {schema.column_names}"
        raise DataValidationError([CellError(fname, None, None, None, text)])


def _row_shape_error(
    raw: list[str], header: list[str], where: tuple[str, int, int, int], lines: list[str]
) -> CellError | None:
    """What is wrong with the shape of row ``raw`` before any cell is parsed: a quoted cell over
    several lines, an over-long cell, or the wrong number of fields. ``where``: file, row, and
    the row's first and last line."""
    fname, rownum, first_line, line = where
    if any("\n" in c or "\r" in c for c in raw):
        text = f'a quoted cell runs from line {first_line} to line {line}: unterminated quote (")?'
        return CellError(fname, rownum, first_line, None, text)
    long = [(i, len(c)) for i, c in enumerate(raw) if len(c) > MAX_CELL_CHARS]
    if long:
        i, n = long[0]
        column = header[i] if i < len(header) else None
        return CellError(fname, rownum, line, column, f"cell of {n} characters exceeds the limit of {MAX_CELL_CHARS}")
    if len(raw) != len(header):
        quotes = sum(t.count('"') for t in lines[first_line - 1 : line])
        hint = (
            f'an odd number ({quotes}) of double quotes: an unterminated or stray quote (")'
            if quotes % 2
            else "an unquoted comma?"
        )
        return CellError(fname, rownum, line, None, f"expected {len(header)} fields, got {len(raw)}: {hint}")
    return None


def _parse_row(
    raw: list[str], index: dict[str, int], schema: Schema, where: tuple[str, int, int], errors: list[CellError]
) -> dict[str, Any]:
    """Row ``raw`` parsed cell by cell (``where``: file, row, line); each bad cell adds an error
    and is left empty."""
    fname, rownum, line = where
    rec: dict[str, Any] = {"row": rownum, "line": line}
    for col in schema.columns:
        text = raw[index[col.name]]
        rec[col.name] = _empty_value(col)
        if bad := CONTROL_CHARACTERS.search(text):
            msg = (
                f"expected plain text, got the control character U+{ord(bad.group()):04X} at position "
                f"{bad.start() + 1} of {text!r}"
            )
            errors.append(CellError(fname, rownum, line, col.name, msg))
            continue
        text = text.strip()
        if text == "":
            if col.required:
                msg = f"expected a value ({col.description}), got an empty cell"
                errors.append(CellError(fname, rownum, line, col.name, msg))
            continue
        try:
            rec[col.name] = _parse_cell(text, col)
        except ValueError as exc:
            errors.append(CellError(fname, rownum, line, col.name, str(exc)))
    return rec


def _duplicate_key(rec: dict[str, Any], schema: Schema, seen: dict[tuple, int], fname: str) -> CellError | None:
    """An error if ``rec``'s key (case-insensitive) repeats an earlier row's; records it in ``seen``."""
    key = tuple(rec.get(k) for k in schema.key)
    if any(k in (None, "") for k in key):
        return None
    norm = tuple(k.casefold() if isinstance(k, str) else k for k in key)
    if norm in seen:
        text = f"duplicate of row {seen[norm]}: {dict(zip(schema.key, key))} must be unique"
        return CellError(fname, rec["row"], rec["line"], ",".join(schema.key), text)
    seen[norm] = rec["row"]
    return None


def _read_records(
    reader: Any, header: list[str], schema: Schema, fname: str, errors: list[CellError], lines: list[str]
) -> pd.DataFrame:
    header = [h.strip() for h in header]
    _check_header(header, schema, fname)
    index = {h: i for i, h in enumerate(header)}
    records: list[dict[str, Any]] = []
    seen_keys: dict[tuple, int] = {}
    rownum = 0
    last_line = reader.line_num
    for raw in reader:
        line, first_line, last_line = reader.line_num, last_line + 1, reader.line_num
        if not raw or all(not c.strip() for c in raw):
            continue  # blank line
        rownum += 1
        shape = _row_shape_error(raw, header, (fname, rownum, first_line, line), lines)
        if shape is not None:
            errors.append(shape)
            continue
        rec = _parse_row(raw, index, schema, (fname, rownum, line), errors)
        duplicate = _duplicate_key(rec, schema, seen_keys, fname)
        if duplicate is not None:
            errors.append(duplicate)
        records.append(rec)
    if not records and not errors:
        errors.append(CellError(fname, None, None, None, "no data rows"))
    if errors:
        raise DataValidationError(errors)
    frame = pd.DataFrame.from_records(records, columns=["row", "line", *schema.column_names])
    frame.attrs["file"] = fname
    return frame


def check_references(child: pd.DataFrame, child_col: str, parent: pd.DataFrame, parent_col: str) -> None:
    """Every ``child[child_col]`` must appear in ``parent[parent_col]`` (a foreign key)."""
    known = set(parent[parent_col])
    errors = [
        CellError.of(
            child.attrs.get("file", "?"),
            r,
            child_col,
            f"expected a {parent_col} listed in {parent.attrs.get('file', '?')}, got {getattr(r, child_col)!r}",
        )
        for r in child.itertuples()
        if getattr(r, child_col) not in known
    ]
    if errors:
        raise DataValidationError(errors)
