"""Figure 4: the memory needed to train the models of the paper's Figure 4, measured
(:mod:`memwall_lib.engines.memory.training`, on the meta device), against the single-GPU
memory of each model's year: by default the authors' step line (read from their PDF,
:mod:`.fig4_points`), or the largest (data-centre) GPU memory of the year. The caption's claim
is checked as the paper states it: each model's memory is below, and close to, that GPU's.
Our bars are set beside the authors' (``data.authors_comparison``), and the memory claims of
the text (ZeRO, INT4, second-order optimizers) are checked in :mod:`.fig4_text`.

Units: bytes; GB = 1e9 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...core.claims import Claim
from ...core.params import Param, ParameterError
from ...core.paths import resolve
from ...core.progress import progress
from ...engines.memory.saved import CrossCheck, cross_check_meta_vs_real, mask_bytes_for
from ...engines.memory.training import GELU_VARIANTS, MASK_TARGETS, OPTIMIZERS, PRECISIONS, TrainingMemory
from ...engines.models.paper_models import MODEL_VARIANTS, PAPER_MODELS, build_paper_model, paper_model_memory
from ...tables import DATE_RULES, HARDWARE_FILES, load_hardware
from . import authors_bars as fig4_points
from . import draw as fig4_plot
from . import text_claims as fig4_text
from . import transformer_big as fig4_tbig
from . import verdicts as fig4_claims

#: Experiments that look for the authors' feature maps, per model: settings of
#: :func:`paper_model_memory` and what they change (their saved activations are compared).
AUTHORS_EXPERIMENTS: dict[str, tuple[dict[str, Any], str]] = {
    "alexnet": (
        dict(variant="2012"),
        "2012 AlexNet (two towers, LRN keeping input and output); saved for backward, fp32",
    ),
    "vgg19": ({}, "saved for backward, fp32"),
    "resnet152": ({}, "saved for backward, fp32"),
    "densenet201": ({}, "saved for backward, fp32"),
    "resnext101_64x4d": ({}, "saved for backward, fp32"),
    "transformer_big": (
        dict(variant="separate_embeddings_32k", mask_target="cpu", peak=True),
        "separate source, target and output embeddings, 32000 tokens; peak of forward and backward "
        "(the saved set plus the vocabulary-sized gradients of the loss), fp32, 4-byte dropout masks: "
        "the closest of fig4_tbig.EXPERIMENTS at 32000 tokens, and marginal: only peaks with 4-byte masks "
        "come within 15%, not 1-byte masks (PyTorch on CUDA), 16 bits or fairseq's big recipe "
        "(data.authors_comparison.transformer_big_experiments)",
    ),
    "bert_large": (dict(precision="mixed"), "saved for backward in 16 bits (mixed precision), 1-byte masks"),
    "gpt2_xl": (dict(precision="mixed", gelu="fused"), "saved for backward in 16 bits, 1-byte masks, fused GELU"),
}


def parse_variants(items: Sequence[str]) -> dict[str, str]:
    """``["alexnet:2012", ...]`` -> ``{"alexnet": "2012"}``, each checked against MODEL_VARIANTS."""
    out: dict[str, str] = {}
    for item in items:
        model, _, variant = str(item).partition(":")
        if variant not in MODEL_VARIANTS.get(model, {}):
            known = [f"{m}:{v}" for m, vs in MODEL_VARIANTS.items() for v in vs]
            raise ParameterError(f"parameter 'variants': unknown {item!r}; expected some of {known}")
        out[model] = variant
    return out


#: Settings of the small real runs of :func:`cross_check_paper_model` (batch, image side, tokens).
CROSS_CHECK_BATCH, CROSS_CHECK_IMAGE, CROSS_CHECK_TOKENS = 2, 64, 32


def cross_check_paper_model(key: str, mask_target: str = "cuda", variant: str = "") -> CrossCheck:
    """:func:`cross_check_meta_vs_real` for a model of Figure 4 at a small batch
    (:data:`CROSS_CHECK_BATCH` inputs of :data:`CROSS_CHECK_IMAGE` pixels or
    :data:`CROSS_CHECK_TOKENS` tokens), dropout masks as ``mask_target`` stores them: the
    real run allocates the full-size weights."""
    spec = PAPER_MODELS[key]
    size = CROSS_CHECK_IMAGE if spec.domain == "cv" else CROSS_CHECK_TOKENS
    if variant.startswith("2012"):
        size = spec.input_size  # the 2012 AlexNet has no adaptive pooling: 227 pixels only
    return cross_check_meta_vs_real(
        lambda d: build_paper_model(key, batch_size=CROSS_CHECK_BATCH, input_size=size, device=d, variant=variant),
        key,
        mask_bytes_for(mask_target),
    )


def resolve_settings(models: Sequence[str], batch_sizes: Sequence[int], optimizer: str) -> list[tuple[str, int, str]]:
    """(model, batch size, optimizer) per model from the notebook parameters: an empty
    ``batch_sizes`` means the paper's; optimizer ``"paper"`` means each model's own."""
    if batch_sizes and len(batch_sizes) != len(models):
        raise ParameterError(
            f"parameter 'batch_sizes': expected {len(models)} values (one per model in "
            f"'models') or an empty list, got {list(batch_sizes)}"
        )
    if len(set(models)) != len(models):
        raise ParameterError(f"parameter 'models': each model at most once, got {list(models)}")
    return [
        (
            m,
            int(batch_sizes[i]) if batch_sizes else PAPER_MODELS[m].batch_size,
            PAPER_MODELS[m].optimizer if optimizer == "paper" else optimizer,
        )
        for i, m in enumerate(models)
    ]


def account_models(
    settings: Sequence[tuple[str, int, str]],
    precision: str = "fp32",
    mask_target: str = "cuda",
    variants: Mapping[str, str] | None = None,
    gelu: str = "eager",
) -> dict[str, TrainingMemory]:
    """:func:`paper_model_memory` (on meta) for each (model, batch size, optimizer)."""
    v = variants or {}
    return {
        m: paper_model_memory(
            m, batch_size=b, optimizer=o, precision=precision, mask_target=mask_target, variant=v.get(m, ""), gelu=gelu
        )
        for m, b, o in settings
    }


def conventions_for_grid(
    results: Mapping[str, TrainingMemory], mask_target: str, variants: Mapping[str, str], gelu: str
) -> dict[str, dict[str, int]]:
    """Feature-map bytes per model under three conventions: layer outputs in fp32 (the paper
    convention), tensors saved for backward in fp32 and in 16 bits (both with ``mask_target``'s masks)."""
    half = {
        k: paper_model_memory(
            k,
            batch_size=r.batch_size,
            optimizer=r.optimizer,
            precision="mixed",
            mask_target=mask_target,
            variant=variants.get(k, ""),
            gelu=gelu,
        ).activation_bytes
        for k, r in results.items()
    }
    return {
        "layer_outputs_fp32": {k: r.feature_map_bytes for k, r in results.items()},
        "saved_fp32": {k: r.activation_bytes for k, r in results.items()},
        "saved_16bit": half,
    }


def authors_experiments(results: Mapping[str, TrainingMemory]) -> dict[str, tuple[TrainingMemory, str]]:
    """:data:`AUTHORS_EXPERIMENTS` run at each model's own batch size, in fp32-parameter terms."""
    out = {}
    for k, r in results.items():
        kwargs, what = AUTHORS_EXPERIMENTS[k]
        out[k] = (paper_model_memory(k, batch_size=r.batch_size, optimizer=r.optimizer, **kwargs), what)
    return out


def accounting_table(results: Mapping[str, TrainingMemory]) -> pd.DataFrame:
    """Both accountings of every model side by side, in GB (1e9 bytes), one row per model."""
    rows = []
    for key, r in results.items():
        row: dict[str, Any] = {
            "model": PAPER_MODELS[key].label if key in PAPER_MODELS else key,
            "batch": r.batch_size,
            "optimizer": r.optimizer,
            "parameters (M)": r.parameters / 1e6,
        }
        for conv, short in (("paper_convention", "paper"), ("full", "full")):
            a = r.accounting(conv)
            row[f"{short}: activations GB"] = a["activations_gb"]
            row[f"{short}: total GB"] = a["total_gb"]
        row["full / paper"] = r.total_bytes("full") / r.total_bytes("paper_convention")
        rows.append(row)
    return pd.DataFrame(rows)


def sidecar_data(
    results: Mapping[str, TrainingMemory],
    gpu: pd.DataFrame,
    cross_checks: Sequence[CrossCheck] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The sidecar ``data`` of Figure 4: both accountings per model (GB), the models' settings,
    the GPU memory step line, and the meta-vs-real cross-checks (bytes), plus ``extra``."""
    return {
        **(extra or {}),
        "paper_convention": {k: r.accounting("paper_convention") for k, r in results.items()},
        "full": {k: r.accounting("full") for k, r in results.items()},
        "models": {
            k: {
                "label": PAPER_MODELS[k].label,
                "year": PAPER_MODELS[k].year,
                "domain": PAPER_MODELS[k].domain,
                "batch_size": r.batch_size,
                "input_size": PAPER_MODELS[k].input_size,
                "optimizer": r.optimizer,
                "precision": r.precision,
                "parameters": r.parameters,
                "saved_tensors": r.activations.saved_tensors,
                "saved_storages": r.activations.saved_storages,
                "dropout_mask_elements": r.activations.mask_elements,
                "dropout_mask_bytes_per_element": r.activations.mask_bytes_per_element,
            }
            for k, r in results.items()
        },
        "gpu_memory": {
            "model": list(gpu["model"]),
            "year": [int(y) for y in gpu["year"]],
            "memory_gb": [float(v) for v in gpu["memory_gb"]],
            "device": list(gpu["device"]),
            "candidates": [list(c) for c in gpu["candidates"]],
        },
        "cross_check": [c.to_dict() for c in cross_checks],
    }


#: Checks across parameters (none for Figure 4).
RELATIONS: tuple = ()

#: Parameters of notebooks/04_training_memory.ipynb.
PARAMETERS: dict[str, Param] = {
    "models": Param(
        list,
        "models of Figure 4 to account for, in plotting order",
        item_type=str,
        choices=list(PAPER_MODELS),
        min_items=1,
    ),
    "batch_sizes": Param(
        list,
        "batch size per model, in the order of `models`; [] means the paper's",
        item_type=int,
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
        choices=fig4_points.GPU_LINES,
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


@dataclass
class Result:
    """Figure 4 analysed: the accounting of every model, the GPU memory each is compared
    with, and the meta-vs-real cross-checks."""

    parameters: dict[str, Any]
    results: dict[str, TrainingMemory]
    gpu: pd.DataFrame
    cross_checks: list[CrossCheck]
    authors_bars: pd.DataFrame
    comparison: dict[str, Any]
    text: dict[str, Any]
    grid: dict[str, Any]
    tbig: list[dict[str, Any]] = field(default_factory=list)

    def tbig_table(self) -> pd.DataFrame:
        """The Transformer-big experiments (:func:`fig4_tbig.experiments_table`)."""
        return fig4_tbig.experiments_table(self.tbig)

    def grid_table(self) -> pd.DataFrame:
        """Feature maps ours / authors, model by model, under each activation convention."""
        t = pd.DataFrame(self.grid["feature_maps_ratio"])
        t.index = [PAPER_MODELS[k].label for k in t.index]
        return t

    def comparison_table(self) -> pd.DataFrame:
        """Our bars beside the authors', segment by segment, with the experiments."""
        return fig4_points.comparison_table(self.comparison)

    def text_tables(self) -> dict[str, pd.DataFrame]:
        """ZeRO, inference footprint and optimizer-memory tables (:func:`fig4_text.text_tables`)."""
        return fig4_text.text_tables(self.text)

    def text_claims(self) -> list[Claim]:
        """The memory claims of the text (ZeRO, INT4, second-order optimizers)."""
        return fig4_text.text_claims(self.text["zero"], self.text["int4"], self.text["optimizers"])

    def accounting_table(self) -> pd.DataFrame:
        """Both accountings per model (GB) beside the GPU memory of its year."""
        gpu = self.gpu.rename(columns={"memory_gb": "GPU GB", "device": "GPU of the year"})
        totals = {k: r.accounting("paper_convention")["total_gb"] for k, r in self.results.items()}
        gpu["fraction used (paper)"] = [fig4_points.fractions_used(totals, self.gpu)[k] for k in self.gpu["model"]]
        return accounting_table(self.results).merge(
            gpu[["GPU GB", "GPU of the year", "fraction used (paper)"]], left_index=True, right_index=True
        )

    def cross_check_table(self) -> pd.DataFrame:
        """Meta against real counts (bytes), per cross-checked model."""
        return pd.DataFrame(
            [
                {
                    "model": c.name,
                    "meta saved bytes": c.meta.saved_bytes,
                    "real saved bytes": c.real.saved_bytes,
                    "real, by data_ptr": c.real_by_data_ptr,
                    "meta feature-map bytes": c.meta.feature_map_bytes,
                    "real feature-map bytes": c.real.feature_map_bytes,
                    "equal": c.equal,
                }
                for c in self.cross_checks
            ]
        )


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 4 from checked parameters (:data:`PARAMETERS`). Raises AssertionError if a
    meta count differs from the real run's."""
    p = dict(params)
    settings = resolve_settings(p["models"], p["batch_sizes"], p["optimizer"])
    variants = parse_variants(p["variants"])
    data_dir = resolve(p["data_dir"])
    hw = load_hardware(data_dir)
    bars, steps = fig4_points.read_authors_fig4(data_dir / "authors_plotted.csv")
    results = account_models(settings, p["precision"], p["mask_target"], variants, p["gpt2_gelu"])
    gpu = fig4_points.gpu_line(
        p["gpu_line"], list(results), hw.devices, steps, p["gpu_date_rule"], tuple(p["gpu_exclude"])
    )
    checks = [
        cross_check_paper_model(m, p["mask_target"], variants.get(m, ""))
        for m in progress(p["cross_check_models"], "cross-check (real CPU runs)")
    ]
    bad = [c.to_dict() for c in checks if not c.equal]
    if bad:
        raise AssertionError(f"meta and real counts differ: {bad}")
    comparison = fig4_points.authors_comparison(bars, results, authors_experiments(results))
    grid = fig4_points.convention_grid(bars, conventions_for_grid(results, p["mask_target"], variants, p["gpt2_gelu"]))
    text = {"zero": fig4_text.zero_table(), "int4": fig4_text.int4_table(), "optimizers": fig4_text.optimizer_table()}
    tb = comparison.get("transformer_big")
    tbig = fig4_tbig.transformer_big_experiments(tb["authors_gb"]) if tb else []
    return Result(p, results, gpu, checks, bars, comparison, text, grid, tbig)


def claims(result: Result) -> dict[str, list[Claim]]:
    """Figure 4's claims (see :func:`figure4_claims`)."""
    return {
        OUTPUTS[0]: fig4_claims.figure4_claims(
            result.results, result.gpu, result.parameters["gpu_line"], result.authors_bars, result.comparison
        )
        + result.text_claims()
    }


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """Both accountings per model, the GPU step line and the cross-checks."""
    unit = fig4_points.authors_unit_check(result.authors_bars, result.results)
    extra = {
        "authors_comparison": {
            "unit_check": unit,
            "models": result.comparison,
            "conventions": result.grid,
            "transformer_big_experiments": result.tbig,
        },
        "text_claims": result.text,
    }
    return {OUTPUTS[0]: sidecar_data(result.results, result.gpu, result.cross_checks, extra)}


def plot(result: Result) -> dict[str, Any]:
    """Stacked bars in both accountings against the GPU memory step line."""
    totals = {k: v["authors_gb"]["total"] for k, v in result.comparison.items()}
    return {
        OUTPUTS[0]: fig4_plot.plot_training_memory(result.results, result.gpu, result.parameters["gpu_line"], totals)
    }
