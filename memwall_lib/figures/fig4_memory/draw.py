"""Figure 4's drawing: stacked bars per model in both accountings against the GPU memory step line."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engines.memory.training import CONVENTIONS, OPTIMIZER_LABELS
from .models import ModelInfo, paper_info
from .result import Result


def _info(result: Result, key: str) -> ModelInfo:
    return result.info.get(key) or paper_info(key)


def _tick(result: Result, key: str, gpu: str) -> str:
    """A bar's label: a model of Figure 4 with its year, a user's model with its batch and
    tokens; the GPU it is compared with below."""
    i = _info(result, key)
    if i.is_paper_model:
        return f"{i.label} {i.year}\n{gpu}"
    return f"{i.label} (batch {result.results[key].batch_size} x {i.input_size})\n{gpu} ({i.year})"


def _line_label(result: Result, line: str) -> str:
    """The GPU line's legend entry; a user's model (no year of its own) is compared with the
    latest year's GPU memory, the largest of any GPU under the authors' line."""
    users = [i for i in result.info.values() if not i.is_paper_model]
    if users and len(users) == len(result.results):
        kind = "data-centre GPU memory" if line == "datacenter" else "single-GPU memory"
        return f"largest {kind} of {users[0].year} (GPU under each tick)"
    label = {
        "authors": "single-GPU memory (the authors' line; GPU under each tick)",
        "largest": "largest GPU memory of the year",
        "datacenter": "largest data-centre GPU memory of the year",
    }[line]
    return (
        label[: label.index(";")] + f"; presets, configs: largest of {users[0].year})"
        if users and line == "authors"
        else label
    )


def plot_training_memory(result: Result) -> Any:
    """Stacked bars per model (parameters, gradients, optimizer state, activations; GB) in
    both accountings side by side, with the GPU memory of each model's year as a step line
    (the result's ``gpu_line``) and the authors' bar totals (GB) as markers."""
    import matplotlib.pyplot as plt

    from ...core.plotting import PALETTE, apply_style

    results, gpu, line = result.results, result.gpu, result.parameters["gpu_line"]
    authors_totals = {k: v["authors_gb"]["total"] for k, v in result.comparison.items()}
    apply_style()
    keys = list(results)
    x = np.arange(len(keys))
    limit = np.asarray(gpu["memory_gb"], dtype=float)
    parts = [
        ("parameters_gb", "parameters", PALETTE[0]),
        ("gradients_gb", "gradients", PALETTE[3]),
        ("optimizer_gb", "optimizer state", PALETTE[4]),
        ("activations_gb", None, PALETTE[2]),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), sharey=True)
    titles = {
        "paper_convention": "Paper's convention: parameters + optimizer + feature maps",
        "full": "Full: + gradients, tensors saved for backward",
    }
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
            ax.annotate(
                f"{total:.1f}",
                (xi, total),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8.5,
            )
        sx = np.concatenate([[x[0] - 0.5], x + 0.5])
        line_label = _line_label(result, line)
        ax.step(sx, np.concatenate([limit[:1], limit]), where="pre", color=PALETTE[7], linewidth=1.8, label=line_label)
        if authors_totals:
            ax.scatter(
                x,
                [authors_totals.get(k, np.nan) for k in keys],
                marker="_",
                s=260,
                color="black",
                linewidths=2,
                zorder=5,
                label="authors' bar (total)",
            )
        gpus = [str(d).replace("GeForce ", "").replace("Tesla ", "") for d in gpu["device"]]
        ax.set_xticks(
            x,
            [_tick(result, k, g) for k, g in zip(keys, gpus)],
            rotation=35,
            ha="right",
            fontsize=8.5,
        )
        ax.set_title(titles[conv])
        ax.grid(axis="x", visible=False)
        top = max(top, float(bottom.max()), float(np.nanmax(limit)))
    axes[0].set_ylabel("memory to train (GB = 1e9 bytes)")
    axes[0].set_ylim(0, top * 1.12)
    for ax in axes:
        ax.legend(loc="upper left")
    precisions = sorted({r.precision for r in results.values()})
    by_domain: dict[str, set[str]] = {}
    for key, r in results.items():
        by_domain.setdefault(_info(result, key).domain.upper(), set()).add(OPTIMIZER_LABELS[r.optimizer])
    optimizers = ", ".join(f"{d}: {' / '.join(sorted(o))}" for d, o in by_domain.items())
    fig.suptitle(f"Figure 4: memory to train each model, measured ({', '.join(precisions)}; {optimizers})", fontsize=12)
    fig.tight_layout()
    return fig
