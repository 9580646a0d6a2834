"""Operator-level rematerialization: the planner against brute force, gradients equal under
executed plans (dropout on), predicted against measured memory and FLOPs, budgets, the
meta-device profile, bad input."""

from __future__ import annotations

import math
import random

import pytest
import torch
from helpers import all_plans, brute_force_plan_optimum

from memwall_lib.engines import remat
from memwall_lib.engines.remat.plan import frontier, plan_for_budget, plan_none
from memwall_lib.engines.remat.profile import (
    BlockOps,
    OpChainProfile,
    OpPlan,
    OpRecord,
    predict_plan,
    profile_blocks,
    segment_cost,
)
from memwall_lib.engines.remat.run import measure_plan, profile_chain_ops, reference_run

torch.set_num_threads(1)

#: measured peak (tracker) within this fraction of the predicted one: live temporaries of
#: the op running at the peak are outside the cost model
PEAK_TOLERANCE = 0.10


def _synthetic(n: int, rng: random.Random) -> OpChainProfile:
    """Random blocks: a few ops, each creating one storage (some saved, some random or
    mutated), integer bytes and FLOPs."""
    blocks = []
    for _ in range(n):
        ops, saved = [], {}
        for j in range(rng.randint(1, 3)):
            kind = rng.random()
            ops.append(
                OpRecord(
                    f"op{j}",
                    float(rng.randint(0, 9)),
                    rng.randint(1, 8),
                    (j + 1,),
                    random=kind < 0.15,
                    cacheable=kind >= 0.15,
                )
            )
            ops[-1] = OpRecord(
                ops[-1].name,
                ops[-1].flops,
                ops[-1].out_bytes,
                ops[-1].out_keys,
                ops[-1].random,
                ops[-1].cacheable and ops[-1].flops > 0,
            )
            if rng.random() < 0.6:
                saved[j + 1] = ops[-1].out_bytes
        if rng.random() < 0.5:
            saved[0] = 3
        stop = max(saved) if saved and max(saved) > 0 else (1 if saved else None)
        blocks.append(BlockOps(tuple(ops), saved, 3, len(ops), ops[-1].out_bytes, stop))
    return OpChainProfile(blocks, tail_bytes=rng.randint(0, 3))


@pytest.mark.parametrize("seed", range(10))
def test_planner_equals_brute_force_on_synthetic_chains(seed: int) -> None:
    rng = random.Random(seed)
    prof = _synthetic(rng.randint(1, 3), rng)
    hi = predict_plan(prof, plan_none(prof))[0]
    for budget in range(1, hi + 2):
        brute = brute_force_plan_optimum(prof, budget)
        plan = plan_for_budget(prof, budget, unit_bytes=1)
        if brute is None:
            assert plan is None, budget
            continue
        assert plan is not None, budget
        peak, extra = predict_plan(prof, plan)
        assert peak <= budget and extra == brute[0], (budget, plan.segments, brute)


class TinyBlock(torch.nn.Module):
    """A residual MLP block with dropout: two matmuls to keep or recompute."""

    def __init__(self, d: int = 8) -> None:
        super().__init__()
        self.a, self.b, self.drop = torch.nn.Linear(d, 2 * d), torch.nn.Linear(2 * d, d), torch.nn.Dropout(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.b(torch.nn.functional.gelu(self.a(x))))


