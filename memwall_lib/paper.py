"""Every number and claim of "AI and Memory Wall" (Gholami et al., IEEE Micro 2024,
arXiv:2403.14123) that this project checks, in one registry.

Each :class:`PaperClaim` has a literal id, the id that appears in the sidecars and in
``figures/claims.md`` (a claim checked on more data, or once per workload, carries a suffix:
``fig1.flops.per_2yr.ext2025``, ``fig4b.reduction_at_20pct.gpt2``). Grep an id to find where
it is computed. Nothing here computes: the figure modules (:mod:`memwall_lib.figures`) build a
:class:`~memwall_lib.core.claims.Claim` from an entry's id and what they reproduced
(:mod:`memwall_lib.figures.paper_claims`).

``text`` is the sentence printed beside the verdict; ``{placeholders}`` in it are filled by
the figure module (e.g. the decoder's name). ``source`` says where the paper states it:
the figure and caption, or the text; entries marked ``"reproduction check"`` are checks of
this project's own method, not claims of the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PaperClaim:
    """One claim: its id, the figure it belongs to, the paper's value and the claim's text."""

    id: str
    figure: str
    value: Any
    text: str
    source: str

    def format(self, **fields: Any) -> str:
        """The claim's text with its ``{placeholders}`` filled."""
        return self.text.format(**fields)


