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

Units: bytes. Shared by training memory (:mod:`.training_memory`) and rematerialization
(:mod:`.remat`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

from .timing import using_threads


# --------------------------------------------------------------------------- storages
def storage_key(tensor: Any) -> int:
    """An identity of ``tensor``'s storage, shared by its views and in-place results.

    The address of the C++ ``StorageImpl`` (``untyped_storage()._cdata``): unique among live
    storages, on every device including ``meta`` (where ``data_ptr()`` is 0 for all).
    """
    return int(tensor.untyped_storage()._cdata)


def storage_nbytes(tensor: Any) -> int:
    """Bytes of ``tensor``'s whole storage (a view counts the storage it keeps alive)."""
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
    calls on parameters or buffers (excluded); ``device``: where the pass ran.
    """

    saved_bytes: int
    feature_map_bytes: int
    saved_tensors: int
    saved_storages: int
    parameter_saves: int
    device: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_activations(model: Any, forward: Callable[[Any], Any]) -> ActivationCount:
    """Run ``forward(model)`` (the forward pass and the loss) and count what autograd saves.

    Works on any device; on ``meta`` nothing is allocated. Storages are identified with
    :func:`storage_key`; every counted tensor is referenced until the count ends, so a
    storage address cannot be reused by another tensor meanwhile.
    """
    import torch

    excluded = {storage_key(t) for t in [*model.parameters(), *model.buffers()]}
    saved: dict[int, tuple[int, Any]] = {}
    maps: dict[int, tuple[int, Any]] = {}
    counts = {"saved": 0, "params": 0}

    def pack(t: Any) -> Any:
        key = storage_key(t)
        if key in excluded:
            counts["params"] += 1
        else:
            counts["saved"] += 1
            saved.setdefault(key, (storage_nbytes(t), t))
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
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = forward(model)
        del out
    finally:
        for h in handles:
            h.remove()
    result = ActivationCount(
        saved_bytes=sum(b for b, _ in saved.values()),
        feature_map_bytes=sum(b for b, _ in maps.values()),
        saved_tensors=counts["saved"], saved_storages=len(saved),
        parameter_saves=counts["params"], device=device)
    saved.clear()
    maps.clear()
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
        return (self.meta.saved_bytes == self.real.saved_bytes == self.real_by_data_ptr
                and self.meta.feature_map_bytes == self.real.feature_map_bytes
                and self.meta.saved_storages == self.real.saved_storages)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "meta": self.meta.to_dict(), "real": self.real.to_dict(),
                "real_saved_bytes_by_data_ptr": self.real_by_data_ptr, "equal": self.equal}


def _saved_bytes_by_data_ptr(model: Any, forward: Callable[[Any], Any]) -> int:
    import torch

    excluded = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    seen: dict[int, tuple[int, Any]] = {}

    def pack(t: Any) -> Any:
        s = t.untyped_storage()
        if s.data_ptr() not in excluded:
            # zero-size storages have no address: key them by object so each counts (0 bytes)
            seen.setdefault(s.data_ptr() or -id(t), (s.nbytes(), t))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward(model)
    return sum(b for b, _ in seen.values())


def cross_check_meta_vs_real(build: Callable[[str], tuple[Any, Callable[[Any], Any]]],
                             name: str = "") -> CrossCheck:
    """Count the activations of ``build(device) -> (model, forward)`` on meta and on CPU."""
    import torch

    torch.manual_seed(0)
    model, forward = build("meta")
    meta = measure_activations(model, forward)
    with using_threads(1):
        model, forward = build("cpu")
        real = measure_activations(model, forward)
        by_ptr = _saved_bytes_by_data_ptr(model, forward)
    return CrossCheck(name, meta, real, by_ptr)
