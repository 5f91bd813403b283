"""CPU autocast for ``meta`` tensors, so that fp16/bf16 steps can use the fast meta trace.

Why: a meta trace of ljs_base costs ~1 s per step; the fake trace that autocast needed
costs 10-13 s per step (FakeTensor is a Python subclass, meta.py), which made the no-GPU
estimate of an fp16 config ~30 s on two cores against ~11 s for fp32. Autocast is a
dispatch key per backend (AutocastCPU, AutocastCUDA, ...) that tensors carry by device;
meta tensors carry none, and torch's autocast kernels only cast tensors of their own
device (``is_autocast_eligible``). So a meta step under autocast silently runs in fp32.

What this module does, in a disposable child process only (it changes the process's
dispatcher, like meta.py's Meta-kernel swap):

* every aten op that autocast touches on the *target* ("cpu" or "cuda": the op has an
  AutocastCPU or AutocastCUDA kernel in this torch) gets a Python kernel at the AutocastCPU
  key with the target's cast policy (:data:`CPU_POLICY`, :data:`CUDA_POLICY`; ops that
  only the other device's autocast touches pass through). The CPU target reproduces a real
  CPU autocast step; the CUDA target is what a GPU run does, and differs where it matters
  for memory: CUDA runs exp, pow, softmax, layer_norm, sums and norms in fp32, so more of
  the step's activations are fp32 (docs/gpu-validation.md). A tensor is cast when it is
  floating point and not float64; fp32 leaves that require grad (parameters) are cast once
  per autocast region and cached, as torch's ``cached_cast`` does, until the outermost
  autocast exits. Arguments are cast last first: the order in which the C++ wrapper's
  parameter pack is evaluated (GCC, right to left), so that allocations come in the same
  order as in a real CPU step;
* while tracing, AutocastCPU is added to the thread's included dispatch keys, so meta
  tensors reach those kernels whenever CPU autocast is enabled (autocast off = the key is
  excluded, which wins over included);
* ``.item()`` on a meta tensor answers zero (:func:`_scalar_zero`): the only read in the
  step is GradScaler's ``found_inf``, and zero means "no overflow", so the optimisers step
  and their state exists (the steady state, as the fake trace's ``_ScalarDefault``).

Checked: with the CPU target, the meta trace of the tiny model in fp16 and bf16 gives the
real CPU autocast step's peak byte for byte (tests/estimate/test_estimate_accuracy.py),
closer than the fake trace (FakeTensor's Python reference for ``native_layer_norm``
returns fp16 mean/rstd where the CPU kernel, like CUDA's, returns fp32: +0.03 % of peak).
Per op, each target gives the dtypes its device gives; with the CUDA target, ljs_base fp16
traces within -1.5..+1.9 % of the H100's max_memory_allocated, where the CPU policy is
7-9 % low (tests/estimate/test_meta_autocast.py).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch

#: Cast policies per op and target, from torch's autocast registrations
#: (aten/src/ATen/autocast_mode.cpp and .h, torch 2.9): ``lower`` casts floating arguments
#: to the autocast dtype, ``fp32`` to float32, ``promote`` to the widest of them,
#: ``fp32_dtype`` passes ``dtype=float32`` when the first argument is floating and no dtype
#: was asked for (softmax, sum, ...), ``fp32_append`` does that through the op's
#: ``_dtype`` overload (norm). An op registered for the target and absent from these
#: tables is ``fp32`` (the only other policy either file registers).
CPU_POLICY: dict[str, str] = {
    **dict.fromkeys(
        [
            "conv1d",
            "conv1d.padding",
            "conv2d",
            "conv2d.padding",
            "conv3d",
            "conv3d.padding",
            "bmm",
            "mm",
            "linalg_vecdot",
            "baddbmm",
            "addmm",
            "_addmm_activation",
            "addbmm",
            "linear",
            "_convolution.deprecated",
            "matmul",
            "conv_tbc",
            "mkldnn_rnn_layer",
            "conv_transpose1d",
            "conv_transpose2d.input",
            "conv_transpose3d.input",
            "prelu",
            "scaled_dot_product_attention",
            "_native_multi_head_attention",
        ],
        "lower",
    ),
    **dict.fromkeys(["stack", "cat", "index_copy", "index_copy.dimname"], "promote"),
}
CUDA_POLICY: dict[str, str] = {
    **dict.fromkeys(
        [
            "_convolution",
            "_convolution.deprecated",
            "conv1d",
            "conv2d",
            "conv3d",
            "conv_tbc",
            "conv_transpose1d",
            "conv_transpose2d.input",
            "conv_transpose3d.input",
            "convolution",
            "prelu",
            "addmm",
            "addmv",
            "addr",
            "matmul",
            "einsum",
            "mm",
            "mv",
            "linalg_vecdot",
            "linear",
            "addbmm",
            "baddbmm",
            "bmm",
            "chain_matmul",
            "linalg_multi_dot",
            "_thnn_fused_lstm_cell",
            "_thnn_fused_gru_cell",
            "lstm_cell",
            "gru_cell",
            "rnn_tanh_cell",
            "rnn_relu_cell",
            "_scaled_dot_product_flash_attention",
            "scaled_dot_product_attention",
            "cudnn_convolution",
            "cudnn_convolution_transpose",
            "_cudnn_rnn",
        ],
        "lower",
    ),
    **dict.fromkeys(
        [
            "prod",
            "prod.dim_int",
            "prod.dim_Dimname",
            "softmax.int",
            "softmax.Dimname",
            "log_softmax.int",
            "log_softmax.Dimname",
            "cumprod",
            "cumprod.dimname",
            "cumsum",
            "cumsum.dimname",
            "linalg_vector_norm",
            "linalg_matrix_norm",
            "linalg_matrix_norm.str_ord",
            "sum",
            "sum.dim_IntList",
            "sum.dim_DimnameList",
        ],
        "fp32_dtype",
    ),
    **dict.fromkeys(
        ["norm.Scalar", "norm.ScalarOpt_dim", "norm.names_ScalarOpt_dim"], "fp32_append"
    ),
    **dict.fromkeys(
        [
            "addcdiv",
            "addcmul",
            "atan2",
            "bilinear",
            "cross",
            "dot",
            "vdot",
            "grid_sampler",
            "index_put",
            "tensordot",
            "scatter_add",
        ],
        "promote",
    ),
}
#: The dispatch key whose registrations say which ops autocast touches, per target.
_TARGET_KEY = {"cpu": "AutocastCPU", "cuda": "AutocastCUDA"}
#: Private torch APIs the emulation stands on; without one, :func:`install` declines.
_NEEDED = (
    "_IncludeDispatchKeyGuard",
    "_ExcludeDispatchKeyGuard",
    "_dispatch_get_all_op_names",
    "_dispatch_has_kernel_for_dispatch_key",
)
#: ``fp32_append``: the overload each op redispatches to with the dtype appended.
_APPEND_OVERLOAD = {
    "norm.Scalar": "ScalarOpt_dtype",
    "norm.ScalarOpt_dim": "ScalarOpt_dim_dtype",
    "norm.names_ScalarOpt_dim": "names_ScalarOpt_dim_dtype",
}

_AUTOCAST_KEY = torch._C.DispatchKey.AutocastCPU
#: The cast cache of the installed kernels (child process only; at most one).
_INSTALLED: list[Any] = []
#: Libraries holding the kernels registered here; kept alive on purpose.
_LIBRARIES: list[Any] = []


class _CastCache:
    """torch's autocast weight cache: one lower-precision copy per fp32 leaf that requires
    grad, alive until the outermost autocast region exits (``torch.clear_autocast_cache``)."""

    def __init__(self) -> None:
        self.casts: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def cast(self, t: torch.Tensor, dtype: torch.dtype, lower: torch.dtype) -> torch.Tensor:
        if not (t.is_floating_point() and t.dtype != torch.float64) or t.dtype == dtype:
            return t
        cacheable = (
            dtype == lower
            and t.dtype == torch.float32
            and t.requires_grad
            and t.is_leaf
            and not t._is_view()
            and torch.is_autocast_cache_enabled()
        )
        if not cacheable:
            return t.to(dtype)
        hit = self.casts.get(id(t))
        if hit is not None and hit[0] is t:
            return hit[1]
        out = t.to(dtype)
        self.casts[id(t)] = (t, out)  # holds t: its id cannot be reused while cached
        return out

    def cast_arg(self, x: Any, dtype: torch.dtype, lower: torch.dtype) -> Any:
        if isinstance(x, torch.Tensor):
            return self.cast(x, dtype, lower)
        if isinstance(x, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in x):
            return type(x)(
                self.cast(v, dtype, lower) if isinstance(v, torch.Tensor) else v for v in x
            )
        return x


def _tensors(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[torch.Tensor]:
    for a in (*args, *kwargs.values()):
        if isinstance(a, torch.Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (v for v in a if isinstance(v, torch.Tensor))


def _eligible(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and t.is_floating_point() and t.dtype != torch.float64


def _kernel(op: Any, policy: str, cache: _CastCache) -> Callable[..., Any]:
    """The Python kernel of one op at AutocastCPU, for the traced target's ``policy``."""
    excluded = torch._C.DispatchKeySet(_AUTOCAST_KEY)
    arguments = op._schema.arguments
    dtype_at = next((i for i, a in enumerate(arguments) if a.name == "dtype"), None)
    dtype_kwarg_only = dtype_at is not None and arguments[dtype_at].kwarg_only
    target = op
    if policy == "fp32_append":
        packet = getattr(torch.ops.aten, op._schema.name.removeprefix("aten::"))
        target = getattr(packet, _APPEND_OVERLOAD[op.name().removeprefix("aten::")])

    def autocast_kernel(*args: Any, **kwargs: Any) -> Any:
        with torch._C._ExcludeDispatchKeyGuard(excluded):
            if policy == "none":  # autocast on the target does not touch this op
                return op(*args, **kwargs)
            if policy in ("fp32_dtype", "fp32_append"):
                first = next(_tensors(args, kwargs), None)
                if policy == "fp32_append":
                    out = torch.float32 if _eligible(first) else getattr(first, "dtype", None)
                    return target(*args, **kwargs, dtype=out)
                if _eligible(first) and dtype_at is not None:
                    if dtype_kwarg_only or dtype_at >= len(args):
                        if kwargs.get("dtype") is None:
                            kwargs = {**kwargs, "dtype": torch.float32}
                    elif args[dtype_at] is None:
                        args = (*args[:dtype_at], torch.float32, *args[dtype_at + 1 :])
                return op(*args, **kwargs)
            lower = torch.get_autocast_dtype("cpu")
            dtype = torch.float32 if policy == "fp32" else lower
            if policy == "promote" and any(
                t.dtype == torch.float32 for t in _tensors(args, kwargs)
            ):
                dtype = torch.float32
            # Last argument first, as the C++ wrapper (see the module docstring).
            cast_kwargs = {k: cache.cast_arg(kwargs[k], dtype, lower) for k in reversed(kwargs)}
            cast_args = [cache.cast_arg(a, dtype, lower) for a in reversed(args)][::-1]
            return op(*cast_args, **cast_kwargs)

    return autocast_kernel


