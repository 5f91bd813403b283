"""Peak tensor memory of a piece of PyTorch code, on real or fake tensors.

Why a storage tracker: torch has no allocator statistics on the CPU, and on fake tensors
there is no allocator at all. What both have is tensor *storages* with a size and a
lifetime. A ``TorchDispatchMode`` sees every op below autograd (forward, backward and the
optimiser alike); counting each untyped storage once, when first seen as an op output, and
uncounting it in a weakref finalizer when it dies gives the live tensor bytes at every op
and therefore the peak. Kernels' own temporaries (oneDNN's reordered weights, im2col
columns) are not op outputs and are not counted: a real CPU step's allocations peak
0.6-1.1 % higher at ljs_base size (docs/estimator-cpu.md).

``round_to`` models the CUDA caching allocator's minimum block (512 B): every request is
rounded up to it, which matters for the many tiny tensors of a training step.

Known blind spots (documented by PyTorch for its own MemTracker too): storages resized in
place after creation keep their creation size; memory allocated outside torch (numpy arrays
before ``torch.from_numpy``) is counted when the tensor first reaches an op.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

_PRIM_DEVICE = torch.ops.prim.device.default


def _round_up(n: int, multiple: int) -> int:
    return n if multiple <= 1 else -(-n // multiple) * multiple


class StorageTracker(TorchDispatchMode):
    """Live and peak bytes of tensor storages while the mode is active.

    Call :meth:`track` with the tensors that already exist when the measured code starts
    (parameters, gradients, optimiser state, the batch): they are live memory too.
    """

    def __init__(self, round_to: int = 1, events: list[tuple[int, int]] | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.round_to = round_to
        # Optional allocation log for allocator.py: (uid, raw nbytes) when a storage is first
        # seen, (uid, -1) when it dies; uids count up from 0 in the order storages are seen.
        self.events = events
        self._uid = 0
        self.live = 0
        self.peak = 0
        # key -> (weakref keeping the finalizer alive, counted bytes); instance state only.
        self._storages: dict[int, tuple[weakref.ref[Any], int]] = {}

    # -- bookkeeping ------------------------------------------------------------------------
    def _add(self, t: torch.Tensor) -> None:
        try:
            storage = t.untyped_storage()
        except (RuntimeError, NotImplementedError):  # sparse, nested, ... (none in VITS)
            return
        key = storage._cdata
        if key in self._storages:
            return
        raw = int(storage.nbytes())
        nbytes = _round_up(raw, self.round_to)
        events, uid = self.events, self._uid
        self._uid += 1

        def on_free(_ref: Any, key: int = key) -> None:
            entry = self._storages.pop(key, None)
            if entry is not None:
                self.live -= entry[1]
                if events is not None:
                    events.append((uid, -1))

        self._storages[key] = (weakref.ref(storage, on_free), nbytes)
        if events is not None:
            events.append((uid, raw))
        self.live += nbytes
        if self.live > self.peak:
            self.peak = self.live

    def track(self, tensors: Iterable[torch.Tensor | None]) -> None:
        """Count tensors that exist before the measured code (each storage once)."""
        for t in tensors:
            if isinstance(t, torch.Tensor):
                self._add(t)

    @property
    def seen(self) -> int:
        """Storages counted so far (the next uid of the event log)."""
        return self._uid

    def reset_peak(self) -> None:
        self.peak = self.live

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        # Fast paths first (this hook runs ~50k times per step, and a meta trace costs
        # little more than the hook): one tensor, or a flat tuple/list of them.
        if isinstance(out, torch.Tensor):
            self._add(out)
        elif isinstance(out, (tuple, list)):
            for t in out:
                if isinstance(t, torch.Tensor):
                    self._add(t)
                elif t is not None and not isinstance(t, (int, float, bool)):
                    for u in tree_flatten(t)[0]:
                        if isinstance(u, torch.Tensor):
                            self._add(u)
        elif func is not _PRIM_DEVICE:  # 2/3 of the calls on fake tensors; never allocates
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    self._add(t)
        return out
