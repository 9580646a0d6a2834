"""The hardware tables against each other, and their dates against the calendar.

``dram_technologies.csv`` and ``interconnects.csv`` name a reference device; where it is a row
of ``compute_devices.csv`` the two files must agree (its date, bandwidth and memory type), and a
device cannot carry a memory generation before that generation's first device shipped, nor a
bandwidth far outside its generation's. Interconnect lane rates must agree with their link's
bandwidth (a lane rate x10 does not). Dates of a kind of device have floors, and no date lies in
the future. Each bound is stated in ``data/README.md`` ("Plausibility across columns and
files"); errors are :class:`~memwall_lib.core.schema.CellError` s naming file, row, column,
value and bound.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import pandas as pd

from ..core.schema import CellError
from .schemas import COMPUTE_DEVICES, DRAM_TECHNOLOGIES, INTERCONNECTS

#: Relative tolerance of a value two files both state (vendors' rounding).
RTOL = 0.02
#: A device's bandwidth lies within [reference / low, reference x high] of its memory
#: generation's first device (dram_technologies.csv). The table's widest spread within a
#: generation is GDDR3: the GTX 280 (512-bit, 2.2 Gbps) at 9.3x the FX 5700 Ultra (128-bit,
#: 0.95 Gbps); the lowest is 0.66x (MI25 on HBM2, against the P100).
GENERATION_BANDWIDTH_SPAN = (4.0, 12.0)
#: The earliest date of a kind of device: the first product sold as a GPU (NVIDIA GeForce 256,
#: announced 1999-08-31 as "the world's first GPU"); Google's TPU, first disclosed at Google
#: I/O on 2016-05-18 (the TPU v1 row).
TYPE_DATE_FLOORS: dict[str, tuple[dt.date, str]] = {
    "gpu": (dt.date(1999, 8, 31), "the first GPU, NVIDIA GeForce 256, was announced on 1999-08-31"),
    "tpu": (dt.date(2016, 5, 18), "Google first disclosed its TPU on 2016-05-18 (Google I/O)"),
}
#: PCIe bandwidth per x16 link = lane rate x 16 lanes / 8 x encoding efficiency, which lies in
#: [0.8, 1]: 8b/10b (PCIe 1.x/2.0) is 0.8, 128b/130b (3.0-5.0) 0.985, FLIT (6.0/7.0) 0.945.
PCIE_EFFICIENCY = (0.75, 1.0)
PCIE_LANES = 16


def check_reference_devices(devices: pd.DataFrame, dram: pd.DataFrame, links: pd.DataFrame) -> list[CellError]:
    """Where a DRAM generation's or an interconnect's reference device is a row of
    ``compute_devices.csv``, that row has the generation's date (its announcement), bandwidth
    (within 2%) and memory type, and the interconnect's date."""
    by_name = {r.name: r for r in devices.itertuples()}
    errors = []
    for t in dram.itertuples():
        d = by_name.get(t.reference_device)
        if d is None:
            continue
        where = f"as {DRAM_TECHNOLOGIES.name} row {t.row} ({t.technology}, whose reference device this is) gives"
        if d.announce_date != t.date:
            text = f"expected {t.date.isoformat()} {where}; got {d.announce_date.isoformat()}"
            errors.append(CellError.of(COMPUTE_DEVICES.name, d, "announce_date", text))
        bw = d.memory_bandwidth_GB_per_s
        if math.isnan(bw) or abs(bw - t.bandwidth_GB_per_s) > RTOL * t.bandwidth_GB_per_s:
            text = f"expected {t.bandwidth_GB_per_s:g} (within 2%) {where}; got {bw:g}"
            errors.append(CellError.of(COMPUTE_DEVICES.name, d, "memory_bandwidth_GB_per_s", text))
        if d.memory_type != t.technology:
            errors.append(
                CellError.of(
                    COMPUTE_DEVICES.name, d, "memory_type", f"expected {t.technology!r} {where}; got {d.memory_type!r}"
                )
            )
    for t in links.itertuples():
        d = by_name.get(t.reference_device)
        if d is not None and d.announce_date != t.date:
            text = (
                f"expected {t.date.isoformat()} as {INTERCONNECTS.name} row {t.row} ({t.standard}, whose reference "
                f"device this is) gives; got {d.announce_date.isoformat()}"
            )
            errors.append(CellError.of(COMPUTE_DEVICES.name, d, "announce_date", text))
    return errors


