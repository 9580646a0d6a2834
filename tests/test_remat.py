"""Rematerialization: the optimal schedule against brute force on small chains, gradients equal
under every strategy, the cost model against measurements, bad input."""

from __future__ import annotations

import random

import pytest
import torch
from helpers import all_schedules, brute_force_optimum

from memwall_lib.core.params import ParameterError, check_parameters
from memwall_lib.engines import remat
from memwall_lib.engines.remat.study import (
    MATMUL_OPS,
    POLICIES,
    WEIGHT_MATMUL_OPS,
    ChainStudy,
    frontier_subset,
    policy_plan,
    study_chain,
)
from memwall_lib.figures import fig4b_remat


def _synthetic(n: int, rng: random.Random) -> remat.ChainProfile:
    """A chain with integer bytes and FLOPs; block i's input is storage -(i+1), its saved
    storages are its own (ids 100*i+j), sometimes including its input."""
    saved, keys, in_bytes, flops = [], [], [], []
    for i in range(n):
        d = {100 * i + j: rng.randint(1, 20) for j in range(rng.randint(1, 3))}
        x = rng.randint(1, 6)
        if rng.random() < 0.5:
            d[-(i + 1)] = x
        saved.append(d)
        keys.append(-(i + 1))
        in_bytes.append(x)
        flops.append(float(rng.randint(1, 10)))
    return remat.ChainProfile(saved, keys, in_bytes, flops)


@pytest.mark.parametrize("seed", range(12))
def test_optimal_schedule_equals_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    prof = _synthetic(rng.randint(1, 7), rng)
    none_peak = remat.predict(prof, remat.schedule_none(len(prof)))[0]
    for budget in range(1, none_peak + 2):
        brute = brute_force_optimum(prof, budget)
        dp = remat.optimal_schedule(prof, budget, unit_bytes=1)
        if brute is None:
            assert dp is None, budget
            continue
        assert dp is not None, budget
        peak, extra = remat.predict(prof, dp)
        assert peak <= budget
        assert (extra, peak) == brute, (budget, dp.segments)


def test_rounded_budget_is_still_feasible() -> None:
    rng = random.Random(99)
    prof = _synthetic(7, rng)
    none_peak = remat.predict(prof, remat.schedule_none(7))[0]
    for budget in (none_peak * f for f in (0.4, 0.6, 0.8, 1.0)):
        sch = remat.optimal_schedule(prof, budget, resolution=7)
        exact = brute_force_optimum(prof, budget)
        assert (sch is None) or remat.predict(prof, sch)[0] <= budget
        if sch is not None:
            assert remat.predict(prof, sch)[1] >= exact[0]  # rounding can only cost recomputation


def test_all_schedules_counts() -> None:
    # 1 block: 2 schedules; n blocks: sum over partitions of 2^segments = 2 * 3^(n-1)
    for n in range(1, 6):
        assert len(all_schedules(n)) == 2 * 3 ** (n - 1)


def test_baseline_schedules() -> None:
    assert remat.schedule_none(5).segments == ((0, 4, False),)
    assert remat.schedule_every_k(5, 1).segments == tuple((i, i, True) for i in range(5))
    assert remat.schedule_every_k(5, 2).segments == ((0, 1, True), (2, 3, True), (4, 4, True))
    # checkpoint_sequential(…, segments=round(sqrt(14))=4): 3 blocks per segment, the last stored
    s = remat.schedule_sqrt_n(14)
    assert s.sqrt_segments == 4 and s.segments == ((0, 2, True), (3, 5, True), (6, 8, True), (9, 13, False))
    with pytest.raises(ValueError, match="tile"):
        remat.Schedule("optimal", "bad", ((0, 1, True), (3, 4, False)))
    with pytest.raises(ValueError, match="k"):
        remat.schedule_every_k(5, 0)


@pytest.fixture(scope="module")
def gpt2_result() -> remat.ChainResult:
    chain = remat.gpt2_chain(layers=4, hidden=64, heads=4, tokens=32, batch_size=2, vocab_size=500)
    return remat.run_strategies(chain, every_k=(2,), n_budgets=4, timing_repeats=1)


@pytest.fixture(scope="module")
def resnet_result() -> remat.ChainResult:
    chain = remat.resnet_chain("resnet152", image_size=32, batch_size=2)
    return remat.run_strategies(chain, every_k=(4,), n_budgets=4, timing_repeats=1)


