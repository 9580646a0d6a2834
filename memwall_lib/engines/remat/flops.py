"""The two FLOP counts of one aten call in rematerialization: FlopCounterMode's and the full one.

- **matmul count**: ``torch.utils.flop_counter.flop_registry``'s formulas, what
  ``FlopCounterMode`` counts: matrix products, convolutions, attention and their backward
  (plus the two kernels it misses that the tracer counts, CPU flash attention and
  ``_grouped_mm``, which the chains here do not run); every other op costs 0.
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

from ..counts import trace

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


def op_flops(func: Any, args: Any, kwargs: Any, out: Any) -> tuple[float, float, bool]:
    """``(matmul FLOPs, full FLOPs, known)`` of one aten call (see the module doc), by
    :func:`memwall_lib.engines.counts.trace.op_flops` with the name it is counted as;
    ``known`` is False for an op no table names (its full FLOPs are then its matmul FLOPs).
    Works on real, meta and fake tensors."""
    name = func.overloadpacket.__name__
    full, matmul, known = trace.op_flops(func, COUNTED_AS.get(name, name), args, kwargs, out)
    return matmul, full, known
