"""Figure 4b: the rematerialization claim ("about 5x less memory for about 20% more
compute") tested strategy by strategy on chains of blocks, measured on this machine
(:mod:`memwall_lib.engines.remat`).

Units: bytes (MB = 1e6 bytes in tables and plots); FLOPs; seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from .. import paper
from ..core.claims import Claim
from ..core.params import SEED_MAX, Param, ParameterError, fits_in_memory, machine_memory_bytes
from ..core.progress import progress
from ..core.provenance import measuring
from ..engines.remat import CHAINS, Chain, ChainResult, gpt2_chain, resnet_chain, run_strategies
from ..engines.timing import DEVICES, device_available

def build_chain(name: str, P: dict[str, Any]) -> Chain:
    """The chain ``name`` of :data:`CHAINS` with the sizes in the notebook parameters ``P``."""
    if name == "gpt2":
        return gpt2_chain(layers=P["gpt2_layers"], hidden=P["gpt2_hidden"], heads=P["gpt2_heads"],
                          tokens=P["gpt2_tokens"], batch_size=P["gpt2_batch_size"], device=P["device"],
                          seed=P["seed"])
    if name == "resnet152":
        return resnet_chain("resnet152", image_size=P["resnet_image_size"],
                            batch_size=P["resnet_batch_size"], device=P["device"], seed=P["seed"])
    raise ParameterError(f"parameter 'chains': expected items from {list(CHAINS)}, got {name!r}")


#: Parameters of notebooks/05_rematerialization.ipynb.
PARAMETERS: dict[str, Param] = {
    "chains": Param(list, "models to checkpoint", item_type=str, choices=CHAINS, min_items=1),
    "gpt2_layers": Param(int, "GPT-2 blocks in the stack", minimum=1, maximum=48),
    "gpt2_hidden": Param(int, "GPT-2 hidden size", minimum=8, maximum=16384),
    "gpt2_heads": Param(int, "GPT-2 attention heads (must divide the hidden size)", minimum=1, maximum=256),
    "gpt2_tokens": Param(int, "tokens per sequence", minimum=1, maximum=4096),
    "gpt2_batch_size": Param(int, "sequences per batch", minimum=1, maximum=4096),
    "resnet_image_size": Param(int, "image side in pixels for the ResNet", minimum=32, maximum=2048),
    "resnet_batch_size": Param(int, "images per batch for the ResNet", minimum=1, maximum=4096),
    "every_k": Param(list, "segment lengths k of the 'every k blocks' strategy", item_type=int, minimum=2),
    "n_budgets": Param(int, "memory budgets of the optimal-schedule sweep", minimum=2, maximum=40),
    "timing_repeats": Param(int, "timed runs per strategy (median)", minimum=1, maximum=1000),
    "threads": Param(int, "torch CPU threads for the runs (1: stable timings on a shared machine)",
                     minimum=1, maximum=256),
    "max_overhead": Param(float, "recompute overhead (fraction of a training step's FLOPs) of the "
                                 "paper's claim", minimum=0.0, maximum=2.0),
    "device": Param(str, "where the runs happen: 'cpu' or 'cuda' (adds max_memory_allocated)",
                    choices=DEVICES, check=device_available,
                    check_message="that device is not available on this machine (no CUDA GPU); use 'cpu'"),
    "seed": Param(int, "random seed of weights, inputs and dropout", minimum=0, maximum=SEED_MAX),
    "output_dir": Param(str, "where figures are written", path="out_dir"),
}

#: Checks across parameters of notebooks/05_rematerialization.ipynb.
RELATIONS = (
    (lambda p: p["gpt2_hidden"] % p["gpt2_heads"] == 0,
     "parameters 'gpt2_hidden' and 'gpt2_heads': expected gpt2_heads to divide gpt2_hidden"),
    (lambda p: all(k < _n_blocks(c, p) for c in p["chains"] for k in p["every_k"]),
     "parameter 'every_k': expected every k smaller than the blocks of each chain (gpt2: gpt2_layers + 2, "
     "resnet152: 52); a larger k would drop the strategy"),
    (lambda p: "gpt2" not in p["chains"] or fits_in_memory(_gpt2_bytes(p)),
     "parameters 'gpt2_layers', 'gpt2_hidden', 'gpt2_heads', 'gpt2_tokens', 'gpt2_batch_size': the GPT-2 "
     f"stack would need more than half of this machine's memory ({machine_memory_bytes() / 2**30:.0f} GiB)"),
    (lambda p: "resnet152" not in p["chains"] or fits_in_memory(_resnet_bytes(p)),
     "parameters 'resnet_image_size' and 'resnet_batch_size': the ResNet-152 run would need more than half "
     f"of this machine's memory ({machine_memory_bytes() / 2**30:.0f} GiB)"),
)


def _n_blocks(chain: str, p: dict[str, Any]) -> int:
    """Blocks of a chain: GPT-2 embedding + layers + final norm; ResNet-152 stem + 50 + head."""
    return p["gpt2_layers"] + 2 if chain == "gpt2" else 52


def _gpt2_bytes(p: dict[str, Any]) -> float:
    """Rough fp32 training bytes of the GPT-2 chain: weights, gradients and copies (16 B per
    parameter) and saved activations (Korthikanti et al. 2022, 34bth + 5ab t^2 in 16-bit, x2)."""
    h, L, a, t, b = p["gpt2_hidden"], p["gpt2_layers"], p["gpt2_heads"], p["gpt2_tokens"], p["gpt2_batch_size"]
    params = L * 12 * h * h + (50257 + max(1024, t)) * h
    return 16.0 * params + 2.0 * L * b * t * (34 * h + 5 * a * t)


def _resnet_bytes(p: dict[str, Any]) -> float:
    """Rough fp32 training bytes of ResNet-152: ~3e8 bytes of saved activations per 224x224
    image, plus 16 B per parameter (60M)."""
    return 3e8 * p["resnet_batch_size"] * (p["resnet_image_size"] / 224) ** 2 + 16 * 60e6


#: The paper's claim (Checkmate, Jain et al. 2020): about 5x less memory for about 20% more compute.
PAPER_REDUCTION: float = paper.claim("fig4b.reduction_at_20pct").value
PAPER_OVERHEAD: float = paper.REMAT_OVERHEAD
#: "About 5x": the verdict holds at a reduction of at least this much.
REDUCTION_TOLERANCE: float = 0.8

_STYLE = {"none": (7, "o"), "every_block": (0, "s"), "every_k": (5, "^"), "sqrt_n": (3, "D"),
          "optimal": (2, "o")}


def figure4b_claims(results: Sequence[ChainResult], max_overhead: float = PAPER_OVERHEAD) -> list[Any]:
    """One claim per chain: the largest measured reduction of peak activation memory among
    strategies with at most ``max_overhead`` extra FLOPs, against the paper's 5x."""
    c = paper.claim("fig4b.reduction_at_20pct")
    claims = []
    for r in results:
        red, best = r.reduction_at(max_overhead)
        claims.append(Claim(
            f"fig4b.reduction_at_{round(max_overhead * 100)}pct.{r.chain}",
            c.format(overhead=f"{max_overhead:.0%}", workload=r.description),
            paper=c.value, reproduced=float(red), ci95=None,
            holds=bool(red >= REDUCTION_TOLERANCE * PAPER_REDUCTION),
            rule=f"reproduced = peak activation bytes without checkpointing / with the best measured "
                 f"strategy whose extra FLOPs are <= {max_overhead:.0%} of a training step's; holds if "
                 f">= {REDUCTION_TOLERANCE * PAPER_REDUCTION:g}x ('about {PAPER_REDUCTION:g}x')",
            note=f"best: {best.schedule.label}, {best.overhead:.1%} extra FLOPs, "
                 f"{best.time_overhead:+.0%} wall time; block-level checkpointing of {r.n_blocks} blocks"))
    return claims


