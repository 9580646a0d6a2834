"""Figure 3 for the user's own models: any item of ``models`` that is not one of the survey's
presets (:data:`SURVEY_PRESETS`) is a Hugging Face ``config.json`` (or another preset, e.g.
``llama2-7b``), drawn beside the survey's models in every counted panel and in the measured one.

- **Counted** (panels a-c): the survey's workload (an encoder's pass over ``l`` tokens; a
  decoder generating ``l`` tokens one by one), with the analytic formulas of
  :mod:`memwall_lib.engines.counts.transformer` where the config is a BERT, RoBERTa or GPT-2
  one, else traced on the meta device
  (:func:`memwall_lib.engines.counts.survey_workload.trace_survey_workload`: no LM head or
  pooler, bytes as an optimising runtime moves them, which is what reproduces the survey's
  presets). The 8-bit convention counts elements: the float32 trace's bytes / 4.
- **Measured** (panel d): whole runs at ``measured_lengths``
  (:func:`memwall_lib.engines.timing.latency.measure_config`), normalized to the presets'
  reference point; refused before any work when the weights would take more than half of this
  machine's memory (:func:`weights_fit`).
- The class roofline, the survey comparison, the thread scaling and the paper's claims are the
  survey presets' alone.

Units: GFLOPs = 1e9 FLOPs, GB = 1e9 bytes, seconds.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...core.params import ParameterError, fits_in_memory, machine_memory_bytes
from ...core.progress import progress
from ...core.provenance import measuring
from ...engines.counts import transformer as tfm
from ...engines.counts.ops import ProfileError
from ...engines.counts.survey_workload import WorkloadCount, trace_survey_workload
from ...engines.models.builders import BERT_SIZES, GPT2_SIZES
from ...engines.models.configs import ModelConfigError, ModelSource, model_kind
from ...engines.timing import clock as timing
from ...engines.timing import latency
from ..model_params import model_sources, source_text

#: The survey's models: profiled as before (sampled latency, roofline, claims).
SURVEY_PRESETS: tuple[str, ...] = (*BERT_SIZES, *GPT2_SIZES)
#: What the counted panels show for a model given by config, for the sidecar.
CONVENTION = (
    "the survey's workload at batch 1 (an encoder's pass over l tokens; a decoder generating l "
    "tokens one by one, the first a 1-token prefill, with its KV cache); no LM head or pooler; "
    "BERT/RoBERTa/GPT-2 configs by the analytic formulas, any other traced on the meta device "
    "(eager attention, element-wise chains fused and the KV cache appended in place: on the "
    "survey's presets this gives the analytic matmul FLOPs exactly and bytes within 2%); "
    "survey_8bit counts one byte per element (a float32 trace's bytes / 4), measured_precision "
    "the bytes at the measured dtype; latency: whole runs, random weights, eager attention"
)


def is_survey_preset(source: ModelSource) -> bool:
    """Whether ``source`` is one of :data:`SURVEY_PRESETS` (else: the user's own model)."""
    return source.preset in SURVEY_PRESETS


def check_models(value: Any, name: str = "models") -> list[ModelSource]:
    """The validator of ``models``: every item a preset or a config.json
    (:func:`memwall_lib.figures.model_params.model_sources`), each config a decoder or an
    encoder, and one survey preset at least (the roofline and the claims rest on them)."""
    sources = model_sources(value, name)
    if not any(is_survey_preset(s) for s in sources):
        raise ModelConfigError(
            f"{name}: expected one of the survey's models ({', '.join(SURVEY_PRESETS)}) beside your own: "
            "the roofline, the survey comparison and the paper's claims are computed on them"
        )
    for i, s in enumerate(sources):
        if not is_survey_preset(s):
            try:
                model_kind(s.config)
            except ModelConfigError as exc:
                raise ModelConfigError(f"{name}[{i}]: {s.label!r}: {exc}") from None
    return sources


def split_models(items: Sequence[str]) -> tuple[list[str], list[ModelSource]]:
    """``(survey presets, the user's models)`` of a checked ``models`` list, in its order."""
    sources = model_sources(items)
    return [s.label for s in sources if is_survey_preset(s)], [s for s in sources if not is_survey_preset(s)]


def weights_fit(p: Mapping[str, Any]) -> bool:
    """True when every user model's weights at ``dtype`` take at most half of this machine's
    memory (:func:`memwall_lib.core.params.fits_in_memory`); else raises one line naming the
    model, its size and the limit (a 7B model in float32 would swap for minutes), or a config
    that cannot be built (the failing module named)."""
    for i, s in enumerate(model_sources(p["models"])):
        if is_survey_preset(s):
            continue
        try:
            need = latency.weight_bytes(s.config, p["dtype"])
        except ModelConfigError as exc:  # cannot be built on meta: the failing module named
            raise ParameterError(f"parameter 'models[{i}]': {s.label!r}: {exc}") from None
        if not fits_in_memory(need):
            raise ParameterError(
                f"parameter 'models[{i}]': {s.label!r} holds {need / 1e9:.1f} GB of weights in {p['dtype']}, "
                f"more than half of this machine's {machine_memory_bytes() / 1e9:.1f} GB of memory; "
                "its latency cannot be measured here (give a smaller config)"
            )
    return True


# --------------------------------------------------------------------------- counting
def _traced_sweep(counts: Sequence[WorkloadCount], elements: bool) -> dict[str, list[float]]:
    """A sweep of traced counts: bytes at the traced dtype, or (``elements``) one per element."""
    return {
        "seq_len": [c.seq_len for c in counts],
        "gflops": [c.flops / 1e9 for c in counts],
        "mops_gb": [(c.elements if elements else c.bytes) / 1e9 for c in counts],
        "arithmetic_intensity": [c.flops / c.elements if elements else c.arithmetic_intensity for c in counts],
    }


def _count_one(source: ModelSource, lengths: Sequence[int], dtype: str) -> tuple[str, dict[str, Any], set[str]]:
    """``(method, {"survey_8bit": sweep, "measured_precision": sweep}, ops with no FLOP
    formula)`` of one model."""
    try:
        tfm.get_spec(source.config)
    except ProfileError:
        t32 = trace_survey_workload(source.config, lengths, label=source.label, dtype="float32")
        own = (
            t32
            if dtype == "float32"
            else trace_survey_workload(source.config, lengths, label=source.label, dtype=dtype)
        )
        unknown = {op for c in (*t32, *own) for op in c.unknown_ops}
        sweeps = {"survey_8bit": _traced_sweep(t32, True), "measured_precision": _traced_sweep(own, False)}
        return "traced", sweeps, unknown
    return (
        "analytic",
        {
            "survey_8bit": tfm.sweep(source.config, lengths, precision=tfm.SURVEY_8BIT),
            "measured_precision": tfm.sweep(source.config, lengths, precision=tfm.precision_for_dtype(dtype)),
        },
        set(),
    )


def count_models(sources: Sequence[ModelSource], lengths: Sequence[int], dtype: str) -> dict[str, Any]:
    """The counted panels of the user's models: ``{"survey_8bit": {label: sweep},
    "measured_precision": {label: sweep}, "method", "kind", "sources": {label: ...},
    "convention"}``, a sweep as :func:`memwall_lib.engines.counts.transformer.sweep`'s; a traced
    model with ops no FLOP formula covers says in its source that its FLOPs are partial (and warns)."""
    out: dict[str, Any] = {k: {} for k in ("survey_8bit", "measured_precision", "method", "kind", "sources")}
    by_label = {s.label: s for s in sources}
    for s in (by_label[m] for m in progress(list(by_label), "your models counted")):
        method, sweeps, unknown = _count_one(s, lengths, dtype)
        for conv, sweep in sweeps.items():
            out[conv][s.label] = sweep
        out["method"][s.label], out["kind"][s.label] = method, model_kind(s.config)
        out["sources"][s.label] = source_text(s, method)
        if unknown:
            out["sources"][s.label] += f"; FLOPs partial: no formula for {', '.join(sorted(unknown))}"
            warnings.warn(f"{s.label}: {out['sources'][s.label]}", stacklevel=2)
    out["convention"] = CONVENTION
    return out


# --------------------------------------------------------------------------- measuring
def measure_models(
    sources: Sequence[ModelSource],
    lengths: Sequence[int],
    reference_s: float,
    *,
    device: str,
    dtype: str,
    repeats: int,
    warmup: int,
    threads: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(measured, normalized)``: whole-run latency rows per model as columns (as the presets'
    :func:`.measured.measure_models`), and the medians divided by ``reference_s`` (the presets'
    reference point) as ``{label: {"seq_len", "normalized"}}``."""
    measured: dict[str, Any] = {}
    normalized: dict[str, Any] = {}
    by_label = {s.label: s for s in sources}
    for s in (by_label[m] for m in progress(list(by_label), "your models timed")):
        rows = latency.measure_config(
            s.config,
            lengths,
            name=s.label,
            device=device,
            dtype=dtype,
            repeats=repeats,
            warmup=warmup,
            threads=threads,
        )
        measured[s.label] = {k: [r[k] for r in rows] for k in rows[0]}
        normalized[s.label] = {"seq_len": list(lengths), "normalized": [r["median_s"] / reference_s for r in rows]}
    return measured, normalized


def analyse_models(p: Mapping[str, Any], sources: Sequence[ModelSource], reference_s: float) -> dict[str, Any]:
    """The user's models counted at ``analytic_lengths`` (:func:`count_models`) and timed by
    whole runs at ``measured_lengths`` (:func:`measure_models`, under the figure's clock and
    threads, recorded as "fig3 your models' latency"), normalized by ``reference_s``; {} when
    there are none."""
    if not sources:
        return {}
    out = count_models(sources, p["analytic_lengths"], p["dtype"])
    with timing.using_clock(p["clock"]), measuring("fig3 your models' latency", p["threads"]):
        out["measured"], out["normalized"] = measure_models(
            sources,
            p["measured_lengths"],
            reference_s,
            device=p["device"],
            dtype=p["dtype"],
            repeats=p["repeats"],
            warmup=p["warmup"],
            threads=p["threads"],
        )
    return out


def counted_frame(user: Mapping[str, Any]) -> pd.DataFrame:
    """The user's models counted at each analytic length, in both conventions (GFLOPs, GB,
    FLOPs/byte), with the counting method."""
    parts = {
        (conv, m): pd.DataFrame(sweep).assign(method=user["method"][m])
        for conv in ("survey_8bit", "measured_precision")
        for m, sweep in user.get(conv, {}).items()
    }
    return pd.concat(parts, names=["convention", "model"]) if parts else pd.DataFrame()


def latency_frame(user: Mapping[str, Any]) -> pd.DataFrame:
    """The user's models' whole-run latency at each measured length (seconds), normalized to
    the presets' reference point."""
    cols = ("seq_len", "median_s", "min_s", "max_s", "spread", "forward_calls")
    parts = {
        m: pd.DataFrame({k: v[k] for k in cols}).assign(normalized=user["normalized"][m]["normalized"])
        for m, v in user.get("measured", {}).items()
    }
    return pd.concat(parts, names=["model"]) if parts else pd.DataFrame()
