"""Operator-level against block-level rematerialization on the project's two chains.

For ``remat.gpt2_chain()`` and ``remat.resnet_chain()`` at their default sizes: the exact
frontier of the planner (in units of the no-checkpointing peak / ``--resolution``) with and
without keeping operator outputs; the plan with the least predicted peak whose predicted
recompute is <= ``--max-overhead`` of a reference step's FLOPs, measured (peak live
activation bytes with the dispatch-mode tracker, FLOPs with FlopCounterMode, wall time as
the median of ``--repeats`` steps interleaved with the reference, gradients against the
reference); then every frontier plan measured (predicted vs measured), and the time to plan
a 48-layer GPT-2 XL stack (hidden 1600, 25 heads, 1024 tokens) on the meta device.

Run: ``PYTHONPATH=. python benchmarks/bench_remat_operator.py`` (one CPU thread).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from memwall_lib.engines import remat
from memwall_lib.engines.remat.plan import frontier, plan_for_budget, plan_none
from memwall_lib.engines.remat.profile import OpChainProfile, predict_plan, profile_blocks
from memwall_lib.engines.remat.run import PlanMeasurement, measure_plan, profile_chain_ops, reference_run


def best_measured(
    chain: Any, prof: OpChainProfile, ref: tuple, points: list, max_overhead: float, repeats: int
) -> PlanMeasurement:
    """The least-peak frontier point within ``max_overhead`` (predicted), measured; if its
    measured overhead exceeded the limit, the next one down."""
    ok = sorted((p for p in points if p[1] <= max_overhead * ref[1]), key=lambda p: p[0])
    for _peak, _extra, plan in ok:
        m = measure_plan(chain, plan, prof, ref, timing_repeats=repeats)
        if m.overhead <= max_overhead + 1e-12:
            return m
    raise RuntimeError("no plan within the overhead")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=2000, help="memory units of the exact frontier")
    ap.add_argument("--max-overhead", type=float, default=0.20, help="recompute FLOPs / reference step FLOPs")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved timed steps (median)")
    ap.add_argument("--no-all", action="store_true", help="do not measure every frontier plan")
    ap.add_argument("--chains", default="gpt2,resnet152")
    ap.add_argument(
        "--anchor-budgets",
        default="1.0,0.5,0.3,0.2,0.1,0.05",
        help="activation_memory_budget sweep of the torch.compile anchor ('' to skip)",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows, anchors, ref_peak = [], [], {}
    for name in args.chains.split(","):
        chain = remat.gpt2_chain() if name == "gpt2" else remat.resnet_chain(name)
        prof = profile_chain_ops(chain)
        ref = reference_run(chain, prof)
        ref_peak[name] = ref[0]
        print(
            f"\n{chain.description}: {len(prof)} blocks, reference peak {ref[0] / 1e6:.2f} MB "
            f"(predicted {predict_plan(prof, plan_none(prof))[0] / 1e6:.2f}), step {ref[1] / 1e9:.2f} GFLOP"
        )
        for level in (False, True):
            t0 = time.perf_counter()
            points = frontier(prof, resolution=args.resolution, operator_level=level)
            t_front = time.perf_counter() - t0
            m = best_measured(chain, prof, ref, points, args.max_overhead, args.repeats)
            tag = "operator" if level else "block"
            rows.append(
                (
                    name,
                    tag,
                    ref[0] / m.peak_bytes,
                    m.overhead,
                    m.time_overhead,
                    m.predicted_peak_bytes,
                    m.peak_bytes,
                    m.grads_equal,
                    m.n_kept,
                    len(points),
                    t_front,
                )
            )
            if level and not args.no_all:
                errs = []
                for peak, extra, plan in points:
                    mm = measure_plan(chain, plan, prof, ref)
                    assert mm.grads_equal, plan.label
                    assert abs(mm.extra_flops - extra) <= 1e-9 * max(1.0, extra), plan.label
                    errs.append(mm.peak_bytes / peak - 1)
                    print(
                        f"  {tag} frontier: predicted {peak / 1e6:8.3f} MB measured {mm.peak_bytes / 1e6:8.3f} MB "
                        f"({100 * errs[-1]:+.1f}%), extra FLOPs {100 * mm.overhead:5.1f}% (predicted "
                        f"{100 * extra / ref[1]:5.1f}%), kept ops {plan.n_kept}, grads equal {mm.grads_equal}"
                    )
                print(
                    f"  {len(points)} frontier plans: measured / predicted peak - 1 in "
                    f"[{100 * min(errs):+.1f}%, {100 * max(errs):+.1f}%]; FLOPs equal; gradients equal"
                )
        if args.anchor_budgets:
            from memwall_lib.engines.remat.compile_anchor import compile_anchor

            budgets = [float(b) for b in args.anchor_budgets.split(",")]
            t0 = time.perf_counter()
            for p in compile_anchor(chain, budgets, ref):
                anchors.append((name, p))
            print(f"  torch.compile anchor: {len(budgets)} budgets in {time.perf_counter() - t0:.1f} s")
    print(f"\nbest measured plan with <= {args.max_overhead:.0%} extra FLOPs (1 CPU thread)")
    print(
        f"{'chain':10} {'level':9} {'reduction':>9} {'FLOPs':>7} {'time':>7} {'pred MB':>8} {'meas MB':>8} "
        f"{'pred err':>8} {'grads':>6} {'kept':>5} {'front':>5} {'plan s':>6}"
    )
    for r in rows:
        print(
            f"{r[0]:10} {r[1]:9} {r[2]:8.2f}x {100 * r[3]:6.1f}% {100 * r[4]:+6.1f}% {r[5] / 1e6:8.2f} "
            f"{r[6] / 1e6:8.2f} {100 * (r[6] / r[5] - 1):+7.1f}% {str(r[7]):>6} {r[8]:5d} {r[9]:5d} {r[10]:6.2f}"
        )
    if anchors:
        print(
            "\ntorch.compile per block, min-cut partitioner, activation_memory_budget sweep (bytes and FLOPs "
            "read off the partitioned graphs; reduction against the eager reference's measured peak)"
        )
        print(f"{'chain':10} {'budget':>6} {'saved MB':>9} {'reduction':>9} {'extra FLOPs':>11} {'grads equal':>11}")
        for name, p in anchors:
            if p.error:
                print(f"{name:10} {p.budget:6.2f} failed: {p.error}")
                continue
            print(
                f"{name:10} {p.budget:6.2f} {p.activation_bytes / 1e6:9.2f} {ref_peak[name] / p.activation_bytes:8.2f}x "
                f"{100 * p.extra_flops / (p.flops - p.extra_flops):10.1f}% {str(p.grads_equal):>11}"
            )
    t0 = time.perf_counter()
    xl = remat.gpt2_chain(layers=48, hidden=1600, heads=25, tokens=1024, batch_size=1, device="meta")
    t1 = time.perf_counter()
    prof = profile_blocks(xl.blocks, xl.make_input(), xl.loss)
    t2 = time.perf_counter()
    hi = predict_plan(prof, plan_none(prof))[0]
    plan = plan_for_budget(prof, hi / 5)
    t3 = time.perf_counter()
    points = frontier(prof, resolution=1000)
    t4 = time.perf_counter()
    fwd = sum(b.flops for b in prof.blocks)
    peak, extra = predict_plan(prof, plan)
    print(
        f"\nGPT-2 XL (48 layers, hidden 1600, 25 heads, 1024 tokens, batch 1) on meta: build {t1 - t0:.2f} s, "
        f"profile {t2 - t1:.2f} s, one plan {t3 - t2:.2f} s, planning total {t3 - t1:.2f} s "
        f"(+ frontier of {len(points)} plans at 1000 units: {t4 - t3:.2f} s)"
    )
    print(
        f"  no checkpointing {hi / 1e9:.2f} GB; budget {hi / 5e9:.2f} GB -> predicted {peak / 1e9:.2f} GB at "
        f"{100 * extra / (3 * fwd):.1f}% extra FLOPs (of 3x forward), {plan.n_kept} ops kept"
    )


if __name__ == "__main__":
    main()
