"""Figure 5's tables: accelerators with their ridge points, LLM arithmetic intensities, the
roofline lower bound of one model on every accelerator, and critical decode batches; the
growth fits over them, and the tables as the sidecar holds them (:func:`records`).

Conventions (each a parameter of :mod:`memwall_lib.figures.fig5_ridge`):

- accelerators: GPUs, TPUs and other accelerators of ``data/compute_devices.csv`` with a DRAM
  bandwidth, of the chosen families (by vendor), dated by ``date_rule`` as in Figure 1;
- peak FLOPS: the largest dense peak under a :data:`~memwall_lib.tables.FLOPS_POLICIES`
  policy (Figure 1's ``ai_peak`` by default), and separately the dense fp8 peak where the
  chip has one; ridge point = peak FLOP/s / DRAM bytes/s (FLOPs per byte);
- workloads: :mod:`memwall_lib.engines.counts.llm` (bytes: weights read once per pass, KV cache read
  and written, activations in and out of every op, no fusion; MoE experts touched under
  uniform top-k routing, an upper bound on distinct experts), at the chosen precision.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...core.params import ParameterError
from ...core.paths import resolve
from ...core.schema import DataValidationError
from ...core.trends import FitError, GrowthFit, fit_growth, fractional_year
from ...engines.counts.counter import ModelCounter
from ...engines.counts.ridge import ridge_point, roofline_time
from ...engines.memory.from_config import max_positions
from ...engines.models.configs import ModelSource
from ...tables import HardwareData, device_dates, device_peaks, memory_capacity_gb
from ...tables.user_chips import ChipSpecError, UserChips, extra_accelerators, load_accelerators_file, with_user_chips
from ..model_params import decoder_source, source_text

#: Accelerator family -> (vendor, device type) in ``data/compute_devices.csv``.
FAMILIES: dict[str, tuple[str, str]] = {
    "nvidia": ("NVIDIA", "gpu"),
    "amd": ("AMD", "gpu"),
    "google": ("Google", "tpu"),
    "intel": ("Intel", "accelerator"),
}
#: The family of every user-supplied chip (``accelerators_file``, ``extra_accelerators``).
USER_FAMILY = "user"
#: The low-precision peak drawn beside the policy's: dense fp8, where the chip has one.
LOW_PRECISION = "fp8"


def short_name(name: str) -> str:
    """A device's name for a plot label: 'Tesla V100 SXM2 16GB' -> 'V100 SXM2 16GB',
    'TPU v6e (Trillium)' -> 'TPU v6e'."""
    s = re.sub(r"^(Tesla|GeForce|Radeon Instinct|Radeon|Instinct|Quadro)\s+", "", name)
    s = s.replace("B200 in GB200 NVL72 (per GPU, 1200 W)", "B200 (GB200)")
    return re.sub(r"\s*\((?!GB200).*\)", "", s).strip()


def _fp8_peaks(peak_flops: pd.DataFrame) -> pd.Series:
    rows = peak_flops[(peak_flops["precision"] == LOW_PRECISION) & (peak_flops["sparsity"] == "dense")]
    return rows.groupby("device")["peak_TFLOPS"].max()


#: What each filter of :func:`select_accelerators` removes, by key.
REMOVED_BY: dict[str, str] = {
    "cpu": "a CPU, not an accelerator",
    "no_bandwidth": "no DRAM bandwidth in data/compute_devices.csv",
    "family": "vendor and device type not in accelerator_families",
    "years": "dated outside year_min..year_max",
    "no_peak": "no dense peak under flops_policy and no dense fp8 peak",
}


def _drop(dev: pd.DataFrame, keep: Any, key: str, removed: dict[str, list[str]]) -> pd.DataFrame:
    """``dev`` where ``keep``; the names of the other rows go to ``removed[key]``."""
    removed[key] = sorted(dev.loc[~keep, "name"].astype(str))
    return dev[keep]


def select_accelerators(
    hw: HardwareData, flops_policy: str, date_rule: str, families: Sequence[str], year_min: int, year_max: int
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """:func:`accelerators`, and the device names each filter removed (keys of :data:`REMOVED_BY`)."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"families: unknown {unknown}; expected some of {list(FAMILIES)}")
    removed: dict[str, list[str]] = {}
    dev = _drop(hw.devices, hw.devices["device_type"] != "cpu", "cpu", removed)
    dev = _drop(dev, dev["memory_bandwidth_GB_per_s"].notna(), "no_bandwidth", removed).copy()
    fam = pd.Series("", index=dev.index)
    for key, (vendor, dtype) in FAMILIES.items():
        fam[(dev["vendor"] == vendor) & (dev["device_type"] == dtype)] = key
    user = dev["user_supplied"].astype(bool) if "user_supplied" in dev else pd.Series(False, index=dev.index)
    fam[user] = USER_FAMILY  # a user's chip is kept whatever its vendor and date
    dev["family"] = fam
    dev = _drop(dev, dev["family"].isin(list(families)) | user, "family", removed).copy()
    dev["date"] = device_dates(dev, date_rule)
    dev["year"] = fractional_year(dev["date"]) if len(dev) else np.array([], dtype=float)
    user = user[dev.index]  # a user's chip is also kept whatever its date
    dev = _drop(dev, ((dev["year"] >= year_min) & (dev["year"] < year_max + 1)) | user, "years", removed)
    peaks, fp8 = device_peaks(hw.peak_flops, flops_policy), _fp8_peaks(hw.peak_flops)
    dev = _drop(dev, dev["name"].isin(peaks.index) | dev["name"].isin(fp8.index), "no_peak", removed)
    return _accelerator_table(dev, peaks, fp8), removed


