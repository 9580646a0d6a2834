"""Rematerialization beyond the planner (tested in test_remat_operator.py): the block-level
schedules, a chain studied at both granularities (Figure 4b's claims and sidecar), the fixed
policies, the frontier subset, the live tracker, notebook 05's parameters."""

from __future__ import annotations

import os

import pytest
import torch

from memwall_lib.core.params import ParameterError, check_parameters
from memwall_lib.engines import remat
from memwall_lib.engines.memory.live import LiveTracker
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
from memwall_lib.figures.fig4b_remat import chains as fig4b_chains
from memwall_lib.figures.fig4b_remat import summary as fig4b_summary
from memwall_lib.figures.fig4b_remat import verdicts as fig4b_verdicts


def test_baseline_schedules() -> None:
    assert remat.schedule_every_k(5, 1).segments == tuple((i, i, True) for i in range(5))
    assert remat.schedule_every_k(5, 2).segments == ((0, 1, True), (2, 3, True), (4, 4, True))
    # checkpoint_sequential(…, segments=round(sqrt(14))=4): 3 blocks per segment, the last stored
    s = remat.schedule_sqrt_n(14)
    assert s.label == "sqrt(n): 4 segments" and s.segments == ((0, 2, True), (3, 5, True), (6, 8, True), (9, 13, False))
    with pytest.raises(ValueError, match="tile"):
        remat.Schedule("bad", ((0, 1, True), (3, 4, False)))
    with pytest.raises(ValueError, match="k"):
        remat.schedule_every_k(5, 0)
    with pytest.raises(ValueError, match="at least one block"):
        remat.schedule_sqrt_n(0)
    plan = remat.OpPlan.from_schedule(remat.schedule_every_k(5, 2))
    assert plan.label == "every 2 blocks" and plan.n_kept == 0
    assert plan.segments == tuple((s, e, c, frozenset()) for s, e, c in remat.schedule_every_k(5, 2).segments)


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
        measured = p.m.extra_full_flops if p.kind == "operator frontier, full count" else p.m.extra_flops
        assert measured == pytest.approx(p.m.predicted_extra_flops, rel=1e-9, abs=0.5), p.m.label
        assert p.m.peak_bytes == pytest.approx(p.m.predicted_peak_bytes, rel=0.15), p.m.label
        full_kind = p.kind == "operator frontier, full count"
        assert p.level == ("operator" if p.kind in ("operator frontier", *POLICIES) or full_kind else "block")
        assert p.timed == (
            p.kind != "none"
            and (
                p is s.best("block", 0.2)[1] or (p.level == "operator" and min(p.m.overhead, p.m.full_overhead) <= 0.2)
            )
        )
        assert p.m.full_overhead >= 0 and p.m.step_full_flops > p.m.step_flops
    assert s.points[0].kind == "none" and s.points[0].m.peak_bytes == s.ref_peak_bytes
    # the frontiers are exact: operator level is never worse than block level at any FLOP budget
    for peak, extra in s.frontiers["block"]:
        assert min(b for b, f in s.frontiers["operator"] if f <= extra) <= peak
    claims = {c.id: c for c in fig4b_verdicts.figure4b_claims([s], 0.2)}
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
    data = fig4b_summary.sidecar_data([s], 0.2)
    assert "5.1x" in data["checkmate"] and "20%" in data["claim_reading"]
    assert data["gpt2"]["compile_anchor"]["points"] == [] and data["gpt2"]["compile_anchor"]["note"] == "not run"
    assert "full count" in claims["fig4b.operator_at_20pct_flops.gpt2"].note
    assert {"best_operator_by_full", "best_block_by_full"} <= set(data["gpt2"])


def test_threads_above_the_logical_cpus_are_refused(tmp_path) -> None:
    ns = {**NB05, "output_dir": str(tmp_path)}
    check = lambda t: check_parameters({**ns, "threads": t}, fig4b_remat.PARAMETERS, fig4b_remat.RELATIONS)  # noqa: E731
    cpus = os.cpu_count() or 1
    assert check(cpus)["threads"] == cpus
    with pytest.raises(ParameterError, match="threads.*logical CPUs"):
        check(cpus + 1)


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
    tracker = LiveTracker()
    a = torch.randn(256, 256, requires_grad=True)
    with tracker:
        b = (a @ a).relu()  # relu saves its output b; the matmul result is a temporary
        c = b.sum()
        c.backward()
    assert tracker.peak_activation_bytes >= 256 * 256 * 4
    del b, c
    assert tracker.live_activation_bytes == 0


#: Notebook 05's default parameters (a valid namespace for check_parameters).
NB05 = dict(
    chains=["gpt2", "resnet152"],
    gpt2_layers=12,
    gpt2_hidden=256,
    gpt2_heads=4,
    gpt2_tokens=128,
    gpt2_batch_size=2,
    config_layers=8,
    config_hidden=256,
    config_tokens=128,
    config_batch_size=2,
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
        fig4b_chains.build_chain("vgg", {"device": "cpu", "seed": 0})
    ns = {**NB05, "output_dir": str(tmp_path)}
    assert check_parameters(ns, fig4b_remat.PARAMETERS, fig4b_remat.RELATIONS)["device"] == "cpu"
    with pytest.raises(ParameterError, match="'gpt2_hidden' and 'gpt2_heads': expected gpt2_heads to divide"):
        check_parameters({**ns, "gpt2_heads": 3}, fig4b_remat.PARAMETERS, fig4b_remat.RELATIONS)
    with pytest.raises(ParameterError, match="compile_budgets"):
        check_parameters({**ns, "compile_budgets": [1.5]}, fig4b_remat.PARAMETERS, fig4b_remat.RELATIONS)
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="parameter 'device': that device is not available"):
            check_parameters({**ns, "device": "cuda"}, fig4b_remat.PARAMETERS, fig4b_remat.RELATIONS)


