"""The FakeTensor backend of the trace (trace.py): the fall-back of the meta backend.

Inside a ``FakeTensorMode`` shapes, dtypes and storage lifetimes are exact and no data is
computed; the cost is per op (~0.3 ms per dispatch: 20-30 CPU-seconds for ljs_base, where
the meta backend takes ~1 s), independent of the batch size. It runs where meta cannot
emulate the step (meta.py: when the autocast emulation cannot be installed), with CPU
autocast's policy. With ``fake=False`` the same code runs on real CPU tensors: the ground
truth the tests compare both backends with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from vitscfg.estimate.trace import (
    StepConfig,
    StepPeak,
    StepPoint,
    trace_step_peaks,
    with_autocast,
)


class _ScalarDefault(TorchDispatchMode):
    """Answer data-dependent scalar reads of fake tensors with zero.

    The only one in the step is GradScaler's ``found_inf.item()``: zero means "no overflow",
    so the optimisers always step and their state exists, which is the steady-state worst
    case (a real fp16 run skips the first steps while the scale backs off).
    """

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        from torch._subclasses.fake_tensor import DataDependentOutputException

        try:
            return func(*args, **(kwargs or {}))
        except DataDependentOutputException:
            if func is not torch.ops.aten._local_scalar_dense.default:
                raise
            dtype = args[0].dtype
            if dtype == torch.bool:
                return False
            return 0.0 if dtype.is_floating_point else 0


@contextlib.contextmanager
def _fake_mode(fake: bool, precision: str) -> Iterator[None]:
    if not fake:
        yield
        return
    from torch._subclasses.fake_tensor import FakeTensorMode

    # Only GradScaler (fp16) reads a scalar; another Python mode layer costs ~5 % per op.
    scalars: contextlib.AbstractContextManager[Any] = (
        _ScalarDefault()  # type: ignore[no-untyped-call]
        if precision == "fp16"
        else contextlib.nullcontext()
    )
    with FakeTensorMode(allow_non_fake_inputs=True), scalars:
        yield


def step_peaks(
    step: StepConfig,
    precision: str,
    points: Sequence[StepPoint],
    *,
    fake: bool = True,
    round_to: int = 1,
    foreach: bool = False,
    seed: int = 0,
) -> list[StepPeak]:
    """Trace (fake) or run (real, CPU) one `train_step` per point; peaks in point order.
    Fake (and real) CPU tensors get CPU autocast's policy."""
    peaks = trace_step_peaks(
        step,
        precision,
        points,
        lambda: _fake_mode(fake, precision),
        torch.device("cpu"),
        round_to=round_to,
        foreach=foreach,
        seed=seed,
        backend="fake" if fake else "real",
    )
    return peaks if precision == "fp32" else with_autocast(peaks, "cpu")
