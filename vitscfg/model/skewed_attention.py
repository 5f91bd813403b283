"""Relative attention computed the memory-hungry way: the "skewing" trick over all 2T-1
offsets, as the VITS family's own code does it.

Why a second implementation of the same function: `MultiHeadAttention` in attentions.py
reads only the 2w+1 offsets inside the window (gathers), which is what vitscfg's trainer
wants. But `estimate` must trace the memory of a *fork's* step, and the forks compute the
relative terms over every offset: the key table is zero-padded to 2T-1 rows, the logits
(B, H, T, 2T-1) are skewed into (B, H, T, T) by padding and reshaping, and for the values
the attention weights are skewed back into (B, H, T, 2T-1) — a tensor autograd keeps for the
backward of every layer. At RVC's 900 frames that is ~200 MB per layer at batch 16, so the
traced peak of a fork's step needs this form. Same parameters, same values.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.attentions import _MASK_VALUE, MultiHeadAttention


def _offset_table(table: torch.Tensor, window: int, length: int) -> torch.Tensor:
    """(1, 2w+1, d) embeddings of offsets -w..w -> (1, 2T-1, d) for offsets -(T-1)..T-1,
    zero outside the window (padded when T > w + 1, cut when shorter)."""
    extra = max(length - (window + 1), 0)
    if extra:
        table = F.pad(table, (0, 0, extra, extra))
    start = max(window + 1 - length, 0)
    return table[:, start : start + 2 * length - 1]


def _offsets_to_keys(rel: torch.Tensor) -> torch.Tensor:
    """(B, H, T, 2T-1) indexed by offset j - i + T - 1 -> (B, H, T, T) indexed by key j."""
    batch, heads, length, _ = rel.shape
    flat = F.pad(rel, (0, 1)).view(batch, heads, 2 * length * length)
    flat = F.pad(flat, (0, length - 1))  # (T + 1) rows of 2T - 1
    return flat.view(batch, heads, length + 1, 2 * length - 1)[:, :, :length, length - 1 :]


def _keys_to_offsets(weights: torch.Tensor) -> torch.Tensor:
    """(B, H, T, T) indexed by key j -> (B, H, T, 2T-1) indexed by offset j - i + T - 1."""
    batch, heads, length, _ = weights.shape
    flat = F.pad(weights, (0, length - 1)).view(batch, heads, length * (2 * length - 1))
    flat = F.pad(flat, (length, 0))  # T rows of 2T
    return flat.view(batch, heads, length, 2 * length)[:, :, :, 1:]


class SkewedRelativeAttention(MultiHeadAttention):
    """`MultiHeadAttention` with the relative terms over all offsets (module docstring)."""

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, T); attn_mask: (B, 1, T, T) with 1 for allowed query/key pairs."""
        if self.window_size is None:
            return super().forward(x, attn_mask)
        batch, channels, length = x.shape
        heads, d_k = self.n_heads, self.k_channels

        def split_heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, heads, d_k, length).transpose(2, 3)  # (B, H, T, d_k)

        q = split_heads(self.conv_q(x)) / math.sqrt(d_k)
        k = split_heads(self.conv_k(x))
        v = split_heads(self.conv_v(x))
        scores = torch.matmul(q, k.transpose(-2, -1))  # (B, H, T, T)
        keys = _offset_table(self.emb_rel_k, self.window_size, length)  # (1, 2T-1, d_k)
        rel_logits = torch.matmul(q, keys.unsqueeze(0).transpose(-2, -1))  # (B, H, T, 2T-1)
        scores = scores + _offsets_to_keys(rel_logits)
        if attn_mask is not None:
            scores = scores.masked_fill(attn_mask == 0, _MASK_VALUE)
        p_attn = self.drop(F.softmax(scores, dim=-1))  # (B, H, T, T)
        out = torch.matmul(p_attn, v)  # (B, H, T, d_k)
        values = _offset_table(self.emb_rel_v, self.window_size, length)
        out = out + torch.matmul(_keys_to_offsets(p_attn), values.unsqueeze(0))
        out = out.transpose(2, 3).contiguous().view(batch, channels, length)
        result: torch.Tensor = self.conv_o(out)
        return result


def with_skewed_attention(net: nn.Module) -> nn.Module:
    """``net`` with every windowed relative attention in the forks' all-offsets form, for
    models whose text encoder and flows build their attention without a choice (MB-iSTFT,
    the Bert-VITS2 family). The subclass only overrides ``forward`` (same parameters and
    values), so the modules change class in place."""
    for module in net.modules():
        if type(module) is MultiHeadAttention and module.window_size is not None:
            module.__class__ = SkewedRelativeAttention
    return net
