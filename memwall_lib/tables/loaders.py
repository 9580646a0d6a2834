"""Loading the tables of ``data/``: each file validated against its schema, then checked
across files (foreign keys, totals that must add up, MoE rows that need active parameters)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core.paths import DATA_DIR
from ..core.schema import CellError, DataValidationError, check_references, read_table
from .schemas import (
    AUTHORS_PLOTTED,
    AUTHORS_TABLES,
    COMPUTE_DEVICES,
    COMPUTE_PEAK_FLOPS,
    DRAM_TECHNOLOGIES,
    INTERCONNECTS,
    MODELS,
    SURVEY_CPU_LATENCY,
)


@dataclass
class HardwareData:
    """The four validated hardware tables (Figure 1, and memory capacity for Figures 2 and 4)."""

    devices: pd.DataFrame
    peak_flops: pd.DataFrame
    dram: pd.DataFrame
    interconnects: pd.DataFrame
    data_dir: Path = field(default=DATA_DIR)


def _data_dir(data_dir: str | Path) -> Path:
    """``data_dir`` as a Path; TypeError naming the argument for anything but a str or Path."""
    if not isinstance(data_dir, (str, Path)) or data_dir == "":
        raise TypeError(f"data_dir: expected a folder (str or pathlib.Path), got {data_dir!r}")
    d = Path(data_dir)
    if not d.is_dir():
        raise ValueError(f"data_dir: folder {str(d)!r} does not exist")
    return d


#: The files :func:`load_hardware` reads (a figure that loads the hardware depends on all of them).
HARDWARE_FILES: tuple[str, ...] = tuple(
    t.name for t in (COMPUTE_DEVICES, COMPUTE_PEAK_FLOPS, DRAM_TECHNOLOGIES, INTERCONNECTS)
)


def load_hardware(data_dir: str | Path = DATA_DIR) -> HardwareData:
    """Read and cross-check ``compute_devices``, ``compute_peak_flops``, ``dram_technologies``
    and ``interconnects`` from ``data_dir``.

    Besides each file's schema, every peak-FLOPS row must name a known device and every
    device must have at least one peak-FLOPS row, a device is available on or after its
    announcement, a sparse peak is twice the dense one of the same device, precision and unit,
    and peaks and bandwidths stay under a ceiling that grows with the announcement year.
    """
    d = _data_dir(data_dir)
    devices = read_table(d / COMPUTE_DEVICES.name, COMPUTE_DEVICES)
    flops = read_table(d / COMPUTE_PEAK_FLOPS.name, COMPUTE_PEAK_FLOPS)
    dram = read_table(d / DRAM_TECHNOLOGIES.name, DRAM_TECHNOLOGIES)
    links = read_table(d / INTERCONNECTS.name, INTERCONNECTS)
    check_references(flops, "device", devices, "name")
    with_flops = set(flops["device"])
    orphans = [
        CellError(
            COMPUTE_DEVICES.name,
            int(r.row),
            int(r.line),
            "name",
            f"device {r.name!r} has no row in {COMPUTE_PEAK_FLOPS.name}",
        )
        for r in devices.itertuples()
        if r.name not in with_flops
    ]
    if orphans:
        raise DataValidationError(orphans)
    errors = (
        check_dates(devices)
        + check_sparse_is_twice_dense(flops)
        + check_year_ceilings(devices, flops)
        + _check_interconnect_totals(links)
    )
    if errors:
        raise DataValidationError(errors)
    return HardwareData(devices, flops, dram, links, d)


def check_dates(devices: pd.DataFrame, fname: str = COMPUTE_DEVICES.name) -> list[CellError]:
    """``availability_date`` (where given) must not precede ``announce_date``; errors name
    file ``fname`` (the devices' rows and lines are in ``devices``)."""
    errors = [
        CellError(
            fname,
            int(r.row),
            int(r.line),
            "availability_date",
            f"expected a date on or after announce_date {r.announce_date.isoformat()}, "
            f"got {r.availability_date.isoformat()}",
        )
        for r in devices.itertuples()
        if r.availability_date is not None and r.availability_date < r.announce_date
    ]
    return errors


def check_sparse_is_twice_dense(
    flops: pd.DataFrame, fname: str = COMPUTE_PEAK_FLOPS.name, rtol: float = 0.02
) -> list[CellError]:
    """Vendors quote structured (2:4) sparsity as exactly twice the dense peak: where a device
    has both for one precision and unit, ``sparse = 2 x dense`` (within 2%); errors name file
    ``fname``."""
    dense = {(r.device, r.precision, r.unit): r.peak_TFLOPS for r in flops.itertuples() if r.sparsity == "dense"}
    errors = []
    for r in flops.itertuples():
        d = dense.get((r.device, r.precision, r.unit))
        if r.sparsity == "sparse" and d is not None and abs(r.peak_TFLOPS - 2 * d) > rtol * 2 * d:
            errors.append(
                CellError(
                    fname,
                    int(r.row),
                    int(r.line),
                    "peak_TFLOPS",
                    f"expected the sparse peak = 2 x dense ({d:g}) = {2 * d:g} for "
                    f"{r.device} {r.precision} {r.unit}, got {r.peak_TFLOPS:g}",
                )
            )
    return errors


#: Year-dependent ceilings (value <= base x 2**((year - 2025) / doubling years)), ~10x above the
#: fastest device of each year in data/: a 2016 chip at 2 PFLOPS or 10 TB/s is a typo.
YEAR_CEILINGS = {"peak_TFLOPS": (2e5, 1.5), "memory_bandwidth_GB_per_s": (1e5, 2.5)}


def year_ceiling(column: str, year: float) -> float:
    """The largest plausible ``column`` value for a device announced in ``year``."""
    base, doubling = YEAR_CEILINGS[column]
    return base * 2.0 ** ((year - 2025) / doubling)


def check_year_ceilings(
    devices: pd.DataFrame,
    flops: pd.DataFrame,
    files: tuple[str, str] = (COMPUTE_DEVICES.name, COMPUTE_PEAK_FLOPS.name),
) -> list[CellError]:
    """Every peak and DRAM bandwidth stays under :func:`year_ceiling` of its device's
    announcement year; errors name ``files`` (the devices' file, the peaks' file)."""
    year = {r.name: r.announce_date.year for r in devices.itertuples()}
    errors = []
    for frame, fname, col in (
        (flops, files[1], "peak_TFLOPS"),
        (devices, files[0], "memory_bandwidth_GB_per_s"),
    ):
        for r in frame.itertuples():
            y = year.get(r.device if col == "peak_TFLOPS" else r.name)
            value = getattr(r, col)
            if y is not None and value > (hi := year_ceiling(col, y)):
                errors.append(
                    CellError(
                        fname,
                        int(r.row),
                        int(r.line),
                        col,
                        f"expected at most {hi:.3g} for a device announced in {y} "
                        f"(plausibility ceiling), got {value:g}",
                    )
                )
    return errors


def _check_interconnect_totals(links: pd.DataFrame, rtol: float = 0.02) -> list[CellError]:
    """``device_GB_per_s`` must equal ``link_GB_per_s`` x ``links_per_device`` (within 2%,
    for rounding in vendors' figures) wherever the link count is given."""
    errors = []
    for r in links.itertuples():
        if r.links_per_device > 0:
            expected = r.link_GB_per_s * r.links_per_device
            if abs(r.device_GB_per_s - expected) > rtol * expected:
                errors.append(
                    CellError(
                        INTERCONNECTS.name,
                        int(r.row),
                        int(r.line),
                        "device_GB_per_s",
                        f"expected link_GB_per_s x links_per_device = {expected:g}, got {r.device_GB_per_s:g}",
                    )
                )
    return errors


def load_models(data_dir: str | Path = DATA_DIR) -> pd.DataFrame:
    """Read and validate ``models.csv``; mixture-of-experts rows must give active parameters."""
    frame = read_table(_data_dir(data_dir) / MODELS.name, MODELS)
    errors = [
        CellError(
            MODELS.name,
            int(r.row),
            int(r.line),
            "parameters_active_billions",
            "expected the active parameter count for a mixture-of-experts (family moe) model",
        )
        for r in frame.itertuples()
        if r.family == "moe" and not (r.parameters_active_billions > 0)
    ]
    errors += [
        CellError(
            MODELS.name,
            int(r.row),
            int(r.line),
            "parameters_active_billions",
            f"expected active <= total parameters ({r.parameters_total_billions}), got {r.parameters_active_billions}",
        )
        for r in frame.itertuples()
        if r.parameters_active_billions > r.parameters_total_billions
    ]
    if errors:
        raise DataValidationError(errors)
    return frame


def load_authors_tables(data_dir: str | Path = DATA_DIR, models: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read ``authors_tables.csv`` (the authors' published values); every ``model`` must be a
    name in ``models.csv``."""
    d = _data_dir(data_dir)
    frame = read_table(d / AUTHORS_TABLES.name, AUTHORS_TABLES)
    check_references(frame, "model", models if models is not None else load_models(d), "name")
    return frame


def load_authors_plotted(data_dir: str | Path = DATA_DIR) -> pd.DataFrame:
    """``authors_plotted.csv`` (the elements drawn in the authors' figure PDFs), validated;
    ``date`` as ISO text ("" for Fig. 4's bars), as the extraction writes it."""
    frame = read_table(Path(data_dir) / AUTHORS_PLOTTED.name, AUTHORS_PLOTTED)
    frame["date"] = [d.isoformat() if isinstance(d, dt.date) else "" for d in frame["date"]]
    return frame


def load_survey_latency(data_dir: str | Path = DATA_DIR) -> pd.DataFrame:
    """Read and validate ``survey_cpu_latency.csv`` (the survey's normalized CPU latencies);
    lengths must be whole numbers of tokens (returned as ints)."""
    frame = read_table(Path(data_dir) / SURVEY_CPU_LATENCY.name, SURVEY_CPU_LATENCY)
    errors = [
        CellError(
            SURVEY_CPU_LATENCY.name,
            int(r.row),
            int(r.line),
            "seq_len_tokens",
            f"expected a whole number of tokens, got {r.seq_len_tokens}",
        )
        for r in frame.itertuples()
        if r.seq_len_tokens != int(r.seq_len_tokens)
    ]
    if errors:
        raise DataValidationError(errors)
    return frame.assign(seq_len_tokens=frame["seq_len_tokens"].astype(int))
