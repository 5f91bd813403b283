"""An LSTM as one op on meta tensors: the same memory as PyTorch's composite LSTM, without
its thousands of per-timestep dispatches.

Why: ``aten::lstm`` has no Meta kernel; on meta tensors PyTorch runs its composite (per
layer, direction and timestep: two matmuls, gate activations, the cell update), which is
exact but costs ~30 dispatches per timestep. Bert-VITS2's LSTM duration discriminator runs
8 LSTM passes over every phone of the batch per step (381 phones at the limits): ~75 % of
that step's trace time (8 of 10 CPU-seconds).

What the composite keeps for backward, measured on meta tensors, is per layer, direction
and item-timestep ``RESERVE_FLOATS_PER_UNIT`` x hidden floats (its saved gate activations
and cell states), plus its output. :class:`_MetaLSTM` allocates exactly that (one
reserve tensor saved for backward) and, in backward, a gradient per input and parameter, so
the trace sees the same live bytes at the step's peak (after the generator's forward) to
within the composite's few small per-step temporaries. A GPU run differs anyway: cuDNN keeps
its own reserve space (not measured here; see docs/bert-vits2.md).

Installed only in a disposable trace child (meta.py), like the C++ meta kernels.
"""

from __future__ import annotations

from typing import Any

import torch

#: Floats kept per layer, direction, item, timestep and hidden unit by the composite LSTM
#: for backward (measured on meta tensors: 28.0 bytes per unit at hidden 192, bidirectional,
#: 4 x 100 and 16 x 381 items x timesteps).
RESERVE_FLOATS_PER_UNIT = 7

_LIBRARY: list[Any] = []


class _MetaLSTM(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        hidden: int,
        layers: int,
        directions: int,
        batch_first: bool,
        *params: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch, steps = (x.size(0), x.size(1)) if batch_first else (x.size(1), x.size(0))
        shape = (batch, steps) if batch_first else (steps, batch)
        out = x.new_empty((*shape, directions * hidden))
        hy = x.new_empty((layers * directions, batch, hidden))
        cy = x.new_empty((layers * directions, batch, hidden))
        units = layers * directions * batch * steps * hidden
        reserve = x.new_empty((units * RESERVE_FLOATS_PER_UNIT,))
        ctx.save_for_backward(x, reserve, *params)
        ctx.n_params = len(params)
        return out, hy, cy

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        x, _reserve, *params = ctx.saved_tensors
        return (
            torch.empty_like(x),
            None,
            None,
            None,
            None,
            *(torch.empty_like(p) for p in params),
        )


def _lstm(
    x: torch.Tensor,
    hx: list[torch.Tensor],
    params: list[torch.Tensor],
    has_biases: bool,
    num_layers: int,
    dropout: float,
    train: bool,
    bidirectional: bool,
    batch_first: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    hidden = hx[0].size(-1)
    directions = 2 if bidirectional else 1
    out: tuple[torch.Tensor, torch.Tensor, torch.Tensor] = _MetaLSTM.apply(  # type: ignore[no-untyped-call]
        x, hidden, num_layers, directions, batch_first, *params
    )
    return out


def install() -> None:
    """Route ``aten::lstm.input`` on meta tensors through :class:`_MetaLSTM` (process-wide,
    irreversible: trace children only)."""
    if _LIBRARY:
        return
    library: Any = torch.library  # untyped API
    lib = library.Library("aten", "IMPL")
    lib.impl("lstm.input", _lstm, "AutogradMeta")
    _LIBRARY.append(lib)
