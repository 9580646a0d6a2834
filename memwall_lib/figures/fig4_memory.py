"""Figure 4: the memory needed to train the models of the paper's Figure 4, measured
(:mod:`memwall_lib.engines.training_memory`, on the meta device), against the largest GPU
memory of each model's year (:func:`memwall_lib.tables.gpu_memory_by_year`).

Units: bytes; GB = 1e9 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import paper
from ..core.claims import Claim
from ..core.params import Param, ParameterError
from ..core.progress import progress
from ..core.paths import resolve
from ..engines.storage import CrossCheck, cross_check_meta_vs_real
from ..engines.training_memory import (OPTIMIZER_LABELS, CONVENTIONS, OPTIMIZERS, PAPER_MODELS, PRECISIONS,
                                       TrainingMemory, build_paper_model, paper_model_memory)
from ..tables import DATE_RULES, gpu_memory_by_year, load_hardware

#: Settings of the small real runs of :func:`cross_check_paper_model` (batch, image side, tokens).
CROSS_CHECK_BATCH, CROSS_CHECK_IMAGE, CROSS_CHECK_TOKENS = 2, 64, 32


def cross_check_paper_model(key: str) -> CrossCheck:
    """:func:`cross_check_meta_vs_real` for a model of Figure 4 at a small batch
    (:data:`CROSS_CHECK_BATCH` inputs of :data:`CROSS_CHECK_IMAGE` pixels or
    :data:`CROSS_CHECK_TOKENS` tokens): the real run allocates the full-size weights."""
    spec = PAPER_MODELS[key]
    size = CROSS_CHECK_IMAGE if spec.domain == "cv" else CROSS_CHECK_TOKENS
    return cross_check_meta_vs_real(
        lambda d: build_paper_model(key, batch_size=CROSS_CHECK_BATCH, input_size=size, device=d), key)


def resolve_settings(models: Sequence[str], batch_sizes: Sequence[int], optimizer: str) -> list[tuple[str, int, str]]:
    """(model, batch size, optimizer) per model from the notebook parameters: an empty
    ``batch_sizes`` means the paper's; optimizer ``"paper"`` means each model's own."""
    if batch_sizes and len(batch_sizes) != len(models):
        raise ParameterError(f"parameter 'batch_sizes': expected {len(models)} values (one per model in "
                             f"'models') or an empty list, got {list(batch_sizes)}")
    if len(set(models)) != len(models):
        raise ParameterError(f"parameter 'models': each model at most once, got {list(models)}")
    return [(m, int(batch_sizes[i]) if batch_sizes else PAPER_MODELS[m].batch_size,
             PAPER_MODELS[m].optimizer if optimizer == "paper" else optimizer)
            for i, m in enumerate(models)]


def account_models(settings: Sequence[tuple[str, int, str]], precision: str = "fp32") -> dict[str, TrainingMemory]:
    """:func:`paper_model_memory` (on meta) for each (model, batch size, optimizer)."""
    return {m: paper_model_memory(m, batch_size=b, optimizer=o, precision=precision) for m, b, o in settings}


def gpu_line_for(results: Mapping[str, TrainingMemory], devices: pd.DataFrame,
                 date_rule: str = "availability", exclude: Sequence[str] = ("dual-GPU",)) -> pd.DataFrame:
    """:func:`gpu_memory_by_year` over the years of the models in ``results``, with a
    ``model`` column: the GPU memory (GB) each model is compared with."""
    years = [PAPER_MODELS[k].year for k in results]
    line = gpu_memory_by_year(devices, range(min(years), max(years) + 1), date_rule, exclude)
    by_year = line.set_index("year")
    rows = [{"model": k, "year": PAPER_MODELS[k].year, "memory_gb": float(by_year.loc[PAPER_MODELS[k].year, "memory_gb"]),
             "device": by_year.loc[PAPER_MODELS[k].year, "device"]} for k in results]
    return pd.DataFrame(rows)


def accounting_table(results: Mapping[str, TrainingMemory]) -> pd.DataFrame:
    """Both accountings of every model side by side, in GB (1e9 bytes), one row per model."""
    rows = []
    for key, r in results.items():
        row: dict[str, Any] = {"model": PAPER_MODELS[key].label if key in PAPER_MODELS else key,
                               "batch": r.batch_size, "optimizer": r.optimizer,
                               "parameters (M)": r.parameters / 1e6}
        for conv, short in (("paper_convention", "paper"), ("full", "full")):
            a = r.accounting(conv)
            row[f"{short}: activations GB"] = a["activations_gb"]
            row[f"{short}: total GB"] = a["total_gb"]
        row["full / paper"] = r.total_bytes("full") / r.total_bytes("paper_convention")
        rows.append(row)
    return pd.DataFrame(rows)


def sidecar_data(results: Mapping[str, TrainingMemory], gpu: pd.DataFrame,
                 cross_checks: Sequence[CrossCheck] = ()) -> dict[str, Any]:
    """The sidecar ``data`` of Figure 4: both accountings per model (GB), the models' settings,
    the GPU memory step line, and the meta-vs-real cross-checks (bytes)."""
    return {
        "paper_convention": {k: r.accounting("paper_convention") for k, r in results.items()},
        "full": {k: r.accounting("full") for k, r in results.items()},
        "models": {k: {"label": PAPER_MODELS[k].label, "year": PAPER_MODELS[k].year,
                       "domain": PAPER_MODELS[k].domain, "batch_size": r.batch_size,
                       "input_size": PAPER_MODELS[k].input_size, "optimizer": r.optimizer,
                       "precision": r.precision, "parameters": r.parameters,
                       "saved_tensors": r.activations.saved_tensors,
                       "saved_storages": r.activations.saved_storages} for k, r in results.items()},
        "gpu_memory": {"model": list(gpu["model"]), "year": [int(y) for y in gpu["year"]],
                       "memory_gb": [float(v) for v in gpu["memory_gb"]], "device": list(gpu["device"])},
        "cross_check": [c.to_dict() for c in cross_checks],
    }


def figure4_claims(results: Mapping[str, TrainingMemory], gpu: pd.DataFrame) -> list[Any]:
    """Claims of Figure 4, computed from the accounting and the GPU step line: CV models fit
    and NLP models exceed the GPU memory of their year (in each accounting), and how far the
    paper's convention is from the full accounting."""
    limit = dict(zip(gpu["model"], gpu["memory_gb"]))
    claims = []
    for conv, name in (("paper_convention", "the paper's convention"), ("full", "the full accounting")):
        for domain, claim_id in (("cv", "fig4.cv_fit_gpu"), ("nlp", "fig4.nlp_exceed_gpu")):
            keys = [k for k in results if PAPER_MODELS[k].domain == domain]
            if not keys:
                continue
            c = paper.claim(claim_id)
            totals = {k: results[k].accounting(conv)["total_gb"] for k in keys}
            ok = [k for k in keys if (totals[k] <= limit[k] if domain == "cv" else totals[k] > limit[k])]
            detail = "; ".join(f"{PAPER_MODELS[k].label} {totals[k]:.1f} vs {limit[k]:.0f} GB" for k in keys)
            what = "CV models" if domain == "cv" else "NLP models"
            claims.append(Claim(
                f"{c.id}.{conv}", c.format(accounting=name),
                paper=len(keys), reproduced=len(ok), ci95=None, holds=len(ok) == len(keys),
                rule=f"count of {what} whose {conv} total {'<=' if domain == 'cv' else '>'} the GPU "
                     "memory of their year; holds if all of them (the paper's figure, read qualitatively)",
                note=detail))
    ratios = [r.total_bytes("full") / r.total_bytes("paper_convention") for r in results.values()]
    med = float(np.median(ratios))
    c = paper.claim("fig4.full_vs_paper_convention")
    claims.append(Claim(
        c.id, c.text, paper=c.value, reproduced=med, ci95=None, holds=0.8 <= med <= 1.25,
        rule="holds if the median ratio full / paper-convention total lies in [0.8, 1.25]",
        note=f"ratio over the models {min(ratios):.3g}-{max(ratios):.3g}; "
             "full = parameters + gradients + optimizer state + tensors saved for backward"))
    return claims


