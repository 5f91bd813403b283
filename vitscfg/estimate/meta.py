"""The fast exact trace: `train_step` on ``meta`` tensors, in a forked child process.

Why not FakeTensorMode: a fake trace of ljs_base costs 20-30 CPU-seconds, ~0.3 ms per
dispatch, because FakeTensor is a Python tensor subclass (two thirds of its dispatches are
its own ``prim.device`` queries) and, below it, every elementwise op's shape function is a
Python reference (``torch._refs``) registered as the op's Meta kernel. Plain ``meta``
tensors skip the subclass; what is left is the Python Meta registrations, which shadow
the C++ structured-kernel meta functions (``a + b`` on meta: ~300 us through the Python
reference, ~3 us through the C++ meta function). :func:`use_cpp_meta_kernels` removes the
Python registrations wherever a C++ Meta kernel exists (it keeps the others), so a step
costs the C++ shape functions plus the storage tracker's hook: ~1 s for ljs_base.

The memory is the same as the fake trace's, byte for byte (a fake tensor *is* a meta
tensor with a device attached; storages, views and lifetimes are the same), which the
tests check against the real CPU step and the fake trace. What meta cannot do:

* autocast: autocast dispatch keys exist per backend (CPU, CUDA, ...), not for meta, so a
  meta step would silently run fp16/bf16 configs in fp32. meta_autocast.py gives meta
  tensors CPU autocast's cast policy (same bytes as a real CPU autocast step); where it
  cannot be installed, fp16/bf16 fall back to the fake backend (:func:`step_peaks_here`).
* ``torch.autocast(device_type="meta")`` raises in torch; :func:`_meta_autocast` maps it to
  the CPU autocast state (the model asks for ``x.device.type``).
* ``aten._weight_norm_interface_backward`` has no meta kernel at all (FakeTensor runs the
  CPU kernel on zeros): registered here with the CPU kernel's outputs, two
  ``empty_like(..., contiguous)`` (aten/src/ATen/native/WeightNorm.cpp).

Data-dependent reads (``.item()``) fail on meta; the fp32 step has none (the MAS routes
non-CPU tensors to its torch implementation, the GradScaler is disabled, AdamW's step
counters are real CPU tensors as in a real run); in fp16, GradScaler's ``found_inf`` read
answers zero (meta_autocast.py).

Process isolation: re-registering Meta kernels changes the whole process's dispatcher, so
it only ever happens in a child process that exits after the trace
(`vitscfg.estimate.children.trace_pool`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from vitscfg.estimate.trace import (
    CUDA_BLOCK_BYTES,
    StepConfig,
    StepPeak,
    StepPoint,
    trace_step_peaks,
    with_autocast,
)

META = torch.device("meta")
#: Library holding the Meta kernels this module (re-)registers; kept alive on purpose.
_LIBRARY: list[Any] = []


def meta_supported(precision: str) -> bool:
    """Every precision the trainer knows: fp32 as is, fp16/bf16 through meta_autocast.py
    (which can still refuse to install: :func:`step_peaks_here` then uses the fake trace)."""
    return precision in ("fp32", "fp16", "bf16")


def _weight_norm_backward_meta(
    grad_w: torch.Tensor,
    saved_v: torch.Tensor,
    saved_g: torch.Tensor,
    saved_norms: torch.Tensor,
    dim: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs of the CPU kernel (weight_norm_backward_cpu): fresh contiguous grads of v, g."""
    return (
        torch.empty_like(saved_v, memory_format=torch.contiguous_format),
        torch.empty_like(saved_g, memory_format=torch.contiguous_format),
    )


def use_cpp_meta_kernels() -> bool:
    """Let every op with a C++ Meta kernel use it instead of torch's Python reference.

    Process-global and irreversible: call it only in a child process that exits after the
    trace. Returns False (nothing changed except, possibly, the weight-norm kernel) when
    torch's private registry is not where this torch version is expected to keep it; the
    trace is then still exact, only slower.
    """
    if _LIBRARY:
        return True
    library: Any = torch.library  # untyped API
    lib: Any = library.Library("aten", "IMPL", "Meta")
    _LIBRARY.append(lib)
    ok = True
    try:
        import torch._meta_registrations as registrations
        from torch._decomp import global_decomposition_table

        old: Any = registrations._meta_lib_dont_use_me_use_register_meta
        names: set[str] = set(old._op_impls)
        # The table activate_meta() registered from, in its precedence order.
        table: dict[str, Callable[..., Any]] = {}
        for kind in ("meta", "post_autograd", "pre_autograd"):
            entry: Any
            for entry, fn in global_decomposition_table[kind].items():
                if isinstance(entry, torch._ops.OpOverload):
                    table.setdefault(entry.name(), fn)  # type: ignore[no-untyped-call]
        old._destroy()
        registrations._meta_lib_dont_use_me_use_register_meta = lib
        for name in names:  # "aten/add.Tensor/Meta"
            ns, op_name, _key = name.split("/")
            qualified = f"{ns}::{op_name}"
            if torch._C._dispatch_has_kernel_for_dispatch_key(qualified, "Meta"):
                continue  # a C++ Meta kernel: the point of all this
            kernel = table.get(qualified)
            if kernel is None:
                continue
            packet, _, overload = op_name.partition(".")
            overloads = getattr(getattr(torch.ops, ns), packet)
            lib.impl(getattr(overloads, overload or "default"), kernel)
    except (AttributeError, ImportError, KeyError, ValueError):
        ok = False
    op: Any = torch.ops.aten._weight_norm_interface_backward.default
    if not torch._C._dispatch_has_kernel_for_dispatch_key(op.name(), "Meta"):
        lib.impl(op, _weight_norm_backward_meta)
    return ok