@pytest.mark.parametrize("which", ["gpt2_result", "resnet_result"])
def test_every_strategy_gives_the_same_gradients(which: str, request: pytest.FixtureRequest) -> None:
    result = request.getfixturevalue(which)
    strategies = {m.strategy for m in result.measurements}
    assert set(remat.STRATEGIES) <= strategies
    for m in result.measurements:
        assert m.grads_equal, m.schedule.label
        assert m.max_grad_diff <= 1e-5


@pytest.mark.parametrize("which", ["gpt2_result", "resnet_result"])
def test_measurements_follow_the_cost_model(which: str, request: pytest.FixtureRequest) -> None:
    result = request.getfixturevalue(which)
    ref = result.reference
    forward = sum(result.profile.flops)
    for m in result.measurements:
        # recomputation FLOPs measured = predicted from the per-block profile
        assert m.extra_flops == pytest.approx(m.predicted_extra_flops, rel=1e-6, abs=1.0), m.schedule.label
        # the measured peak follows the predicted one (live temporaries add a little)
        assert m.peak_activation_bytes == pytest.approx(m.predicted_peak_bytes, rel=0.15), m.schedule.label
    every = next(m for m in result.measurements if m.strategy == "every_block")
    assert every.peak_activation_bytes < ref.peak_activation_bytes
    assert every.extra_flops <= forward  # one forward pass recomputed, up to each block's last saved tensor
    assert every.extra_flops >= 0.9 * forward
    assert 0.25 < every.overhead < 0.40  # about a third of forward + backward


def test_frontier_and_reduction(gpt2_result: remat.ChainResult) -> None:
    front = gpt2_result.frontier()
    assert front[0].overhead == 0  # none (or an optimal schedule equal to it)
    peaks = [m.peak_activation_bytes for m in front]
    assert peaks == sorted(peaks, reverse=True)
    red, best = gpt2_result.reduction_at(0.2)
    assert best.overhead <= 0.2 and red == gpt2_result.reference.peak_activation_bytes / best.peak_activation_bytes
    assert red >= 1.0


@pytest.fixture(scope="module")
def gpt2_study() -> ChainStudy:
    chain = remat.gpt2_chain(layers=4, hidden=64, heads=4, tokens=32, batch_size=2, vocab_size=500)
    return study_chain(chain, every_k=(2,), n_spread=2, timing_repeats=1, resolution=200)


def test_study_measures_both_levels_policies_and_claims(gpt2_study: ChainStudy) -> None:
    s = gpt2_study
    kinds = {p.kind for p in s.points}
    assert {"none", "every block", "every k", "sqrt(n)", "block frontier", "operator frontier", *POLICIES} <= kinds
    assert all(p.m.grads_equal for p in s.points)
    for p in s.points:
        assert p.m.extra_flops == pytest.approx(p.m.predicted_extra_flops, rel=1e-9, abs=0.5), p.m.label
        assert p.m.peak_bytes == pytest.approx(p.m.predicted_peak_bytes, rel=0.15), p.m.label
        assert p.level == ("operator" if p.kind in ("operator frontier", *POLICIES) else "block")
        assert p.timed == (
            p.kind != "none" and (p is s.best("block", 0.2)[1] or (p.level == "operator" and p.m.overhead <= 0.2))
        )
    assert s.points[0].kind == "none" and s.points[0].m.peak_bytes == s.ref_peak_bytes
    # the frontiers are exact: operator level is never worse than block level at any FLOP budget
    for peak, extra in s.frontiers["block"]:
        assert min(b for b, f in s.frontiers["operator"] if f <= extra) <= peak
    claims = {c.id: c for c in fig4b_remat.figure4b_claims([s], 0.2)}
    assert set(claims) == {
        f"{c}.gpt2"
        for c in ("fig4b.reduction_at_20pct", "fig4b.operator_at_20pct_flops", "fig4b.operator_at_20pct_time")
    }
    for cid, level, by in (
        ("fig4b.reduction_at_20pct", "block", "flops"),
        ("fig4b.operator_at_20pct_flops", "operator", "flops"),
        ("fig4b.operator_at_20pct_time", "operator", "time"),
    ):
        red, best = s.best(level, 0.2, by)
        c = claims[f"{cid}.gpt2"]
        assert c.reproduced == red == s.ref_peak_bytes / best.m.peak_bytes and c.holds == (red >= 4.0)
        assert (best.m.overhead if by == "flops" else best.m.time_overhead) <= 0.2 or best.kind == "none"
    assert claims["fig4b.operator_at_20pct_flops.gpt2"].reproduced >= claims["fig4b.reduction_at_20pct.gpt2"].reproduced
    data = fig4b_remat.sidecar_data([s], 0.2)
    assert "5.1x" in data["checkmate"] and "20%" in data["claim_reading"]
    assert data["gpt2"]["compile_anchor"]["points"] == [] and data["gpt2"]["compile_anchor"]["note"] == "not run"