def accelerators(
    hw: HardwareData, flops_policy: str, date_rule: str, families: Sequence[str], year_min: int, year_max: int
) -> pd.DataFrame:
    """One row per accelerator dated in [year_min, year_max]: ``name``, ``short``, ``family``,
    ``date``, ``year``, ``peak_TFLOPS`` and ``precision`` under ``flops_policy`` (NaN/"" when no
    row qualifies), ``fp8_TFLOPS`` (NaN without fp8), ``bandwidth_GB_per_s``, ``memory_GB``,
    ``ridge`` and ``ridge_fp8`` (FLOPs per byte), ``label`` (the paper's, or ""). Sorted by date."""
    return select_accelerators(hw, flops_policy, date_rule, families, year_min, year_max)[0]


def _accelerator_table(dev: pd.DataFrame, peaks: pd.DataFrame, fp8: pd.Series) -> pd.DataFrame:
    """The rows of :func:`accelerators` from the selected devices and their peaks."""
    bw = dev["memory_bandwidth_GB_per_s"].astype(float).to_numpy()
    peak = peaks["peak_TFLOPS"].reindex(dev["name"]).to_numpy(dtype=float)
    peak8 = fp8.reindex(dev["name"]).to_numpy(dtype=float)
    ridge = [ridge_point(p * 1e12, b * 1e9) if np.isfinite(p) else np.nan for p, b in zip(peak, bw)]
    ridge8 = [ridge_point(p * 1e12, b * 1e9) if np.isfinite(p) else np.nan for p, b in zip(peak8, bw)]
    out = pd.DataFrame(
        {
            "name": dev["name"].to_numpy(),
            "short": [short_name(n) for n in dev["name"]],
            "family": dev["family"].to_numpy(),
            "date": dev["date"].to_numpy(),
            "year": dev["year"].to_numpy(),
            "peak_TFLOPS": peak,
            "precision": peaks["precision"].reindex(dev["name"]).fillna("").to_numpy(),
            "fp8_TFLOPS": peak8,
            "bandwidth_GB_per_s": bw,
            "memory_GB": memory_capacity_gb(dev).to_numpy(dtype=float),
            "ridge": np.asarray(ridge, dtype=float),
            "ridge_fp8": np.asarray(ridge8, dtype=float),
            "label": dev["paper_label"].fillna("").to_numpy(),
        }
    )
    if "user_supplied" in dev:  # only when the user supplied chips: the data's table is unchanged
        out["user_supplied"] = dev["user_supplied"].astype(bool).to_numpy()
        out["origin"] = dev["origin"].to_numpy()
    return out.sort_values(["year", "name"]).reset_index(drop=True)