def _scalar_zero(t: torch.Tensor) -> bool | float | int:
    if t.dtype == torch.bool:
        return False
    return 0.0 if t.is_floating_point() else 0


def install(target: str = "cpu") -> _CastCache | None:
    """Register the kernels for autocast as it behaves on ``target`` ("cpu" or "cuda"):
    process-global and irreversible, so a disposable child only, after
    meta.use_cpp_meta_kernels (which drops torch's Python Meta kernel for ``.item()``, one
    that raises, among others).

    Returns the cast cache that :func:`emulated_autocast` clears, or None when this torch
    does not let it or another target was installed here (nothing new is left registered
    then; the caller keeps the fake trace, which has CPU autocast)."""
    if _INSTALLED:
        installed_target, installed = _INSTALLED[0]
        return installed if installed_target == target else None
    if target not in _TARGET_KEY or not all(hasattr(torch._C, name) for name in _NEEDED):
        return None
    table = CPU_POLICY if target == "cpu" else CUDA_POLICY
    cache = _CastCache()
    targeted = 0
    try:
        library: Any = torch.library  # untyped API
        autocast_lib: Any = library.Library("aten", "IMPL", "AutocastCPU")
        meta_lib: Any = library.Library("aten", "IMPL", "Meta")
        meta_lib.impl(torch.ops.aten._local_scalar_dense.default, _scalar_zero)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "overriding a previously registered kernel"
            for name in torch._C._dispatch_get_all_op_names():
                if not name.startswith("aten::"):
                    continue
                on_cpu = torch._C._dispatch_has_kernel_for_dispatch_key(name, "AutocastCPU")
                on_target = torch._C._dispatch_has_kernel_for_dispatch_key(
                    name, _TARGET_KEY[target]
                )
                if not (on_cpu or on_target):
                    continue
                short = name.removeprefix("aten::")
                packet, _, overload = short.partition(".")
                op = getattr(getattr(torch.ops.aten, packet), overload or "default")
                policy = table.get(short, "fp32") if on_target else "none"
                autocast_lib.impl(op, _kernel(op, policy, cache))
                targeted += on_target
        if targeted < len(table) // 2:  # this build registers no autocast for the target
            raise ValueError(f"{targeted} autocast kernels for {target}")
    except (AttributeError, RuntimeError, ValueError):  # the libraries die with this frame
        return None
    _LIBRARIES.extend([autocast_lib, meta_lib])
    _INSTALLED.append((target, cache))
    return cache


@contextlib.contextmanager
def emulated_autocast(cache: _CastCache) -> Iterator[None]:
    """Route meta tensors through the AutocastCPU kernels while CPU autocast is enabled, and
    drop the cast cache whenever torch drops its own (the outermost autocast exits)."""
    original = torch.clear_autocast_cache

    def clear_both() -> None:
        original()
        cache.casts.clear()

    torch.clear_autocast_cache = clear_both
    try:
        with torch._C._IncludeDispatchKeyGuard(_AUTOCAST_KEY):
            yield
    finally:
        torch.clear_autocast_cache = original
        cache.casts.clear()