def plot_training_memory(results: Mapping[str, TrainingMemory], gpu: pd.DataFrame) -> Any:
    """Stacked bars per model (parameters, gradients, optimizer state, activations; GB) in
    both accountings side by side, with the GPU memory of each model's year as a step line."""
    import matplotlib.pyplot as plt

    from ..core.plotting import PALETTE, apply_style

    apply_style()
    keys = list(results)
    x = np.arange(len(keys))
    limit = np.asarray(gpu["memory_gb"], dtype=float)
    parts = [("parameters_gb", "parameters", PALETTE[0]), ("gradients_gb", "gradients", PALETTE[3]),
             ("optimizer_gb", "optimizer state", PALETTE[4]), ("activations_gb", None, PALETTE[2])]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), sharey=True)
    titles = {"paper_convention": "Paper's convention: parameters + optimizer + feature maps",
              "full": "Full: + gradients, tensors saved for backward"}
    top = 0.0
    for ax, conv in zip(axes, CONVENTIONS):
        acc = [results[k].accounting(conv) for k in keys]
        bottom = np.zeros(len(keys))
        for field_, label, color in parts:
            vals = np.array([a[field_] for a in acc])
            if conv == "paper_convention" and field_ == "gradients_gb":
                continue
            if label is None:
                label = "feature maps (layer outputs)" if conv == "paper_convention" else "saved activations"
            ax.bar(x, vals, 0.7, bottom=bottom, color=color, label=label, edgecolor="white", linewidth=0.5)
            bottom += vals
        for xi, total in zip(x, bottom):
            ax.annotate(f"{total:.1f}", (xi, total), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8.5)
        sx = np.concatenate([[x[0] - 0.5], x + 0.5])
        ax.step(sx, np.concatenate([limit[:1], limit]), where="pre", color=PALETTE[7], linewidth=1.8,
                label="largest GPU memory of the year")
        devices = list(gpu["device"])
        for i, (dev, mem) in enumerate(zip(devices, limit)):
            if isinstance(dev, str) and (i == 0 or dev != devices[i - 1]):
                ax.annotate(dev, (x[i] - 0.45, mem), xytext=(0, 2), textcoords="offset points",
                            fontsize=7, color="0.3", va="bottom")
        ax.set_xticks(x, [f"{PAPER_MODELS[k].label}\n{PAPER_MODELS[k].year}" for k in keys], rotation=35,
                      ha="right", fontsize=9)
        ax.set_title(titles[conv])
        ax.grid(axis="x", visible=False)
        top = max(top, float(bottom.max()), float(np.nanmax(limit)))
    axes[0].set_ylabel("memory to train (GB = 1e9 bytes)")
    axes[0].set_ylim(0, top * 1.12)
    for ax in axes:
        ax.legend(loc="upper left")
    precisions = sorted({r.precision for r in results.values()})
    by_domain = {}
    for key, r in results.items():
        by_domain.setdefault(PAPER_MODELS[key].domain.upper(), set()).add(OPTIMIZER_LABELS[r.optimizer])
    optimizers = ", ".join(f"{d}: {' / '.join(sorted(o))}" for d, o in by_domain.items())
    fig.suptitle(f"Figure 4: memory to train each model, measured ({', '.join(precisions)}; {optimizers})",
                 fontsize=12)
    fig.tight_layout()
    return fig


