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
- ``flops``: forward + backward graph FLOPs (``torch.utils.flop_counter`` formulas on the
  nodes' fake tensors; a multiply-accumulate is 2 FLOPs).

Chain totals: ``activation_bytes`` = sum of saved bytes (every block stored, as without
checkpointing: the anchor's memory); ``extra_flops`` = FLOPs minus the eager reference
step's. ``grads_equal``: every distinct block's compiled gradients (parameters and input)
allclose to its eager ones (with dropout: the partitioner may move the random op into the
backward graph, which draws a fresh mask). A budget of 1.0 is the partitioner's default (it
already recomputes cheap pointwise ops); lower budgets let it recompute more (its knapsack
over recomputable nodes).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AnchorPoint:
    """The compiled chain at one ``activation_memory_budget`` (see the module doc);
    ``error``: the first distinct block whose compiled step failed and its message (then
    bytes 0, FLOPs NaN; later distinct blocks are not tried); ``n_compiled``: distinct blocks compiled; ``wrong_blocks``: indices of the
    representative blocks whose compiled gradients differ from eager."""

    budget: float
    activation_bytes: int
    flops: float
    extra_flops: float
    grads_equal: bool
    error: str = ""
    n_compiled: int = 0
    wrong_blocks: list[int] = field(default_factory=list)


def _val(x: Any) -> Any:
    import torch

    return x.meta.get("val") if isinstance(x, torch.fx.Node) else x


def graph_flops(gm: Any) -> float:
    """FLOPs of an FX graph of aten ops, from the nodes' fake tensors."""
    from torch.utils._pytree import tree_map
    from torch.utils.flop_counter import flop_registry

    total = 0.0
    for node in gm.graph.nodes:
        if node.op != "call_function" or not hasattr(node.target, "overloadpacket"):
            continue
        f = flop_registry.get(node.target.overloadpacket)
        if f is not None:
            args, kwargs = tree_map(_val, (node.args, node.kwargs))
            total += float(f(*args, **kwargs, out_val=node.meta.get("val")))
    return total


def _nbytes(v: Any) -> int:
    import torch

    return int(v.numel() * v.element_size()) if isinstance(v, torch.Tensor) else 0


def saved_activation_bytes(fw: Any, bw: Any, n_params: int) -> int:
    """Bytes the backward graph receives from the forward graph, parameters excluded
    (AOTAutograd lifts parameters as the first ``n_params`` forward placeholders)."""
    fw_ph = [n.name for n in fw.graph.nodes if n.op == "placeholder"]
    params = set(fw_ph[:n_params])
    total = 0
    for n in bw.graph.nodes:
        if n.op == "placeholder" and not n.name.startswith("tangents") and n.name not in params:
            total += _nbytes(n.meta.get("val"))
    return total


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


def _run_block(blk: Any, x: Any, seed: int, rtol: float, atol: float) -> tuple[Any, Any, bool]:
    """One step of ``blk`` compiled (see :func:`compile_anchor`) against eager: (forward
    graph, backward graph, gradients allclose). Raises RuntimeError if the compiled step fails."""
    import torch
    from functorch.compile import make_boxed_func, min_cut_rematerialization_partition
    from torch._dynamo.backends.common import aot_autograd

    graphs: dict[str, list[Any]] = {"fw": [], "bw": []}

    def keep(kind: str) -> Any:
        def compiler(gm: Any, _ex: Any) -> Any:
            graphs[kind].append(gm)
            return make_boxed_func(gm.forward)

        return compiler

    backend = aot_autograd(
        fw_compiler=keep("fw"), bw_compiler=keep("bw"), partition_fn=min_cut_rematerialization_partition
    )
    eager, mod = copy.deepcopy(blk), copy.deepcopy(blk)
    for m in (eager, mod):  # the copies start without the chain's gradients
        m.zero_grad(set_to_none=True)
    upstream: list[Any] = []

    def step(m: Any, params: Any) -> list[Any]:
        xi = x.detach().clone().requires_grad_(x.requires_grad)
        torch.manual_seed(seed)
        y = m(xi)
        if not upstream:  # one fixed upstream gradient for both runs
            gen = torch.Generator(device=y.device).manual_seed(seed)
            upstream.append(torch.randn(y.shape, generator=gen, device=y.device, dtype=y.dtype))
        (y * upstream[0]).sum().backward()
        return [p.grad for p in params] + ([xi.grad] if x.requires_grad else [])

    ref = step(eager, list(eager.parameters()))
    got = step(torch.compile(mod, backend=backend, dynamic=False), list(mod.parameters()))
    if len(graphs["fw"]) != 1 or len(graphs["bw"]) != 1:
        raise RuntimeError(
            f"expected one forward and one backward graph, got {len(graphs['fw'])} and {len(graphs['bw'])} "
            "(graph breaks?)"
        )
    equal = all(
        (g is None) == (g0 is None) and (g is None or torch.allclose(g, g0, rtol=rtol, atol=atol))
        for g, g0 in zip(got, ref)
    )
    return graphs["fw"][0], graphs["bw"][0], bool(equal)


def compile_anchor(
    chain: Any,
    budgets: Sequence[float],
    reference: tuple[int, float, list[Any]],
    seed: int = 0,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    dedupe: bool = True,
) -> list[AnchorPoint]:
    """Compile each distinct block of ``chain`` once at each budget of ``budgets`` (fractions
    in (0, 1]) and measure as in the module doc, bytes and FLOPs times the number of identical
    blocks (``dedupe=False``: every block compiled); ``reference``: from
    :func:`.run.reference_run` (its FLOPs)."""
    import torch
    import torch._dynamo

    if not budgets or any(not 0 < b <= 1 for b in budgets):
        raise ValueError(f"budgets: expected fractions in (0, 1], got {list(budgets)}")
    groups = distinct_blocks(chain, dedupe)
    out = []
    for budget in budgets:
        torch._dynamo.reset()
        act, flops, wrong, failed, error = 0, 0.0, [], [], ""
        with (
            torch._functorch.config.patch(activation_memory_budget=float(budget)),
            torch._dynamo.config.patch(  # one block class compiles once per distinct shape
                recompile_limit=4096, accumulated_recompile_limit=65536, fail_on_recompile_limit_hit=True
            ),
        ):
            for i, count, x in groups:
                blk = chain.blocks[i]
                try:
                    fw, bw, equal = _run_block(blk, x, seed, rtol, atol)
                except RuntimeError as err:  # e.g. batch norm recomputed after its running stats changed
                    failed.append(i)
                    error = str(err).split("\n")[0][:160]
                    break  # the budget is invalid: the remaining distinct blocks are not tried (time)
                n_params = len(list(blk.parameters())) + len(list(blk.buffers()))
                act += count * saved_activation_bytes(fw, bw, n_params)
                flops += count * (graph_flops(fw) + graph_flops(bw))
                if not equal:
                    wrong.append(i)
        if failed:
            error = f"block {failed[0]} failed (later distinct blocks not tried): {error}"
            out.append(AnchorPoint(float(budget), 0, math.nan, math.nan, False, error, len(groups), wrong))
        else:
            ok = not wrong
            out.append(AnchorPoint(float(budget), act, flops, flops - reference[1], ok, "", len(groups), wrong))
    torch._dynamo.reset()
    return out