def intensities(
    counters: Mapping[str, ModelCounter], batches: Sequence[int], context_len: int, prefill_tokens: int
) -> pd.DataFrame:
    """Arithmetic intensity (FLOPs/byte) of one decode step (KV cache of ``context_len``
    tokens) and of a prefill of ``prefill_tokens`` tokens (logits of the last token only, as
    generation needs), per model (by label) and batch, with the FLOPs and the bytes split
    into weights, KV cache and activations."""
    rows = []
    for label, counter in counters.items():
        for b in batches:
            for phase, prof in (
                ("decode", counter.decode_step(b, context_len)),
                ("prefill", counter.prefill(b, prefill_tokens, logits="last")),
            ):
                t = prof.totals()
                rows.append(
                    {
                        "model": label,
                        "phase": phase,
                        "batch": int(b),
                        "tokens": 1 if phase == "decode" else prefill_tokens,
                        "context": context_len if phase == "decode" else 0,
                        "intensity": t["arithmetic_intensity"],
                        "flops": t["flops"],
                        "bytes": t["bytes"],
                        "weight_bytes": t["weight_bytes"],
                        "kv_bytes": t["kv_bytes"],
                        "act_bytes": t["act_bytes"],
                    }
                )
    return pd.DataFrame(rows)


def latency_bounds(
    acc: pd.DataFrame, counter: ModelCounter, batch: int, context_len: int, prefill_tokens: int
) -> pd.DataFrame:
    """The roofline lower bound of one decode step (``batch`` sequences, one token each, KV
    cache of ``context_len`` tokens) and of a prefill of ``prefill_tokens`` tokens per
    sequence, on each accelerator with a policy peak: seconds on the compute side, on the
    memory side, the bound, which side binds, and whether weights + KV cache fit its memory
    (:meth:`~memwall_lib.engines.counts.counter.ModelCounter.resident_bytes`).

    One chip's worth: with the model split N ways over identical chips both sides shrink by
    N (interconnect ignored), so the binding side does not change."""
    dec = counter.decode_step(batch, context_len)
    pre = counter.prefill(batch, prefill_tokens, logits="last")
    resident = counter.resident_bytes(batch, context_len)
    rows = []
    for r in acc[acc["ridge"].notna()].itertuples():
        for phase, prof in (("decode", dec), ("prefill", pre)):
            t = roofline_time(prof.flops, prof.bytes, r.peak_TFLOPS * 1e12, r.bandwidth_GB_per_s * 1e9)
            rows.append(
                {
                    "name": r.name,
                    "short": r.short,
                    "family": r.family,
                    "year": r.year,
                    "phase": phase,
                    "compute_s": t.compute_s,
                    "memory_s": t.memory_s,
                    "time_s": t.time_s,
                    "bound": t.bound,
                    "fits_in_memory": None if np.isnan(resident) else bool(resident <= r.memory_GB * 1e9),
                }
            )
    return pd.DataFrame(rows)


def critical_batches(
    acc: pd.DataFrame, counters: Mapping[str, ModelCounter], context_len: int, max_batch: int
) -> pd.DataFrame:
    """Per accelerator (with a policy peak) and model (by label): the smallest decode batch
    whose intensity reaches the ridge point with a KV cache of ``context_len`` tokens
    (:meth:`memwall_lib.engines.counts.counter.ModelCounter.critical_batch`); NaN where no
    batch up to ``max_batch`` does."""
    rows = []
    for r in acc[acc["ridge"].notna()].itertuples():
        row: dict[str, Any] = {"name": r.name, "year": r.year, "ridge": r.ridge}
        for label, counter in counters.items():
            b = counter.critical_batch(context_len, float(r.ridge), max_batch)
            row[label] = np.nan if b is None else float(b)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- your models and chips
def counters_for(items: Sequence[str], precision: str) -> tuple[list[ModelCounter], dict[str, ModelSource]]:
    """A counter per model item (a preset or a config.json path; one per distinct item), and
    each model's source by label."""
    made: dict[str, ModelCounter] = {}
    sources: dict[str, ModelSource] = {}
    for item in items:
        if item not in made:
            source = decoder_source(item)
            made[item] = ModelCounter(source.label, source.preset or source.config, precision)
            sources[source.label] = source
    return [made[i] for i in items], sources


