"""A WavLM encoder with the published sizes of ``wavlm-base-plus``, for memory traces.

Bert-VITS2 (and Style-Bert-VITS2 JP-Extra) run a frozen, pretrained WavLM inside every
training step: its hidden states of real and generated audio feed the WavLM discriminator
head and a feature-matching loss. No weights are needed to know that step's memory, only the
architecture, so this module builds it randomly initialised from ``WavLMSizes`` (the numbers
of the model's published configuration: a 7-layer convolutional feature encoder, a 128-tap
grouped positional convolution and 12 post-norm transformer layers with gated relative
position bias; ~94.4 M parameters). Nothing imports it unless a caller asks for it.

``forward`` returns the hidden states the forks read (``output_hidden_states``): the
encoder's input and the output of every layer, 13 tensors (B, T', 768) at 50 frames/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.norms import weight_norm


@dataclass(frozen=True)
class WavLMSizes:
    """The base-plus configuration's sizes."""

    conv_dim: tuple[int, ...] = (512,) * 7
    conv_kernel: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_stride: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
    hidden: int = 768
    layers: int = 12
    heads: int = 12
    intermediate: int = 3072
    pos_kernel: int = 128
    pos_groups: int = 16
    buckets: int = 320
    max_distance: int = 800
    eps: float = 1e-5


def _buckets(rel: torch.Tensor, n_buckets: int, max_distance: int) -> torch.Tensor:
    """T5-style bidirectional buckets of relative positions (exact near, log-spaced far)."""
    half = n_buckets // 2
    out = (rel > 0).long() * half
    rel = rel.abs()
    exact = half // 2
    far = (
        exact
        + (
            torch.log(rel.float().clamp(min=1) / exact)
            / math.log(max_distance / exact)
            * (half - exact)
        ).long()
    )
    far = torch.minimum(far, torch.full_like(far, half - 1))
    return out + torch.where(rel < exact, rel, far)


class _Attention(nn.Module):
    def __init__(self, s: WavLMSizes, has_bias: bool) -> None:
        super().__init__()
        self.heads, self.head_dim, self.s = s.heads, s.hidden // s.heads, s
        self.k_proj = nn.Linear(s.hidden, s.hidden)
        self.v_proj = nn.Linear(s.hidden, s.hidden)
        self.q_proj = nn.Linear(s.hidden, s.hidden)
        self.out_proj = nn.Linear(s.hidden, s.hidden)
        self.gru_rel_pos_const = nn.Parameter(torch.ones(1, s.heads, 1, 1))
        self.gru_rel_pos_linear = nn.Linear(self.head_dim, 8)
        if has_bias:
            self.rel_attn_embed = nn.Embedding(s.buckets, s.heads)

    def position_bias(self, length: int, device: torch.device) -> torch.Tensor:
        pos = torch.arange(length, device=device)
        buckets = _buckets(pos[None, :] - pos[:, None], self.s.buckets, self.s.max_distance)
        bias: torch.Tensor = self.rel_attn_embed(buckets).permute(2, 0, 1)  # (heads, T, T)
        return bias

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        split = (b, t, self.heads, self.head_dim)
        gates = torch.sigmoid(self.gru_rel_pos_linear(x.view(split)).view(*split[:3], 2, 4).sum(-1))
        gate_a, gate_b = gates.chunk(2, dim=-1)  # (B, T, heads, 1) each
        gate = gate_a * (gate_b * self.gru_rel_pos_const.view(1, 1, -1, 1) - 1.0) + 2.0
        gated = gate.permute(0, 2, 1, 3) * bias.unsqueeze(0)  # (B, heads, T, T)
        q = self.q_proj(x).view(split).transpose(1, 2)
        k = self.k_proj(x).view(split).transpose(1, 2)
        v = self.v_proj(x).view(split).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=gated)
        projected: torch.Tensor = self.out_proj(out.transpose(1, 2).reshape(b, t, c))
        return projected


class _FeedForward(nn.Module):
    def __init__(self, s: WavLMSizes) -> None:
        super().__init__()
        self.intermediate_dense = nn.Linear(s.hidden, s.intermediate)
        self.output_dense = nn.Linear(s.intermediate, s.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.output_dense(F.gelu(self.intermediate_dense(x)))
        return out


class _Layer(nn.Module):
    def __init__(self, s: WavLMSizes, has_bias: bool) -> None:
        super().__init__()
        self.attention = _Attention(s, has_bias)
        self.layer_norm = nn.LayerNorm(s.hidden, eps=s.eps)
        self.feed_forward = _FeedForward(s)
        self.final_layer_norm = nn.LayerNorm(s.hidden, eps=s.eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        x = self.layer_norm(x + self.attention(x, bias))
        out: torch.Tensor = self.final_layer_norm(x + self.feed_forward(x))
        return out


class WavLM(nn.Module):
    """Waveform (B, samples) at 16 kHz -> 13 hidden states (B, T', hidden)."""

    def __init__(self, sizes: WavLMSizes | None = None) -> None:
        super().__init__()
        s = sizes or WavLMSizes()
        widths = (1, *s.conv_dim)
        self.conv_layers = nn.ModuleList(
            nn.Conv1d(widths[i], widths[i + 1], k, stride, bias=False)
            for i, (k, stride) in enumerate(zip(s.conv_kernel, s.conv_stride, strict=True))
        )
        self.conv_norm = nn.GroupNorm(s.conv_dim[0], s.conv_dim[0])
        self.projection_norm = nn.LayerNorm(s.conv_dim[-1], eps=s.eps)
        self.projection = nn.Linear(s.conv_dim[-1], s.hidden)
        self.pos_conv = weight_norm(
            nn.Conv1d(
                s.hidden, s.hidden, s.pos_kernel, padding=s.pos_kernel // 2, groups=s.pos_groups
            )
        )
        self.masked_spec_embed = nn.Parameter(torch.zeros(s.hidden))
        self.encoder_norm = nn.LayerNorm(s.hidden, eps=s.eps)
        self.layers = nn.ModuleList(_Layer(s, has_bias=i == 0) for i in range(s.layers))
        self.even_kernel = s.pos_kernel % 2 == 0

    def forward(self, wav: torch.Tensor) -> list[torch.Tensor]:
        x = wav.unsqueeze(1)  # (B, 1, samples)
        for i, conv in enumerate(self.conv_layers):
            x = conv(x)
            x = F.gelu(self.conv_norm(x) if i == 0 else x)
        h = self.projection(self.projection_norm(x.transpose(1, 2)))  # (B, T', hidden)
        pos = self.pos_conv(h.transpose(1, 2))
        if self.even_kernel:  # an even kernel with half padding yields one extra frame
            pos = pos[:, :, :-1]
        h = self.encoder_norm(h + F.gelu(pos).transpose(1, 2))
        first: _Attention = self.layers[0].attention  # type: ignore[assignment]
        bias = first.position_bias(h.size(1), h.device).to(h.dtype)
        states = [h]
        for layer in self.layers:
            h = layer(h, bias)
            states.append(h)
        return states
