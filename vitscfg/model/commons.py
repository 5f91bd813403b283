"""Tensor helpers shared by the VITS components: masks, alignment paths and segment slicing."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def sequence_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """Boolean mask ``(B, T)``: True where the position is inside the item's length."""
    if max_length is None:
        max_length = int(lengths.max())
    positions = torch.arange(max_length, dtype=lengths.dtype, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)


def generate_path(durations: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Hard monotonic alignment from integer durations.

    durations: (B, 1, T_text), whole frames per text token.
    mask: (B, 1, T_spec, T_text) valid cells.
    Returns (B, 1, T_spec, T_text) with a single 1 per valid spec frame: frame ``t`` belongs
    to token ``i`` when ``cum[i-1] <= t < cum[i]``.
    """
    batch, _, t_spec, t_text = mask.shape
    cum = torch.cumsum(durations, dim=-1).view(batch * t_text)  # (B*T_text,)
    # below[b, i, t] = t < cum[b, i]; the difference with the previous token keeps one band.
    below = sequence_mask(cum, t_spec).to(mask.dtype).view(batch, t_text, t_spec)
    path = below - F.pad(below, (0, 0, 1, 0))[:, :-1]  # (B, T_text, T_spec)
    return path.unsqueeze(1).transpose(2, 3) * mask  # (B, 1, T_spec, T_text)


def slice_segments(x: torch.Tensor, starts: torch.Tensor, segment_size: int) -> torch.Tensor:
    """Cut ``x[b, :, starts[b] : starts[b] + segment_size]`` for every item in one gather.

    x: (B, C, T); starts: (B,) long. Positions beyond ``T`` read as zeros, so an item shorter
    than the segment yields a zero-padded window instead of a shape error (the reference's
    per-item loop crashes there). No host sync: the indices never leave the device.
    """
    batch, channels, length = x.shape
    offsets = torch.arange(segment_size, device=x.device)
    index = starts.to(x.device).long().unsqueeze(1) + offsets.unsqueeze(0)  # (B, S)
    inside = (index < length).unsqueeze(1).to(x.dtype)  # (B, 1, S)
    index = index.clamp(max=length - 1).unsqueeze(1).expand(batch, channels, segment_size)
    return torch.gather(x, 2, index) * inside  # (B, C, S)


def rand_slice_segments(
    x: torch.Tensor,
    lengths: torch.Tensor,
    segment_size: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random window of ``segment_size`` frames inside each item's valid length.

    The start is uniform in ``[0, length - segment_size]`` (clamped at 0 for short items).
    Returns ``(segments (B, C, S), starts (B,) long)``.
    """
    max_start = (lengths - segment_size + 1).clamp(min=1).to(x.device)  # (B,)
    uniform = torch.rand(x.size(0), device=x.device, generator=generator)
    starts = (uniform * max_start).long()
    return slice_segments(x, starts, segment_size), starts


def fused_add_tanh_sigmoid_multiply(
    x: torch.Tensor, condition: torch.Tensor | None, n_channels: int
) -> torch.Tensor:
    """WaveNet gated activation: ``tanh(a) * sigmoid(b)`` where ``[a; b] = x + condition``."""
    if condition is not None:
        x = x + condition
    return torch.tanh(x[:, :n_channels]) * torch.sigmoid(x[:, n_channels:])
