"""The peak memory of one training step's forward, loss and backward, on any device.

:func:`measure_peak` runs ``forward(model)`` and ``loss.backward()`` under a
:class:`~torch.utils._python_dispatch.TorchDispatchMode` (below autograd, so the backward
pass's ops are seen too) and follows every storage made during the step: it is alive from the
op that first outputs it until its last reference goes (a C++ weak reference tells,
``StorageWeakRef``); the bytes alive are summed after every op and the largest sum is the
peak. Parameters and buffers are not counted (their gradients are: they are made during the
step). On ``meta`` nothing is allocated; the count then is what a caching-free allocator
would hold, a lower bound of what a GPU allocator reserves.

Dropout masks count ``dropout_mask_bytes`` per element as in :mod:`.saved` (``None``: as
stored on the device of the pass; 1: CUDA's bool mask). Units: bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ...core.checks import check_callable, check_module
from .saved import check_mask_bytes, dropout_masks_of, storage_key


@dataclass(frozen=True)
class PeakCount:
    """Bytes alive during one training step (forward, loss, backward), parameters and buffers
    excluded: ``forward_bytes`` when the forward and loss have returned (the tensors saved for
    backward, the loss), ``peak_bytes`` the most at any op, reached in ``peak_phase``
    ("forward" or "backward") at ``peak_op``; ``gradient_bytes`` the parameters' gradients
    at the end."""

    forward_bytes: int
    peak_bytes: int
    peak_phase: str
    peak_op: str
    gradient_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_peak(model: Any, forward: Callable[[Any], Any], dropout_mask_bytes: int | None = None) -> PeakCount:
    """Run ``forward(model)`` (it returns the loss) and its backward, and return the bytes
    alive (:class:`PeakCount`). The model's gradients are set to ``None`` before and after."""
    import torch
    from torch.multiprocessing.reductions import StorageWeakRef
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    check_module("model", model)
    check_callable("forward", forward)
    check_mask_bytes(dropout_mask_bytes)
    excluded = {storage_key(t) for t in [*model.parameters(), *model.buffers()]}
    live: dict[int, tuple[Any, int]] = {}
    state: dict[str, Any] = {"bytes": 0, "peak": 0, "phase": "forward", "at": ("", "")}

    def sweep() -> None:
        for key in [k for k, (ref, _) in live.items() if ref.expired()]:
            state["bytes"] -= live.pop(key)[1]

    class _Live(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            sweep()  # before registering: a dead storage's address may be reused by an output
            name = func.overloadpacket.__name__
            masks = {storage_key(m) for m in dropout_masks_of(name, out)} if dropout_mask_bytes is not None else set()
            for t in tree_leaves(out):
                if not isinstance(t, torch.Tensor) or storage_key(t) in excluded:
                    continue
                key, storage = storage_key(t), t.untyped_storage()
                mask = key in masks
                if mask and key in live:  # bernoulli_ fills a storage made just before: recount it
                    state["bytes"] -= live.pop(key)[1]
                if key not in live:
                    n = storage.nbytes() // t.element_size() * dropout_mask_bytes if mask else storage.nbytes()
                    live[key] = (StorageWeakRef(storage), int(n))
                    state["bytes"] += int(n)
            if state["bytes"] > state["peak"]:
                state["peak"], state["at"] = state["bytes"], (state["phase"], name)
            return out

    model.zero_grad(set_to_none=True)
    try:
        with _Live():
            loss = forward(model)
            sweep()
            after_forward = state["bytes"]
            state["phase"] = "backward"
            loss.backward()
            del loss
            sweep()
        grads = sum(int(p.grad.untyped_storage().nbytes()) for p in model.parameters() if p.grad is not None)
    finally:
        model.zero_grad(set_to_none=True)
        live.clear()
    return PeakCount(
        forward_bytes=int(after_forward),
        peak_bytes=int(state["peak"]),
        peak_phase=str(state["at"][0]),
        peak_op=str(state["at"][1]),
        gradient_bytes=grads,
    )
