"""Figure 4: the memory needed to train the models of the paper's Figure 4, measured
(:mod:`memwall_lib.engines.memory.training`, on the meta device), against the single-GPU
memory of each model's year: by default the authors' step line (read from their PDF,
:mod:`.authors_bars`), or the largest (data-centre) GPU memory of the year. The caption's claim
is checked as the paper states it: each model's memory is below, and close to, that GPU's.
Our bars are set beside the authors' (``data.authors_comparison``), and the memory claims of
the text (ZeRO, INT4, second-order optimizers) are checked in :mod:`.text_claims`.

This module holds the figure's API; beside it: :mod:`.accounting` (settings, the meta counts and
their cross-checks, the sidecar's accountings), :mod:`.authors_bars` (the authors' bars and GPU
line), :mod:`.transformer_big` (the Transformer-big experiments), :mod:`.text_claims`,
:mod:`.verdicts` (the caption's claims), :mod:`.result` and :mod:`.draw`.

Units: bytes; GB = 1e9 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...core.claims import Claim
from ...core.params import Param
from ...core.paths import resolve
from ...core.progress import progress
from ...engines.memory.training import GELU_VARIANTS, MASK_TARGETS, OPTIMIZERS, PRECISIONS
from ...engines.models.paper_models import PAPER_MODELS
from ...tables import DATE_RULES, HARDWARE_FILES, load_hardware
from . import authors_bars, draw, text_claims, transformer_big, verdicts
from .accounting import (
    account_all,
    authors_experiments,
    conventions_for_grid,
    cross_check_paper_model,
    parse_variants,
    resolve_settings,
    sidecar_data,
)
from .models import latest_gpu_year, seq_len_fits, user_sources, validate_models
from .result import Result

#: Parameters of notebooks/04_training_memory.ipynb.
PARAMETERS: dict[str, Param] = {
    "models": Param(
        list,
        "models to account for, in plotting order: models of Figure 4 (alexnet, ..., gpt2_xl), model "
        "presets (gpt2, llama2-7b, ...) or paths to a Hugging Face config.json (absolute or relative "
        "to the repository root)",
        item_type=str,
        min_items=1,
        validate=validate_models,
    ),
    "batch_sizes": Param(
        list,
        "batch size per model, in the order of `models`; [] means the paper's (1 for a preset or config)",
        item_type=int,
        minimum=1,
        maximum=2**20,
    ),
    "seq_len": Param(
        int,
        "tokens per sequence of a model given as a preset or config.json (Figure 4's own models keep "
        "the paper's inputs); at most the model's max_position_embeddings",
        minimum=1,
        maximum=2**20,
    ),
    "precision": Param(
        str,
        "fp32 (the paper's) or mixed (16-bit parameters, gradients and "
        "activations; fp32 master weights with the optimizer state)",
        choices=PRECISIONS,
    ),
    "optimizer": Param(
        str, "'paper' (SGD with momentum for CV, Adam for NLP) or one optimizer for all", choices=("paper", *OPTIMIZERS)
    ),
    "mask_target": Param(
        str,
        "count dropout masks as this device stores them: cuda (1 byte) or cpu (the input's dtype)",
        choices=MASK_TARGETS,
    ),
    "gpt2_gelu": Param(
        str, "GPT-2's GELU: eager (Hugging Face's gelu_new, op by op) or fused", choices=tuple(GELU_VARIANTS)
    ),
    "variants": Param(
        list, "model variants as 'model:variant' (alexnet:2012 = the published two-tower network)", item_type=str
    ),
    "gpu_line": Param(
        str,
        "GPU memory each model is compared with: authors (their step line), largest "
        "(largest GPU memory of the year) or datacenter (data-centre GPUs only)",
        choices=authors_bars.GPU_LINES,
    ),
    "gpu_date_rule": Param(str, "which date makes a GPU available in a year", choices=DATE_RULES),
    "gpu_exclude": Param(list, "leave out GPUs whose name contains one of these (e.g. dual-GPU boards)", item_type=str),
    "cross_check_models": Param(
        list,
        "models also counted on a small real CPU run, to compare with meta",
        item_type=str,
        choices=list(PAPER_MODELS),
    ),
    "data_dir": Param(
        str, "folder with compute_devices.csv (Figure 1's hardware data) and authors_plotted.csv", path="dir"
    ),
    "output_dir": Param(str, "where figures are written", path="out_dir"),
}


#: Checks across parameters: ``seq_len`` within the positions of every user's model (the
#: predicate raises naming the model).
RELATIONS: tuple = (
    (seq_len_fits, "parameters 'seq_len' and 'models': expected seq_len within every model's positions"),
)


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = False
#: The data files this figure reads (the GPU memory step line).
DATA_FILES: tuple[str, ...] = (
    *HARDWARE_FILES,
    "authors_plotted.csv",
)
#: The figure written.
OUTPUTS: tuple[str, ...] = ("fig4_training_memory",)


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 4 from checked parameters (:data:`PARAMETERS`): a user's model (a preset or a
    config.json in ``models``) is accounted at ``seq_len`` tokens and compared with the GPU
    memory of the latest year in the data. Raises AssertionError if a meta count differs from
    the real run's."""
    p = dict(params)
    by_item = user_sources(p["models"])
    sources = {s.label: s for s in by_item.values()}
    keys = [by_item[m].label if m in by_item else m for m in p["models"]]
    settings = resolve_settings(keys, p["batch_sizes"], p["optimizer"])
    variants = parse_variants(p["variants"])
    data_dir = resolve(p["data_dir"])
    hw = load_hardware(data_dir)
    bars, steps = authors_bars.read_authors_fig4(data_dir)
    year = latest_gpu_year(hw.devices, p["gpu_date_rule"])
    results, infos = account_all(
        settings, sources, p["precision"], p["mask_target"], variants, p["gpt2_gelu"], p["seq_len"], year
    )
    gpu = authors_bars.gpu_line(
        p["gpu_line"],
        list(results),
        hw.devices,
        steps,
        p["gpu_date_rule"],
        tuple(p["gpu_exclude"]),
        {k: year for k in sources},
    )
    checks = [
        cross_check_paper_model(m, p["mask_target"], variants.get(m, ""))
        for m in progress(p["cross_check_models"], "cross-check (real CPU runs)")
    ]
    bad = [c.to_dict() for c in checks if not c.equal]
    if bad:
        raise AssertionError(f"meta and real counts differ: {bad}")
    paper = {k: r for k, r in results.items() if k not in sources}
    comparison = authors_bars.authors_comparison(bars, paper, authors_experiments(paper))
    grid = authors_bars.convention_grid(bars, conventions_for_grid(paper, p["mask_target"], variants, p["gpt2_gelu"]))
    text = {
        "zero": text_claims.zero_table(),
        "int4": text_claims.int4_table(),
        "optimizers": text_claims.optimizer_table(),
    }
    tb = comparison.get("transformer_big")
    tbig = transformer_big.transformer_big_experiments(tb["authors_gb"]) if tb else []
    return Result(p, results, gpu, checks, bars, comparison, text, grid, tbig, infos)


def claims(result: Result) -> dict[str, list[Claim]]:
    """Figure 4's claims (:func:`.verdicts.figure4_claims`, on the paper's models only: a
    user's model is no part of the caption's claim) and the text's (:func:`.text_claims.text_claims`)."""
    paper, gpu = result.paper_models()
    caption = (
        verdicts.figure4_claims(paper, gpu, result.parameters["gpu_line"], result.authors_bars, result.comparison)
        if paper
        else []
    )
    return {OUTPUTS[0]: caption + result.text_claims()}


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """Both accountings per model, the GPU step line and the cross-checks."""
    unit = authors_bars.authors_unit_check(result.authors_bars, result.results)
    extra = {
        "authors_comparison": {
            "unit_check": unit,
            "models": result.comparison,
            "conventions": result.grid,
            "transformer_big_experiments": result.tbig,
        },
        "text_claims": result.text,
    }
    return {OUTPUTS[0]: sidecar_data(result.results, result.gpu, result.cross_checks, extra, result.info)}


def plot(result: Result) -> dict[str, Any]:
    """Stacked bars in both accountings against the GPU memory step line."""
    return {OUTPUTS[0]: draw.plot_training_memory(result)}
