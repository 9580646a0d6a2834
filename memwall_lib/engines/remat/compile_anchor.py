"""PyTorch's own anchor: ``torch.compile`` per block with AOTAutograd's min-cut partitioner
under ``torch._functorch.config.activation_memory_budget``.

Each DISTINCT block of a chain is compiled once per budget (``aot_autograd`` with
``min_cut_rematerialization_partition``; the forward and backward graphs run eagerly as
boxed FX modules, so no C++ is built): blocks are identical when their module structure
(``str(block)``), parameter and buffer shapes and input shape match
(:func:`block_signature`), e.g. GPT-2's transformer blocks, or ResNet's bottlenecks of a
stage after its first. A copy of the representative block runs one forward+backward step
on its input in the chain, compiled and eager, from the same RNG seed and with the same
upstream gradient. Read off its partitioned graphs (bytes, FLOPs), then multiplied by the
number of identical blocks:

- ``saved_bytes``: tensors the forward graph hands to the backward graph (the backward's
  non-tangent placeholders), parameters and buffers excluded, the block's input included
  when saved; sizes from the graphs' fake tensors, aliases not merged;
- ``flops``: forward + backward graph FLOPs (:func:`.flops.op_flops` on the nodes' fake
  tensors, both counts; a multiply-accumulate is 2 FLOPs).

Chain totals: ``activation_bytes`` = sum of saved bytes (every block stored, as without
checkpointing: the anchor's memory), with the boolean part (dropout masks) apart;
``extra_flops`` = FLOPs minus the eager reference step's, in both counts of :mod:`.flops`.
A budget of 1.0 is the partitioner's default (it already recomputes cheap pointwise ops);
lower budgets let it recompute more (its knapsack over recomputable nodes).

Gradients, and why a plain check is not enough. The plain min-cut bans random ops from
recompute (``torch/_functorch/partitioners.py``, ``solve_min_cut.should_ban_recomputation``:
"random op"); under a budget below 1, ``choose_saved_values_set`` hands the banned nodes to
its knapsack (``get_recomputable_banned_nodes``, then ``solve_min_cut(..., dont_ban)``), so a
dropout can move into the backward graph. The partitioner functionalizes the RNG of such a
node only when it is ``must_recompute`` (user checkpoint regions,
``min_cut_rematerialization_partition`` -> ``functionalize_rng_ops``), not when the budget
chose it, and ``torch._functorch.config.functionalize_rng_ops`` is CUDA only; inductor seeds
its random ops instead. Our eager graphs on CPU therefore re-draw the mask in backward, and
their gradients differ from eager through our harness. So each compiled step runs twice:
as is, then with every random node of the backward graph returning the draw of its forward
twin (:func:`mask_replay`, what functionalized RNG guarantees). A point is valid
(``grads_equal``) when the replayed gradients equal eager; a plain check that fails only
through a re-drawn mask is labelled ``fresh mask`` (our harness), one that fails with the
masks replayed ``mismatch`` (:attr:`AnchorPoint.cause`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .flops import op_flops
from .run import grad_match


@dataclass
class AnchorPoint:
    """The compiled chain at one ``activation_memory_budget`` (see the module doc). Bytes:
    ``activation_bytes``, of which ``mask_bytes`` are boolean tensors (dropout masks); FLOPs:
    ``flops``/``extra_flops`` (matrix products, FlopCounterMode's count) and
    ``full_flops``/``extra_full_flops`` (element-wise ops too, :mod:`.flops`).
    ``grads_equal``: every distinct block's compiled gradients allclose to eager with the
    masks replayed (the valid check); ``fresh_mask_blocks``: representative blocks whose plain
    compiled step (our harness: eager graphs on CPU, no functionalized RNG) differs from eager
    because its backward graph re-draws a random op, and that equal eager once the masks are
    replayed; ``wrong_blocks``: those that differ even with the masks replayed (a real
    mismatch); ``recomputed_random``: random ops re-drawn in backward graphs, summed over
    blocks; ``error``: the first distinct block whose compiled step failed and its message
    (then bytes 0, FLOPs NaN; later distinct blocks are not tried); ``n_compiled``: distinct
    blocks compiled."""

    budget: float
    activation_bytes: int
    flops: float
    extra_flops: float
    grads_equal: bool
    error: str = ""
    n_compiled: int = 0
    wrong_blocks: list[int] = field(default_factory=list)
    fresh_mask_blocks: list[int] = field(default_factory=list)
    recomputed_random: int = 0
    mask_bytes: int = 0
    full_flops: float = math.nan
    extra_full_flops: float = math.nan

    @property
    def cause(self) -> str:
        """``ok`` (the plain check passes), ``fresh mask`` (it fails only because our harness
        re-draws a recomputed random op; equal with the masks replayed), ``mismatch`` (differs
        with the masks replayed) or ``failed`` (the compiled step raised)."""
        if self.error:
            return "failed"
        if self.wrong_blocks:
            return "mismatch"
        return "fresh mask" if self.fresh_mask_blocks else "ok"


def _val(x: Any) -> Any:
    import torch

    return x.meta.get("val") if isinstance(x, torch.fx.Node) else x


def graph_flops(gm: Any) -> tuple[float, float]:
    """(matrix-product FLOPs, full-count FLOPs) of an FX graph of aten ops (:func:`.flops.op_flops`
    on the nodes' fake tensors)."""
    from torch.utils._pytree import tree_map

    mm, full = 0.0, 0.0
    for node in gm.graph.nodes:
        if node.op != "call_function" or not hasattr(node.target, "overloadpacket"):
            continue
        args, kwargs = tree_map(_val, (node.args, node.kwargs))
        m, f, _ = op_flops(node.target, args, kwargs, node.meta.get("val"))
        mm, full = mm + m, full + f
    return mm, full


def random_nodes(gm: Any) -> list[Any]:
    """The nodes of an FX graph that draw random numbers (``Tag.nondeterministic_seeded``:
    ``native_dropout``, ``rand``, ``bernoulli``...), in graph order."""
    import torch

    return [
        n
        for n in gm.graph.nodes
        if n.op == "call_function" and torch.Tag.nondeterministic_seeded in getattr(n.target, "tags", ())
    ]


def mask_replay(fw: Any, bw: Any) -> list[bool]:
    """Make the backward graph ``bw`` able to replay the random draws of the forward graph
    ``fw`` (in place; both recompiled), as functionalized RNG would: each random node of
    ``fw`` records its output, and a random node of ``bw`` (the partitioner names it as in
    ``fw``) returns the recorded output while the returned switch's ``[0]`` is True, else
    draws afresh as before. Raises RuntimeError if a backward random node has no forward twin."""
    recorded: dict[str, Any] = {}
    switch = [False]

    def recorder(name: str, op: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            recorded[name] = op(*args, **kwargs)
            return recorded[name]

        return run

    def replayer(name: str, op: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            return recorded[name] if switch[0] else op(*args, **kwargs)

        return run

    fw_names = {n.name for n in random_nodes(fw)}
    for gm, wrap in ((fw, recorder), (bw, replayer)):
        for n in random_nodes(gm):
            if gm is bw and n.name not in fw_names:
                raise RuntimeError(f"random node {n.name} of the backward graph has no twin in the forward graph")
            n.target = wrap(n.name, n.target)
        gm.recompile()
    return switch


def _nbytes(v: Any) -> int:
    import torch

    return int(v.numel() * v.element_size()) if isinstance(v, torch.Tensor) else 0


def saved_activation_bytes(fw: Any, bw: Any, n_params: int) -> tuple[int, int]:
    """(bytes, of which boolean: dropout masks) the backward graph receives from the forward
    graph, parameters excluded (AOTAutograd lifts parameters as the first ``n_params``
    forward placeholders)."""
    import torch

    fw_ph = [n.name for n in fw.graph.nodes if n.op == "placeholder"]
    params = set(fw_ph[:n_params])
    total, masks = 0, 0
    for n in bw.graph.nodes:
        if n.op == "placeholder" and not n.name.startswith("tangents") and n.name not in params:
            v = n.meta.get("val")
            total += _nbytes(v)
            masks += _nbytes(v) if isinstance(v, torch.Tensor) and v.dtype == torch.bool else 0
    return total, masks


def block_signature(block: Any, x: Any) -> str:
    """What makes two blocks compile to the same graphs: their module structure
    (``str(block)``), parameter and buffer shapes and dtypes, and the input's shape, dtype and
    whether it needs a gradient."""
    tensors = [*block.named_parameters(), *block.named_buffers()]
    shapes = ";".join(f"{n}:{tuple(t.shape)}:{t.dtype}:{t.requires_grad}" for n, t in tensors)
    return f"{block}|{shapes}|{tuple(x.shape)}:{x.dtype}:{x.requires_grad}"


def distinct_blocks(chain: Any, dedupe: bool = True) -> list[tuple[int, int, Any]]:
    """``(representative block index, count, its input)`` per distinct block of ``chain``
    (:func:`block_signature`; ``dedupe=False``: every block its own group), in chain order.
    Inputs come from one eager forward pass without gradients; the module's state (e.g.
    BatchNorm running statistics) is restored afterwards."""
    import torch

    state = {k: v.detach().clone() for k, v in chain.module.state_dict().items()}
    groups: dict[str, list[Any]] = {}
    with torch.no_grad():
        h = chain.make_input()
        for i, blk in enumerate(chain.blocks):
            x = h.detach().requires_grad_(i > 0 and h.is_floating_point())
            key = block_signature(blk, x) if dedupe else str(i)
            if key in groups:
                groups[key][1] += 1
            else:
                groups[key] = [i, 1, x]
            h = blk(h)
    chain.module.load_state_dict(state)
    return [(i, c, x) for i, c, x in groups.values()]


@dataclass
class BlockRun:
    """One distinct block compiled at one budget: ``saved_bytes`` and ``mask_bytes`` (boolean)
    its forward graph hands to its backward graph, ``flops`` (matrix products, full count) of
    both graphs, ``recomputed_random``: random nodes its backward graph re-draws,
    ``equal_fresh``/``equal_replayed``: gradients allclose to eager when the backward re-draws
    them (our harness as is) or replays the forward's draws (:func:`mask_replay`)."""

    saved_bytes: int
    mask_bytes: int
    flops: tuple[float, float]
    recomputed_random: int
    equal_fresh: bool
    equal_replayed: bool


def _backend(blk: Any, stats: dict[str, Any]) -> Any:
    """AOTAutograd with the min-cut partitioner and eager boxed graphs; it fills ``stats``
    (graphs' bytes, FLOPs, random nodes) and ``stats["switch"]`` (:func:`mask_replay`)."""
    from functorch.compile import make_boxed_func, min_cut_rematerialization_partition
    from torch._dynamo.backends.common import aot_autograd

    graphs: list[Any] = []
    n_params = len(list(blk.parameters())) + len(list(blk.buffers()))

    def fw_compiler(gm: Any, _ex: Any) -> Any:
        graphs.append(gm)
        return make_boxed_func(gm.forward)

    def bw_compiler(gm: Any, _ex: Any) -> Any:
        if len(graphs) != 1 or "switch" in stats:
            raise RuntimeError("expected one forward and one backward graph (graph breaks?)")
        fw = graphs[0]
        stats["bytes"] = saved_activation_bytes(fw, gm, n_params)
        mm, full = (sum(c) for c in zip(graph_flops(fw), graph_flops(gm)))
        stats["flops"], stats["random"] = (mm, full), len(random_nodes(gm))
        stats["switch"] = mask_replay(fw, gm)
        return make_boxed_func(gm.forward)

    return aot_autograd(
        fw_compiler=fw_compiler, bw_compiler=bw_compiler, partition_fn=min_cut_rematerialization_partition
    )


def _run_block(blk: Any, x: Any, seed: int, rtol: float, atol: float) -> BlockRun:
    """One step of ``blk`` compiled (see :func:`compile_anchor`) against eager, from the same
    RNG seed with the same upstream gradient, the compiled one run twice: masks re-drawn,
    then replayed. Raises RuntimeError if the compiled step fails."""
    import torch

    stats: dict[str, Any] = {}
    eager, mod = copy.deepcopy(blk), copy.deepcopy(blk)
    upstream: list[Any] = []

    def step(m: Any, params: list[Any]) -> list[Any]:
        m.zero_grad(set_to_none=True)  # the copies start without the chain's gradients
        xi = x.detach().clone().requires_grad_(x.requires_grad)
        torch.manual_seed(seed)
        y = m(xi)
        if not upstream:  # one fixed upstream gradient for every run
            gen = torch.Generator(device=y.device).manual_seed(seed)
            upstream.append(torch.randn(y.shape, generator=gen, device=y.device, dtype=y.dtype))
        (y * upstream[0]).sum().backward()
        return [p.grad for p in params] + ([xi.grad] if x.requires_grad else [])

    def equal(got: list[Any]) -> bool:
        return all(
            (g is None) == (g0 is None) and (g is None or grad_match(g, g0, rtol, atol)[0]) for g, g0 in zip(got, ref)
        )

    ref = step(eager, list(eager.parameters()))
    compiled = torch.compile(mod, backend=_backend(mod, stats), dynamic=False)
    fresh = equal(step(compiled, list(mod.parameters())))
    stats["switch"][0] = True
    replayed = equal(step(compiled, list(mod.parameters())))
    saved, masks = stats["bytes"]
    return BlockRun(saved, masks, stats["flops"], stats["random"], fresh, replayed)


def _point(budget: float, runs: list[tuple[int, int, BlockRun]], n: int, reference: tuple) -> AnchorPoint:
    """The chain's point at ``budget`` from its distinct blocks' runs ``(index, count, run)``."""
    act = sum(c * r.saved_bytes for _, c, r in runs)
    masks = sum(c * r.mask_bytes for _, c, r in runs)
    mm = sum(c * r.flops[0] for _, c, r in runs)
    full = sum(c * r.flops[1] for _, c, r in runs)
    wrong = [i for i, _, r in runs if not r.equal_replayed]
    fresh = [i for i, _, r in runs if r.equal_replayed and not r.equal_fresh and r.recomputed_random]
    wrong += [i for i, _, r in runs if r.equal_replayed and not r.equal_fresh and not r.recomputed_random]
    return AnchorPoint(
        float(budget),
        act,
        mm,
        mm - reference[1],
        not wrong,
        "",
        n,
        sorted(wrong),
        fresh,
        sum(c * r.recomputed_random for _, c, r in runs),
        masks,
        full,
        full - reference[3],
    )


def compile_anchor(
    chain: Any,
    budgets: Sequence[float],
    reference: tuple[int, float, list[Any], float],
    seed: int = 0,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    dedupe: bool = True,
) -> list[AnchorPoint]:
    """Compile each distinct block of ``chain`` once at each budget of ``budgets`` (fractions
    in (0, 1]) and measure as in the module doc, bytes and FLOPs times the number of identical
    blocks (``dedupe=False``: every block compiled); ``reference``: from
    :func:`.run.reference_run` (its FLOPs, both counts)."""
    import torch
    import torch._dynamo

    if not budgets or any(not 0 < b <= 1 for b in budgets):
        raise ValueError(f"budgets: expected fractions in (0, 1], got {list(budgets)}")
    groups = distinct_blocks(chain, dedupe)
    out = []
    for budget in budgets:
        torch._dynamo.reset()
        runs, error = [], ""
        with (
            torch._functorch.config.patch(activation_memory_budget=float(budget)),
            torch._dynamo.config.patch(  # one block class compiles once per distinct shape
                recompile_limit=4096, accumulated_recompile_limit=65536, fail_on_recompile_limit_hit=True
            ),
        ):
            for i, count, x in groups:
                try:
                    runs.append((i, count, _run_block(chain.blocks[i], x, seed, rtol, atol)))
                except RuntimeError as err:  # e.g. batch norm recomputed after its running stats changed
                    # the budget is invalid: the remaining distinct blocks are not tried (time)
                    error = f"block {i} failed (later distinct blocks not tried): {str(err).splitlines()[0][:160]}"
                    break
        if error:
            out.append(AnchorPoint(float(budget), 0, math.nan, math.nan, False, error, len(groups)))
        else:
            out.append(_point(budget, runs, len(groups), reference))
    torch._dynamo.reset()
    return out
