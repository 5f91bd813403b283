"""Pseudo-QMF filter bank: split a waveform into ``M`` critically sampled sub-bands and
merge them back (near-perfect reconstruction).

MB-iSTFT-VITS's multi-band decoder synthesises its ``M`` sub-band signals into the
waveform with it, and its training step compares sub-bands of the real waveform (the
analysis side) with the decoder's sub-bands in a multi-resolution STFT loss.

The bank is cosine-modulated from one low-pass prototype: a windowed sinc with ``taps + 1``
coefficients, cut-off ``cutoff_ratio`` (a fraction of Nyquist), Kaiser window ``beta``. The
defaults (4 bands, 62 taps, 0.15, 9.0) are what MB-iSTFT-VITS uses; none is a config key.
Coefficients are computed in float64 and stored as float32, and they are not part of any
checkpoint (the fork builds the bank at run time).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def prototype_filter(taps: int, cutoff_ratio: float, beta: float) -> torch.Tensor:
    """Low-pass prototype (taps + 1,) float64: ideal low-pass impulse response x Kaiser."""
    if taps % 2 != 0:
        raise ValueError(f"the PQMF prototype needs an even number of taps, got {taps}")
    if not 0.0 < cutoff_ratio < 1.0:
        raise ValueError(f"cutoff_ratio must lie in (0, 1), got {cutoff_ratio}")
    n = torch.arange(taps + 1, dtype=torch.float64) - taps / 2
    # sin(w n) / (pi n) is w / pi at n = 0; avoid the 0/0 there.
    safe = torch.where(n == 0, torch.ones_like(n), n)
    ideal = torch.where(
        n == 0,
        torch.full_like(n, cutoff_ratio),
        torch.sin(math.pi * cutoff_ratio * safe) / (math.pi * safe),
    )
    window = torch.kaiser_window(taps + 1, periodic=False, beta=beta, dtype=torch.float64)
    return ideal * window


def cosine_bank(
    subbands: int, taps: int, cutoff_ratio: float, beta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(analysis, synthesis) filters, each (subbands, taps + 1) float64.

    Band k modulates the prototype to centre (2k + 1) / (2M) of Nyquist; the phase offsets
    +-(-1)^k pi/4 of the two sides cancel the aliasing between neighbouring bands.
    """
    proto = prototype_filter(taps, cutoff_ratio, beta)
    n = torch.arange(taps + 1, dtype=torch.float64) - (taps - 1) / 2
    k = torch.arange(subbands, dtype=torch.float64).unsqueeze(1)
    arg = (2 * k + 1) * (math.pi / (2 * subbands)) * n  # (M, taps + 1)
    offset = (-1.0) ** k * (math.pi / 4)
    analysis = 2 * proto * torch.cos(arg + offset)
    synthesis = 2 * proto * torch.cos(arg - offset)
    return analysis, synthesis


def decimate(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Keep every ``factor``-th sample from the first: (B, C, T) -> (B, C, (T - f) // f + 1),
    the length a stride-``factor`` convolution with a one-tap kernel gives."""
    frames = (x.shape[-1] - factor) // factor + 1
    return x[..., : (frames - 1) * factor + 1 : factor]


def zero_stuff(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Upsample (B, C, T) -> (B, C, T * factor): each sample times ``factor``, then
    ``factor - 1`` zeros (the gain keeps the band's power after interpolation)."""
    out = x.new_zeros(*x.shape[:-1], x.shape[-1] * factor)
    out[..., ::factor] = x * factor
    return out


class PQMF(nn.Module):
    """``analysis``: (B, 1, T) -> (B, M, T / M); ``synthesis``: (B, M, T) -> (B, 1, T * M)."""

    def __init__(
        self, subbands: int = 4, taps: int = 62, cutoff_ratio: float = 0.15, beta: float = 9.0
    ) -> None:
        super().__init__()
        self.subbands = subbands
        self.pad = taps // 2
        analysis, synthesis = cosine_bank(subbands, taps, cutoff_ratio, beta)
        # Not persistent: no MB-iSTFT checkpoint carries the bank.
        self.register_buffer("analysis_filter", analysis.float().unsqueeze(1), persistent=False)
        self.register_buffer("synthesis_filter", synthesis.float().unsqueeze(0), persistent=False)
        self.analysis_filter: torch.Tensor
        self.synthesis_filter: torch.Tensor

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """Waveform (B, 1, T) -> sub-bands (B, M, T // M)."""
        bands = F.conv1d(F.pad(x, (self.pad, self.pad)), self.analysis_filter.to(x.dtype))
        return decimate(bands, self.subbands)

    def synthesis(self, x: torch.Tensor) -> torch.Tensor:
        """Sub-bands (B, M, T) -> waveform (B, 1, T * M)."""
        up = zero_stuff(x, self.subbands)
        return F.conv1d(F.pad(up, (self.pad, self.pad)), self.synthesis_filter.to(x.dtype))
