"""Content-feature (prior) encoder of voice-conversion models: frame-level speech features
(HuBERT / ContentVec outputs) plus, optionally, coarse pitch -> the Gaussian prior (m_p, logs_p).

Where a TTS text encoder embeds phoneme ids, a VC model's input already is one feature vector
per frame: a linear layer projects it to the hidden width, a 256-bin pitch embedding is added
when the model is conditioned on F0, and the same relative-attention transformer as VITS
refines it (RVC widens the attention window to +-10 frames: frames are 10-20 ms, far shorter
than phonemes). Sub-module names (``emb_phone``, ``emb_pitch``, ``encoder``, ``proj``) are
those of RVC's checkpoints.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.attentions import Encoder
from vitscfg.model.commons import sequence_mask
from vitscfg.model.skewed_attention import SkewedRelativeAttention

#: Coarse pitch is quantised to this many bins (mel-scaled F0; bin 1 = unvoiced).
PITCH_BINS = 256
#: Relative-attention window (frames on each side) of RVC's content encoder.
CONTENT_WINDOW = 10


class ContentEncoder(nn.Module):
    """features (B, T, D) [+ pitch (B, T) bins] -> ``(m_p, logs_p, x_mask)``, (B, C, T) each."""

    def __init__(
        self,
        feature_dim: int,
        out_channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        p_dropout: float,
        use_pitch: bool,
        window_size: int = CONTENT_WINDOW,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.emb_phone = nn.Linear(feature_dim, hidden_channels)
        self.emb_pitch = nn.Embedding(PITCH_BINS, hidden_channels) if use_pitch else None
        self.encoder = Encoder(
            hidden_channels,
            filter_channels,
            n_heads,
            n_layers,
            kernel_size,
            p_dropout,
            window_size=window_size,
            # RVC's own relative attention (over all offsets): its step's memory, exactly.
            attention=SkewedRelativeAttention,
        )
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)

    def forward(
        self, features: torch.Tensor, pitch: torch.Tensor | None, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """features: (B, T, D) float; pitch: (B, T) long bins or None; lengths: (B,)."""
        x = self.emb_phone(features)  # (B, T, H)
        if self.emb_pitch is not None:
            if pitch is None:
                raise ValueError("this content encoder is pitch-conditioned: pass pitch (B, T)")
            x = x + self.emb_pitch(pitch)
        x = F.leaky_relu(x * math.sqrt(self.hidden_channels), 0.1).transpose(1, 2)  # (B, H, T)
        x_mask = sequence_mask(lengths, x.size(2)).unsqueeze(1).to(x.dtype)  # (B, 1, T)
        x = self.encoder(x * x_mask, x_mask)
        stats = self.proj(x) * x_mask  # (B, 2C, T)
        m_p, logs_p = torch.split(stats, self.out_channels, dim=1)
        return m_p, logs_p, x_mask
