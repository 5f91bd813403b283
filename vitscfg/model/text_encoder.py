"""Text (prior) encoder: token ids -> hidden states and the Gaussian prior (m_p, logs_p)."""

from __future__ import annotations

import math

import torch
from torch import nn

from vitscfg.model.attentions import Encoder
from vitscfg.model.commons import sequence_mask


class TextEncoder(nn.Module):
    """Embeds tokens, runs the relative-attention transformer and projects to prior statistics.

    Returns ``(x, m_p, logs_p, x_mask)``: ``x`` (B, H, T) feeds the duration predictor,
    ``m_p``/``logs_p`` (B, C_inter, T) are the per-token prior mean and log-std.
    ``gin_channels > 0`` conditions the transformer on the speaker (VITS2).
    """

    def __init__(
        self,
        n_vocab: int,
        out_channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        p_dropout: float,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.emb = nn.Embedding(n_vocab, hidden_channels)
        # Scaled so that emb * sqrt(H) below has unit variance.
        nn.init.normal_(self.emb.weight, 0.0, hidden_channels**-0.5)
        self.encoder = Encoder(
            hidden_channels,
            filter_channels,
            n_heads,
            n_layers,
            kernel_size,
            p_dropout,
            gin_channels=gin_channels,
        )
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)

    def forward(
        self, tokens: torch.Tensor, lengths: torch.Tensor, g: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """tokens: (B, T) long; lengths: (B,) long; g: (B, gin, 1) speaker vector or None."""
        x = self.emb(tokens) * math.sqrt(self.hidden_channels)  # (B, T, H)
        x = x.transpose(1, 2)  # (B, H, T)
        x_mask = sequence_mask(lengths, x.size(2)).unsqueeze(1).to(x.dtype)  # (B, 1, T)
        x = self.encoder(x * x_mask, x_mask, g=g)  # (B, H, T)
        stats = self.proj(x) * x_mask  # (B, 2*C_inter, T)
        m_p, logs_p = torch.split(stats, self.out_channels, dim=1)
        return x, m_p, logs_p, x_mask