def sidecar_data(results: Sequence[ChainResult], max_overhead: float = PAPER_OVERHEAD) -> dict[str, Any]:
    """Every measurement of every chain (bytes, FLOPs, seconds), the frontier, and the
    reduction at ``max_overhead``."""
    out: dict[str, Any] = {"paper": {"reduction": PAPER_REDUCTION, "overhead": PAPER_OVERHEAD}}
    for r in results:
        red, best = r.reduction_at(max_overhead)
        out[r.chain] = {**r.to_dict(), "reduction_at_max_overhead": red, "best_at_max_overhead": best.schedule.label}
    return out


def summary_table(results: Sequence[ChainResult]) -> Any:
    """One row per (chain, strategy): measured and predicted peak (MB = 1e6 bytes), FLOP and
    wall-time overheads, gradient check."""
    rows = []
    for r in results:
        ref = r.reference.peak_activation_bytes
        for m in r.measurements:
            rows.append({"chain": r.chain, "strategy": m.schedule.label,
                         "peak activations MB": m.peak_activation_bytes / 1e6,
                         "predicted MB": m.predicted_peak_bytes / 1e6,
                         "reduction": ref / m.peak_activation_bytes,
                         "extra FLOPs %": 100 * m.overhead, "extra time %": 100 * m.time_overhead,
                         "cuda peak MB": None if m.cuda_peak_bytes is None else m.cuda_peak_bytes / 1e6,
                         "grads equal": m.grads_equal})
    return pd.DataFrame(rows)


