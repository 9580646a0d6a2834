"""Figure 3's counted part: FLOPs, MOPs and arithmetic intensity of each model at each length
(:mod:`memwall_lib.engines.counts.transformer`, the survey's convention and the measured
precision), the share of each op group, and the analytic FLOPs checked against torch's
FlopCounterMode (:func:`memwall_lib.engines.timing.workloads.validate_flops`).

Units: GFLOPs = 1e9 FLOPs, GB = 1e9 bytes; arithmetic intensity in FLOPs per byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ...core.progress import progress
from ...engines.counts import transformer as tfm
from ...engines.timing import workloads


def analytic_data(models: Sequence[str], seq_lens: Sequence[int], dtype: str = "float32") -> dict[str, Any]:
    """``{"survey_8bit": {model: sweep}, "measured_precision": {model: sweep}, "precision": ...}``
    where a sweep is ``{"seq_len", "gflops", "mops_gb", "arithmetic_intensity"}`` (survey
    convention: no embeddings, pooler or LM head; GPT-2 generating all tokens one by one)."""
    measured = tfm.precision_for_dtype(dtype)
    return {
        "survey_8bit": tfm.profile_models(models, seq_lens, precision=tfm.SURVEY_8BIT),
        "measured_precision": tfm.profile_models(models, seq_lens, precision=measured),
        "precision": {"survey_8bit": vars(tfm.SURVEY_8BIT).copy(), "measured_precision": vars(measured).copy()},
    }


def breakdown_table(
    models: Sequence[str], seq_lens: Sequence[int], precision: tfm.Precision = tfm.SURVEY_8BIT
) -> pd.DataFrame:
    """Share of FLOPs and of bytes (MOPs) per op group, per model and length (in %)."""
    rows = []
    for m in models:
        for n in seq_lens:
            p = tfm.profile(m, n, precision=precision)
            for g, v in p.by_group().items():
                rows.append(
                    {
                        "model": m,
                        "seq_len": n,
                        "group": g,
                        "flops_pct": 100 * v["flops_share"],
                        "mops_pct": 100 * v["bytes_share"],
                        "gflops": v["flops"] / 1e9,
                        "mops_gb": v["bytes"] / 1e9,
                        "arithmetic_intensity": v["flops"] / v["bytes"],
                    }
                )
    return pd.DataFrame(rows)


def flop_validation(models: Sequence[str], seq_lens: Sequence[int], max_generate: int) -> pd.DataFrame:
    """FlopCounterMode against the analytic matmul FLOPs for every model and length."""
    rows = [
        r
        for m in progress(models, "FLOP check (models)")
        for r in workloads.validate_flops(m, seq_lens, max_generate=max_generate)
    ]
    return pd.DataFrame(rows)
