"""Figure 4b: the rematerialization claim ("about 5x less memory for about 20% more
compute") tested at block and at operator granularity on chains of blocks, measured on this
machine (:mod:`memwall_lib.engines.remat`, :func:`~memwall_lib.engines.remat.study.study_chain`),
beside the fixed policies people use and PyTorch's own ``activation_memory_budget``.

This module holds the figure's API; beside it: :mod:`.chains` (the chains the parameters size),
:mod:`.verdicts` (the claims), :mod:`.summary` (the sidecar and the tables), :mod:`.result` and
:mod:`.draw`.

Units: bytes (MB = 1e6 bytes in tables and plots); FLOPs; seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...core.claims import Claim
from ...core.params import SEED_MAX, Param, fits_in_memory
from ...core.progress import progress
from ...core.provenance import measuring
from ...engines.remat import CHAINS
from ...engines.remat.study import study_chain
from ...engines.timing.clock import DEVICES, check_threads, device_available
from . import draw
from .chains import (
    MEMORY_LIMIT,
    build_chain,
    config_bytes,
    config_tokens_fit,
    gpt2_bytes,
    n_blocks,
    resnet_bytes,
    validate_chains,
)
from .result import Result
from .summary import sidecar_data
from .verdicts import figure4b_claims

#: Parameters of notebooks/05_rematerialization.ipynb.
PARAMETERS: dict[str, Param] = {
    "chains": Param(
        list,
        "models to checkpoint: gpt2, resnet152, a model preset (llama2-7b, ...) or a path to a Hugging Face "
        "config.json (absolute or relative to the repository root): its layers, shrunk by config_layers and config_hidden",
        item_type=str,
        min_items=1,
        validate=validate_chains,
    ),
    "gpt2_layers": Param(int, "GPT-2 blocks in the stack", minimum=1, maximum=48),
    "gpt2_hidden": Param(int, "GPT-2 hidden size", minimum=8, maximum=16384),
    "gpt2_heads": Param(int, "GPT-2 attention heads (must divide the hidden size)", minimum=1, maximum=256),
    "gpt2_tokens": Param(int, "tokens per sequence", minimum=1, maximum=4096),
    "gpt2_batch_size": Param(int, "sequences per batch", minimum=1, maximum=4096),
    "config_layers": Param(int, "layers of a chain built from a config (at most the model's)", minimum=1, maximum=64),
    "config_hidden": Param(
        int,
        "width of a chain built from a config, about: fewer attention heads of the same dimension "
        "(at least one), KV heads and MLP in proportion",
        minimum=16,
        maximum=16384,
    ),
    "config_tokens": Param(
        int, "tokens per sequence of a chain built from a config (at most its positions)", minimum=1, maximum=4096
    ),
    "config_batch_size": Param(int, "sequences per batch of a chain built from a config", minimum=1, maximum=4096),
    "resnet_image_size": Param(int, "image side in pixels for the ResNet", minimum=32, maximum=2048),
    "resnet_batch_size": Param(int, "images per batch for the ResNet", minimum=1, maximum=4096),
    "every_k": Param(list, "segment lengths k of the 'every k blocks' strategy", item_type=int, minimum=2),
    "resolution": Param(
        int, "memory units of the exact frontiers (no-checkpointing peak / resolution)", minimum=10, maximum=20000
    ),
    "n_spread": Param(
        int,
        "frontier plans measured spread over each frontier, besides the best one "
        "within max_overhead and the next one above it",
        minimum=0,
        maximum=100,
    ),
    "measure_all_frontier": Param(bool, "measure every plan of both frontiers (minutes) instead of a subset"),
    "timing_repeats": Param(
        int,
        "timed rounds (median), round-robin with the reference, of the operator-level "
        "plans within max_overhead extra FLOPs and the best block-level one (0: none)",
        minimum=0,
        maximum=1000,
    ),
    "compile_anchor": Param(
        bool,
        "run PyTorch's anchor: torch.compile of each distinct block once at each of compile_budgets "
        "(bytes and FLOPs times the number of identical blocks; seconds on 2 cores)",
    ),
    "compile_budgets": Param(
        list,
        "torch._functorch.config.activation_memory_budget values of the anchor",
        item_type=float,
        minimum=0.001,
        maximum=1.0,
        min_items=1,
    ),
    "threads": Param(
        int,
        "torch CPU threads for the runs (1: stable timings on a shared machine), at most the logical CPUs",
        minimum=1,
        maximum=256,
        validate=check_threads,
    ),
    "max_overhead": Param(
        float, "recompute overhead (fraction of a training step) of the paper's claim", minimum=0.0, maximum=2.0
    ),
    "device": Param(
        str,
        "where the runs happen: 'cpu' or 'cuda'",
        choices=DEVICES,
        check=device_available,
        check_message="that device is not available on this machine (no CUDA GPU); use 'cpu'",
    ),
    "seed": Param(int, "random seed of weights, inputs and dropout", minimum=0, maximum=SEED_MAX),
    "output_dir": Param(str, "where figures are written", path="out_dir"),
}

#: Checks across parameters of notebooks/05_rematerialization.ipynb.
RELATIONS = (
    (
        lambda p: p["gpt2_hidden"] % p["gpt2_heads"] == 0,
        "parameters 'gpt2_hidden' and 'gpt2_heads': expected gpt2_heads to divide gpt2_hidden",
    ),
    (
        lambda p: all(k < n_blocks(c, p) for c in p["chains"] for k in p["every_k"]),
        "parameter 'every_k': expected every k smaller than the blocks of each chain (gpt2: gpt2_layers + 2, "
        "resnet152: 52, a config: its layers, at most config_layers); a larger k would drop the strategy",
    ),
    (
        config_tokens_fit,
        "parameters 'config_tokens' and 'chains': expected config_tokens within every model's positions",
    ),
    (
        lambda p: all(fits_in_memory(config_bytes(c, p)) for c in p["chains"] if c not in CHAINS),
        "parameters 'config_layers', 'config_hidden', 'config_tokens', 'config_batch_size': a chain built from a "
        f"config would need more than half of the memory this process may use ({MEMORY_LIMIT})",
    ),
    (
        lambda p: "gpt2" not in p["chains"] or fits_in_memory(gpt2_bytes(p)),
        "parameters 'gpt2_layers', 'gpt2_hidden', 'gpt2_heads', 'gpt2_tokens', 'gpt2_batch_size': the GPT-2 "
        f"stack would need more than half of the memory this process may use ({MEMORY_LIMIT})",
    ),
    (
        lambda p: "resnet152" not in p["chains"] or fits_in_memory(resnet_bytes(p)),
        "parameters 'resnet_image_size' and 'resnet_batch_size': the ResNet-152 run would need more than half "
        f"of the memory this process may use ({MEMORY_LIMIT})",
    ),
)


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = True
#: The data files this figure reads (none: the chains are built from configurations).
DATA_FILES: tuple[str, ...] = ()
#: The figure written.
OUTPUTS: tuple[str, ...] = ("fig4b_rematerialization",)


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 4b from checked parameters (:data:`PARAMETERS`): every chain studied (raises
    AssertionError if any measured plan's gradients differ from no checkpointing)."""
    p = dict(params)
    studies = []
    with measuring("fig4b rematerialization", p["threads"]):
        for name in progress(p["chains"], "rematerialization (chains)"):
            s = study_chain(
                build_chain(name, p),
                max_overhead=p["max_overhead"],
                every_k=p["every_k"],
                n_spread=p["n_spread"],
                measure_all=p["measure_all_frontier"],
                timing_repeats=p["timing_repeats"],
                resolution=p["resolution"],
                compile_budgets=p["compile_budgets"] if p["compile_anchor"] else (),
                seed=p["seed"],
                threads=p["threads"],
            )
            if not p["compile_anchor"]:
                s.anchor_note = "not run (parameter compile_anchor = False)"
            studies.append(s)
    return Result(p, studies)


def claims(result: Result) -> dict[str, list[Claim]]:
    """Three claims per chain (:func:`.verdicts.figure4b_claims`)."""
    return {OUTPUTS[0]: figure4b_claims(result.studies, result.parameters["max_overhead"])}


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """Every measurement of every chain (:func:`.summary.sidecar_data`)."""
    return {OUTPUTS[0]: sidecar_data(result.studies, result.parameters["max_overhead"])}


def plot(result: Result) -> dict[str, Any]:
    """Memory against recompute, one panel per chain (:func:`.draw.plot_frontiers`)."""
    return {OUTPUTS[0]: draw.plot_frontiers(result)}