_ENTRIES = (
    # Figure 1: hardware scaling, 1996-2023 (caption and Sec. "Memory wall")
    PaperClaim("fig1.flops.per_2yr", "1", 3.0, "Peak FLOPS grows 3.0x every 2 years", "Fig. 1 caption"),
    PaperClaim("fig1.flops.per_20yr", "1", 60000.0, "Peak FLOPS grows 60,000x in 20 years", "Fig. 1 caption"),
    PaperClaim("fig1.dram.per_2yr", "1", 1.6, "DRAM bandwidth grows 1.6x every 2 years", "Fig. 1 caption"),
    PaperClaim("fig1.dram.per_20yr", "1", 100.0, "DRAM bandwidth grows 100x in 20 years", "Fig. 1 caption"),
    PaperClaim(
        "fig1.interconnect.per_2yr", "1", 1.4, "Interconnect bandwidth grows 1.4x every 2 years", "Fig. 1 caption"
    ),
    PaperClaim(
        "fig1.interconnect.per_20yr", "1", 30.0, "Interconnect bandwidth grows 30x in 20 years", "Fig. 1 caption"
    ),
    # Figure 2: model growth against hardware
    PaperClaim(
        "fig2a.transformer_size.per_2yr", "2a", 410.0, "Transformer size grows 410x every 2 years", "Fig. 2(a) caption"
    ),
    PaperClaim(
        "fig2a.accelerator_memory.per_2yr", "2a", 2.0, "Accelerator memory grows 2x every 2 years", "Fig. 2(a) caption"
    ),
    PaperClaim(
        "fig2a.size_outgrows_memory",
        "2a",
        410.0 / 2.0,
        "Model size outgrows accelerator memory (ratio of the 2-year growth factors)",
        "Fig. 2(a) caption: 410x against 2x",
    ),
    PaperClaim(
        "fig2b.transformer_compute.per_2yr",
        "2b",
        750.0,
        "Transformer training compute grows 750x every 2 years",
        "Fig. 2(b) caption",
    ),
    PaperClaim(
        "fig2b.compute_outgrows_moore",
        "2b",
        2.0,
        "Training compute grows faster than Moore's law (2x / 2 yrs)",
        "Fig. 2(b): Moore's law line",
    ),
    # Figure 3: BERT-Base, BERT-Large and GPT-2 profiled (from the survey, arXiv:2302.14017)
    PaperClaim(
        "fig3.encoders_more_flops",
        "3",
        "> 1",
        "Encoders have more FLOPs than {decoder} at every length (smallest encoder/decoder FLOP ratio)",
        "Fig. 3(a) and text",
    ),
    PaperClaim(
        "fig3.decoder_mops",
        "3",
        ">= 10",
        "{decoder} moves orders of magnitude more bytes (MOPs) than the encoders (smallest decoder/encoder MOPs ratio)",
        "Fig. 3(b) and text",
    ),
    PaperClaim(
        "fig3.decoder_low_intensity",
        "3",
        ">= 10",
        "{decoder} has orders of magnitude lower arithmetic intensity (smallest encoder/decoder ratio)",
        "Fig. 3(c) and text",
    ),
    PaperClaim(
        "fig3.decoder_intensity_about_2",
        "3",
        2.0,
        "{decoder}'s arithmetic intensity at 8-bit is about 2 FLOPs/byte (mean over lengths)",
        "Fig. 3(c) (survey, 8-bit)",
    ),
    PaperClaim(
        "fig3.decoder_slowest",
        "3",
        "> 1",
        "{decoder} is the slowest at every measured length (smallest ratio to the slowest encoder)",
        "Fig. 3(d) and text",
    ),
    PaperClaim(
        "fig3.decoder_over_bert_base",
        "3",
        45.0,
        "{decoder} latency relative to BERT-Base at {seq_len} tokens",
        "Fig. 3(d): normalized latency at 128 tokens on an Intel Xeon Gold 6242",
    ),
    PaperClaim(
        "fig3.latency_vs_survey",
        "3",
        1.0,
        "{decoder}'s latency relative to BERT-Base at every length, against the survey's published "
        "ratios (worst of ours / survey's)",
        "Fig. 3(d) = arXiv:2302.14017v1 Fig. 9, normalized CPU latency on an Intel Xeon Gold 6242",
    ),
    PaperClaim(
        "fig3.sampled_matches_whole",
        "3",
        1.0,
        "Latency summed from one encoder layer / sampled decoding steps matches whole runs (worst sampled/whole ratio)",
        "reproduction check of the method behind Fig. 3(d) at every length",
    ),
    PaperClaim(
        "fig3.roofline_predicts_latency",
        "3",
        1.0,
        "Roofline calibrated per operation class (GEMM, GEMV, attention, KV-cache attention, "
        "element-wise, per-call overhead) at the models' shapes predicts measured latency: worst "
        "predicted/measured ratio",
        "reproduction check",
    ),
    # Figure 4: memory to train
    PaperClaim(
        "fig4.below_gpu_memory",
        "4",
        "all",
        "The memory to train each model is below the single-GPU memory of its year ({line}; {accounting})",
        "Fig. 4 caption (models designed to the single-GPU memory available; the caption's sentence "
        "is quoted from ../shared/PAPER.md's summary, the paper's text could not be retrieved)",
    ),
    PaperClaim(
        "fig4.close_to_gpu_memory",
        "4",
        "close",
        "... and close to it: smallest fraction of the GPU's memory used ({line}; {accounting})",
        "Fig. 4 caption (each time GPU memory grew, larger models were designed; PAPER.md's summary); "
        "paper value = smallest fraction on the authors' own bars",
    ),
    PaperClaim(
        "fig4.authors_bars",
        "4",
        8,
        "Our bars (paper convention) reproduce the authors' bars within 15% (models whose total does)",
        "reproduction check against gpu_memory_wall.pdf (data/authors_plotted.csv)",
    ),
    PaperClaim(
        "fig4.full_vs_paper_convention",
        "4",
        1.0,
        "The paper's convention (parameters + optimizer + layer outputs, no gradients) measures the "
        "memory to train (median ratio of full accounting to paper convention)",
        "reproduction check",
    ),
    # Memory claims of the text (the paper's sentences could not be retrieved: paraphrased from
    # ../shared/PAPER.md's summary, "Other claims in the text worth checking")
    PaperClaim(
        "text.zero_8x",
        "text",
        8.0,
        "ZeRO: removing redundant optimizer state trains 8x larger models in the same memory "
        "(model-state reduction, {setting})",
        "text (PAPER.md summary), citing ZeRO (Rajbhandari et al. 2020)",
    ),
    PaperClaim(
        "text.int4_8x",
        "text",
        8.0,
        "INT4 inference: about 8x smaller footprint than FP32 (weights + KV cache, {model})",
        "text (PAPER.md summary)",
    ),
    PaperClaim(
        "text.second_order_3to4x",
        "text",
        "3-4",
        "Second-order optimizers need 3-4x more memory than SGD ({method}: parameters + gradients + "
        "optimizer state over SGD's, {model})",
        "text (PAPER.md summary)",
    ),
    PaperClaim(
        "fig4b.reduction_at_20pct",
        "4",
        5.0,
        "Rematerialization cuts the memory footprint about 5x for about {overhead} more compute ({workload})",
        "text of Sec. on rematerialization, citing Checkmate (Jain et al. 2020)",
    ),
    PaperClaim(
        "fig4b.operator_at_20pct_flops",
        "4",
        5.0,
        "Rematerialization cuts the memory footprint about 5x for about {overhead} more compute, "
        "compute counted in matrix-product FLOPs, operator-level choices ({workload})",
        "text of Sec. on rematerialization, citing Checkmate (Jain et al. 2020)",
    ),
    PaperClaim(
        "fig4b.operator_at_20pct_time",
        "4",
        5.0,
        "Rematerialization cuts the memory footprint about 5x for about {overhead} more compute, "
        "compute counted in wall time, operator-level choices ({workload})",
        "text of Sec. on rematerialization, citing Checkmate (Jain et al. 2020)",
    ),
    # Figure 5 (beyond the paper): Fig. 1's hardware joined with Fig. 3's intensity, per accelerator
    PaperClaim(
        "fig5.ridge.per_2yr",
        "5",
        3.0 / 1.6,
        "The ridge point (peak FLOPS / DRAM bandwidth) of accelerators grows about as fast as "
        "FLOPS over bandwidth, 3.0x / 1.6x = 1.9x every 2 years ({policy}, {years})",
        "beyond the paper: Fig. 1's two rates (3.0x and 1.6x per 2 years) combined",
    ),
    PaperClaim(
        "fig5.decode_b1_memory_bound",
        "5",
        "all",
        "Batch-1 decode is memory-bound on every accelerator in the table (accelerators whose "
        "ridge point exceeds the batch-1 decode intensity of every model: {models})",
        "beyond the paper: the memory wall (Sec. 'Memory wall', Fig. 3's decoder) read per accelerator",
    ),
    PaperClaim(
        "fig5.critical_batch.per_2yr",
        "5",
        "> 1",
        "The decode batch at which {model} reaches the ridge point grows over time "
        "(growth per 2 years; {context} tokens of KV cache)",
        "beyond the paper: the memory wall's consequence for serving, per accelerator",
    ),
)

#: Every claim, by id.
CLAIMS: dict[str, PaperClaim] = {c.id: c for c in _ENTRIES}

#: The recompute overhead of the rematerialization claim ("about 20% more compute").
REMAT_OVERHEAD: float = 0.20
#: The survey's arithmetic intensity of GPT-2 at 8-bit (Fig. 3(c)).
GPT2_INTENSITY: float = CLAIMS["fig3.decoder_intensity_about_2"].value
#: Moore's law, the reference line of Fig. 2(b): 2x every 2 years.
MOORE_PER_2YR: float = CLAIMS["fig2b.compute_outgrows_moore"].value


def claim(claim_id: str) -> PaperClaim:
    """The registry entry ``claim_id``; a KeyError names the known ids."""
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"no paper claim {claim_id!r}; known: {sorted(CLAIMS)}") from None