class _MetaAutocast(torch.amp.autocast_mode.autocast):
    """``torch.autocast`` that accepts ``device_type="meta"`` (as the CPU's state)."""

    def __init__(self, device_type: str, *args: Any, **kwargs: Any) -> None:
        super().__init__("cpu" if device_type == "meta" else device_type, *args, **kwargs)


@contextlib.contextmanager
def _meta_autocast() -> Iterator[None]:
    """Swap ``torch.autocast`` for :class:`_MetaAutocast` while tracing (model code looks it
    up at call time: ``torch.autocast(device_type=x.device.type, enabled=False)``)."""
    original = torch.autocast
    torch.autocast = _MetaAutocast  # type: ignore[misc]
    try:
        yield
    finally:
        torch.autocast = original  # type: ignore[misc]


@contextlib.contextmanager
def _meta_mode(cache: Any) -> Iterator[None]:
    """Entered around each model build and its steps: ``torch.autocast`` accepts "meta",
    and with a cast cache (fp16/bf16) meta tensors get the emulated autocast's casts."""
    with _meta_autocast():
        if cache is None:
            yield
            return
        from vitscfg.estimate.meta_autocast import emulated_autocast

        with emulated_autocast(cache):
            yield


class MetaUnsupported(ValueError):
    """This precision cannot be traced on meta here; the fake trace can."""


def meta_mode(
    precision: str, autocast_target: str = "cpu"
) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """Install the meta backend in *this* process, which must be a disposable child (it
    calls :func:`use_cpp_meta_kernels` and, for fp16/bf16, meta_autocast.install), and
    return the mode :func:`trace_step_peaks` enters. Raises MetaUnsupported where meta
    cannot emulate the precision (the caller uses the fake backend)."""
    if not meta_supported(precision):
        raise MetaUnsupported(f"meta traces cannot emulate {precision!r}; use the fake path")
    use_cpp_meta_kernels()
    from vitscfg.estimate.meta_lstm import install as one_op_lstm

    one_op_lstm()  # the composite LSTM's bytes without its per-timestep dispatches
    cache = None
    if precision != "fp32":
        from vitscfg.estimate.meta_autocast import install

        cache = install(autocast_target)
        if cache is None:
            raise MetaUnsupported(f"this torch lets no autocast reach meta tensors ({precision})")
    return functools.partial(_meta_mode, cache)


def meta_step_peaks_here(
    step: StepConfig,
    precision: str,
    points: Sequence[StepPoint],
    *,
    round_to: int = 1,
    foreach: bool = False,
    seed: int = 0,
    autocast_target: str = "cpu",
) -> list[StepPeak]:
    """Meta trace in *this* process (a disposable child, :func:`meta_mode`). Same bytes as
    the fake backend in fp32, the real CPU step's in fp16/bf16 with
    ``autocast_target="cpu"``; "cuda" applies CUDA autocast's cast policy instead (what a
    GPU run does; meta_autocast.py)."""
    mode = meta_mode(precision, autocast_target)
    peaks = trace_step_peaks(
        step,
        precision,
        points,
        mode,
        META,
        round_to=round_to,
        foreach=foreach,
        seed=seed,
        backend="meta",
    )
    return peaks if precision == "fp32" else with_autocast(peaks, autocast_target)


def step_peaks_here(
    step: StepConfig, precision: str, points: Sequence[StepPoint], **kwargs: Any
) -> list[StepPeak]:
    """In a disposable child: the meta trace where it can emulate the step, else the fake
    backend (CPU autocast: the same bytes as the meta trace's "cpu" target within 0.03 %,
    meta_autocast.py). ``kwargs``: those of :func:`trace_step_peaks`, and
    ``autocast_target``."""
    try:
        return meta_step_peaks_here(step, precision, points, **kwargs)
    except MetaUnsupported:
        pass
    from vitscfg.estimate.fake import step_peaks

    kwargs.pop("autocast_target", None)
    return step_peaks(step, precision, points, **kwargs)


def target_options(kind: str) -> dict[str, Any]:
    """The trace options under which a step's tensors are those ``kind`` ("cuda" or "cpu")
    holds: on CUDA, 512-B allocator blocks, AdamW's foreach path (its default there) and
    CUDA's autocast policy."""
    cuda = kind == "cuda"
    return {
        "round_to": CUDA_BLOCK_BYTES if cuda else 1,
        "foreach": cuda,
        "autocast_target": "cuda" if cuda else "cpu",
    }
