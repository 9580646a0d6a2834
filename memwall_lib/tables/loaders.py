"""Loading the tables of ``data/``: each file validated against its schema, then checked
across files (foreign keys, totals that must add up, MoE rows that need active parameters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core.paths import DATA_DIR
from ..core.schema import CellError, DataValidationError, check_references, read_table
from .schemas import (AUTHORS_TABLES, COMPUTE_DEVICES, COMPUTE_PEAK_FLOPS, DRAM_TECHNOLOGIES, INTERCONNECTS, MODELS,
                      SURVEY_CPU_LATENCY)

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


def load_survey_latency(data_dir: str | Path = DATA_DIR) -> pd.DataFrame:
    """Read and validate ``survey_cpu_latency.csv`` (the survey's normalized CPU latencies);
    lengths must be whole numbers of tokens (returned as ints)."""
    frame = read_table(Path(data_dir) / SURVEY_CPU_LATENCY.name, SURVEY_CPU_LATENCY)
    errors = [CellError(SURVEY_CPU_LATENCY.name, int(r.row), int(r.line), "seq_len_tokens",
                        f"expected a whole number of tokens, got {r.seq_len_tokens}")
              for r in frame.itertuples() if r.seq_len_tokens != int(r.seq_len_tokens)]
    if errors:
        raise DataValidationError(errors)
    return frame.assign(seq_len_tokens=frame["seq_len_tokens"].astype(int))
