"""Loading the tables of ``data/``: each file validated against its schema, then checked
across files (foreign keys, totals that must add up, MoE rows that need active parameters)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core.paths import DATA_DIR
from ..core.schema import CellError, DataValidationError, check_references, read_table
from .hardware_checks import (
    check_dates,
    check_dram_year_bounds,
    check_generation_steps,
    check_precision_ladder,
    check_sparse_is_twice_dense,
    check_tensor_over_vector,
    check_year_ceilings,
)
from .hardware_cross import (
    check_lane_rates,
    check_memory_generations,
    check_not_future,
    check_reference_devices,
    check_type_dates,
)
from .model_checks import check_against_authors, check_model_compute, check_model_dates
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
    peaks and bandwidths stay between a floor and a ceiling that grow with the announcement
    year, and the plausibility checks across columns and files hold
    (:mod:`.hardware_checks`, :mod:`.hardware_cross`; bounds in ``data/README.md``).
    """
    d = _data_dir(data_dir)
    devices = read_table(d / COMPUTE_DEVICES.name, COMPUTE_DEVICES)
    flops = read_table(d / COMPUTE_PEAK_FLOPS.name, COMPUTE_PEAK_FLOPS)
    dram = read_table(d / DRAM_TECHNOLOGIES.name, DRAM_TECHNOLOGIES)
    links = read_table(d / INTERCONNECTS.name, INTERCONNECTS)
    check_references(flops, "device", devices, "name")
    with_flops = set(flops["device"])
    orphans = [
        CellError.of(
            COMPUTE_DEVICES.name,
            r,
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
        + check_dram_year_bounds(dram)
        + check_tensor_over_vector(flops)
        + check_precision_ladder(flops)
        + check_generation_steps(devices, flops)
        + check_reference_devices(devices, dram, links)
        + check_memory_generations(devices, dram)
        + check_type_dates(devices)
        + check_not_future(devices, ("announce_date", "availability_date"), COMPUTE_DEVICES.name)
        + check_not_future(dram, ("date",), DRAM_TECHNOLOGIES.name)
        + check_not_future(links, ("date",), INTERCONNECTS.name)
        + _check_interconnect_totals(links)
        + check_lane_rates(links)
    )
    if errors:
        raise DataValidationError(errors)
    return HardwareData(devices, flops, dram, links, d)


def _check_interconnect_totals(links: pd.DataFrame, rtol: float = 0.02) -> list[CellError]:
    """``device_GB_per_s`` must equal ``link_GB_per_s`` x ``links_per_device`` (within 2%,
    for rounding in vendors' figures) wherever the link count is given."""
    errors = []
    for r in links.itertuples():
        if r.links_per_device > 0:
            expected = r.link_GB_per_s * r.links_per_device
            if abs(r.device_GB_per_s - expected) > rtol * expected:
                errors.append(
                    CellError.of(
                        INTERCONNECTS.name,
                        r,
                        "device_GB_per_s",
                        f"expected link_GB_per_s x links_per_device = {expected:g}, got {r.device_GB_per_s:g}",
                    )
                )
    return errors


def load_models(data_dir: str | Path = DATA_DIR) -> pd.DataFrame:
    """Read and validate ``models.csv``; mixture-of-experts rows must give active parameters,
    and dates and training compute must be plausible (:mod:`.model_checks`)."""
    frame = read_table(_data_dir(data_dir) / MODELS.name, MODELS)
    errors = [
        CellError.of(
            MODELS.name,
            r,
            "parameters_active_billions",
            "expected the active parameter count for a mixture-of-experts (family moe) model",
        )
        for r in frame.itertuples()
        if r.family == "moe" and not (r.parameters_active_billions > 0)
    ]
    errors += [
        CellError.of(
            MODELS.name,
            r,
            "parameters_active_billions",
            f"expected active <= total parameters ({r.parameters_total_billions}), got {r.parameters_active_billions}",
        )
        for r in frame.itertuples()
        if r.parameters_active_billions > r.parameters_total_billions
    ]
    errors += check_model_dates(frame) + check_model_compute(frame)
    if errors:
        raise DataValidationError(errors)
    return frame


def load_authors_tables(data_dir: str | Path = DATA_DIR, models: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read ``authors_tables.csv`` (the authors' published values); every ``model`` must be a
    name in ``models.csv`` whose values and date stay near the authors'
    (:func:`.model_checks.check_against_authors`)."""
    d = _data_dir(data_dir)
    frame = read_table(d / AUTHORS_TABLES.name, AUTHORS_TABLES)
    models = models if models is not None else load_models(d)
    check_references(frame, "model", models, "name")
    errors = check_against_authors(frame, models)
    if errors:
        raise DataValidationError(errors)
    return frame


def load_authors_plotted(data_dir: str | Path = DATA_DIR) -> pd.DataFrame:
    """``authors_plotted.csv`` (the elements drawn in the authors' figure PDFs), validated;
    ``date`` as ISO text ("" for Fig. 4's bars), as the extraction writes it."""
    frame = read_table(_data_dir(data_dir) / AUTHORS_PLOTTED.name, AUTHORS_PLOTTED)
    frame["date"] = [d.isoformat() if isinstance(d, dt.date) else "" for d in frame["date"]]
    return frame


def load_survey_latency(data_dir: str | Path = DATA_DIR) -> pd.DataFrame:
    """Read and validate ``survey_cpu_latency.csv`` (the survey's normalized CPU latencies);
    lengths must be whole numbers of tokens (returned as ints)."""
    frame = read_table(_data_dir(data_dir) / SURVEY_CPU_LATENCY.name, SURVEY_CPU_LATENCY)
    errors = [
        CellError.of(
            SURVEY_CPU_LATENCY.name,
            r,
            "seq_len_tokens",
            f"expected a whole number of tokens, got {r.seq_len_tokens}",
        )
        for r in frame.itertuples()
        if r.seq_len_tokens != int(r.seq_len_tokens)
    ]
    if errors:
        raise DataValidationError(errors)
    return frame.assign(seq_len_tokens=frame["seq_len_tokens"].astype(int))
