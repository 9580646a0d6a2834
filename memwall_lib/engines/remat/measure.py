"""The live-activation tracker of :mod:`.run`: the peak bytes of live activations (tensors
created by the forward pass or by a recomputation, tracked storage by storage until freed).
Units: bytes.
"""

from __future__ import annotations

import weakref
from typing import Any


def tracker_class() -> Any:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class LiveTensorTracker(TorchDispatchMode):
        """Tracks the bytes of live storages created inside the mode, storage by storage,
        until they are freed (a ``weakref.finalize`` on each storage). A storage is
        *activation* memory when created by the forward pass (outside backward, grad mode
        on) or by a recomputation (inside backward with grad mode on, as checkpoint
        recomputes); tensors made by the backward pass itself (gradients, temporaries) are
        counted only in ``peak_all``. Views and in-place results allocate nothing."""

        def __init__(self) -> None:
            super().__init__()
            self.live_act = self.live_all = 0
            self.peak_act = self.peak_all = 0
            self._seen: set[int] = set()

        def _free(self, key: int, nbytes: int, act: bool) -> None:
            self._seen.discard(key)
            self.live_all -= nbytes
            if act:
                self.live_act -= nbytes

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            inputs = {
                int(t.untyped_storage()._cdata) for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)
            }
            act = torch.is_grad_enabled()  # forward or recomputation; backward runs without grad
            for t in tree_leaves(out):
                if not isinstance(t, torch.Tensor):
                    continue
                st = t.untyped_storage()
                key = int(st._cdata)
                if key in inputs or key in self._seen:
                    continue
                nbytes = int(st.nbytes())
                self._seen.add(key)
                self.live_all += nbytes
                self.peak_all = max(self.peak_all, self.live_all)
                if act:
                    self.live_act += nbytes
                    self.peak_act = max(self.peak_act, self.live_act)
                weakref.finalize(st, self._free, key, nbytes, act)
            return out

    return LiveTensorTracker
