"""What autograd keeps for backward, counted storage by storage, on any device.

A forward pass (and its loss) runs under :func:`torch.autograd.graph.saved_tensors_hooks`,
and every tensor autograd packs for the backward pass is counted once per storage (views and
in-place results share a storage). Parameters and buffers that autograd saves, e.g. the
weight of a linear layer, are not activations: they are excluded.

On the ``meta`` device nothing is allocated: storage identity there cannot use
``data_ptr()`` (0 for every meta tensor); :func:`storage_key` uses the address of the C++
storage object instead, and the counter keeps a reference to every counted tensor until the
count is done, so no address is reused while counting. :func:`cross_check_meta_vs_real`
shows that the meta count equals the count of a real CPU run byte for byte.

Dropout masks are counted as the *target* device stores them (``dropout_mask_bytes``): on
CPU and meta, ``dropout`` multiplies by a noise tensor filled by ``bernoulli_`` in the input's
dtype (4 bytes per element in fp32) and saves it; CUDA's fused ``native_dropout`` saves a
1-byte boolean mask. The count recognises a mask as a storage written by ``aten.bernoulli``
(or the mask output of ``aten.native_dropout``), seen with a
:class:`~torch.utils._python_dispatch.TorchDispatchMode` below autograd, so it also finds
dropout inside fused ops that fall back to their math path (scaled-dot-product attention).
``dropout_mask_bytes=None`` keeps the bytes as stored on the device of the pass; ``1`` counts
them as on CUDA (:data:`DROPOUT_MASK_BYTES`).

Units: bytes. Shared by training memory (:mod:`.training`) and rematerialization
(:mod:`.remat`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from ..timing.clock import using_threads

#: Bytes per dropout-mask element by target device: CUDA's ``native_dropout`` keeps a bool
#: mask (1 byte); on CPU the mask is the input's dtype (``None``: as stored).
DROPOUT_MASK_BYTES: dict[str, int | None] = {"cuda": 1, "cpu": None}


def mask_bytes_for(target: str) -> int | None:
    """Bytes per dropout-mask element when accounting for ``target`` ("cuda" or "cpu")."""
    if target not in DROPOUT_MASK_BYTES:
        raise ValueError(f"target: expected one of {list(DROPOUT_MASK_BYTES)}, got {target!r}")
    return DROPOUT_MASK_BYTES[target]


def check_mask_bytes(dropout_mask_bytes: int | None) -> None:
    if dropout_mask_bytes is not None and (
        isinstance(dropout_mask_bytes, bool) or not isinstance(dropout_mask_bytes, int) or dropout_mask_bytes < 1
    ):
        raise ValueError(f"dropout_mask_bytes: expected None or a positive int, got {dropout_mask_bytes!r}")


def dropout_masks_of(op_name: str, out: Any) -> list[Any]:
    """The dropout masks among the outputs ``out`` of the aten op ``op_name`` (its overload
    packet's name): the storage ``aten.bernoulli`` / ``bernoulli_`` writes (the CPU and meta
    dropout) or the mask output of ``aten.native_dropout`` (CUDA's); none for other ops."""
    import torch

    if op_name in ("bernoulli", "bernoulli_") and isinstance(out, torch.Tensor):
        return [out]
    if op_name == "native_dropout" and isinstance(out, (tuple, list)) and len(out) == 2:
        return [out[1]]
    return []


@contextmanager
def recording_dropout_masks(key: Callable[[Any], int], masks: dict[int, Any]) -> Iterator[dict[int, Any]]:
    """Inside the block, fill ``masks`` with ``{key(mask): mask}`` for every dropout mask made:
    storages written by ``aten.bernoulli`` / ``bernoulli_`` (the CPU and meta dropout) and the
    mask output of ``aten.native_dropout`` (CUDA's). The caller keeps the masks referenced."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            for mask in dropout_masks_of(func.overloadpacket.__name__, out):
                masks.setdefault(key(mask), mask)
            return out

    with _Recorder():
        yield masks


# --------------------------------------------------------------------------- storages
def storage_key(tensor: Any) -> int:
    """An identity of ``tensor``'s storage, shared by its views and in-place results.

    The address of the C++ ``StorageImpl`` (``untyped_storage()._cdata``): unique among live
    storages, on every device including ``meta`` (where ``data_ptr()`` is 0 for all).
    """
    return int(tensor.untyped_storage()._cdata)


def storage_nbytes(tensor: Any) -> int:
    """Bytes of ``tensor``'s whole storage (a view counts the storage it keeps alive)."""
    import torch

    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor: expected a torch.Tensor, got {type(tensor).__name__} {tensor!r:.60}")
    return int(tensor.untyped_storage().nbytes())


def tensors_in(obj: Any) -> list[Any]:
    import torch
    from torch.utils._pytree import tree_leaves

    if hasattr(obj, "to_tuple") and callable(obj.to_tuple):  # transformers ModelOutput
        obj = obj.to_tuple()
    return [t for t in tree_leaves(obj) if isinstance(t, torch.Tensor)]


# --------------------------------------------------------------------------- activations
@dataclass(frozen=True)
class ActivationCount:
    """What one forward pass (with its loss) keeps for backward, in bytes.

    ``saved_bytes``: distinct storages autograd saved for backward, parameters and buffers
    excluded; ``feature_map_bytes``: distinct storages output by leaf modules (the paper's
    "feature maps"), parameters and buffers excluded; ``saved_tensors``: pack-hook calls
    counted; ``saved_storages``: distinct storages among them; ``parameter_saves``: pack-hook
    calls on parameters or buffers (excluded); ``device``: where the pass ran;
    ``mask_elements``: elements of the dropout masks among the saved storages;
    ``mask_bytes_per_element``: the bytes each was counted at (``None``: as stored).
    """

    saved_bytes: int
    feature_map_bytes: int
    saved_tensors: int
    saved_storages: int
    parameter_saves: int
    device: str
    mask_elements: int = 0
    mask_bytes_per_element: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _counted_nbytes(t: Any, masks: dict[int, Any], key: int, dropout_mask_bytes: int | None) -> int:
    if dropout_mask_bytes is not None and key in masks:
        return int(t.untyped_storage().nbytes() // t.element_size()) * dropout_mask_bytes
    return storage_nbytes(t)


def measure_activations(
    model: Any,
    forward: Callable[[Any], Any],
    dropout_mask_bytes: int | None = None,
    on_saved: Callable[[Any], None] | None = None,
) -> ActivationCount:
    """Run ``forward(model)`` (the forward pass and the loss) and count what autograd saves.

    Works on any device; on ``meta`` nothing is allocated. Storages are identified with
    :func:`storage_key`; every counted tensor is referenced until the count ends, so a
    storage address cannot be reused by another tensor meanwhile. Dropout masks count
    ``dropout_mask_bytes`` per element (``None``: as stored; 1: as on CUDA). ``on_saved``,
    if given, is also called with every tensor autograd saves (parameters included).
    """
    import torch

    check_mask_bytes(dropout_mask_bytes)

    excluded = {storage_key(t) for t in [*model.parameters(), *model.buffers()]}
    saved: dict[int, tuple[int, Any]] = {}
    maps: dict[int, tuple[int, Any]] = {}
    counts = {"saved": 0, "params": 0}

    masks: dict[int, Any] = {}

    def pack(t: Any) -> Any:
        if on_saved is not None:
            on_saved(t)
        key = storage_key(t)
        if key in excluded:
            counts["params"] += 1
        else:
            counts["saved"] += 1
            saved.setdefault(key, (_counted_nbytes(t, masks, key, dropout_mask_bytes), t))
        return t

    def on_output(_module: Any, _inputs: Any, output: Any) -> None:
        for t in tensors_in(output):
            key = storage_key(t)
            if key not in excluded:
                maps.setdefault(key, (storage_nbytes(t), t))

    first = next(iter(model.parameters()), None)
    if first is None:
        raise ValueError("model: expected a module with parameters (nothing to train)")
    device = first.device.type
    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(on_output) for m in leaves]
    try:
        with recording_dropout_masks(storage_key, masks), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = forward(model)
            del out
    finally:
        for h in handles:
            h.remove()
    mask_elements = sum(
        int(t.untyped_storage().nbytes() // t.element_size()) for k, (_, t) in saved.items() if k in masks
    )
    result = ActivationCount(
        saved_bytes=sum(b for b, _ in saved.values()),
        feature_map_bytes=sum(b for b, _ in maps.values()),
        saved_tensors=counts["saved"],
        saved_storages=len(saved),
        parameter_saves=counts["params"],
        device=device,
        mask_elements=mask_elements,
        mask_bytes_per_element=dropout_mask_bytes,
    )
    saved.clear()
    maps.clear()
    masks.clear()
    return result


# --------------------------------------------------------------------------- meta vs real
@dataclass(frozen=True)
class CrossCheck:
    """The same forward counted on ``meta`` and on a real CPU run, in bytes.

    ``real_by_data_ptr`` recounts the real run with an independent identity (the storage's
    data pointer), which ``meta`` cannot offer.
    """

    name: str
    meta: ActivationCount
    real: ActivationCount
    real_by_data_ptr: int

    @property
    def equal(self) -> bool:
        return (
            self.meta.saved_bytes == self.real.saved_bytes == self.real_by_data_ptr
            and self.meta.feature_map_bytes == self.real.feature_map_bytes
            and self.meta.saved_storages == self.real.saved_storages
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "meta": self.meta.to_dict(),
            "real": self.real.to_dict(),
            "real_saved_bytes_by_data_ptr": self.real_by_data_ptr,
            "equal": self.equal,
        }


def _data_ptr(t: Any) -> int:
    return int(t.untyped_storage().data_ptr())


def _data_ptr_counter(
    model: Any, dropout_mask_bytes: int | None = None
) -> tuple[Callable[[Any], None], dict[int, Any], dict[int, tuple[int, Any]]]:
    """``(on_saved, masks, seen)`` to recount a real run's saved tensors by the data pointer of
    their storages: ``on_saved`` (for :func:`measure_activations`) records each one, parameters
    and buffers excluded, in ``seen`` (pointer -> (bytes, tensor)); fill ``masks`` with
    :func:`recording_dropout_masks` keyed by the data pointer."""
    excluded = {_data_ptr(t) for t in [*model.parameters(), *model.buffers()]}
    seen: dict[int, tuple[int, Any]] = {}
    masks: dict[int, Any] = {}

    def on_saved(t: Any) -> None:
        p = _data_ptr(t)
        if p not in excluded:
            # zero-size storages have no address: key them by object so each counts (0 bytes)
            seen.setdefault(p or -id(t), (_counted_nbytes(t, masks, p, dropout_mask_bytes), t))

    return on_saved, masks, seen


def cross_check_meta_vs_real(
    build: Callable[[str], tuple[Any, Callable[[Any], Any]]], name: str = "", dropout_mask_bytes: int | None = None
) -> CrossCheck:
    """Count the activations of ``build(device) -> (model, forward)`` on meta and on CPU
    (dropout masks at ``dropout_mask_bytes`` per element in all three counts; the CPU run is
    counted by storage and by data pointer at once)."""
    import torch

    torch.manual_seed(0)
    model, forward = build("meta")
    meta = measure_activations(model, forward, dropout_mask_bytes)
    with using_threads(1):
        model, forward = build("cpu")
        on_saved, masks, seen = _data_ptr_counter(model, dropout_mask_bytes)
        with recording_dropout_masks(_data_ptr, masks):
            real = measure_activations(model, forward, dropout_mask_bytes, on_saved)
    return CrossCheck(name, meta, real, sum(b for b, _ in seen.values()))