# --------------------------------------------------------------------------- a chain built from a config
def _config(name: str):
    from memwall_lib.engines.models.configs import resolve_model

    return resolve_model(f"examples/configs/{name}.json").config


def test_shrink_config_keeps_the_head_dimension_and_cuts_heads_kv_heads_and_mlp_in_proportion() -> None:
    from memwall_lib.engines.remat.from_config import shrink_config

    mistral = shrink_config(_config("mistral-7b"), 8, 256)  # 32 heads of 128, 8 KV heads, MLP 14336
    assert (mistral.num_hidden_layers, mistral.hidden_size, mistral.num_attention_heads) == (8, 256, 2)
    assert (mistral.num_key_value_heads, mistral.intermediate_size, mistral.sliding_window) == (1, 896, 4096)
    falcon = shrink_config(_config("falcon-7b-instruct"), 2, 256)  # 71 heads of 64, multi-query
    assert (falcon.hidden_size, falcon.num_attention_heads, falcon.multi_query) == (256, 4, True)
    gemma = shrink_config(_config("gemma-2-2b-it"), 3, 256)  # head_dim 256 given, not hidden / heads
    assert (gemma.num_attention_heads, gemma.head_dim, gemma.num_key_value_heads) == (1, 256, 1)
    assert gemma.layer_types == ["sliding_attention", "full_attention", "sliding_attention"]
    pythia = _config("pythia-160m")
    same = shrink_config(pythia, 64, 4096)  # already within both: unchanged
    assert same.to_dict() == pythia.to_dict() and same is not pythia


def test_a_config_chain_computes_what_the_model_computes() -> None:
    import transformers

    from memwall_lib.engines.remat.from_config import config_chain, layer_stack, shrink_config

    config = _config("qwen2.5-7b")  # biased QKV, GQA, RoPE: every layer called as the model calls it
    chain = config_chain(config, layers=3, hidden=128, tokens=16, batch_size=2, seed=3, label="qwen")
    assert len(chain) == 3 and chain.name == "qwen" and "3 of 28" in chain.description
    small = shrink_config(config, 3, 128)
    torch.manual_seed(3)  # the same weights: built as config_chain builds them
    model = transformers.AutoModel.from_config(small, attn_implementation="eager", dtype=torch.float32).train()
    last: list[torch.Tensor] = []
    layer_stack(model, 3)[-1].register_forward_hook(
        lambda _m, _a, out: last.append(out[0] if isinstance(out, tuple) else out)
    )
    gen = torch.Generator().manual_seed(3)
    ids = torch.randint(0, int(small.vocab_size), (2, 16), generator=gen)
    with torch.no_grad():
        model(input_ids=ids, use_cache=False)
        h = chain.make_input()
        for block in chain.blocks:
            h = block(h)
    torch.testing.assert_close(h, last[0], rtol=1e-5, atol=1e-6)


def test_a_config_chain_is_studied_with_equal_gradients() -> None:
    from memwall_lib.engines.remat.from_config import config_chain

    chain = config_chain(_config("gemma-2-2b-it"), layers=3, hidden=64, tokens=16, batch_size=1, label="gemma")
    s = study_chain(chain, every_k=[2], n_spread=1, resolution=50, timing_repeats=0)
    assert s.chain == "gemma" and s.n_blocks == 3
    assert all(p.m.grads_equal for p in s.points) and {p.kind for p in s.points} >= {"none", "operator frontier"}


def test_a_config_chain_parameter_is_checked_before_any_work(tmp_path) -> None:
    ns = {**NB05, "output_dir": str(tmp_path)}
    check = lambda **kw: check_parameters({**ns, **kw}, fig4b_remat.PARAMETERS, fig4b_remat.RELATIONS)  # noqa: E731
    assert check(chains=["gpt2", "examples/configs/opt-125m.json"])["chains"][1].endswith("opt-125m.json")
    for chains, match in (
        (["gpt"], r"'chains\[0\]': 'gpt' is not a chain \(did you mean 'gpt2'\?\), a model preset or a path"),
        (["examples/configs/none.json"], r"'chains\[0\]': config file .*none.json' does not exist"),
    ):
        with pytest.raises(ParameterError, match=match):
            check(chains=chains)
    with pytest.raises(ParameterError, match=r"'config_tokens' and 'chains' \(bert-base-uncased\): 1024 tokens exceed"):
        check(chains=["examples/configs/bert-base-uncased.json"], config_tokens=1024)
    with pytest.raises(ParameterError, match="'every_k'"):  # opt-125m has 12 layers: at most 12 blocks
        check(chains=["examples/configs/opt-125m.json"], config_layers=64, every_k=[12])