class ConvBlock(torch.nn.Module):
    """A user's own residual conv block: conv, batch norm, in-place ReLU, dropout."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.conv1, self.bn1 = torch.nn.Conv2d(c, c, 3, padding=1), torch.nn.BatchNorm2d(c)
        self.conv2, self.drop = torch.nn.Conv2d(c, c, 3, padding=1), torch.nn.Dropout2d(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu_(self.bn1(self.conv1(x)))
        y = self.drop(self.conv2(y))
        y += x
        return torch.relu_(y)


def _chain(kind: str) -> remat.Chain:
    torch.manual_seed(0)
    if kind == "tiny":
        blocks = torch.nn.Sequential(*[TinyBlock() for _ in range(3)])
        x = torch.randn(2, 4, 8)
    else:
        blocks = torch.nn.Sequential(*[ConvBlock() for _ in range(4)])
        x = torch.randn(2, 4, 8, 8)
    return remat.Chain(kind, blocks, lambda: x, lambda out: out.pow(2).mean())


def test_planner_equals_brute_force_on_a_real_tiny_chain() -> None:
    prof = profile_chain_ops(_chain("tiny"))
    assert sum(op.cacheable for b in prof.blocks for op in b.ops) == 6  # the addmms
    assert not any(op.cacheable for b in prof.blocks for op in b.ops if op.random)
    hi = predict_plan(prof, plan_none(prof))[0]
    n_plans = len(all_plans(prof))
    for budget in sorted({int(hi * f) for f in (0.3, 0.45, 0.6, 0.7, 0.8, 0.9, 1.0)}):
        brute = brute_force_plan_optimum(prof, budget)
        plan = plan_for_budget(prof, budget, unit_bytes=4)  # every byte count here is a multiple of 4
        assert (plan is None) == (brute is None), budget
        if plan is not None:
            peak, extra = predict_plan(prof, plan)
            assert peak <= budget and extra == brute[0], (budget, n_plans)


@pytest.fixture(scope="module")
def gpt2_small() -> tuple[remat.Chain, OpChainProfile, tuple]:
    chain = remat.gpt2_chain(layers=3, hidden=32, heads=2, tokens=16, batch_size=2, vocab_size=100, dropout=0.1)
    prof = profile_chain_ops(chain)
    return chain, prof, reference_run(chain, prof)


@pytest.fixture(scope="module")
def conv_small() -> tuple[remat.Chain, OpChainProfile, tuple]:
    chain = _chain("conv")
    prof = profile_chain_ops(chain)
    return chain, prof, reference_run(chain, prof)


@pytest.mark.parametrize("which", ["gpt2_small", "conv_small"])
def test_executed_plans_give_equal_gradients_and_predicted_costs(which: str, request: pytest.FixtureRequest) -> None:
    chain, prof, ref = request.getfixturevalue(which)
    points = frontier(prof, resolution=200)
    assert len(points) >= 3
    plans = [p for *_, p in points]
    # plus a hand-made plan: every block its own checkpointed segment, every cacheable op kept
    keep_all = tuple(
        (
            b,
            b,
            True,
            frozenset((b, j) for j, op in enumerate(prof.blocks[b].ops[: prof.blocks[b].stop or 0]) if op.cacheable),
        )
        for b in range(len(prof))
    )
    plans.append(OpPlan(keep_all, "keep every matmul"))
    assert any(p.n_kept for p in plans)
    for plan in plans:
        m = measure_plan(chain, plan, prof, ref)
        assert m.grads_equal, plan.label
        assert m.extra_flops == pytest.approx(m.predicted_extra_flops, rel=1e-9, abs=0.5), plan.label
        assert m.peak_bytes == pytest.approx(m.predicted_peak_bytes, rel=PEAK_TOLERANCE), plan.label
    # the reference itself follows the model
    assert ref[0] == pytest.approx(predict_plan(prof, plan_none(prof))[0], rel=PEAK_TOLERANCE)


def test_profile_flops_match_flop_counter(gpt2_small: tuple) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    chain, prof, ref = gpt2_small
    with FlopCounterMode(display=False) as fc:
        chain.loss(torch.nn.Sequential(*chain.blocks)(chain.make_input()))
    assert sum(b.flops for b in prof.blocks) == fc.get_total_flops()
    assert ref[1] == pytest.approx(3 * fc.get_total_flops(), rel=0.01)  # forward + backward


def test_counting_tracker_flops_equal_flop_counter_mode_under_selective_checkpointing(gpt2_small: tuple) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    from memwall_lib.engines.remat.run import CountingTracker, run_plan

    chain, prof, ref = gpt2_small
    plan = next(p for _, extra, p in frontier(prof) if p.n_kept > 0 and extra > 0)

    def step() -> None:
        torch.manual_seed(0)
        chain.module.zero_grad(set_to_none=True)
        chain.loss(run_plan(chain.blocks, plan, prof, chain.make_input())).backward()

    tracker = CountingTracker()
    with tracker:
        step()
    with FlopCounterMode(display=False) as fc:
        step()
    assert tracker.flops == fc.get_total_flops() and tracker.flops > ref[1]


def test_budgets_respected_and_frontier_monotone(gpt2_small: tuple) -> None:
    _, prof, _ = gpt2_small
    hi = predict_plan(prof, plan_none(prof))[0]
    extras = []
    for frac in (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.05):
        plan = plan_for_budget(prof, hi * frac, resolution=300)
        if plan is None:
            assert frac < 0.5
            continue
        peak, extra = predict_plan(prof, plan)
        assert peak <= hi * frac
        block = plan_for_budget(prof, hi * frac, resolution=300, operator_level=False)
        if block is not None:  # keeping operator outputs never costs more recomputation
            assert extra <= predict_plan(prof, block)[1]
        extras.append(extra)
    assert len(extras) >= 4 and extras == sorted(extras) and extras[-1] > 0
    points = frontier(prof, resolution=300)
    peaks, flops = [p[0] for p in points], [p[1] for p in points]
    assert peaks == sorted(peaks, reverse=True) and flops == sorted(flops)
    assert flops[0] == 0.0


def test_meta_profile_reuses_identical_blocks_and_plans_gpt2_xl() -> None:
    small = remat.gpt2_chain(layers=3, hidden=32, heads=2, tokens=16, batch_size=2, vocab_size=100, device="meta")
    a = profile_blocks(small.blocks, small.make_input(), small.loss, reuse=True)
    b = profile_blocks(small.blocks, small.make_input(), small.loss, reuse=False)
    assert [(len(x.ops), x.saved, x.stop) for x in a.blocks] == [(len(x.ops), x.saved, x.stop) for x in b.blocks]
    assert a.blocks[2] is a.blocks[1]
    xl = remat.gpt2_chain(layers=48, hidden=1600, heads=25, tokens=1024, batch_size=1, device="meta")
    prof = profile_blocks(xl.blocks, xl.make_input(), xl.loss)
    hi = predict_plan(prof, plan_none(prof))[0]
    plan = plan_for_budget(prof, hi / 5)
    assert plan is not None and predict_plan(prof, plan)[0] <= hi / 5


def test_bad_arguments_raise_clear_errors(gpt2_small: tuple) -> None:
    _, prof, _ = gpt2_small
    n = len(prof)
    for bad in (0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="budget_bytes"):
            plan_for_budget(prof, bad)
    with pytest.raises(ValueError, match="unit_bytes"):
        plan_for_budget(prof, 1e6, unit_bytes=0)
    with pytest.raises(ValueError, match="resolution"):
        plan_for_budget(prof, 1e6, resolution=0)
    with pytest.raises(ValueError, match="tile"):
        OpPlan(((0, 1, True, frozenset()), (3, n - 1, False, frozenset())))
    with pytest.raises(ValueError, match="keep"):
        OpPlan(((0, n - 1, False, frozenset({(0, 0)})),))
    rand = next((b, j) for b in range(n) for j, op in enumerate(prof.blocks[b].ops) if op.random)
    with pytest.raises(ValueError, match="cannot be kept"):
        segment_cost(prof, 0, n - 1, True, frozenset({rand}))
    from memwall_lib.engines.remat.run import run_plan

    chain = gpt2_small[0]
    with pytest.raises(ValueError, match="cannot be kept"):  # never MUST_SAVE a random op
        run_plan(chain.blocks, OpPlan(((0, n - 1, True, frozenset({rand})),)), prof, chain.make_input())
    with pytest.raises(ValueError, match="blocks"):
        predict_plan(prof, OpPlan(((0, n, False, frozenset()),)))
    with pytest.raises(ValueError, match="at least one block"):
        profile_blocks([], torch.zeros(1))


def test_tracker_counts_outputs_cached_by_selective_checkpointing() -> None:
    """The dispatch-mode tracker sees the storages the SAC cache keeps (saved-tensor hooks
    would not): after the forward pass, keeping ops adds exactly their output bytes."""
    from memwall_lib.engines.memory.live import LiveTracker
    from memwall_lib.engines.remat.run import run_plan

    chain = _chain("tiny")
    prof = profile_chain_ops(chain)
    n = len(prof)
    keep = frozenset(
        (b, j) for b in range(n) for j, op in enumerate(prof.blocks[b].ops[: prof.blocks[b].stop]) if op.cacheable
    )
    live = []
    for k in (frozenset(), keep):
        tracker = LiveTracker(chain.module.parameters())
        with tracker:
            out = run_plan(chain.blocks, OpPlan(((0, n - 1, True, k),)), prof, chain.make_input())
            live.append(tracker.live_activation_bytes)
            out.sum().backward()
        del out
    kept = sum(prof.blocks[b].ops[j].out_bytes for b, j in keep)
    assert kept > 0 and live[1] - live[0] == kept


def test_compile_anchor_on_a_tiny_chain() -> None:
    from memwall_lib.engines.remat.compile_anchor import compile_anchor

    torch.manual_seed(0)
    blocks = torch.nn.Sequential(*[TinyBlock(16) for _ in range(2)])
    x = torch.randn(4, 8, 16)
    for b in blocks:
        b.drop.p = 0.0  # the partitioner may recompute dropout with a fresh mask (see the report)
    chain = remat.Chain("tiny", blocks, lambda: x, lambda out: out.pow(2).mean())
    prof = profile_chain_ops(chain)
    ref = reference_run(chain, prof)
    hi, lo = compile_anchor(chain, [1.0, 0.05], ref)
    assert hi.grads_equal and lo.grads_equal
    assert hi.extra_flops == 0 and lo.extra_flops > 0
    assert 0 < lo.activation_bytes < hi.activation_bytes
    assert hi.n_compiled == 2 and hi.wrong_blocks == []  # block 0's input needs no gradient: not like block 1
    with pytest.raises(ValueError, match="budgets"):
        compile_anchor(chain, [0.0], ref)


def test_compile_anchor_scales_distinct_blocks_like_compiling_every_block() -> None:
    from memwall_lib.engines.remat.compile_anchor import compile_anchor, distinct_blocks

    torch.manual_seed(0)
    blocks = torch.nn.Sequential(*[TinyBlock(16) for _ in range(3)], torch.nn.Linear(16, 8), TinyBlock(8), TinyBlock(8))
    for b in blocks:
        if isinstance(b, TinyBlock):
            b.drop.p = 0.0
    x = torch.randn(4, 8, 16)
    chain = remat.Chain("tiny", blocks, lambda: x, lambda out: out.pow(2).mean())
    assert [(i, c) for i, c, _ in distinct_blocks(chain)] == [(0, 1), (1, 2), (3, 1), (4, 2)]
    assert [c for _, c, _ in distinct_blocks(chain, dedupe=False)] == [1] * 6
    ref = reference_run(chain, profile_chain_ops(chain))
    once = compile_anchor(chain, [1.0, 0.05], ref)
    every = compile_anchor(chain, [1.0, 0.05], ref, dedupe=False)
    for a, b in zip(once, every):
        assert (a.n_compiled, b.n_compiled) == (4, 6)
        assert a.activation_bytes == b.activation_bytes > 0
        assert a.flops == pytest.approx(b.flops, rel=1e-12) and a.grads_equal and b.grads_equal
    assert once[0].extra_flops == 0 and once[1].extra_flops > 0
    assert all(torch.equal(p.grad, g) for p, g in zip(blocks.parameters(), ref[2]))  # the chain is left alone


def test_distinct_blocks_restores_batch_norm_statistics() -> None:
    from memwall_lib.engines.remat.compile_anchor import block_signature, distinct_blocks

    torch.manual_seed(0)
    blocks = torch.nn.Sequential(ConvBlock(4), ConvBlock(4)).train()
    x = torch.randn(2, 4, 6, 6)
    chain = remat.Chain("conv", blocks, lambda: x, lambda out: out.pow(2).mean())
    before = {k: v.clone() for k, v in blocks.state_dict().items()}
    groups = distinct_blocks(chain)
    assert all(torch.equal(v, before[k]) for k, v in blocks.state_dict().items())
    assert [(i, c) for i, c, _ in groups] == [(0, 1), (1, 1)]  # block 0's input needs no gradient
    assert block_signature(ConvBlock(4), groups[1][2]) != block_signature(ConvBlock(5), groups[1][2])


def test_anchor_labels_a_fresh_mask_by_cause_and_replayed_masks_give_eager_gradients() -> None:
    """GPT-2 with dropout: at a low budget the backward graph re-draws dropout; the plain check
    differs (our harness), the replayed one equals eager; with dropout off the plain check holds."""
    from memwall_lib.engines.remat.chains import without_dropout
    from memwall_lib.engines.remat.compile_anchor import compile_anchor

    chain = remat.gpt2_chain(layers=1, hidden=32, heads=2, tokens=8, batch_size=2, vocab_size=64)
    ref = reference_run(chain, profile_chain_ops(chain))
    hi, lo = compile_anchor(chain, [1.0, 0.1], ref)
    assert hi.cause == "ok" and hi.recomputed_random == 0 and hi.mask_bytes > 0
    assert lo.cause == "fresh mask" and lo.grads_equal and lo.wrong_blocks == [] and lo.recomputed_random > 0
    assert lo.fresh_mask_blocks == [1]  # the transformer block, not the embedding's lone dropout
    off = without_dropout(chain)
    assert off is not None and without_dropout(off) is None
    off_pts = compile_anchor(off, [1.0, 0.1], reference_run(off, profile_chain_ops(off)))
    assert all(p.cause == "ok" and p.grads_equal and p.recomputed_random == 0 and p.mask_bytes == 0 for p in off_pts)
    assert all(
        p.extra_full_flops == pytest.approx(p.full_flops - reference_run(off, profile_chain_ops(off))[3])
        for p in off_pts
    )


def test_a_real_mismatch_is_labelled_mismatch() -> None:
    from memwall_lib.engines.remat.compile_anchor import AnchorPoint

    p = AnchorPoint(0.5, 10, 1.0, 0.0, False, wrong_blocks=[1], fresh_mask_blocks=[])
    assert p.cause == "mismatch"
    assert AnchorPoint(0.5, 10, 1.0, 0.0, True, fresh_mask_blocks=[1]).cause == "fresh mask"
    assert AnchorPoint(0.5, 0, 1.0, 0.0, False, error="x").cause == "failed"


def test_full_count_adds_elementwise_flops_at_the_counts_conventions() -> None:
    from memwall_lib.engines.counts.trace import ELEMENTWISE_FLOPS
    from memwall_lib.engines.remat.flops import op_flops
    from memwall_lib.engines.remat.profile import full_count

    x, w, b = torch.randn(4, 8), torch.randn(8, 3), torch.randn(3)
    aten = torch.ops.aten
    assert op_flops(aten.addmm.default, (b, x, w), {}, aten.addmm(b, x, w)) == (2 * 4 * 8 * 3, 2 * 4 * 8 * 3 + 12, True)
    ln = aten.native_layer_norm.default
    out = ln(x, [8], None, None, 1e-5)
    assert op_flops(ln, (x, [8], None, None, 1e-5), {}, out) == (0.0, ELEMENTWISE_FLOPS["native_layer_norm"] * 32, True)
    assert op_flops(aten.sum.default, (x,), {}, x.sum()) == (0.0, 32.0, True)
    assert op_flops(aten.view.default, (x, [32]), {}, x.view(32))[1:] == (0.0, True)
    chain = remat.gpt2_chain(layers=2, hidden=32, heads=2, tokens=8, batch_size=2, vocab_size=64)
    prof = profile_chain_ops(chain)
    full = full_count(prof)
    ops, fops = [o for b_ in prof.blocks for o in b_.ops], [o for b_ in full.blocks for o in b_.ops]
    assert sum(o.flops for o in fops) > sum(o.flops for o in ops) > 0  # element-wise FLOPs now count
    assert all(
        f.flops >= o.flops and (f.cacheable or not o.cacheable) and not (f.random and f.cacheable)
        for o, f in zip(ops, fops)
    )
    ref = reference_run(chain, prof)
    assert ref[3] > ref[1]
    plan = remat.OpPlan.from_schedule(remat.schedule_every_k(len(prof), 1))
    m = measure_plan(chain, plan, full, ref)
    assert m.grads_equal and m.extra_full_flops == pytest.approx(m.predicted_extra_flops, rel=1e-6)
    assert m.full_overhead == pytest.approx(m.extra_full_flops / ref[3])