def plot_frontier(results: Sequence[ChainResult], max_overhead: float = PAPER_OVERHEAD) -> Any:
    """Peak activation memory (MB, log) against recompute overhead (% extra FLOPs of a training
    step) for every strategy, one panel per chain, with the measured Pareto frontier and the
    paper's point (5x less memory for 20% more compute)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from ..core.plotting import PALETTE, apply_style

    apply_style()
    fig, axes = plt.subplots(1, len(results), figsize=(6.4 * len(results), 4.9), squeeze=False)
    for ax, r in zip(axes[0], results):
        ref = r.reference.peak_activation_bytes / 1e6
        front = r.frontier()
        ax.step([100 * m.overhead for m in front], [m.peak_activation_bytes / 1e6 for m in front], where="post",
                color="0.6", linewidth=1.2, zorder=1, label="measured frontier")
        opt = sorted((m for m in r.measurements if m.strategy == "optimal"), key=lambda m: m.overhead)
        ax.plot([100 * m.overhead for m in opt], [m.peak_activation_bytes / 1e6 for m in opt], "-o",
                color=PALETTE[2], markersize=5, linewidth=1.2, label="optimal schedule (DP), per budget", zorder=3)
        labelled: set[str] = set()
        for m in r.measurements:
            if m.strategy == "optimal":
                continue
            color, marker = _STYLE[m.strategy]
            ax.scatter(100 * m.overhead, m.peak_activation_bytes / 1e6, color=PALETTE[color], marker=marker,
                       s=46, zorder=4, edgecolors="white", linewidths=0.6,
                       label=None if m.strategy in labelled and m.strategy == "every_k" else m.schedule.label)
            labelled.add(m.strategy)
            if m.strategy == "every_k":
                ax.annotate(m.schedule.label.replace("every ", "k="), (100 * m.overhead, m.peak_activation_bytes / 1e6),
                            xytext=(5, -3), textcoords="offset points", fontsize=7.5, color="0.3")
        ax.scatter(100 * PAPER_OVERHEAD, ref / PAPER_REDUCTION, marker="*", s=190, color=PALETTE[1], zorder=5,
                   label=f"paper: {PAPER_REDUCTION:g}x less for {PAPER_OVERHEAD:.0%} more")
        ax.axvline(100 * max_overhead, color=PALETTE[1], linestyle=":", linewidth=1)
        red, best = r.reduction_at(max_overhead)
        ax.annotate(f"measured at <= {max_overhead:.0%}: {red:.1f}x", (100 * best.overhead, best.peak_activation_bytes / 1e6),
                    xytext=(14, 28), textcoords="offset points", fontsize=8.5, color=PALETTE[1],
                    arrowprops={"arrowstyle": "->", "color": PALETTE[1], "lw": 0.8})
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _pos: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}" if str(f"{v:g}")[0] in "25" else ""))
        ax.set_xlabel("recompute overhead (% extra FLOPs of a forward+backward step)")
        ax.set_ylabel("peak activation memory (MB = 1e6 bytes)")
        ax.set_title(r.description, fontsize=10)
        ax.legend(loc="lower left", fontsize=8)
    fig.suptitle("Figure 4b: rematerialization, memory against recompute, measured strategy by strategy", fontsize=12)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = True
#: The data files this figure reads (none: the chains are built from configurations).
DATA_FILES: tuple[str, ...] = ()
#: The figure written.
OUTPUTS: tuple[str, ...] = ("fig4b_rematerialization",)


@dataclass
class Result:
    """Figure 4b analysed: every strategy measured on every chain."""

    parameters: dict[str, Any]
    results: list[ChainResult]

    def summary_table(self) -> pd.DataFrame:
        """One row per (chain, strategy); see :func:`summary_table`."""
        return summary_table(self.results)


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 4b from checked parameters (:data:`PARAMETERS`): every strategy measured on
    every chain (raises AssertionError if any strategy's gradients differ)."""
    p = dict(params)
    with measuring("fig4b rematerialization", p["threads"]):
        results = [run_strategies(build_chain(name, p), every_k=p["every_k"], n_budgets=p["n_budgets"],
                                  timing_repeats=p["timing_repeats"], seed=p["seed"], device=p["device"],
                                  threads=p["threads"]) for name in progress(p["chains"], "rematerialization (chains)")]
    return Result(p, results)


def claims(result: Result) -> dict[str, list[Claim]]:
    """One claim per chain (see :func:`figure4b_claims`)."""
    return {OUTPUTS[0]: figure4b_claims(result.results, result.parameters["max_overhead"])}


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """Every measurement of every chain."""
    return {OUTPUTS[0]: sidecar_data(result.results, result.parameters["max_overhead"])}


def plot(result: Result) -> dict[str, Any]:
    """The memory/recompute frontier, one panel per chain."""
    return {OUTPUTS[0]: plot_frontier(result.results, result.parameters["max_overhead"])}
