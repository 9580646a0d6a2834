"""The plot of Figure 4b (:mod:`memwall_lib.figures.fig4b_remat`): per chain, peak activation memory (MB = 1e6
bytes, log) against recompute overhead (% extra FLOPs of a forward+backward step)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...engines.remat.study import POLICIES, ChainStudy
from .result import Result
from .verdicts import PAPER_OVERHEAD, PAPER_REDUCTION

#: Marker and palette index per kind of measured plan.
_STYLE = {
    "every block": (0, "s"),
    "every k": (5, "^"),
    "sqrt(n)": (3, "D"),
    "save all matmuls": (7, "X"),
    "save weight matmuls": (7, "P"),
}


def _steps(ax: Any, front: Sequence[Sequence[float]], step_flops: float, **kw: Any) -> None:
    pts = sorted(front, key=lambda p: p[1])
    ax.step([100 * f / step_flops for _, f in pts], [b / 1e6 for b, _ in pts], where="post", **kw)


def _frontiers(ax: Any, s: ChainStudy) -> None:
    """The block- and operator-level frontiers (predicted) and their plans (measured)."""
    from ...core.plotting import PALETTE

    _steps(
        ax,
        s.frontiers["block"],
        s.step_flops,
        color=PALETTE[2],
        linewidth=1.1,
        alpha=0.7,
        label="block-level frontier (predicted, exact)",
    )
    _steps(
        ax,
        s.frontiers["operator"],
        s.step_flops,
        color=PALETTE[0],
        linewidth=1.3,
        alpha=0.8,
        label="operator-level frontier (predicted, exact)",
    )
    for kind, color, marker in (("block frontier", 2, "o"), ("operator frontier", 0, "D")):
        ps = [p for p in s.points if p.kind == kind]
        ax.scatter(
            [100 * p.m.overhead for p in ps],
            [p.m.peak_bytes / 1e6 for p in ps],
            color=PALETTE[color],
            marker=marker,
            s=34,
            zorder=4,
            edgecolors="white",
            linewidths=0.5,
            label=f"{kind.split()[0]}-level plans, measured",
        )


def _strategies(ax: Any, s: ChainStudy) -> None:
    """The fixed schedules and policies, one marker style each."""
    from ...core.plotting import PALETTE

    seen: set[str] = set()
    for p in s.points:
        if p.kind not in _STYLE:
            continue
        color, marker = _STYLE[p.kind]
        x, y = 100 * p.m.overhead, p.m.peak_bytes / 1e6
        label = ("policy: " if p.kind in POLICIES else "") + (p.kind if p.kind != "every k" else "every k blocks")
        ax.scatter(
            x,
            y,
            color=PALETTE[color],
            marker=marker,
            s=48,
            zorder=5,
            edgecolors="white",
            linewidths=0.6,
            label=None if p.kind in seen else label,
        )
        seen.add(p.kind)
        if p.kind == "every k":
            ax.annotate(
                p.m.label.replace("every ", "k="),
                (x, y),
                xytext=(5, -3),
                textcoords="offset points",
                fontsize=7,
                color="0.3",
            )


#: Marker face and label of an anchor point per cause of its gradient check.
_ANCHOR_CAUSES: dict[str, tuple[bool, str]] = {
    "ok": (True, "torch.compile activation_memory_budget (gradients equal eager)"),
    "fresh mask": (
        True,
        "torch.compile budget, gradients equal eager with the masks replayed (the plain check differs "
        "only through the mask our harness re-draws)",
    ),
    "mismatch": (False, "torch.compile budget, gradients DIFFER from eager with the masks replayed"),
}


def _anchor(ax: Any, s: ChainStudy) -> None:
    """PyTorch's torch.compile budgets on the same chain: their frontier (valid points), each
    point marked by the cause of its gradient check and named by its budget; a note where
    the anchor failed or did not run."""
    from ...core.plotting import PALETTE

    ran = [a for a in s.anchor if not a.error]
    valid = sorted((a for a in ran if a.grads_equal), key=lambda a: a.extra_flops)
    front = [a for i, a in enumerate(valid) if all(a.activation_bytes < b.activation_bytes for b in valid[:i])]
    if front:
        _steps(
            ax,
            [(a.activation_bytes, a.extra_flops) for a in front],
            s.step_flops,
            color=PALETTE[4],
            linewidth=1.1,
            linestyle="--",
            label="torch.compile budgets' frontier (valid points, bytes the graphs save)",
        )
    for cause, (filled, label) in _ANCHOR_CAUSES.items():
        pts = [a for a in ran if a.cause == cause]
        if pts:
            ax.scatter(
                [100 * a.extra_flops / s.step_flops for a in pts],
                [a.activation_bytes / 1e6 for a in pts],
                color=PALETTE[4] if filled else "none",
                edgecolors="white" if filled else PALETTE[4],
                marker="v" if cause == "ok" else ("^" if cause == "fresh mask" else "X"),
                s=46,
                zorder=5,
                label=label,
            )
    for a in ran:  # each anchor point named by its budget
        ax.annotate(
            f"{a.budget:g}" + (" MISMATCH" if a.cause == "mismatch" else ""),
            (100 * a.extra_flops / s.step_flops, a.activation_bytes / 1e6),
            xytext=(5, 3),
            textcoords="offset points",
            fontsize=7,
            color=PALETTE[4],
        )
    failed = [a.budget for a in s.anchor if a.error]
    note = (
        ("torch.compile anchor: " + ("not run" if not s.anchor else f"failed at budgets {failed}" if failed else ""))
        if (not s.anchor or failed)
        else ""
    )
    if note:
        ax.text(0.99, 0.99, note, transform=ax.transAxes, ha="right", va="top", fontsize=7.5, color="0.35")


def _paper_and_best(ax: Any, s: ChainStudy, limit: float, paper_red: float, paper_over: float) -> None:
    """The paper's point, the overhead limit, and the best plan of each granularity within it."""
    from ...core.plotting import PALETTE

    ref = s.ref_peak_bytes / 1e6
    ax.scatter(
        100 * paper_over,
        ref / paper_red,
        marker="*",
        s=190,
        color=PALETTE[1],
        zorder=6,
        label=f"paper: {paper_red:g}x less for {paper_over:.0%} more",
    )
    ax.axvline(100 * limit, color=PALETTE[1], linestyle=":", linewidth=1)
    for level, y, color in (("operator", 0.05, 0), ("block", 0.12, 2)):
        red, p = s.best(level, limit)
        full = s.best(level, limit, by="full")[0]
        t = f", {p.m.time_overhead:+.0%} wall time" if p.timed else ""
        ax.annotate(
            f"best {level}-level plan within {limit:.0%} extra matmul FLOPs: {red:.1f}x{t} "
            f"(within {limit:.0%} in the full count: {full:.1f}x)",
            (100 * p.m.overhead, p.m.peak_bytes / 1e6),
            xytext=(0.03, y),
            textcoords="axes fraction",
            fontsize=8,
            color=PALETTE[color],
            arrowprops={"arrowstyle": "->", "color": PALETTE[color], "lw": 0.7, "alpha": 0.8},
        )