def check_memory_generations(devices: pd.DataFrame, dram: pd.DataFrame) -> list[CellError]:
    """A device with a memory type of ``dram_technologies.csv`` is announced no earlier than
    that generation's first device, with a bandwidth within :data:`GENERATION_BANDWIDTH_SPAN`
    of that device's."""
    tech = {t.technology: t for t in dram.itertuples()}
    low, high = GENERATION_BANDWIDTH_SPAN
    errors = []
    for d in devices.itertuples():
        t = tech.get(d.memory_type)
        if t is None:
            continue
        first = f"{t.technology}'s first device ({t.reference_device}, {DRAM_TECHNOLOGIES.name} row {t.row})"
        if d.announce_date < t.date:
            text = f"expected a date on or after {t.date.isoformat()}, when {first} was announced; got {d.announce_date.isoformat()}"
            errors.append(CellError.of(COMPUTE_DEVICES.name, d, "announce_date", text))
        bw, ref = d.memory_bandwidth_GB_per_s, t.bandwidth_GB_per_s
        if not math.isnan(bw) and not ref / low <= bw <= ref * high:
            text = (
                f"expected a {t.technology} bandwidth in [{ref / low:.4g}, {ref * high:.4g}] GB/s (1/{low:g} to {high:g} x "
                f"{first}: {ref:g}), got {bw:g}: a unit 1000x off, or a typo?"
            )
            errors.append(CellError.of(COMPUTE_DEVICES.name, d, "memory_bandwidth_GB_per_s", text))
    return errors


def _power_of_two_near(x: float, rtol: float = RTOL) -> bool:
    return x > 0 and abs(x / 2.0 ** round(math.log2(x)) - 1) <= rtol


def check_lane_rates(links: pd.DataFrame, fname: str = INTERCONNECTS.name) -> list[CellError]:
    """A lane rate agrees with its link: for PCIe, ``link_GB_per_s`` = lane rate x 16 / 8 x an
    encoding efficiency in :data:`PCIE_EFFICIENCY`; for the others (NVLink, Infinity Fabric),
    whose vendors quote the data rate per lane, ``8 x link_GB_per_s / lane_rate_GT_per_s`` is a
    whole power of two of lanes (within 2%)."""
    errors = []
    for r in links.itertuples():
        lane, link = r.lane_rate_GT_per_s, r.link_GB_per_s
        if math.isnan(lane):
            continue
        if r.family == "pcie":
            eff = link * 8 / (lane * PCIE_LANES)
            lo, hi = PCIE_EFFICIENCY
            if not lo <= eff <= hi:
                text = (
                    f"expected a PCIe lane rate giving an x16 encoding efficiency link_GB_per_s x 8 / (lane x 16) in "
                    f"[{lo:g}, {hi:g}], i.e. a lane rate in [{link * 8 / (hi * PCIE_LANES):.4g}, "
                    f"{link * 8 / (lo * PCIE_LANES):.4g}] GT/s for link_GB_per_s {link:g}; got {lane:g} (efficiency {eff:.3g})"
                )
                errors.append(CellError.of(fname, r, "lane_rate_GT_per_s", text))
        elif not _power_of_two_near(lanes := 8 * link / lane):
            text = (
                f"expected 8 x link_GB_per_s ({link:g}) / lane rate to be a whole power of two of lanes per link "
                f"(1, 2, 4, 8, 16, ...), got {lanes:.3g} lanes from lane rate {lane:g}: a typo (x10)?"
            )
            errors.append(CellError.of(fname, r, "lane_rate_GT_per_s", text))
    return errors


def check_type_dates(devices: pd.DataFrame, fname: str = COMPUTE_DEVICES.name) -> list[CellError]:
    """No device of a kind in :data:`TYPE_DATE_FLOORS` is announced before its floor."""
    errors = []
    for d in devices.itertuples():
        floor = TYPE_DATE_FLOORS.get(str(d.device_type))
        if floor is not None and d.announce_date < floor[0]:
            text = f"expected a {d.device_type} date on or after {floor[0].isoformat()} ({floor[1]}), got {d.announce_date.isoformat()}"
            errors.append(CellError.of(fname, d, "announce_date", text))
    return errors


def check_not_future(
    frame: pd.DataFrame, columns: Sequence[str], fname: str, today: dt.date | None = None
) -> list[CellError]:
    """No date in ``columns`` of ``frame`` lies after ``today`` (default: the day this runs):
    every row records a release, announcement or specification that has happened."""
    today = dt.date.today() if today is None else today
    errors = []
    for r in frame.itertuples():
        for col in columns:
            value = getattr(r, col)
            if isinstance(value, dt.date) and value > today:
                text = f"expected a date on or before today ({today.isoformat()}: a release that has happened), got {value.isoformat()}"
                errors.append(CellError.of(fname, r, col, text))
    return errors