#: Checks across parameters (none for Figure 4).
RELATIONS: tuple = ()

#: Parameters of notebooks/04_training_memory.ipynb.
PARAMETERS: dict[str, Param] = {
    "models": Param(list, "models of Figure 4 to account for, in plotting order", item_type=str,
                    choices=list(PAPER_MODELS), min_items=1),
    "batch_sizes": Param(list, "batch size per model, in the order of `models`; [] means the paper's",
                         item_type=int, minimum=1, maximum=2**20),
    "precision": Param(str, "fp32 (the paper's) or mixed (16-bit parameters, gradients and "
                            "activations; fp32 master weights with the optimizer state)", choices=PRECISIONS),
    "optimizer": Param(str, "'paper' (SGD with momentum for CV, Adam for NLP) or one optimizer for all",
                       choices=("paper", *OPTIMIZERS)),
    "gpu_date_rule": Param(str, "which date makes a GPU available in a year", choices=DATE_RULES),
    "gpu_exclude": Param(list, "leave out GPUs whose name contains one of these (e.g. dual-GPU boards)",
                         item_type=str),
    "cross_check_models": Param(list, "models also counted on a small real CPU run, to compare with meta",
                                item_type=str, choices=list(PAPER_MODELS)),
    "data_dir": Param(str, "folder with compute_devices.csv (Figure 1's hardware data)", path="dir"),
    "output_dir": Param(str, "where figures are written", path="out_dir"),
}