def _panel(ax: Any, s: ChainStudy, limit: float, paper_red: float, paper_over: float) -> None:
    """One chain's panel: frontiers, fixed strategies, PyTorch's anchor, the paper's point."""
    _frontiers(ax, s)
    _strategies(ax, s)
    _anchor(ax, s)
    _paper_and_best(ax, s, limit, paper_red, paper_over)
    ax.set_yscale("log")
    ax.set_xlabel("recompute overhead (% extra FLOPs of a forward+backward step)")
    ax.set_ylabel("peak activation memory (MB = 1e6 bytes)")
    ax.set_title(s.description, fontsize=10)


def plot_frontiers(result: Result) -> Any:
    """One panel per chain of ``result``: both exact frontiers (predicted), the measured plans,
    the block-level strategies and fixed policies, PyTorch's anchor where it ran (its frontier
    and each point by the cause of its gradient check), the paper's point and the best measured plans within the
    result's ``max_overhead``."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from ...core.plotting import apply_style

    studies, limit = result.studies, result.parameters["max_overhead"]
    paper_red, paper_over = PAPER_REDUCTION, PAPER_OVERHEAD
    apply_style()
    fig, axes = plt.subplots(1, len(studies), figsize=(max(6.8 * len(studies), 11.0), 5.9), squeeze=False)
    handles: dict[str, Any] = {}
    for ax, s in zip(axes[0], studies):
        _panel(ax, s, limit, paper_red, paper_over)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.suptitle("Figure 4b: rematerialization, memory against recompute, block vs operator granularity", fontsize=12)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig
