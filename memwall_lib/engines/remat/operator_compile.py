"""PyTorch's own anchor: ``torch.compile`` per block with AOTAutograd's min-cut partitioner
under ``torch._functorch.config.activation_memory_budget``.

Every block of a chain is compiled (``aot_autograd`` with
``min_cut_rematerialization_partition``; the forward and backward graphs run eagerly as
boxed FX modules, so no C++ is built) and one real forward+backward step runs. Read off
the partitioned graphs, per block (bytes, FLOPs):

- ``saved_bytes``: tensors the forward graph hands to the backward graph (the backward's
  non-tangent placeholders), parameters excluded, the block's input included when saved;
  sizes from the graphs' fake tensors, aliases not merged;
- ``flops``: forward + backward graph FLOPs (``torch.utils.flop_counter`` formulas on the
  nodes' fake tensors; a multiply-accumulate is 2 FLOPs).

Chain totals: ``activation_bytes`` = sum of saved bytes (every block stored, as without
checkpointing: the anchor's memory); ``extra_flops`` = FLOPs minus the eager reference
step's. A budget of 1.0 is the partitioner's default (it already recomputes cheap
pointwise ops); lower budgets let it recompute more (its knapsack over recomputable nodes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class AnchorPoint:
    """The compiled chain at one ``activation_memory_budget`` (see the module doc);
    ``error``: the message if the compiled step failed (then bytes 0, FLOPs NaN)."""

    budget: float
    activation_bytes: int
    flops: float
    extra_flops: float
    grads_equal: bool
    error: str = ""


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


def compile_anchor(
    chain: Any,
    budgets: Sequence[float],
    reference: tuple[int, float, list[Any]],
    seed: int = 0,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> list[AnchorPoint]:
    """Compile every block of ``chain`` at each budget of ``budgets`` (fractions in
    (0, 1]) and measure as in the module doc; ``reference``: from
    :func:`.operator_run.reference_run`."""
    import torch
    import torch._dynamo
    from functorch.compile import make_boxed_func, min_cut_rematerialization_partition
    from torch._dynamo.backends.common import aot_autograd

    if not budgets or any(not 0 < b <= 1 for b in budgets):
        raise ValueError(f"budgets: expected fractions in (0, 1], got {list(budgets)}")
    out = []
    for budget in budgets:
        graphs: dict[tuple[str, int], Any] = {}

        def backend_for(i: int, graphs: dict[tuple[str, int], Any] = graphs) -> Any:  # one backend per block
            def fw(gm: Any, _ex: Any) -> Any:
                graphs[("fw", i)] = gm
                return make_boxed_func(gm.forward)

            def bw(gm: Any, _ex: Any) -> Any:
                graphs[("bw", i)] = gm
                return make_boxed_func(gm.forward)

            return aot_autograd(fw_compiler=fw, bw_compiler=bw, partition_fn=min_cut_rematerialization_partition)

        torch._dynamo.reset()
        with (
            torch._functorch.config.patch(activation_memory_budget=float(budget)),
            torch._dynamo.config.patch(
                recompile_limit=4096, accumulated_recompile_limit=65536, fail_on_recompile_limit_hit=True
            ),
        ):
            compiled = [torch.compile(b, backend=backend_for(i), dynamic=False) for i, b in enumerate(chain.blocks)]
            torch.manual_seed(seed)
            chain.module.zero_grad(set_to_none=True)
            h = chain.make_input()
            try:
                for c in compiled:
                    h = c(h)
                chain.loss(h).backward()
            except RuntimeError as err:  # e.g. batch norm recomputed after its running stats changed
                out.append(AnchorPoint(float(budget), 0, math.nan, math.nan, False, str(err).split("\n")[0][:160]))
                continue
        grads = [None if p.grad is None else p.grad.detach().clone() for p in chain.module.parameters()]
        equal = all(
            (g is None) == (g0 is None) and (g is None or torch.allclose(g, g0, rtol=rtol, atol=atol))
            for g, g0 in zip(grads, reference[2])
        )
        n = len(chain.blocks)
        if len(graphs) != 2 * n:
            raise RuntimeError(
                f"expected one forward and one backward graph per block, got {len(graphs)} "
                f"graphs for {n} blocks (graph breaks?)"
            )
        fws, bws = [graphs[("fw", i)] for i in range(n)], [graphs[("bw", i)] for i in range(n)]
        act = sum(
            saved_activation_bytes(f, b, len(list(blk.parameters())) + len(list(blk.buffers())))
            for f, b, blk in zip(fws, bws, chain.blocks)
        )
        flops = sum(graph_flops(g) for g in fws + bws)
        out.append(AnchorPoint(float(budget), act, flops, flops - reference[1], bool(equal)))
    torch._dynamo.reset()
    return out
