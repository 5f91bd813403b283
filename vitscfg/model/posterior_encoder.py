"""Posterior encoder q(z | spectrogram): linear spectrogram -> latent z (B, C_inter, T_spec)."""

from __future__ import annotations

import torch
from torch import nn

from vitscfg.model.commons import sequence_mask
from vitscfg.model.wavenet import WN


class PosteriorEncoder(nn.Module):
    """1x1 conv -> WaveNet stack -> 1x1 conv to (mean, log-std); z is sampled from them.

    The reference hard-codes kernel 5, dilation 1 and 16 layers for this encoder
    (``n_layers_q`` in the configs is ignored there, and so it is here).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int = 0,
        depthwise: bool = False,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.pre = nn.Conv1d(in_channels, hidden_channels, 1)
        self.enc = WN(
            hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels, depthwise=depthwise
        )
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)

    def forward(
        self, spec: torch.Tensor, lengths: torch.Tensor, g: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """spec: (B, F, T); lengths: (B,). Returns ``(z, m_q, logs_q, y_mask)``."""
        y_mask = sequence_mask(lengths, spec.size(2)).unsqueeze(1).to(spec.dtype)  # (B, 1, T)
        h = self.pre(spec) * y_mask  # (B, H, T)
        h = self.enc(h, y_mask, g=g)
        stats = self.proj(h) * y_mask  # (B, 2*C, T)
        m_q, logs_q = torch.split(stats, self.out_channels, dim=1)
        # Reparameterised sample so gradients flow into m_q and logs_q.
        z = (m_q + torch.randn_like(m_q) * torch.exp(logs_q)) * y_mask  # (B, C, T)
        return z, m_q, logs_q, y_mask
