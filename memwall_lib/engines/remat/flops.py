"""The two FLOP counts of one aten call in rematerialization: FlopCounterMode's and the full one.

- **matmul count**: ``torch.utils.flop_counter.flop_registry``'s formulas, what
  ``FlopCounterMode`` counts: matrix products, convolutions, attention and their backward;
  every other op costs 0.
- **full count**: the matmul count, plus one FLOP per output element for the bias fused into
  ``addmm``/``baddbmm``, plus element-wise and reduction ops at the per-element FLOPs of
  :mod:`memwall_lib.engines.counts.trace` (:data:`~memwall_lib.engines.counts.trace.ELEMENTWISE_FLOPS`
  per output element, :data:`~memwall_lib.engines.counts.trace.REDUCTION_OPS` per input
  element, :data:`~memwall_lib.engines.counts.trace.ZERO_FLOP_OPS` free; the conventions of
  :mod:`~memwall_lib.engines.counts.transformer`: GELU 8, layer norm 8, softmax 4 + the
  scale 1). Ops those tables do not name are counted as one they do (:data:`COUNTED_AS`):
  a backward op as its forward op per output element (backward kernels do about 2x the
  work, so this under-counts the step, which over-states a recompute overhead: the
  conservative side for the paper's claim), batch norm as layer norm (the same normalise,
  scale and shift), pooling and scatter-adds as reductions, random draws as free (like
  ``native_dropout`` in the tracer). Anything else is returned as unknown and costs 0.

Units: FLOPs, a multiply-accumulate = 2 FLOPs.
"""

from __future__ import annotations

from typing import Any

from ..counts.trace import ELEMENTWISE_FLOPS, REDUCTION_OPS, ZERO_FLOP_OPS

#: Aten ops the tracer's tables do not name -> the op (of those tables) they are counted as.
COUNTED_AS: dict[str, str] = {
    "_softmax_backward_data": "_softmax",
    "_log_softmax_backward_data": "_log_softmax",
    "native_layer_norm_backward": "native_layer_norm",
    "native_batch_norm": "native_layer_norm",
    "_native_batch_norm_legit": "native_layer_norm",
    "_native_batch_norm_legit_no_training": "native_layer_norm",
    "_native_batch_norm_legit_functional": "native_layer_norm",
    "native_batch_norm_backward": "native_layer_norm",
    "gelu_backward": "gelu",
    "silu_backward": "silu",
    "tanh_backward": "tanh",
    "sigmoid_backward": "sigmoid",
    "threshold_backward": "threshold",
    "native_dropout_backward": "mul",
    "max_pool2d_with_indices": "amax",
    "avg_pool2d": "sum",
    "_adaptive_avg_pool2d": "sum",
    "embedding_dense_backward": "sum",
    "nll_loss_forward": "sum",
    "max_pool2d_with_indices_backward": "index_put_",
    "avg_pool2d_backward": "expand",
    "_adaptive_avg_pool2d_backward": "expand",
    "nll_loss_backward": "scatter",
    "bernoulli_": "native_dropout",
    "bernoulli": "native_dropout",
    "rand": "native_dropout",
    "rand_like": "native_dropout",
}
#: Ops that add a bias, one FLOP per output element, to their matrix product.
BIAS_OPS: frozenset[str] = frozenset({"addmm", "baddbmm"})


def _numel(tensors: Any) -> int:
    import torch
    from torch.utils._pytree import tree_leaves

    return sum(int(t.numel()) for t in tree_leaves(tensors) if isinstance(t, torch.Tensor))


def _first_numel(tensors: Any) -> int:
    import torch
    from torch.utils._pytree import tree_leaves

    return next((int(t.numel()) for t in tree_leaves(tensors) if isinstance(t, torch.Tensor)), 0)


def op_flops(func: Any, args: Any, kwargs: Any, out: Any) -> tuple[float, float, bool]:
    """``(matmul FLOPs, full FLOPs, known)`` of one aten call (see the module doc); ``known``
    is False for an op no table names (then its full FLOPs are its matmul FLOPs, 0). Works on
    real, meta and fake tensors."""
    from torch.utils.flop_counter import flop_registry

    packet = func.overloadpacket
    name = packet.__name__
    if packet in flop_registry:
        mm = float(flop_registry[packet](*args, **kwargs, out_val=out))
        return mm, mm + (_numel(out) if name in BIAS_OPS else 0.0), True
    name = COUNTED_AS.get(name, name)
    if name in ELEMENTWISE_FLOPS:
        return 0.0, ELEMENTWISE_FLOPS[name] * _first_numel(out), True
    if name in REDUCTION_OPS:
        return 0.0, float(_first_numel(args)), True
    return 0.0, 0.0, name in ZERO_FLOP_OPS