def test_policy_plans_keep_only_the_named_matmuls() -> None:
    chain = remat.gpt2_chain(layers=2, hidden=32, heads=2, tokens=8, batch_size=1, vocab_size=50)
    prof = remat.profile_chain_ops(chain)
    everything = policy_plan(prof, MATMUL_OPS, "all")
    weights = policy_plan(prof, WEIGHT_MATMUL_OPS, "weights")
    for plan, ops in ((everything, MATMUL_OPS), (weights, WEIGHT_MATMUL_OPS)):
        assert all(c and s == e for s, e, c, _ in plan.segments)
        names = {prof.blocks[b].ops[j].name.rsplit(".", 1)[0] for *_, keep in plan.segments for b, j in keep}
        assert names and names <= ops
    assert weights.n_kept < everything.n_kept  # the attention bmm's are left out
    with pytest.raises(ValueError, match="ops"):
        policy_plan(prof, frozenset(), "none")


def test_frontier_subset_picks_the_limit_neighbours_and_spread() -> None:
    pts = [(100 - 10 * i, float(i), None) for i in range(8)]  # peak falls as FLOPs rise
    assert frontier_subset(pts, 3.0, 0) == [3, 4]
    assert frontier_subset(pts, 3.0, 2) == [0, 3, 4, 7]
    assert frontier_subset(pts, 100.0, 1) == [7]
    assert frontier_subset(pts, -1.0, 3) == [0, 4, 7]
    assert frontier_subset([], 1.0, 3) == []
    with pytest.raises(ValueError, match="n_spread"):
        frontier_subset(pts, 3.0, -1)


def test_tracker_counts_live_forward_tensors() -> None:
    tracker = remat.tracker_class()()
    a = torch.randn(256, 256, requires_grad=True)
    with tracker:
        b = (a @ a).relu()  # relu saves its output b; the matmul result is a temporary
        c = b.sum()
        c.backward()
    assert tracker.peak_act >= 256 * 256 * 4
    del b, c
    assert tracker.live_act == 0


#: Notebook 05's default parameters (a valid namespace for check_parameters).
NB05 = dict(
    chains=["gpt2", "resnet152"],
    gpt2_layers=12,
    gpt2_hidden=256,
    gpt2_heads=4,
    gpt2_tokens=128,
    gpt2_batch_size=2,
    resnet_image_size=96,
    resnet_batch_size=2,
    every_k=[2],
    resolution=1000,
    n_spread=2,
    measure_all_frontier=False,
    timing_repeats=2,
    compile_anchor=False,
    compile_budgets=[1.0, 0.5],
    threads=1,
    max_overhead=0.2,
    device="cpu",
    seed=0,
)


def test_bad_parameters_name_the_parameter(tmp_path) -> None:
    with pytest.raises(ParameterError, match="chains"):
        fig4b_remat.build_chain("vgg", {"device": "cpu", "seed": 0})
    ns = {**NB05, "output_dir": str(tmp_path)}
    assert check_parameters(ns, fig4b_remat.PARAMETERS, fig4b_remat.RELATIONS)["device"] == "cpu"
    with pytest.raises(ParameterError, match="'gpt2_hidden' and 'gpt2_heads': expected gpt2_heads to divide"):
        check_parameters({**ns, "gpt2_heads": 3}, fig4b_remat.PARAMETERS, fig4b_remat.RELATIONS)
    with pytest.raises(ParameterError, match="compile_budgets"):
        check_parameters({**ns, "compile_budgets": [1.5]}, fig4b_remat.PARAMETERS, fig4b_remat.RELATIONS)
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="parameter 'device': that device is not available"):
            check_parameters({**ns, "device": "cuda"}, fig4b_remat.PARAMETERS, fig4b_remat.RELATIONS)
