"""Device helpers shared by the figures: the peak a chip contributes under a precision
policy, dates under a rule, memory capacity in GB, the largest GPU memory of each year."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import pandas as pd

from ..core.checks import check_frame, check_int, check_str_list
from ..core.schema import DATE_MAX, DATE_MIN

_AI_PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16")
_FLOAT_PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "fp4")
#: The columns of a peak table (:data:`memwall_lib.tables.schemas.COMPUTE_PEAK_FLOPS`) a policy reads.
PEAK_COLUMNS = ("device", "precision", "unit", "sparsity", "peak_TFLOPS")
#: Tie-break among equal peaks: the wider (earlier) format is reported.
_TIE_ORDER = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "fp4", "int4")


def _pick(
    rows: pd.DataFrame, precisions: tuple[str, ...] | None, units: tuple[str, ...] | None, sparse_ok: bool
) -> pd.DataFrame:
    keep = pd.Series(True, index=rows.index)
    if precisions is not None:
        keep &= rows["precision"].isin(precisions)
    if units is not None:
        keep &= rows["unit"].isin(units)
    if not sparse_ok:
        keep &= rows["sparsity"] == "dense"
    return rows[keep]


#: name -> (description, row filter). A chip contributes the largest peak its rows allow.
FLOPS_POLICIES: dict[str, tuple[str, Callable[[pd.DataFrame], pd.DataFrame]]] = {
    "ai_peak": (
        "largest dense peak at >= 16-bit floating point (fp64/fp32/tf32/fp16/bf16), vector or "
        "tensor units: the peak the chip offers for AI training of its day (the paper's choice)",
        lambda r: _pick(r, _AI_PRECISIONS, None, False),
    ),
    "fp32_vector": (
        "fp32 on vector units only, dense (a like-for-like single-precision series)",
        lambda r: _pick(r, ("fp32",), ("vector",), False),
    ),
    "max_dense_float": (
        "largest dense floating-point peak at any width, fp8/fp4 included",
        lambda r: _pick(r, _FLOAT_PRECISIONS, None, False),
    ),
    "max_any": (
        "largest figure the vendor quotes: any precision including int8/int4, sparse included",
        lambda r: _pick(r, None, None, True),
    ),
}


def device_peaks(peak_flops: pd.DataFrame, policy: str = "ai_peak") -> pd.DataFrame:
    """One row per device: the peak (TFLOPS) it contributes under ``policy``, and which
    precision/unit/sparsity that peak is. Devices with no qualifying row are dropped."""
    if policy not in FLOPS_POLICIES:
        raise ValueError(f"flops_policy: expected one of {list(FLOPS_POLICIES)}, got {policy!r}")
    check_frame("peak_flops", peak_flops, PEAK_COLUMNS, "the peak_flops table of load_hardware")
    rows = FLOPS_POLICIES[policy][1](peak_flops)
    # equal peaks at two precisions (e.g. fp16 = bf16): the earlier of _TIE_ORDER wins, so the
    # choice never depends on the sort algorithm or on the other rows of the table
    rank = rows["precision"].map({p: i for i, p in enumerate(_TIE_ORDER)}).fillna(len(_TIE_ORDER))
    best = (
        rows.assign(_rank=rank)
        .sort_values(["peak_TFLOPS", "_rank"], ascending=[False, True], kind="stable")
        .drop_duplicates("device")
    )
    return best.set_index("device")[["peak_TFLOPS", "precision", "unit", "sparsity"]]


#: Bytes in a GiB. DRAM capacities are sized in powers of two: a "80GB" A100 holds 80 GiB.
GIB = 2**30

#: How a device is dated: its first availability where the data has it, else its
#: announcement; or always its announcement.
DATE_RULES: tuple[str, ...] = ("availability", "announce")


def device_dates(devices: pd.DataFrame, rule: str = "availability") -> pd.Series:
    """The date of each device under ``rule`` (see :data:`DATE_RULES`)."""
    if rule not in DATE_RULES:
        raise ValueError(f"date_rule: expected one of {list(DATE_RULES)}, got {rule!r}")
    check_frame("devices", devices, ("announce_date", "availability_date"), "the devices table of load_hardware")
    if rule == "availability":
        avail = devices["availability_date"]
        return avail.where(avail.notna(), devices["announce_date"])
    return devices["announce_date"]


def memory_capacity_gb(devices: pd.DataFrame) -> pd.Series:
    """Memory capacity per device in GB (1e9 bytes), from the nominal GiB of the data."""
    check_frame("devices", devices, ("memory_capacity_GiB",), "the devices table of load_hardware")
    return devices["memory_capacity_GiB"] * GIB / 1e9


def gpu_memory_by_year(
    devices: pd.DataFrame, years: Iterable[int], date_rule: str = "availability", exclude: Sequence[str] = ("dual-GPU",)
) -> pd.DataFrame:
    """The largest memory of a GPU available in each year, for a step line.

    ``devices`` is :func:`memwall_lib.tables.load_hardware`'s ``devices`` table. A GPU counts
    from its date: ``availability_date`` when given, else ``announce_date``
    (``date_rule="availability"``), or always ``announce_date``
    (``"announce"``). Devices whose name contains one of ``exclude`` (case-insensitive
    substrings, e.g. ``"dual-GPU"`` for boards carrying two GPUs) are left out. Returns columns ``year``, ``memory_gb`` (GB = 1e9 bytes; NaN if no GPU
    with a known capacity is dated by the end of that year) and ``device``.
    """
    if date_rule not in DATE_RULES:
        raise ValueError(f"date_rule: expected one of {list(DATE_RULES)}, got {date_rule!r}")
    needed = ("device_type", "announce_date", "availability_date", "memory_capacity_GiB", "name")
    check_frame("devices", devices, needed, "the devices table of load_hardware")
    lowered = [e.lower() for e in check_str_list("exclude", exclude)]
    if isinstance(years, (str, bytes)):
        raise TypeError(f"years: expected whole years, got the string {years!r}")
    wanted = sorted(
        {check_int(f"years[{i}]", y, minimum=DATE_MIN.year, maximum=DATE_MAX.year) for i, y in enumerate(years)}
    )
    gpus = devices[(devices["device_type"] == "gpu") & devices["memory_capacity_GiB"].notna()]
    gpus = gpus[[not any(e in str(n).lower() for e in lowered) for n in gpus["name"]]]

    dated = list(
        zip(
            [d.year for d in device_dates(gpus, date_rule)],
            memory_capacity_gb(gpus).astype(float),
            gpus["name"].astype(str),
        )
    )
    rows = []
    for year in wanted:
        avail = [(mem, name) for y, mem, name in dated if y <= year]
        if avail:
            mem, name = max(avail, key=lambda t: (t[0], t[1]))
            rows.append({"year": year, "memory_gb": mem, "device": name})
        else:
            rows.append({"year": year, "memory_gb": math.nan, "device": None})
    return pd.DataFrame(rows, columns=["year", "memory_gb", "device"])
