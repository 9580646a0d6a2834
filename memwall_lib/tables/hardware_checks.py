"""Plausibility of the hardware tables across columns and files: the checks that catch a unit
slip (a value off by 10^3: TB/s typed as GB/s) or a typo (x10, a date years off) that each
column's own wide range lets through.

Every bound is stated, with the rows of the tables or the specification it rests on, in
``data/README.md`` ("Plausibility across columns and files"); every check returns
:class:`~memwall_lib.core.schema.CellError` s naming file, row, line, column, the value and the
bound, so that :func:`memwall_lib.tables.load_hardware` reports them all at once.

Units: peaks in TFLOPS (1e12 op/s), bandwidths in GB/s (1e9 bytes/s), lane rates in GT/s.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from ..core.schema import CellError
from .schemas import COMPUTE_DEVICES, COMPUTE_PEAK_FLOPS, DRAM_TECHNOLOGIES


def check_dates(devices: pd.DataFrame, fname: str = COMPUTE_DEVICES.name) -> list[CellError]:
    """``availability_date`` (where given) must not precede ``announce_date``; errors name
    file ``fname`` (the devices' rows and lines are in ``devices``)."""
    errors = [
        CellError.of(
            fname,
            r,
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
                CellError.of(
                    fname,
                    r,
                    "peak_TFLOPS",
                    f"expected the sparse peak = 2 x dense ({d:g}) = {2 * d:g} for "
                    f"{r.device} {r.precision} {r.unit}, got {r.peak_TFLOPS:g}",
                )
            )
    return errors


# --------------------------------------------------------------------------- per-year bounds
#: Year-dependent ceilings (value <= base x 2**((year - 2025) / doubling years)), ~10x above the
#: fastest device of each year in data/: a 2016 chip at 2 PFLOPS or 10 TB/s is a typo.
YEAR_CEILINGS = {"peak_TFLOPS": (2e5, 1.5), "memory_bandwidth_GB_per_s": (1e5, 2.5)}

#: Floor = ceiling / span: (column, device type) -> span. About 10x below the slowest device of
#: the table against the ceiling of its year (peaks: a CPU's largest peak is at most 1.1e4 below
#: it, Sapphire Rapids; any other chip's 513x, Xeon Phi 7250; bandwidth: 243x, TPU v1's DDR3),
#: so a value typed 1000x too small (TB/s as GB/s, PFLOPS as TFLOPS) is below it.
YEAR_FLOOR_SPANS: dict[tuple[str, str], float] = {
    ("peak_TFLOPS", "cpu"): 1e5,
    ("peak_TFLOPS", "other"): 5e3,
    ("memory_bandwidth_GB_per_s", "cpu"): 2.5e3,
    ("memory_bandwidth_GB_per_s", "other"): 2.5e3,
}


def year_ceiling(column: str, year: float) -> float:
    """The largest plausible ``column`` value for a device announced in ``year``."""
    base, doubling = YEAR_CEILINGS[column]
    return base * 2.0 ** ((year - 2025) / doubling)


def year_floor(column: str, year: float, device_type: str = "other") -> float:
    """The smallest plausible ``column`` value (for a peak: the device's largest peak) of a
    ``device_type`` device announced in ``year`` (:data:`YEAR_FLOOR_SPANS`)."""
    kind = "cpu" if device_type == "cpu" else "other"
    return year_ceiling(column, year) / YEAR_FLOOR_SPANS[(column, kind)]


def _bound_error(fname: str, r: Any, col: str, value: float, year: int, device_type: str) -> CellError | None:
    """The error of a ``col`` value outside its year's floor and ceiling, or None."""
    hi, lo = year_ceiling(col, year), year_floor(col, year, device_type)
    what = "a device" if col == "memory_bandwidth_GB_per_s" else "the largest peak of a device"
    if value > hi:
        text = f"expected at most {hi:.3g} for a device announced in {year} (plausibility ceiling), got {value:g}"
    elif value < lo:
        text = (
            f"expected at least {lo:.3g} for {what} ({device_type}) announced in {year} (plausibility floor: "
            f"the ceiling / {YEAR_FLOOR_SPANS[(col, 'cpu' if device_type == 'cpu' else 'other')]:g}), got {value:g}: "
            f"a unit 1000x too large?"
        )
    else:
        return None
    return CellError.of(fname, r, col, text)


def check_year_ceilings(
    devices: pd.DataFrame,
    flops: pd.DataFrame,
    files: tuple[str, str] = (COMPUTE_DEVICES.name, COMPUTE_PEAK_FLOPS.name),
) -> list[CellError]:
    """Every peak and DRAM bandwidth stays under :func:`year_ceiling` of its device's
    announcement year, and each device's bandwidth and largest peak above :func:`year_floor`;
    errors name ``files`` (the devices' file, the peaks' file)."""
    year = {r.name: r.announce_date.year for r in devices.itertuples()}
    kind = {r.name: str(r.device_type) for r in devices.itertuples()}
    largest = flops.sort_values("peak_TFLOPS", ascending=False, kind="stable").drop_duplicates("device")
    errors = []
    for r in flops.itertuples():
        y = year.get(r.device)
        if y is not None and r.peak_TFLOPS > year_ceiling("peak_TFLOPS", y):
            errors.append(_bound_error(files[1], r, "peak_TFLOPS", r.peak_TFLOPS, y, kind[r.device]))
    for r in largest.itertuples():
        y = year.get(r.device)
        if y is not None and r.peak_TFLOPS < year_floor("peak_TFLOPS", y, kind[r.device]):
            errors.append(_bound_error(files[1], r, "peak_TFLOPS", r.peak_TFLOPS, y, kind[r.device]))
    col = "memory_bandwidth_GB_per_s"
    for r in devices.itertuples():
        if not math.isnan(getattr(r, col)):
            errors.append(_bound_error(files[0], r, col, getattr(r, col), year[r.name], kind[r.name]))
    return [e for e in errors if e is not None]


def check_dram_year_bounds(dram: pd.DataFrame, fname: str = DRAM_TECHNOLOGIES.name) -> list[CellError]:
    """Each DRAM generation's reference bandwidth lies between the device floor and ceiling of
    its date's year (the bounds of ``memory_bandwidth_GB_per_s``)."""
    col = "memory_bandwidth_GB_per_s"
    errors = []
    for r in dram.itertuples():
        y, value = r.date.year, r.bandwidth_GB_per_s
        if not year_floor(col, y) <= value <= year_ceiling(col, y):
            e = _bound_error(fname, r, col, value, y, "other")
            if e is not None:
                errors.append(CellError(e.file, e.row, e.line, "bandwidth_GB_per_s", e.message))
    return errors


# --------------------------------------------------------------------------- peaks of one device
#: Bits of each precision (tf32: 1 sign, 8 exponent and 10 mantissa bits).
PRECISION_BITS: dict[str, int] = {
    "fp64": 64,
    "fp32": 32,
    "tf32": 19,
    "fp16": 16,
    "bf16": 16,
    "fp8": 8,
    "int8": 8,
    "fp4": 4,
    "int4": 4,
}
#: A dense tensor peak / the same device's fp32 vector peak, scaled by bits / 32, is at most
#: this (the table's largest is 14, B200; A100 and H100 are 8 and 7.4).
TENSOR_OVER_VECTOR_MAX = 40.0
#: On one device and unit, a wider format's dense peak is at most this times a narrower one's
#: (the table's largest is 2, MI100's fp16 over its bf16).
WIDER_OVER_NARROWER_MAX = 4.0
#: ... and a narrower format's (fp64 aside: its rate is cut by product line) at most this times
#: the wider one's x their ratio of bits (the table's largest is 4, MI300X's fp16 over its fp32 tensor).
NARROWER_PER_BIT_MAX = 8.0


def check_tensor_over_vector(flops: pd.DataFrame, fname: str = COMPUTE_PEAK_FLOPS.name) -> list[CellError]:
    """A dense tensor peak is at most :data:`TENSOR_OVER_VECTOR_MAX` x the device's dense fp32
    vector peak x 32 / its bits (devices without an fp32 vector row are not checked)."""
    dense = flops[flops["sparsity"] == "dense"]
    vector = {r.device: r.peak_TFLOPS for r in dense.itertuples() if r.unit == "vector" and r.precision == "fp32"}
    errors = []
    for r in dense.itertuples():
        if r.unit != "tensor" or r.device not in vector:
            continue
        bound = TENSOR_OVER_VECTOR_MAX * vector[r.device] * 32 / PRECISION_BITS[r.precision]
        if r.peak_TFLOPS > bound:
            text = (
                f"expected a {r.precision} tensor peak of at most {bound:.4g} ({TENSOR_OVER_VECTOR_MAX:g} x the fp32 "
                f"vector peak {vector[r.device]:g} x 32 / {PRECISION_BITS[r.precision]} bits), got {r.peak_TFLOPS:g}"
            )
            errors.append(CellError.of(fname, r, "peak_TFLOPS", text))
    return errors


def check_precision_ladder(flops: pd.DataFrame, fname: str = COMPUTE_PEAK_FLOPS.name) -> list[CellError]:
    """Within one device and unit (dense rows), a wider format is at most
    :data:`WIDER_OVER_NARROWER_MAX` x a narrower one, and a narrower one at most
    :data:`NARROWER_PER_BIT_MAX` x the ratio of bits x a wider one (not fp64). A row that breaks
    the ladder against another is reported once, naming the other."""
    dense = flops[flops["sparsity"] == "dense"]
    errors = []
    for _, rows in dense.groupby(["device", "unit"], sort=False):
        rs = list(rows.itertuples())
        for r in rs:
            for o in rs:
                br, bo = PRECISION_BITS[r.precision], PRECISION_BITS[o.precision]
                if r is o or br < bo or (br == bo and r.row > o.row):
                    continue  # r is the wider (or, at one width, the first) of the pair
                text = _ladder_text(r, o, br, bo)
                if text:
                    errors.append(CellError.of(fname, r if "wider" in text else o, "peak_TFLOPS", text))
    return errors


def _ladder_text(wide: Any, narrow: Any, bw: int, bn: int) -> str:
    """What is wrong between the peaks of a wider and a narrower format, or ""."""
    pw, pn = float(wide.peak_TFLOPS), float(narrow.peak_TFLOPS)
    w, n = wide.precision, narrow.precision
    if pw > WIDER_OVER_NARROWER_MAX * pn:
        return (
            f"expected the wider {w} peak to be at most {WIDER_OVER_NARROWER_MAX:g} x the {n} peak {pn:g} "
            f"= {WIDER_OVER_NARROWER_MAX * pn:.4g} on this device and unit, got {pw:g}"
        )
    limit = NARROWER_PER_BIT_MAX * bw / bn * pw
    if w != "fp64" and pn > limit:
        return (
            f"expected the {n} peak to be at most {NARROWER_PER_BIT_MAX:g} x {bw}/{bn} bits x the {w} peak {pw:g} "
            f"= {limit:.4g} on this device and unit, got {pn:g}"
        )
    return ""


#: A GPU's, TPU's or accelerator's largest dense floating-point peak is at most this times the
#: best of the same vendor's devices of its type announced in the :data:`GENERATION_WINDOW_YEARS`
#: before it (the table's largest steps: 6.8x, MI300X's fp8 over MI250X; 6.3x, H100 over A100;
#: 5.9x, V100's first tensor cores over P100). CPUs are not checked: new vector and matrix
#: extensions (SSE, AVX-512, AMX) make steps of 10-12x in the table, and more with AMX.
GENERATION_STEP_MAX = 16.0
GENERATION_WINDOW_YEARS = 4.0
_FLOAT = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "fp4")


def check_generation_steps(
    devices: pd.DataFrame, flops: pd.DataFrame, fname: str = COMPUTE_PEAK_FLOPS.name
) -> list[CellError]:
    """A chip's (not a CPU's) largest dense floating-point peak is at most
    :data:`GENERATION_STEP_MAX` x its vendor's best chip of the same type from the
    :data:`GENERATION_WINDOW_YEARS` before it."""
    rows = flops[(flops["sparsity"] == "dense") & flops["precision"].isin(_FLOAT)]
    best = rows.sort_values("peak_TFLOPS", ascending=False, kind="stable").drop_duplicates("device")
    peak = dict(zip(best["device"], best.itertuples()))
    window = dt.timedelta(days=365.25 * GENERATION_WINDOW_YEARS)
    errors = []
    for d in devices.itertuples():
        if d.name not in peak or d.device_type == "cpu":
            continue
        earlier = devices[
            (devices["vendor"] == d.vendor)
            & (devices["device_type"] == d.device_type)
            & (devices["announce_date"] < d.announce_date)
            & (devices["announce_date"] >= d.announce_date - window)
        ]
        before = [(peak[n].peak_TFLOPS, n) for n in earlier["name"] if n in peak]
        if before and peak[d.name].peak_TFLOPS > GENERATION_STEP_MAX * max(before)[0]:
            ref, name = max(before)
            text = (
                f"expected at most {GENERATION_STEP_MAX:g} x the peak of {name} ({ref:g}), the best earlier "
                f"{d.vendor} {d.device_type} within {GENERATION_WINDOW_YEARS:g} years, = "
                f"{GENERATION_STEP_MAX * ref:.4g}; got {peak[d.name].peak_TFLOPS:g}"
            )
            errors.append(CellError.of(fname, peak[d.name], "peak_TFLOPS", text))
    return errors