def check_context(sources: Mapping[str, ModelSource], params: Mapping[str, Any]) -> None:
    """Refuse a ``context_len`` + 1 or ``prefill_tokens`` past the positions of every model
    (``max_position_embeddings``: no model served could run it, and it would move the
    intensities and claims past anything real). A model whose positions alone it exceeds is
    counted as if its position table were longer, as the survey counts GPT-2 at 4,096 tokens."""
    limits = {label: max_positions(s.config) or 0 for label, s in sources.items()}
    for name, tokens in (("context_len", params["context_len"] + 1), ("prefill_tokens", params["prefill_tokens"])):
        over = sorted(label for label, limit in limits.items() if limit and tokens > limit)
        if over and len(over) == len(limits):
            raise ParameterError(
                f"parameter {name!r}: {tokens} tokens exceed the positions of every model "
                f"(at most {max(limits.values())}, max_position_embeddings of their configs)"
            )


def source_texts(counters: Sequence[ModelCounter], sources: Mapping[str, ModelSource]) -> dict[str, str]:
    """Where each model comes from and how it was counted, by label (sorted), for the sidecar;
    a traced model with ops no FLOP formula covers says its FLOPs are partial (and warns)."""
    out = {}
    for c in {c.label: c for c in counters}.values():
        text = source_text(sources[c.label], c.method)
        if c.unknown_ops:
            text += f"; FLOPs partial: no formula for {', '.join(c.unknown_ops)}"
            warnings.warn(f"{c.label}: {text}", stacklevel=2)
        out[c.label] = text
    return dict(sorted(out.items()))


def user_file(value: str, name: str) -> UserChips | None:
    """The chips of an ``accelerators_file`` ('' for none), or a one-line ValueError."""
    if value == "":
        return None
    path = resolve(value)
    if not path.is_file():
        raise ValueError(f"{name}: file {str(path)!r} does not exist")
    try:
        return load_accelerators_file(path)
    except DataValidationError as exc:
        more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
        raise ValueError(f"{name}: {exc.errors[0]}{more}") from None


def user_specs(value: Sequence[Any], name: str) -> UserChips | None:
    """The chips of ``extra_accelerators`` (none for an empty list), or a one-line ValueError."""
    if not value:
        return None
    try:
        return extra_accelerators(value)
    except ChipSpecError as exc:  # each problem starts with extra_accelerators[i].field
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        raise ValueError(f"{exc.problems[0]}{more}") from None


def user_chips(hw: HardwareData, accelerators_file: str, extra: Sequence[Any]) -> HardwareData:
    """``hw`` with the user's chips (unchanged when there are none)."""
    chips = [
        c for c in (user_file(accelerators_file, "accelerators_file"), user_specs(extra, "extra_accelerators")) if c
    ]
    return with_user_chips(hw, *chips) if chips else hw


def fitted_rows(acc: pd.DataFrame, include_user: bool) -> pd.DataFrame:
    """The accelerators the growth fits use: the data's, and the user's only if asked."""
    if include_user or "user_supplied" not in acc:
        return acc
    return acc[~acc["user_supplied"]]


#: Precisions of weights, activations and KV cache the workloads can be counted at.
PRECISIONS: tuple[str, ...] = ("bf16", "fp16", "fp32", "int8")

#: What the workloads' bytes count (the sidecar states it).
BYTES_CONVENTION = (
    "bytes of one forward pass: every weight read once per pass (MoE: the experts the pass's tokens touch "
    "under uniform top-k routing, an upper bound on distinct experts), the KV cache read by attention and "
    "written for the new tokens, every op's activations read and written once (no fusion between ops); "
    "prefill computes the logits of the last token only; FLOPs count a multiply-accumulate as 2"
)


def growth_fit(years: Any, values: Any, name: str) -> GrowthFit | None:
    """The growth fit of ``values`` over ``years`` (fractional years), or None where there are
    too few points to fit (:func:`memwall_lib.core.trends.fit_growth` refuses them)."""
    try:
        return fit_growth(np.asarray(years, dtype=float), np.asarray(values, dtype=float), name=name)
    except FitError:
        return None


def critical_column(context_len: int) -> str:
    """The column of :attr:`.result.Result.critical` with the critical batch at a KV cache of
    ``context_len`` tokens (``critical_context_len``, the claim's, and ``context_len``)."""
    return f"critical_batch_kv_cache_{context_len}"


def records(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """``frame`` as columns for the sidecar: dates as ISO days, years rounded to 4 digits."""
    f = frame.copy()
    for col in f.columns:
        if col == "date":
            f[col] = [str(pd.Timestamp(d).date()) for d in f[col]]
        elif col == "year":
            f[col] = f[col].round(4)
    return f.to_dict(orient="list")
