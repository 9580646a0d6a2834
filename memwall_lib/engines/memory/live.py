"""Live bytes, op by op, on any device: :class:`LiveTracker`, and the peak of one training
step's forward, loss and backward (:func:`measure_peak`).

:class:`LiveTracker` is a context manager that runs a
:class:`~torch.utils._python_dispatch.TorchDispatchMode` (below autograd, so the backward
pass's ops, recomputations and the outputs selective checkpointing caches are seen too) and
follows every storage an op outputs: it is alive from the first op that outputs it until it
is freed (a ``weakref.finalize`` on the storage); a later view or in-place result of it
allocates nothing. The ``exclude`` tensors' storages (parameters, buffers) are never
counted; any other storage made before the mode (the input batch) is counted from the first
op that outputs a view of it. The bytes alive are summed after every op and the largest sum
is the peak. A storage is *activation*
memory when it is made with grad mode on: by the forward pass or by a recomputation inside
backward (the backward pass itself runs without grad mode). On ``meta`` nothing is allocated;
the count then is what a caching-free allocator would hold, a lower bound of what a GPU
allocator reserves.

Dropout masks count ``dropout_mask_bytes`` per element as in :mod:`.saved` (``None``: as
stored on the device of the pass; 1: CUDA's bool mask). Units: bytes.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

from ...core.checks import check_callable, check_module
from .saved import check_mask_bytes, dropout_masks_of, storage_key


def _dispatch_mode(observe: Callable[[Any, Any, Any, Any], None]) -> Any:
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Observer(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            observe(func, args, kwargs or {}, out)
            return out

    return _Observer()


class LiveTracker:
    """Bytes of the storages ops output while it is entered (``with tracker:``), still alive.

    ``live_bytes`` / ``peak_bytes``: every storage counted (activations, gradients,
    temporaries); ``live_activation_bytes`` / ``peak_activation_bytes``: those made with
    grad mode on (the forward pass, recomputations). ``phase`` is a label the caller sets
    (e.g. "forward", "backward"); ``peak_phase`` and ``peak_op`` (the aten op's name) say
    where ``peak_bytes`` was reached. ``exclude``: tensors whose storages are never counted
    (parameters, buffers); ``dropout_mask_bytes``: see the module doc. Subclasses may extend
    :meth:`observe`, called after every op."""

    def __init__(self, exclude: Iterable[Any] = (), dropout_mask_bytes: int | None = None) -> None:
        check_mask_bytes(dropout_mask_bytes)
        self.dropout_mask_bytes = dropout_mask_bytes
        self.live_bytes = self.peak_bytes = 0
        self.live_activation_bytes = self.peak_activation_bytes = 0
        self.phase, self.peak_phase, self.peak_op = "forward", "", ""
        self._excluded = {storage_key(t) for t in exclude}
        self._alive: dict[int, tuple[int, bool]] = {}  # storage key -> (bytes, activation)
        self._modes: list[Any] = []

    def __enter__(self) -> LiveTracker:
        self._modes.append(_dispatch_mode(self.observe))
        self._modes[-1].__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._modes.pop().__exit__(exc_type, exc, tb)

    def observe(self, func: Any, args: Any, kwargs: Any, out: Any) -> None:
        """Count the storages ``func(*args, **kwargs)`` made (its output ``out``)."""
        import torch
        from torch.utils._pytree import tree_leaves

        name = func.overloadpacket.__name__
        masks = set()
        if self.dropout_mask_bytes is not None:
            masks = {storage_key(m) for m in dropout_masks_of(name, out)}
        activation = torch.is_grad_enabled()
        for t in tree_leaves(out):
            if not isinstance(t, torch.Tensor):
                continue
            key = storage_key(t)
            if key in self._excluded or (key in self._alive and key not in masks):
                continue  # a view or in-place result (bernoulli_ filling a mask is recounted)
            if key not in self._alive:
                weakref.finalize(t.untyped_storage(), self._free, key)
            n = t.untyped_storage().nbytes()
            self._set(key, n // t.element_size() * self.dropout_mask_bytes if key in masks else n, activation)
        if self.live_bytes > self.peak_bytes:
            self.peak_bytes, self.peak_phase, self.peak_op = self.live_bytes, self.phase, name
        self.peak_activation_bytes = max(self.peak_activation_bytes, self.live_activation_bytes)

    def _set(self, key: int, nbytes: int, activation: bool) -> None:
        """Storage ``key`` now holds ``nbytes``, activation memory or not."""
        old, was_activation = self._alive.get(key, (0, False))
        self._alive[key] = (int(nbytes), activation)
        self.live_bytes += int(nbytes) - old
        self.live_activation_bytes += (int(nbytes) if activation else 0) - (old if was_activation else 0)

    def _free(self, key: int) -> None:
        if key in self._alive:
            self._set(key, 0, False)
            del self._alive[key]


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
    """Run ``forward(model)`` (it returns the loss) and its backward under a
    :class:`LiveTracker` (parameters and buffers excluded), and return the bytes alive
    (:class:`PeakCount`). The model's gradients are set to ``None`` before and after."""
    check_module("model", model)
    check_callable("forward", forward)
    tracker = LiveTracker([*model.parameters(), *model.buffers()], dropout_mask_bytes)
    model.zero_grad(set_to_none=True)
    try:
        with tracker:
            loss = forward(model)
            after_forward = tracker.live_bytes
            tracker.phase = "backward"
            loss.backward()
            del loss
        grads = sum(int(p.grad.untyped_storage().nbytes()) for p in model.parameters() if p.grad is not None)
    finally:
        model.zero_grad(set_to_none=True)
    return PeakCount(
        forward_bytes=int(after_forward),
        peak_bytes=tracker.peak_bytes,
        peak_phase=tracker.peak_phase,
        peak_op=tracker.peak_op,
        gradient_bytes=grads,
    )
