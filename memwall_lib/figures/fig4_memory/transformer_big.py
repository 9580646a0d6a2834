"""Figure 4's Transformer-big bar: the experiments that look for the authors' segments
(README "Memory Breakdown": parameters 1.02, optimizer 2.04, activations 11.78 GiB at batch 6,
512 tokens), each a call of :func:`~memwall_lib.engines.models.paper_models.paper_model_memory`
on the meta device, with the three segments as the authors draw them (GB) and ours / theirs.

Units: GB = 1e9 bytes; the authors' GiB are converted by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ...engines.models.paper_models import paper_model_memory
from . import authors_bars

#: (what is changed, settings of :func:`paper_model_memory`) for Transformer big. "saved": the
#: tensors saved for backward; "peak": the most bytes alive during forward and backward. The
#: "16-bit" rows with PyTorch's fused attention keep its math path's fp32 attention (on meta).
EXPERIMENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("shared 37000 (our bar's model); saved, fp32, 1-byte masks", {}),
    ("shared 37000; saved, fp32, 4-byte masks", dict(mask_target="cpu")),
    ("fairseq big (shared 32768, no attention/ReLU dropout); saved, 16-bit, 1-byte masks",
     dict(variant="fairseq_big", precision="mixed")),
    ("fairseq big; saved, fp32, 1-byte masks", dict(variant="fairseq_big")),
    ("fairseq big; peak, fp32, 1-byte masks", dict(variant="fairseq_big", peak=True)),
    ("separate 37000; saved, fp32, 4-byte masks", dict(variant="separate_embeddings", mask_target="cpu")),
    ("separate 32000; saved, 16-bit, 1-byte masks", dict(variant="separate_embeddings_32k", precision="mixed")),
    ("separate 32000, op-by-op attention; saved, 16-bit, 1-byte masks",
     dict(variant="separate_embeddings_32k_eager", precision="mixed")),
    ("separate 32000; saved, fp32, 1-byte masks", dict(variant="separate_embeddings_32k")),
    ("separate 32000; saved, fp32, 4-byte masks", dict(variant="separate_embeddings_32k", mask_target="cpu")),
    ("separate 32000, op-by-op attention; saved, fp32, 4-byte masks",
     dict(variant="separate_embeddings_32k_eager", mask_target="cpu")),
    ("separate 32000, pre-norm; saved, fp32, 4-byte masks",
     dict(variant="separate_embeddings_32k_prenorm", mask_target="cpu")),
    ("separate 40000; saved, fp32, 4-byte masks", dict(variant="separate_embeddings_40k", mask_target="cpu")),
    ("separate 32000, 256 + 256 tokens; saved, fp32, 4-byte masks",
     dict(variant="separate_embeddings_32k", mask_target="cpu", input_size=256)),
    ("separate 32000; peak, fp32, 1-byte masks", dict(variant="separate_embeddings_32k", peak=True)),
    ("separate 32000; peak, fp32, 4-byte masks",
     dict(variant="separate_embeddings_32k", mask_target="cpu", peak=True)),
    ("separate 32000, op-by-op attention; peak, fp32, 4-byte masks",
     dict(variant="separate_embeddings_32k_eager", mask_target="cpu", peak=True)),
    ("separate 40000; peak, fp32, 4-byte masks",
     dict(variant="separate_embeddings_40k", mask_target="cpu", peak=True)),
)  # fmt: skip


def transformer_big_experiments(authors_gb: Mapping[str, float]) -> list[dict[str, Any]]:
    """Every experiment of :data:`EXPERIMENTS` at the paper's batch (6) and optimizer (Adam):
    its segments as the authors draw them (GB, :func:`authors_bars.experiment_segments_gb`), the
    ratios ours / ``authors_gb`` (GB, per segment), whether all are within
    :data:`authors_bars.EXPLAIN_ABOVE`, and for a peak experiment where the peak was reached
    (``peak_phase``, ``peak_op``; None for the saved-tensor ones)."""
    missing = [s for s in authors_bars.SEGMENTS if s not in authors_gb]
    if missing:
        raise ValueError(f"authors_gb: missing segments {missing}")
    rows = []
    for what, kwargs in EXPERIMENTS:
        memory = paper_model_memory("transformer_big", **kwargs)
        seg = authors_bars.experiment_segments_gb(memory)
        ratio = {s: seg[s] / authors_gb[s] for s in authors_bars.SEGMENTS}
        rows.append(
            {
                "what": what,
                "ours_gb": {s: seg[s] for s in authors_bars.SEGMENTS},
                "ratio": ratio,
                "within": all(abs(r - 1) <= authors_bars.EXPLAIN_ABOVE for r in ratio.values()),
                "peak_phase": memory.peak.peak_phase if memory.peak else None,
                "peak_op": memory.peak.peak_op if memory.peak else None,
            }
        )
    return rows


def experiments_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """:func:`transformer_big_experiments` as a table: GB and ours / authors per segment."""
    return pd.DataFrame(
        [
            {
                "experiment": r["what"],
                **{f"{s} GB": r["ours_gb"][s] for s in authors_bars.SEGMENTS},
                **{f"{s} ratio": r["ratio"][s] for s in authors_bars.SEGMENTS},
                f"all within {authors_bars.EXPLAIN_ABOVE:.0%}": r["within"],
                "peak at": f"{r['peak_phase']}, {r['peak_op']}" if r["peak_phase"] else "",
            }
            for r in rows
        ]
    )