# --------------------------------------------------------------------------- the figure's API
#: Whether the notebook times things on this machine (then ``make`` runs it alone).
TIMED: bool = False
#: The data files this figure reads (the GPU memory step line).
DATA_FILES: tuple[str, ...] = ("compute_devices.csv", "compute_peak_flops.csv", "dram_technologies.csv",
                               "interconnects.csv")
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

    def accounting_table(self) -> pd.DataFrame:
        """Both accountings per model (GB) beside the GPU memory of its year."""
        gpu = self.gpu.rename(columns={"memory_gb": "GPU GB", "device": "GPU of the year"})
        return accounting_table(self.results).merge(gpu[["GPU GB", "GPU of the year"]],
                                                    left_index=True, right_index=True)

    def cross_check_table(self) -> pd.DataFrame:
        """Meta against real counts (bytes), per cross-checked model."""
        return pd.DataFrame([{"model": c.name, "meta saved bytes": c.meta.saved_bytes,
                              "real saved bytes": c.real.saved_bytes, "real, by data_ptr": c.real_by_data_ptr,
                              "meta feature-map bytes": c.meta.feature_map_bytes,
                              "real feature-map bytes": c.real.feature_map_bytes, "equal": c.equal}
                             for c in self.cross_checks])


def analyse(params: Mapping[str, Any]) -> Result:
    """Figure 4 from checked parameters (:data:`PARAMETERS`). Raises AssertionError if a
    meta count differs from the real run's."""
    p = dict(params)
    settings = resolve_settings(p["models"], p["batch_sizes"], p["optimizer"])
    hw = load_hardware(resolve(p["data_dir"]))
    results = account_models(settings, p["precision"])
    gpu = gpu_line_for(results, hw.devices, p["gpu_date_rule"], p["gpu_exclude"])
    checks = [cross_check_paper_model(m) for m in progress(p["cross_check_models"], "cross-check (real CPU runs)")]
    bad = [c.to_dict() for c in checks if not c.equal]
    if bad:
        raise AssertionError(f"meta and real counts differ: {bad}")
    return Result(p, results, gpu, checks)


def claims(result: Result) -> dict[str, list[Claim]]:
    """Figure 4's claims (see :func:`figure4_claims`)."""
    return {OUTPUTS[0]: figure4_claims(result.results, result.gpu)}


def sidecar(result: Result) -> dict[str, dict[str, Any]]:
    """Both accountings per model, the GPU step line and the cross-checks."""
    return {OUTPUTS[0]: sidecar_data(result.results, result.gpu, result.cross_checks)}


def plot(result: Result) -> dict[str, Any]:
    """Stacked bars in both accountings against the GPU memory step line."""
    return {OUTPUTS[0]: plot_training_memory(result.results, result.gpu)}
