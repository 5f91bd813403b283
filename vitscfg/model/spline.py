"""Monotonic rational-quadratic spline with linear tails (Durkan et al., 2019, "Neural Spline
Flows"), the element-wise transform inside the stochastic duration predictor's ConvFlow.

Inside ``[-tail_bound, tail_bound]`` the map is a monotonic piecewise rational-quadratic
function with ``num_bins`` bins; outside it is the identity (the boundary derivatives are pinned
to 1 so the pieces join smoothly). Unlike the reference, this version never indexes with a
boolean mask: every element goes through the spline on clamped inputs and ``torch.where``
picks the tail values. That keeps shapes static (no host sync, compile- and fake-tensor
friendly) and gives identical results.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

MIN_BIN_WIDTH = 1e-3
MIN_BIN_HEIGHT = 1e-3
MIN_DERIVATIVE = 1e-3


def _knots(
    unnormalized: torch.Tensor, min_size: float, low: float, high: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bin sizes (..., K) and knot positions (..., K+1) spanning exactly ``[low, high]``."""
    num_bins = unnormalized.shape[-1]
    sizes = min_size + (1 - min_size * num_bins) * F.softmax(unnormalized, dim=-1)
    inner = low + (high - low) * torch.cumsum(sizes, dim=-1)[..., :-1]  # (..., K-1)
    ends_shape = (*inner.shape[:-1], 1)
    knots = torch.cat(
        [inner.new_full(ends_shape, low), inner, inner.new_full(ends_shape, high)], dim=-1
    )  # (..., K+1), endpoints exact
    return knots[..., 1:] - knots[..., :-1], knots


def _take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (..., N), index (..., 1) -> (...)."""
    return values.gather(-1, index)[..., 0]


def rational_quadratic_spline(
    inputs: torch.Tensor,
    unnormalized_widths: torch.Tensor,
    unnormalized_heights: torch.Tensor,
    unnormalized_derivatives: torch.Tensor,
    inverse: bool = False,
    tail_bound: float = 5.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply the spline (or its inverse) element-wise.

    inputs: (...); widths/heights: (..., K); derivatives: (..., K-1) at the inner knots.
    Returns ``(outputs (...), log|d outputs / d inputs| (...))``, computed in at least float32.
    """
    out_dtype = inputs.dtype
    # At least float32 (fp16/bf16 softmax/cumsum knots are too coarse); float64 stays float64.
    dtype = torch.promote_types(inputs.dtype, torch.float32)
    x = inputs.to(dtype)
    uw, uh = unnormalized_widths.to(dtype), unnormalized_heights.to(dtype)
    # Pin the outer derivatives to exactly 1 so the identity tails join smoothly:
    # min_derivative + softplus(c) == 1  <=>  c = log(exp(1 - min_derivative) - 1).
    edge = math.log(math.expm1(1 - MIN_DERIVATIVE))
    ud = F.pad(unnormalized_derivatives.to(dtype), (1, 1), value=edge)  # (..., K+1)

    low, high = -tail_bound, tail_bound
    inside = (x >= low) & (x <= high)
    x_in = x.clamp(low, high)

    widths, cumwidths = _knots(uw, MIN_BIN_WIDTH, low, high)  # (..., K), (..., K+1)
    heights, cumheights = _knots(uh, MIN_BIN_HEIGHT, low, high)
    derivatives = MIN_DERIVATIVE + F.softplus(ud)  # (..., K+1)

    # Bin of each input: number of inner knots at or below it, in [0, K-1].
    knots = cumheights if inverse else cumwidths
    bin_idx = (x_in.unsqueeze(-1) >= knots[..., 1:-1]).sum(dim=-1, keepdim=True)  # (..., 1)

    x_k = _take(cumwidths, bin_idx)
    w_k = _take(widths, bin_idx)
    y_k = _take(cumheights, bin_idx)
    h_k = _take(heights, bin_idx)
    s_k = h_k / w_k  # slope of the bin's chord
    d_k = _take(derivatives, bin_idx)
    d_k1 = _take(derivatives[..., 1:], bin_idx)
    curvature = d_k + d_k1 - 2 * s_k

    if inverse:
        # Solve the quadratic a*theta^2 + b*theta + c = 0 for the bin-relative position theta,
        # in the numerically stable form 2c / (-b - sqrt(b^2 - 4ac)).
        dy = x_in - y_k
        a = dy * curvature + h_k * (s_k - d_k)
        b = h_k * d_k - dy * curvature
        c = -s_k * dy
        discriminant = (b.pow(2) - 4 * a * c).clamp(min=0)
        theta = (2 * c) / (-b - torch.sqrt(discriminant))
        out = theta * w_k + x_k
    else:
        theta = (x_in - x_k) / w_k
        numerator = h_k * (s_k * theta.pow(2) + d_k * theta * (1 - theta))
        out = y_k + numerator / (s_k + curvature * theta * (1 - theta))

    one_minus = 1 - theta
    denominator = s_k + curvature * theta * one_minus
    derivative_numerator = s_k.pow(2) * (
        d_k1 * theta.pow(2) + 2 * s_k * theta * one_minus + d_k * one_minus.pow(2)
    )
    logabsdet = torch.log(derivative_numerator) - 2 * torch.log(denominator)
    if inverse:
        logabsdet = -logabsdet

    outputs = torch.where(inside, out, x).to(out_dtype)
    logabsdet = torch.where(inside, logabsdet, torch.zeros_like(logabsdet))
    return outputs, logabsdet
